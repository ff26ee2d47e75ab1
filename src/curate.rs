//! Curated answers: a moderator pins an article (optionally one of its sections, optionally
//! with a short note) to a question, per guild; later questions close to it get the pinned
//! passage first. This module owns the matching (the question's analysed stems, compared by
//! Jaccard similarity), the rules on what may be pinned, and the storage behind the small
//! [`CurateStore`] trait ([`SqliteStore`] here, the embedded default; `state::postgres` when
//! shared by several instances).
//! It knows nothing of Discord: the adapters turn commands into [`Curation`] calls.
//!
//! Matching. A question becomes the set of its content stems, as the index analyses words
//! (`text::tokenize`: accents folded, English stems), without stop words and question words
//! ("how", "what", "many"). Two stems count as the same term when equal, or, both of at least
//! [`TYPO_MIN_CHARS`] characters, one edit apart (a typo: "compst"). A question matches a
//! curated one when the Jaccard similarity of the two sets (shared terms / all terms) is at
//! least the threshold (`curate.min_similarity`, default [`DEFAULT_MIN_SIMILARITY`] = 0.6):
//! with a curated question of two terms, one more or one fewer word in the question still
//! matches (2/3), two more do not (2/4); a single-term pin matches only that term alone or
//! with a typo, never a longer question that merely mentions it (1/2).

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::{Mutex, RwLock};

use anyhow::{bail, Context};
use rusqlite::{params, Connection};
use serde::Serialize;

use crate::answer::question::is_content_word;
use crate::answer::{Answer, Command, Engine};

/// The default `curate.min_similarity` (see the module documentation for why).
pub use crate::config::DEFAULT_CURATE_MIN_SIMILARITY as DEFAULT_MIN_SIMILARITY;
/// Stems at least this long may differ by one edit and still be the same term.
pub const TYPO_MIN_CHARS: usize = 5;
/// The longest curated question, in characters (a question, not an article).
pub const MAX_QUESTION_CHARS: usize = 300;
/// The longest note, in characters.
pub const MAX_NOTE_CHARS: usize = 200;
/// Curated answers a guild may hold (each question asked is compared with all of them).
pub const MAX_PER_GUILD: usize = 500;

pub use crate::state::{CurateStore, Curated, NewCurated};

/// [`CurateStore`] in SQLite: one table in its own file (or in memory), created 0600 in a
/// folder made 0700, like the statistics.
pub struct SqliteStore {
    conn: Mutex<Connection>,
}

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS curated (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    guild INTEGER NOT NULL,
    question TEXT NOT NULL,
    article TEXT NOT NULL,
    section TEXT,
    note TEXT,
    created INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS curated_guild ON curated (guild);";

impl SqliteStore {
    /// Opens (or creates) the store at `path`; `None`: in memory, for this process only.
    pub fn open(path: Option<&Path>) -> anyhow::Result<SqliteStore> {
        let conn = match path {
            Some(p) => {
                if let Some(parent) = p.parent().filter(|p| !p.as_os_str().is_empty()) {
                    private_dir(parent)?;
                }
                private_file(p)?;
                Connection::open(p).with_context(|| {
                    format!("cannot open the curated answers database {}", p.display())
                })?
            }
            None => Connection::open_in_memory()?,
        };
        conn.execute_batch(SCHEMA).with_context(|| {
            format!(
                "cannot set up the curated answers database {}",
                path.map_or("(in memory)".into(), |p| p.display().to_string())
            )
        })?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
        })
    }
}

#[cfg(unix)]
fn private_dir(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))
}

#[cfg(not(unix))]
fn private_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))
}

#[cfg(unix)]
fn private_file(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map(drop)
        .with_context(|| format!("cannot create {}", path.display()))
}

#[cfg(not(unix))]
fn private_file(_path: &Path) -> anyhow::Result<()> {
    Ok(())
}

impl CurateStore for SqliteStore {
    fn add(&self, new: &NewCurated, created: u64) -> anyhow::Result<Curated> {
        let conn = self.conn.lock().unwrap();
        conn.execute(
            "INSERT INTO curated (guild, question, article, section, note, created) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                new.guild as i64,
                new.question,
                new.article,
                new.section,
                new.note,
                created as i64
            ],
        )?;
        Ok(Curated {
            id: conn.last_insert_rowid(),
            guild: new.guild,
            question: new.question.clone(),
            article: new.article.clone(),
            section: new.section.clone(),
            note: new.note.clone(),
            created,
        })
    }

    fn all(&self) -> anyhow::Result<Vec<Curated>> {
        let conn = self.conn.lock().unwrap();
        let mut st = conn.prepare(
            "SELECT id, guild, question, article, section, note, created FROM curated ORDER BY id",
        )?;
        let rows = st.query_map([], |r| {
            Ok(Curated {
                id: r.get(0)?,
                guild: r.get::<_, i64>(1)? as u64,
                question: r.get(2)?,
                article: r.get(3)?,
                section: r.get(4)?,
                note: r.get(5)?,
                created: r.get::<_, i64>(6)? as u64,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn remove(&self, guild: u64, id: i64) -> anyhow::Result<bool> {
        let conn = self.conn.lock().unwrap();
        let n = conn.execute(
            "DELETE FROM curated WHERE guild = ?1 AND id = ?2",
            params![guild as i64, id],
        )?;
        Ok(n > 0)
    }
}

/// The analysed form of a question: its content stems (see the module documentation).
pub fn stems(question: &str) -> BTreeSet<String> {
    crate::text::tokenize(question)
        .into_iter()
        .filter(|t| is_content_word(&t.lower))
        .map(|t| t.stem)
        .collect()
}

/// Whether two stems are the same term: equal, or one edit apart when both are long enough.
fn same_term(a: &str, b: &str) -> bool {
    a == b
        || (a.chars().count() >= TYPO_MIN_CHARS
            && b.chars().count() >= TYPO_MIN_CHARS
            && one_edit_apart(a, b))
}

/// Whether `a` becomes `b` by one insertion, deletion or substitution.
fn one_edit_apart(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let (short, long) = if a.len() <= b.len() {
        (&a, &b)
    } else {
        (&b, &a)
    };
    if long.len() - short.len() > 1 {
        return false;
    }
    let prefix = short
        .iter()
        .zip(long.iter())
        .take_while(|(x, y)| x == y)
        .count();
    if short.len() == long.len() {
        short[prefix + 1..] == long[prefix + 1..]
    } else {
        short[prefix..] == long[prefix + 1..]
    }
}

/// Jaccard similarity of two stem sets, a stem of `a` counting as shared when `b` has the
/// same term (see [`same_term`]).
pub fn similarity(a: &BTreeSet<String>, b: &BTreeSet<String>) -> f32 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let shared = a
        .iter()
        .filter(|x| b.iter().any(|y| same_term(x, y)))
        .count();
    let union = a.len() + b.len() - shared;
    shared as f32 / union as f32
}

/// A curated answer matched to a question, with how close the two are.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Match {
    pub curated: Curated,
    pub similarity: f32,
}

/// A curated answer whose article is no longer in the library.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Orphan {
    pub id: i64,
    pub guild: u64,
    pub question: String,
    pub article: String,
}

/// A curated answer and its question's stems.
type Pin = (Curated, BTreeSet<String>);

/// The curated answers of every guild: the store, and a copy in memory (with each question's
/// stems) so that matching a question never waits for the store.
pub struct Curation {
    store: Box<dyn CurateStore>,
    min_similarity: f32,
    /// Guild → its answers and their stems.
    cache: RwLock<HashMap<u64, Vec<Pin>>>,
}

impl std::fmt::Debug for Curation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Curation")
            .field("min_similarity", &self.min_similarity)
            .finish_non_exhaustive()
    }
}

/// Seconds since the Unix epoch.
fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Curation {
    /// The curated answers `store` holds, matched at `min_similarity`.
    pub fn new(store: Box<dyn CurateStore>, min_similarity: f32) -> anyhow::Result<Curation> {
        let curation = Curation::unread(store, min_similarity);
        curation.refresh()?;
        Ok(curation)
    }

    /// Curated answers in `store`, not read yet: a shared store that is away at start
    /// delays them, not the bot; [`Curation::refresh`] reads them when it answers.
    pub fn unread(store: Box<dyn CurateStore>, min_similarity: f32) -> Curation {
        Curation {
            store,
            min_similarity,
            cache: RwLock::new(HashMap::new()),
        }
    }

    /// Reads every curated answer from the store again (another instance sharing it added
    /// or removed one); on failure the copy in memory stays as it was.
    pub fn refresh(&self) -> anyhow::Result<()> {
        let mut cache: HashMap<u64, Vec<Pin>> = HashMap::new();
        for c in self.store.all()? {
            let s = stems(&c.question);
            cache.entry(c.guild).or_default().push((c, s));
        }
        *self.cache.write().unwrap() = cache;
        Ok(())
    }

    /// The store the settings name, read now: PostgreSQL when `state.url` is set (shared with
    /// every instance), else SQLite at `curate.db` (in memory when it names none).
    pub fn configured(
        curate: &crate::config::CurateSettings,
        state: &crate::config::StateSettings,
    ) -> anyhow::Result<Curation> {
        match &state.url {
            Some(url) => Curation::new(
                Box::new(crate::state::postgres::PgStore::open(url)?),
                curate.min_similarity,
            ),
            None => Curation::open(curate.db.as_deref(), curate.min_similarity),
        }
    }

    /// Opens the SQLite store at `path` (`None`: in memory).
    pub fn open(path: Option<&Path>, min_similarity: f32) -> anyhow::Result<Curation> {
        Curation::new(Box::new(SqliteStore::open(path)?), min_similarity)
    }

    /// Pins `new` after checking it: a question of at most [`MAX_QUESTION_CHARS`] characters
    /// with something to match, a note of at most [`MAX_NOTE_CHARS`], and room in the guild.
    /// The article and section are the caller's to resolve (it knows the library).
    pub fn add(&self, mut new: NewCurated) -> anyhow::Result<Curated> {
        new.question = crate::text::clean_whitespace(&new.question);
        let chars = new.question.chars().count();
        if chars == 0 {
            bail!("the question is empty");
        }
        if chars > MAX_QUESTION_CHARS {
            bail!("the question is {chars} characters long; a curated question has at most {MAX_QUESTION_CHARS}");
        }
        let s = stems(&new.question);
        if s.is_empty() {
            bail!("the question has no word to match (only words such as \"what\" or \"the\")");
        }
        new.note = new
            .note
            .map(|n| crate::text::clean_whitespace(&n))
            .filter(|n| !n.is_empty());
        if let Some(n) = &new.note {
            let chars = n.chars().count();
            if chars > MAX_NOTE_CHARS {
                bail!("the note is {chars} characters long; at most {MAX_NOTE_CHARS}");
            }
        }
        let held = self.list(new.guild).len();
        if held >= MAX_PER_GUILD {
            bail!("this server already has {held} curated answers, the most it may hold; remove some first");
        }
        let c = self.store.add(&new, now())?;
        self.cache
            .write()
            .unwrap()
            .entry(c.guild)
            .or_default()
            .push((c.clone(), s));
        Ok(c)
    }

    /// A guild's curated answers, oldest first.
    pub fn list(&self, guild: u64) -> Vec<Curated> {
        self.cache
            .read()
            .unwrap()
            .get(&guild)
            .map(|v| v.iter().map(|(c, _)| c.clone()).collect())
            .unwrap_or_default()
    }

    /// Removes a guild's answer `id` (another guild's is never touched); whether it existed.
    pub fn remove(&self, guild: u64, id: i64) -> anyhow::Result<bool> {
        let removed = self.store.remove(guild, id)?;
        if let Some(list) = self.cache.write().unwrap().get_mut(&guild) {
            list.retain(|(c, _)| c.id != id);
        }
        Ok(removed)
    }

    /// The guild's curated answer closest to `question`, if one is at least as close as the
    /// threshold and its article is in the library (`exists`); ties go to the newest.
    pub fn find(&self, guild: u64, question: &str, exists: impl Fn(&str) -> bool) -> Option<Match> {
        let cache = self.cache.read().unwrap();
        let list = cache.get(&guild)?;
        let asked = stems(question);
        list.iter()
            .filter(|(c, _)| exists(&c.article))
            .map(|(c, s)| (c, similarity(&asked, s)))
            .filter(|(_, sim)| *sim >= self.min_similarity)
            .max_by(|a, b| a.1.total_cmp(&b.1).then(a.0.id.cmp(&b.0.id)))
            .map(|(c, similarity)| Match {
                curated: c.clone(),
                similarity,
            })
    }

    /// The curated answers (of `guild`, or of every guild) whose article `exists` no longer
    /// finds: kept, and reported, until a moderator removes them or the article returns.
    pub fn orphans(&self, guild: Option<u64>, exists: impl Fn(&str) -> bool) -> Vec<Orphan> {
        let cache = self.cache.read().unwrap();
        let mut out: Vec<Orphan> = cache
            .iter()
            .filter(|(g, _)| guild.is_none_or(|w| w == **g))
            .flat_map(|(_, list)| list.iter())
            .filter(|(c, _)| !exists(&c.article))
            .map(|(c, _)| Orphan {
                id: c.id,
                guild: c.guild,
                question: c.question.clone(),
                article: c.article.clone(),
            })
            .collect();
        out.sort_by_key(|o| o.id);
        out
    }
}

/// What was pinned, and the article's title for the reply.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pinned {
    pub curated: Curated,
    pub title: String,
}

/// Pins `new` with its article resolved by the engine as `/article` resolves a name (slug,
/// title, alias, a word of one, a typo) and stored as the article's slug; a name that finds
/// no article, or a section the article does not have, is refused. The reply names the
/// article, so a moderator sees which one a loose name found. Blocks (the engine, the store):
/// adapters run it off the async runtime.
pub fn pin(engine: &Engine, curation: &Curation, mut new: NewCurated) -> anyhow::Result<Pinned> {
    let name = crate::text::clean_whitespace(&new.article);
    let shown: String = name.chars().take(100).collect();
    let card = match engine.execute(&Command::Article {
        query: name.clone(),
    })? {
        Answer::Article(card) => card,
        _ => bail!("no article is called \"{shown}\""),
    };
    new.section = match new
        .section
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(s) => match card.sections.iter().find(|h| h.eq_ignore_ascii_case(s)) {
            Some(h) => Some(h.clone()),
            None => {
                let s: String = s.chars().take(100).collect();
                bail!(
                    "\"{}\" has no section \"{s}\"; its sections: {}",
                    card.title,
                    card.sections.join(", ")
                )
            }
        },
    };
    new.article = card.slug.clone();
    Ok(Pinned {
        curated: curation.add(new)?,
        title: card.title,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(q: &str) -> BTreeSet<String> {
        stems(q)
    }

    #[test]
    fn close_questions_by_their_stems() {
        let pinned = set("How long does composting take?");
        let check = |q: &str, expected: bool| {
            let sim = similarity(&set(q), &pinned);
            assert_eq!(
                sim >= DEFAULT_MIN_SIMILARITY,
                expected,
                "{q}: {sim} vs {pinned:?}"
            );
        };
        check("how long does compost take", true);
        check("How long do composts take?", true);
        check("how long does compst take", true); // a typo
        check("how long does compost take to finish in winter", false);
        check("what is a stablecoin", false);
        check("", false);
        assert!(one_edit_apart("compost", "compst"));
        assert!(one_edit_apart("compost", "composts"));
        assert!(one_edit_apart("compost", "compast"));
        assert!(!one_edit_apart("compost", "compo"));
        assert!(!same_term("peg", "pig"), "short stems must be equal");
    }

    fn curation() -> Curation {
        Curation::open(None, DEFAULT_MIN_SIMILARITY).unwrap()
    }

    fn new(guild: u64, question: &str, article: &str) -> NewCurated {
        NewCurated {
            guild,
            question: question.into(),
            article: article.into(),
            section: None,
            note: None,
        }
    }

    #[test]
    fn add_find_remove_per_guild() {
        let c = curation();
        let pinned = c
            .add(new(1, "how long does compost take", "composting"))
            .unwrap();
        let all = |_: &str| true;
        let found = c.find(1, "How long do compost piles take?", all).unwrap();
        assert!((found.similarity - 2.0 / 3.0).abs() < 1e-6, "{found:?}");
        let far = c.find(1, "how long does compost take to finish in winter", all);
        assert!(far.is_none(), "two terms of four: {far:?}");
        let found = c.find(1, "how long does composting take", all).unwrap();
        assert_eq!(found.curated, pinned);
        assert!(
            c.find(2, "how long does compost take", all).is_none(),
            "another guild"
        );
        assert!(
            c.find(1, "how long does compost take", |_| false).is_none(),
            "article gone"
        );
        assert_eq!(c.orphans(Some(1), |_| false).len(), 1);
        assert!(!c.remove(2, pinned.id).unwrap(), "another guild's id");
        assert!(c.remove(1, pinned.id).unwrap());
        assert!(c.find(1, "how long does compost take", all).is_none());
    }

    #[test]
    fn bad_pins_are_refused_with_the_reason() {
        let c = curation();
        let long = "compost?".repeat(625);
        let e = c.add(new(1, &long, "a")).unwrap_err().to_string();
        assert!(
            e.contains("5000 characters") && e.contains("at most 300"),
            "{e}"
        );
        let e = c.add(new(1, "what is it?", "a")).unwrap_err().to_string();
        assert!(e.contains("no word to match"), "{e}");
        let mut n = new(1, "compost", "a");
        n.note = Some("x".repeat(201));
        assert!(c.add(n).unwrap_err().to_string().contains("note"));
        assert!(c.list(1).is_empty());
    }

    #[test]
    fn the_store_keeps_them_across_opens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data/curated.sqlite3");
        let c = Curation::open(Some(&path), DEFAULT_MIN_SIMILARITY).unwrap();
        let mut n = new(7, "how long does compost take", "composting");
        n.section = Some("How Long It Takes".into());
        n.note = Some("the short answer".into());
        let pinned = c.add(n).unwrap();
        drop(c);
        let again = Curation::open(Some(&path), DEFAULT_MIN_SIMILARITY).unwrap();
        assert_eq!(again.list(7), [pinned]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
