//! Integration tests: one binary, grouped by theme (see ARCHITECTURE.md).

mod util;

mod answers;
mod boundaries;
mod bundled;
mod cli;
mod cli_usage;
mod content;
mod conversation;
mod crash;
mod curate;
mod discord;
mod embeddings;
mod engine_fixes;
mod eval;
mod http;
mod index_folder;
mod persistence;
mod pg;
mod props;
mod reload;
mod scan;
mod shapes;
mod sources;
mod state;
mod stats;
mod urls;
