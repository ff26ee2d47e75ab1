//! Feedback on answers: members' 👍/👎 on the passage an answer led with, one vote per member
//! per answer (a new vote replaces theirs), stored with the question's hash and the passage,
//! the voter only as the statistics' keyed hash. A passage voted down for a question by at
//! least `min_voters` distinct members, with at least two down votes for every up vote, is
//! demoted for that question: its passages move after the others in answers to it (never
//! removed, so the demotion is bounded to an order), until a moderator restores it. Below the
//! minimum, votes change nobody's answer, so a handful of accounts cannot bury a passage.
//!
//! "That question" is the set of its content stems (as [`crate::curate::stems`] makes it):
//! questions with the same terms, whatever their form ("How long does composting take?",
//! "how long do composts take"), share their votes. Knows nothing of Discord.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Mutex, RwLock};

use anyhow::Context;
use rusqlite::{params, Connection};

use crate::answer::AskAnswer;
use crate::state::unix_now as now;

/// The default number of distinct voters before a passage can be demoted for a question:
/// three, so that one member with a second account cannot demote alone, while a small
/// community still can.
pub use crate::config::DEFAULT_FEEDBACK_MIN_VOTERS as DEFAULT_MIN_VOTERS;
/// Characters of a question kept with its votes (shown in `/stats`).
const QUESTION_KEPT: usize = 120;

pub use crate::state::{NewVote, Tally, Vote, VoteStore};

impl Tally {
    /// Whether these votes demote the passage for the question (see the module docs).
    pub fn demotes(&self, min_voters: u64) -> bool {
        self.voters >= min_voters && self.down >= 2 * self.up && self.down > 0
    }
}

/// The hash a question's votes are kept under: its sorted content stems, hashed (16 hex
/// digits; not a secret, only a key).
pub fn question_hash(question: &str) -> String {
    let stems: Vec<String> = crate::curate::stems(question).into_iter().collect();
    blake3::hash(stems.join(" ").as_bytes()).to_hex()[..16].to_string()
}

/// The passage a vote is about: the article's slug and the section heading, if any.
pub fn passage_key(slug: &str, section: Option<&str>) -> String {
    match section {
        Some(s) => format!("{slug}#{}", crate::text::github_anchor(s)),
        None => slug.to_string(),
    }
}

/// [`VoteStore`] in SQLite (a table of its own; the file is shared with the curated answers).
pub struct SqliteVotes {
    conn: Mutex<Connection>,
}

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS votes (
    guild INTEGER NOT NULL,
    answer INTEGER NOT NULL,
    voter BLOB NOT NULL,
    question_hash TEXT NOT NULL,
    question TEXT,
    passage TEXT NOT NULL,
    vote INTEGER NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (guild, answer, voter)
);
CREATE INDEX IF NOT EXISTS votes_question ON votes (guild, question_hash, passage);";

impl SqliteVotes {
    /// Opens (or creates) the votes table in the file at `path`; `None`: in memory.
    pub fn open(path: Option<&Path>) -> anyhow::Result<SqliteVotes> {
        let conn = match path {
            // The curated answers' store made the file and its folder private.
            Some(p) => Connection::open(p)
                .with_context(|| format!("cannot open the votes database {}", p.display()))?,
            None => Connection::open_in_memory()?,
        };
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)
            .context("cannot set up the votes table")?;
        Ok(SqliteVotes {
            conn: Mutex::new(conn),
        })
    }
}

impl VoteStore for SqliteVotes {
    fn vote(&self, v: &NewVote, question_text: Option<&str>, at: u64) -> anyhow::Result<()> {
        self.conn.lock().unwrap().execute(
            "INSERT INTO votes (guild, answer, voter, question_hash, question, passage, vote, at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
             ON CONFLICT (guild, answer, voter) DO UPDATE SET vote = excluded.vote, at = excluded.at",
            params![
                v.guild as i64,
                v.answer as i64,
                &v.voter[..],
                v.question,
                question_text,
                v.passage,
                v.vote.as_i64(),
                at as i64
            ],
        )?;
        Ok(())
    }

    fn tallies(&self, guild: u64) -> anyhow::Result<Vec<Tally>> {
        let conn = self.conn.lock().unwrap();
        let mut st = conn.prepare(
            "SELECT question_hash, MIN(question), passage, \
                    SUM(vote > 0), SUM(vote < 0), COUNT(DISTINCT voter) \
             FROM votes WHERE guild = ?1 GROUP BY question_hash, passage",
        )?;
        let rows = st.query_map(params![guild as i64], |r| {
            Ok(Tally {
                question_hash: r.get(0)?,
                question: r.get(1)?,
                passage: r.get(2)?,
                up: r.get::<_, i64>(3)? as u64,
                down: r.get::<_, i64>(4)? as u64,
                voters: r.get::<_, i64>(5)? as u64,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn guilds(&self) -> anyhow::Result<Vec<u64>> {
        let conn = self.conn.lock().unwrap();
        let mut st = conn.prepare("SELECT DISTINCT guild FROM votes")?;
        let rows = st.query_map([], |r| r.get::<_, i64>(0))?;
        Ok(rows
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .map(|g| g as u64)
            .collect())
    }

    fn clear(&self, guild: u64, question_hash: &str, passage: &str) -> anyhow::Result<usize> {
        Ok(self.conn.lock().unwrap().execute(
            "DELETE FROM votes WHERE guild = ?1 AND question_hash = ?2 AND passage = ?3",
            params![guild as i64, question_hash, passage],
        )?)
    }
}

/// The votes, and the demotions they make (in memory, so that answering never waits for the
/// store).
pub struct Feedback {
    store: Box<dyn VoteStore>,
    min_voters: u64,
    keep_questions: bool,
    /// (guild, question hash) → the passages demoted for it.
    demoted: RwLock<HashMap<(u64, String), HashSet<String>>>,
}

impl std::fmt::Debug for Feedback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Feedback")
            .field("min_voters", &self.min_voters)
            .finish_non_exhaustive()
    }
}

impl Feedback {
    /// The votes `store` holds; a passage needs `min_voters` distinct voters to be demoted;
    /// question text is kept with votes only when `keep_questions` (`stats.keep_questions`).
    pub fn new(
        store: Box<dyn VoteStore>,
        min_voters: u64,
        keep_questions: bool,
    ) -> anyhow::Result<Feedback> {
        let f = Feedback::unread(store, min_voters, keep_questions);
        f.refresh_all()?;
        Ok(f)
    }

    /// [`Feedback::new`] without reading the votes yet (a shared store that is away at
    /// start delays the demotions, not the bot): [`Feedback::refresh_all`] reads them.
    pub fn unread(store: Box<dyn VoteStore>, min_voters: u64, keep_questions: bool) -> Feedback {
        Feedback {
            store,
            min_voters: min_voters.max(1),
            keep_questions,
            demoted: RwLock::new(HashMap::new()),
        }
    }

    /// Recomputes every guild's demotions from the store (another instance's votes).
    pub fn refresh_all(&self) -> anyhow::Result<()> {
        // The guilds demoted now too: their votes may all have gone since.
        let mut guilds: HashSet<u64> = self.store.guilds()?.into_iter().collect();
        guilds.extend(self.demoted.read().unwrap().keys().map(|(g, _)| *g));
        for guild in guilds {
            self.refresh(guild)?;
        }
        Ok(())
    }

    /// Opens the SQLite votes table at `path` (`None`: in memory).
    pub fn open(
        path: Option<&Path>,
        min_voters: u64,
        keep_questions: bool,
    ) -> anyhow::Result<Self> {
        Feedback::new(
            Box::new(SqliteVotes::open(path)?),
            min_voters,
            keep_questions,
        )
    }

    /// Recomputes `guild`'s demotions from its tallies.
    pub fn refresh(&self, guild: u64) -> anyhow::Result<()> {
        let tallies = self.store.tallies(guild)?;
        let mut demoted = self.demoted.write().unwrap();
        demoted.retain(|(g, _), _| *g != guild);
        for t in tallies.into_iter().filter(|t| t.demotes(self.min_voters)) {
            demoted
                .entry((guild, t.question_hash))
                .or_default()
                .insert(t.passage);
        }
        Ok(())
    }

    /// Records `ballot` (a vote on the answer `ballot.answer`, whose question's hash and
    /// first passage it names), replacing the voter's earlier vote on that answer; the
    /// question's text is kept only when questions may be. Blocks (the store).
    pub fn vote(&self, ballot: &NewVote, question: Option<&str>) -> anyhow::Result<()> {
        let text: Option<String> = question
            .filter(|_| self.keep_questions)
            .map(|q| q.chars().take(QUESTION_KEPT).collect());
        self.store.vote(ballot, text.as_deref(), now())?;
        self.refresh(ballot.guild)
    }

    /// Moves the passages demoted for `question` in `guild` after the others (their order
    /// kept); whether anything moved.
    pub fn demote(&self, guild: u64, question: &str, answer: &mut AskAnswer) -> bool {
        let demoted = self.demoted.read().unwrap();
        if demoted.is_empty() {
            return false;
        }
        let Some(passages) = demoted.get(&(guild, question_hash(question))) else {
            return false;
        };
        let is_demoted = |r: &crate::answer::AskResult| {
            passages.contains(&passage_key(&r.slug, r.section.as_deref()))
        };
        if !answer.results.iter().any(is_demoted) {
            return false;
        }
        let (down, kept): (Vec<_>, Vec<_>) = answer.results.drain(..).partition(is_demoted);
        answer.results = kept;
        answer.results.extend(down);
        if answer
            .takeaways
            .as_ref()
            .is_some_and(|t| answer.results.first().is_none_or(|r| r.slug != t.slug))
        {
            answer.takeaways = None;
        }
        true
    }

    /// The guild's least helpful answers: tallies with down votes, most down (net) first.
    pub fn least_helpful(&self, guild: u64, limit: usize) -> anyhow::Result<Vec<(Tally, bool)>> {
        Ok(self.worst_of(self.store.tallies(guild)?, limit))
    }

    /// [`Feedback::least_helpful`] and the passages of the guild most often voted down over
    /// every question ((passage, 👎, 👍), most down first), from one read of the guild's
    /// tallies (what `/stats` shows).
    #[allow(clippy::type_complexity)]
    pub fn vote_summary(
        &self,
        guild: u64,
        worst: usize,
        passages: usize,
    ) -> anyhow::Result<(Vec<(Tally, bool)>, Vec<(String, u64, u64)>)> {
        let tallies = self.store.tallies(guild)?;
        let by_passage = most_down_of(&tallies, passages);
        Ok((self.worst_of(tallies, worst), by_passage))
    }

    fn worst_of(&self, tallies: Vec<Tally>, limit: usize) -> Vec<(Tally, bool)> {
        let mut t: Vec<Tally> = tallies.into_iter().filter(|t| t.down > 0).collect();
        t.sort_by_key(|t| std::cmp::Reverse((t.down as i64 - t.up as i64, t.down)));
        t.into_iter()
            .take(limit)
            .map(|t| {
                let d = t.demotes(self.min_voters);
                (t, d)
            })
            .collect()
    }

    /// A moderator's restore: forgets the votes on `passage` for `question_hash` in `guild`,
    /// which ends its demotion; how many votes were forgotten.
    pub fn restore(&self, guild: u64, question_hash: &str, passage: &str) -> anyhow::Result<usize> {
        let n = self.store.clear(guild, question_hash, passage)?;
        self.refresh(guild)?;
        Ok(n)
    }
}

/// The passages most often voted down over `tallies` (every question): (passage, 👎, 👍),
/// most down first, at most `limit`.
fn most_down_of(tallies: &[Tally], limit: usize) -> Vec<(String, u64, u64)> {
    let mut by_passage: HashMap<&str, (u64, u64)> = HashMap::new();
    for t in tallies {
        let e = by_passage.entry(t.passage.as_str()).or_default();
        e.0 += t.down;
        e.1 += t.up;
    }
    let mut out: Vec<(String, u64, u64)> = by_passage
        .into_iter()
        .filter(|(_, (down, _))| *down > 0)
        .map(|(p, (down, up))| (p.to_string(), down, up))
        .collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then(a.2.cmp(&b.2)).then(a.0.cmp(&b.0)));
    out.truncate(limit);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::AskResult;

    fn result(slug: &str, section: Option<&str>) -> AskResult {
        AskResult {
            slug: slug.into(),
            title: slug.into(),
            url: None,
            article_url: None,
            section: section.map(str::to_string),
            excerpt: "x".into(),
            highlights: Vec::new(),
            score: 1.0,
        }
    }

    fn answer() -> AskAnswer {
        AskAnswer {
            question: "q".into(),
            article: None,
            results: vec![result("a", Some("One")), result("b", None)],
            takeaways: None,
            suggestions: Vec::new(),
            note: None,
        }
    }

    fn voter(n: u8) -> [u8; 32] {
        [n; 32]
    }

    fn ballot(
        guild: u64,
        answer: u64,
        voter: [u8; 32],
        question: &str,
        passage: &str,
        vote: Vote,
    ) -> NewVote {
        NewVote {
            guild,
            answer,
            voter,
            question: question.into(),
            passage: passage.into(),
            vote,
        }
    }

    #[test]
    fn demoted_only_from_the_minimum_of_distinct_voters() {
        let f = Feedback::open(None, 3, true).unwrap();
        let q = "how long does compost take";
        let h = question_hash(q);
        let passage = passage_key("a", Some("One"));
        // One member voting many times is one voter, with their last vote.
        for _ in 0..50 {
            f.vote(&ballot(1, 10, voter(1), &h, &passage, Vote::Down), Some(q))
                .unwrap();
        }
        f.vote(&ballot(1, 11, voter(2), &h, &passage, Vote::Down), Some(q))
            .unwrap();
        let mut a = answer();
        assert!(!f.demote(1, q, &mut a), "two voters: below the minimum");
        assert_eq!(a.results[0].slug, "a");
        f.vote(&ballot(1, 12, voter(3), &h, &passage, Vote::Down), Some(q))
            .unwrap();
        assert!(
            f.demote(1, "How long do composts take?", &mut a),
            "same stems"
        );
        assert_eq!(a.results[0].slug, "b");
        assert_eq!(a.results.len(), 2, "moved, never removed");
        // Another guild, another question: untouched.
        let mut other = answer();
        assert!(!f.demote(2, q, &mut other));
        assert!(!f.demote(1, "what is a stablecoin", &mut other));
        // A voter changing their mind counts once, with the new vote.
        f.vote(&ballot(1, 12, voter(3), &h, &passage, Vote::Up), Some(q))
            .unwrap();
        let tally = &f.least_helpful(1, 5).unwrap()[0].0;
        assert_eq!((tally.up, tally.down, tally.voters), (1, 2, 3));
        let mut a = answer();
        assert!(f.demote(1, q, &mut a), "2 down for 1 up still demotes");
        f.vote(&ballot(1, 13, voter(4), &h, &passage, Vote::Up), Some(q))
            .unwrap();
        let mut a = answer();
        assert!(!f.demote(1, q, &mut a), "2 down for 2 up does not");
    }

    #[test]
    fn a_moderator_restores_a_demoted_passage() {
        let f = Feedback::open(None, 2, false).unwrap();
        let q = "how long does compost take";
        let h = question_hash(q);
        let passage = passage_key("a", Some("One"));
        for v in 1..=2 {
            f.vote(&ballot(1, 10, voter(v), &h, &passage, Vote::Down), Some(q))
                .unwrap();
        }
        let worst = f.least_helpful(1, 5).unwrap();
        assert!(worst[0].1, "demoted");
        // Down votes on the same passage for another question add up per passage.
        let other = question_hash("what goes with banana peels");
        f.vote(&ballot(1, 11, voter(1), &other, &passage, Vote::Down), None)
            .unwrap();
        assert_eq!(
            f.vote_summary(1, 5, 5).unwrap().1,
            [(passage.clone(), 3, 0)]
        );
        f.restore(1, &other, &passage).unwrap();
        assert_eq!(worst[0].0.question, None, "questions not kept");
        assert_eq!(f.restore(1, &h, &passage).unwrap(), 2);
        let mut a = answer();
        assert!(!f.demote(1, q, &mut a));
    }
}
