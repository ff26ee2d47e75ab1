//! The command layer: a [`Command`] in, a plain-data [`Answer`] out. Every front end (CLI,
//! chat, Discord gateway, HTTP interactions) goes through [`Engine::execute`], so a command
//! means the same thing everywhere.
//!
//! The engine holds the current [`Library`] behind an `ArcSwap`: each command takes one
//! snapshot and answers wholly from it, and a reload swaps in a new library without waiting
//! for commands in flight.

mod articles;
mod ask;
pub mod excerpt;
mod expand;
pub mod question;
mod search;

use std::sync::Arc;

use arc_swap::ArcSwap;
use serde::Serialize;

use crate::config::AnswerSettings;
use crate::content::Link;
use crate::library::Library;

pub use ask::{rank_article_sentences, RankedSentence};

/// Where `ask` looks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// The whole collection.
    Collection,
    /// Only this article (slug, title or alias).
    Article(String),
    /// This article first; the whole collection when the article has no good answer (thread
    /// follow-ups).
    PreferArticle(String),
}

/// A request to the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Ask {
        question: String,
        scope: Scope,
    },
    Search {
        query: String,
        page: usize,
        tag: Option<String>,
    },
    Summary {
        article: String,
    },
    Takeaways {
        article: String,
    },
    Article {
        query: String,
    },
    Related {
        article: String,
    },
}

/// A marked byte range inside a text (a matched term).
pub type Highlight = (usize, usize);

/// An article named in an answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArticleRef {
    pub slug: String,
    pub title: String,
    pub url: Option<String>,
}

/// One passage that answers a question.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AskResult {
    pub slug: String,
    pub title: String,
    /// Link to the section (the article link with the section's anchor, where there is one).
    pub url: Option<String>,
    pub article_url: Option<String>,
    pub section: Option<String>,
    pub excerpt: String,
    /// Byte ranges of the matched terms in `excerpt`.
    pub highlights: Vec<Highlight>,
    pub score: f32,
}

/// The answer to `ask`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AskAnswer {
    pub question: String,
    /// Slug of the article the question was limited to, if any.
    pub article: Option<String>,
    pub results: Vec<AskResult>,
    /// Takeaways of the top article.
    pub takeaways: Option<TakeawaysAnswer>,
    /// Articles to try when nothing (or little) matched.
    pub suggestions: Vec<ArticleRef>,
    /// A remark for the reader: nothing matched, the question was cut, spelling was relaxed.
    pub note: Option<String>,
}

/// One article in a search result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchHit {
    pub slug: String,
    pub title: String,
    pub url: Option<String>,
    pub snippet: String,
    pub highlights: Vec<Highlight>,
    pub tags: Vec<String>,
    pub score: f32,
}

/// The answer to `search`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchAnswer {
    pub query: String,
    pub tag: Option<String>,
    /// Number of matching articles.
    pub total: usize,
    /// 1-based page number.
    pub page: usize,
    pub pages: usize,
    /// Results per page.
    pub per_page: usize,
    pub results: Vec<SearchHit>,
    pub note: Option<String>,
}

/// Where a summary came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SummarySource {
    FrontMatter,
    Standfirst,
    Extractive,
}

/// The answer to `summary`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SummaryAnswer {
    pub slug: String,
    pub title: String,
    pub url: Option<String>,
    pub summary: String,
    pub source: SummarySource,
}

/// One takeaway with its links.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TakeawayItem {
    pub text: String,
    pub links: Vec<Link>,
}

/// The answer to `takeaways`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TakeawaysAnswer {
    pub slug: String,
    pub title: String,
    pub url: Option<String>,
    pub takeaways: Vec<TakeawayItem>,
}

/// The answer to `article`: a card.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArticleCard {
    pub slug: String,
    pub title: String,
    pub url: Option<String>,
    pub summary: String,
    pub tags: Vec<String>,
    pub authors: Vec<String>,
    pub date: Option<String>,
    pub aliases: Vec<String>,
    pub sections: Vec<String>,
    pub words: usize,
    pub related: Vec<ArticleRef>,
    /// Set when the name was matched despite a typo or partially.
    pub matched: Option<String>,
}

/// One related article.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RelatedItem {
    pub slug: String,
    pub title: String,
    pub url: Option<String>,
    pub score: f32,
}

/// The answer to `related`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RelatedAnswer {
    pub slug: String,
    pub title: String,
    pub url: Option<String>,
    pub related: Vec<RelatedItem>,
}

/// No article goes by the name given.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NotFound {
    pub error: &'static str,
    pub query: String,
    pub suggestions: Vec<ArticleRef>,
}

/// Everything the engine can answer. Serializes as the inner value (the documented JSON).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Answer {
    Ask(AskAnswer),
    Search(SearchAnswer),
    Summary(SummaryAnswer),
    Takeaways(TakeawaysAnswer),
    Article(ArticleCard),
    Related(RelatedAnswer),
    NotFound(NotFound),
}

impl Answer {
    /// Whether the answer found something (exit code 0 on the command line).
    pub fn found(&self) -> bool {
        match self {
            Answer::Ask(a) => !a.results.is_empty(),
            Answer::Search(s) => !s.results.is_empty(),
            Answer::Related(r) => !r.related.is_empty(),
            Answer::Takeaways(t) => !t.takeaways.is_empty(),
            Answer::NotFound(_) => false,
            Answer::Summary(_) | Answer::Article(_) => true,
        }
    }
}

/// An autocomplete choice: a display name (an article's title or alias, whole: a front end
/// cuts it to its own limits) and the article's slug.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Choice {
    pub name: String,
    pub value: String,
}

/// The engine: the current library and the answer settings.
pub struct Engine {
    library: ArcSwap<Library>,
    settings: AnswerSettings,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").finish_non_exhaustive()
    }
}

impl Engine {
    pub fn new(library: Library, settings: AnswerSettings) -> Engine {
        Engine {
            library: ArcSwap::from_pointee(library),
            settings,
        }
    }

    /// The library answers come from now. Hold the `Arc` to answer several things from one
    /// library.
    pub fn library(&self) -> Arc<Library> {
        self.library.load_full()
    }

    /// Puts `library` in service; returns the one it replaces (still usable by whoever holds it).
    pub fn swap(&self, library: Library) -> Arc<Library> {
        self.library.swap(Arc::new(library))
    }

    pub fn settings(&self) -> &AnswerSettings {
        &self.settings
    }

    /// Answers `command` from the current library. CPU-bound: async callers run it on a
    /// blocking thread.
    pub fn execute(&self, command: &Command) -> anyhow::Result<Answer> {
        let lib = self.library();
        execute(&lib, &self.settings, command)
    }

    /// At most `limit` autocomplete choices for a partly typed article name, best first.
    pub fn autocomplete(&self, prefix: &str, limit: usize) -> Vec<Choice> {
        articles::autocomplete(&self.library(), prefix, limit)
    }
}

/// Answers `command` from `lib`.
pub fn execute(
    lib: &Library,
    settings: &AnswerSettings,
    command: &Command,
) -> anyhow::Result<Answer> {
    // One view of the index for the whole command.
    let snap = lib.index.snapshot();
    let snap = &snap;
    Ok(match command {
        Command::Ask { question, scope } => ask::ask(lib, snap, settings, question, scope)?,
        Command::Search { query, page, tag } => Answer::Search(search::search(
            lib,
            snap,
            settings,
            query,
            *page,
            tag.as_deref(),
        )?),
        Command::Summary { article } => match articles::resolve(lib, article) {
            Ok((id, _)) => Answer::Summary(articles::summary(lib, snap, settings, id)),
            Err(nf) => Answer::NotFound(nf),
        },
        Command::Takeaways { article } => match articles::resolve(lib, article) {
            Ok((id, _)) => Answer::Takeaways(articles::takeaways(lib, id)),
            Err(nf) => Answer::NotFound(nf),
        },
        Command::Article { query } => match articles::resolve(lib, query) {
            Ok((id, matched)) => Answer::Article(articles::card(lib, snap, settings, id, matched)?),
            Err(nf) => Answer::NotFound(nf),
        },
        Command::Related { article } => match articles::resolve(lib, article) {
            Ok((id, _)) => Answer::Related(articles::related(lib, id, settings.related)),
            Err(nf) => Answer::NotFound(nf),
        },
    })
}

fn article_ref(lib: &Library, id: u32) -> ArticleRef {
    let a = lib.article(id);
    ArticleRef {
        slug: a.slug.clone(),
        title: a.title.clone(),
        url: a.url.clone(),
    }
}

/// At most `limit` autocomplete choices for `prefix` from `lib` (see [`Engine::autocomplete`]).
pub fn autocomplete(lib: &Library, prefix: &str, limit: usize) -> Vec<Choice> {
    articles::autocomplete(lib, prefix, limit)
}
