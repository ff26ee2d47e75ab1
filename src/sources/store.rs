//! A synced source's folder: one article file per entry or page (the content folder's own
//! format, so `check` and a start without the network read them like any file) and the sync
//! state beside them in a hidden file the content scan skips.
//!
//! Every write goes to a hidden temporary file first and is renamed into place, so a crash
//! never leaves half an article; the state is written last, after the articles it names.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::fetch::Validators;

/// The state file's name (hidden: the content scan skips it).
const STATE: &str = ".articlebot-sync.json";

/// What the last good sync of a source knew.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    /// Validators of the feed or sitemap itself.
    #[serde(default)]
    pub index: Validators,
    /// The articles, by their key at the source (a feed entry's id, a page's address).
    #[serde(default)]
    pub articles: BTreeMap<String, Entry>,
}

/// One article the source gave.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Its file's name in the source folder (`sleep-well.md`).
    pub file: String,
    /// The source's own word on its version (a feed entry's updated date, a sitemap
    /// `lastmod`): while it stays the same the page is not fetched again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stamp: Option<String>,
    /// The validators of the page the article was read from, if it was read from a page.
    #[serde(default)]
    pub page: Validators,
}

/// A source's folder.
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
}

/// What writing one article did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Added,
    Changed,
    Unchanged,
}

impl Store {
    pub fn new(dir: PathBuf) -> Store {
        Store { dir }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The last good state; empty when the source was never synced. A state file that
    /// cannot be read counts as none (every article is fetched again, nothing is lost).
    pub fn state(&self) -> State {
        std::fs::read(self.dir.join(STATE))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    pub fn has(&self, file: &str) -> bool {
        self.dir.join(file).is_file()
    }

    /// Writes an article file unless it already holds exactly `text`.
    pub fn write(&self, file: &str, text: &str) -> anyhow::Result<Written> {
        let path = self.dir.join(file);
        let old = std::fs::read(&path).ok();
        if old.as_deref() == Some(text.as_bytes()) {
            return Ok(Written::Unchanged);
        }
        self.replace(file, text.as_bytes())?;
        Ok(if old.is_some() {
            Written::Changed
        } else {
            Written::Added
        })
    }

    /// Removes an article file (gone at the source).
    pub fn remove(&self, file: &str) -> anyhow::Result<()> {
        match std::fs::remove_file(self.dir.join(file)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(e).with_context(|| format!("cannot remove {}", self.dir.join(file).display()))
            }
            _ => Ok(()),
        }
    }

    /// Saves the state (after the articles it names are written).
    pub fn save(&self, state: &State) -> anyhow::Result<()> {
        let json = serde_json::to_vec_pretty(state)?;
        self.replace(STATE, &json)
    }

    fn replace(&self, file: &str, bytes: &[u8]) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("cannot create {}", self.dir.display()))?;
        let tmp = self.dir.join(format!(".{file}.tmp"));
        std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
        std::fs::rename(&tmp, self.dir.join(file))
            .with_context(|| format!("cannot write {}", self.dir.join(file).display()))
    }
}

/// A file name for a new article: its slug, made unique among `taken` (`-2`, `-3`, …).
pub fn new_file(slug: &str, taken: &HashSet<String>) -> String {
    let slug = if slug.is_empty() { "article" } else { slug };
    let mut n = 1;
    loop {
        let name = if n == 1 {
            format!("{slug}.md")
        } else {
            format!("{slug}-{n}.md")
        };
        if !taken.contains(&name) {
            return name;
        }
        n += 1;
    }
}
