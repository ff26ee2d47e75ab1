//! articlebot: answers questions about a collection of articles, citing the exact passage,
//! from a terminal or on Discord.
//!
//! A guided tour, in reading order:
//! - [`config`]: `config.toml` as written, resolved into [`config::Settings`].
//! - [`text`]: tokens and stems (the index's own), sentences, slugs, truncation.
//! - [`content`]: reads `content/` (Markdown and plain text) into [`content::Article`]s and
//!   reports each rejected file with its reason.
//! - [`sources`]: feeds, sitemaps and git repositories synced into folders of article files
//!   (`articlebot sync`, `/reload`, `refresh_minutes`); their HTML is read by
//!   [`content::html`].
//! - [`index`]: the tantivy index of passages.
//! - [`names`]: titles and aliases for look-ups and autocomplete.
//! - [`passage`]: the unit of retrieval, a window of blocks inside a section.
//! - [`library`]: articles, passages and both indexes, built (or reopened) together.
//! - [`answer`]: the command layer every front end shares: a [`answer::Command`] in, a
//!   plain-data [`answer::Answer`] out.
//! - [`render`]: answers as terminal text; JSON is the answers' own serialization.
//! - [`curate`]: curated answers: a moderator's pinned article for a question, matched to
//!   later questions by their stems, kept behind a small storage trait (SQLite).
//! - [`feedback`]: members' votes on answers and the demotions they make, bounded and
//!   reversible.
//! - [`reload`], [`stats`], [`metrics`], [`service`]: what a serving process adds: reloads
//!   that swap a new library in whole (and say which articles are news), question statistics, the numbers for Prometheus, and
//!   the async API the adapters call.
//! - [`http`]: the HTTP interactions endpoint (`serve-http`): Discord's signed POSTs,
//!   verified, answered through the same interaction layer as the gateway bot.
//! - [`discord`]: the Discord adapter: commands, rendering, the shared interaction layer,
//!   the gateway bot (`serve`) and the announcements of new articles.
//! - [`shutdown`]: the one shutdown signal (SIGTERM or SIGINT) both servers stop on.
//! - [`cli`]: the command-line front end (`ask`, `search`, …, `chat`, `check`) and the owner
//!   of the process: arguments, settings, logging, exit codes, and the servers' runtime and
//!   signals (the adapters only serve).
//!
//! `articlebot-eval` (`src/bin/articlebot-eval/`), the answer-quality research tool, is a
//! binary of its own over this library.
//!
//! The core (everything above `service`) knows nothing of Discord; the Discord adapters
//! translate between Discord's protocol and [`service::Service`].

pub mod answer;
pub mod cli;
pub mod config;
pub mod content;
pub mod conversation;
pub mod curate;
pub mod discord;
#[cfg(feature = "embeddings")]
pub mod embed;
pub mod feedback;
pub mod http;
pub mod index;
pub mod library;
pub mod metrics;
pub mod names;
pub mod passage;
pub mod reload;
pub mod render;
pub mod service;
pub mod shutdown;
pub mod sources;
pub mod state;
pub mod stats;
pub mod text;
