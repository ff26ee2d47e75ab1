//! The conversation layer: a message and the conversation's [`State`] in, a [`Turn`] (what
//! was asked for, how sure, the [`Command`] run or the short reply given) and the new state
//! out. It sits between every chat-like front end (`chat`, @mentions, replies, `/discuss`
//! threads) and the command layer, and knows nothing of terminals or Discord.
//!
//! Recognition is explainable and data-driven (snips-nlu's pipeline, scaled down): the
//! phrases and patterns live in `intents.toml`; a message is first looked up whole
//! (normalised), then matched against the patterns with their slots filled by entity parsers
//! (article names through the library's [`NameIndex`](crate::names::NameIndex), authors,
//! tags), and what nothing claims is a question for `ask`. Each turn reports its intent, a
//! confidence and how it was recognised.

mod act;
mod entities;
mod model;
mod recognize;
mod store;

use serde::{Deserialize, Serialize};

use crate::answer::{Answer, ArticleRef, Command};
use crate::config::AnswerSettings;
use crate::library::Library;

pub use recognize::How;
pub use store::Conversations;

/// What a message asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Intent {
    /// A question about content (`ask`).
    Ask,
    Summary,
    Takeaways,
    /// The article card.
    Facts,
    FactsAuthor,
    FactsDate,
    FactsTags,
    FactsLength,
    FactsLink,
    ListLatest,
    ListAuthor,
    ListTag,
    /// "anything about X?": the articles a search finds.
    ListTopic,
    Related,
    /// The next passage of the current article not shown yet.
    More,
    /// "and the sleep one?": what was last asked, of another article.
    Same,
    Greeting,
    Thanks,
    Help,
    /// No words at all.
    Unclear,
    /// A section button of a `/discuss` thread: the section's best passage.
    Section,
}

const INTENT_NAMES: &[(Intent, &str)] = &[
    (Intent::Ask, "ask"),
    (Intent::Summary, "summary"),
    (Intent::Takeaways, "takeaways"),
    (Intent::Facts, "facts"),
    (Intent::FactsAuthor, "facts.author"),
    (Intent::FactsDate, "facts.date"),
    (Intent::FactsTags, "facts.tags"),
    (Intent::FactsLength, "facts.length"),
    (Intent::FactsLink, "facts.link"),
    (Intent::ListLatest, "list.latest"),
    (Intent::ListAuthor, "list.author"),
    (Intent::ListTag, "list.tag"),
    (Intent::ListTopic, "list.topic"),
    (Intent::Related, "related"),
    (Intent::More, "more"),
    (Intent::Same, "same"),
    (Intent::Greeting, "greeting"),
    (Intent::Thanks, "thanks"),
    (Intent::Help, "help"),
    (Intent::Unclear, "unclear"),
    (Intent::Section, "section"),
];

impl Intent {
    /// The intent's name in `intents.toml`, the tests and JSON ("facts.author").
    pub fn name(self) -> &'static str {
        INTENT_NAMES
            .iter()
            .find(|(i, _)| *i == self)
            .map(|(_, n)| *n)
            .unwrap_or("ask")
    }

    pub fn from_name(name: &str) -> Option<Intent> {
        INTENT_NAMES
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(i, _)| *i)
    }

    /// Intents about one article, which "and the other one?" repeats.
    fn is_about_article(self) -> bool {
        matches!(
            self,
            Intent::Summary
                | Intent::Takeaways
                | Intent::Facts
                | Intent::FactsAuthor
                | Intent::FactsDate
                | Intent::FactsTags
                | Intent::FactsLength
                | Intent::FactsLink
                | Intent::Related
        )
    }
}

impl Serialize for Intent {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Intent {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Intent, D::Error> {
        let name = String::deserialize(d)?;
        Intent::from_name(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown intent {name:?}")))
    }
}

/// The conversation layer's settings (`[conversation]` in the config file).
pub use crate::config::ConversationSettings as Settings;

/// What a conversation remembers between messages. Plain data (serde), so a front end can
/// keep it wherever it keeps conversations (memory, or a database for `/discuss` threads).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// The article of a `/discuss` thread: the conversation's article whatever happens, and
    /// the one it returns to after an idle time.
    pub home: Option<String>,
    /// The article being talked about (slug).
    pub article: Option<String>,
    /// Passages of `article` already shown, as offsets among its passages.
    pub shown: Vec<u32>,
    /// The last question asked of `article`: "tell me more" continues with it.
    pub topic: Option<String>,
    /// The last intent about one article ("and the sleep one?" repeats it).
    pub last_intent: Option<Intent>,
    /// When the last message came (seconds since the Unix epoch); 0 before the first.
    pub last_seen: u64,
}

impl State {
    /// A `/discuss` thread's conversation about `slug`.
    pub fn discussing(slug: &str) -> State {
        State {
            home: Some(slug.to_string()),
            article: Some(slug.to_string()),
            ..State::default()
        }
    }

    /// The state a message arriving at `now` meets: the same, or (after the idle time) a
    /// fresh one that keeps only the thread's article.
    pub fn at(&self, settings: &Settings, now: u64) -> State {
        if self.last_seen > 0 && now.saturating_sub(self.last_seen) > settings.idle_seconds {
            match &self.home {
                Some(home) => State::discussing(home),
                None => State::default(),
            }
        } else {
            self.clone()
        }
    }

    /// Whether the state has gone idle by `now` and holds nothing a restart should keep.
    pub fn expired(&self, settings: &Settings, now: u64) -> bool {
        self.home.is_none() && *self != State::default() && self.at(settings, now) != *self
    }
}

/// What kind of answer a turn gave: the `kind` field of its JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Answer,
    Summary,
    Takeaways,
    Facts,
    List,
    Related,
    More,
    Reply,
    NotFound,
}

/// One fact about an article, answered.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FactsAnswer {
    pub slug: String,
    pub title: String,
    pub url: Option<String>,
    /// "author", "date", "tags", "length" or "link".
    pub fact: &'static str,
    /// The fact in a sentence.
    pub text: String,
    pub authors: Vec<String>,
    pub date: Option<String>,
    pub tags: Vec<String>,
    pub words: usize,
    pub reading_minutes: usize,
}

/// One article in a list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ListItem {
    pub slug: String,
    pub title: String,
    pub url: Option<String>,
    pub date: Option<String>,
    pub authors: Vec<String>,
}

/// A list of articles: the latest, an author's, a tag's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ListAnswer {
    /// "latest", "author" or "tag".
    pub list: &'static str,
    /// The author or tag listed.
    pub query: Option<String>,
    /// Articles in the whole list (more than `items` when it was cut).
    pub total: usize,
    pub items: Vec<ListItem>,
}

/// A short reply: greetings, thanks, help, a question back.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reply {
    pub text: String,
    pub suggestions: Vec<ArticleRef>,
}

/// What a turn answers with.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Response {
    /// The command layer's answer to [`Turn::command`].
    Answer(Answer),
    Facts(FactsAnswer),
    List(ListAnswer),
    Reply(Reply),
}

/// One turn of a conversation: what was understood and what it answers.
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    pub intent: Intent,
    /// 0-1: how much of the message the recognised phrase or pattern accounts for, times how
    /// surely a named article was recognised.
    pub confidence: f32,
    pub how: How,
    /// The article the answer is about (slug).
    pub article: Option<String>,
    /// The command run through the command layer, if one was.
    pub command: Option<Command>,
    pub response: Response,
}

impl Turn {
    /// What kind of answer this is.
    pub fn kind(&self) -> Kind {
        match &self.response {
            Response::Reply(_) => Kind::Reply,
            Response::Facts(_) => Kind::Facts,
            Response::List(l) if l.items.is_empty() => Kind::NotFound,
            Response::List(_) => Kind::List,
            Response::Answer(Answer::Ask(_)) if self.intent == Intent::More => Kind::More,
            Response::Answer(a) => kind_of(a),
        }
    }

    /// The turn as plain text, for a terminal (the command layer's answers are rendered by
    /// their own renderers: this is for the answers made here).
    pub fn plain(&self) -> Option<String> {
        match &self.response {
            Response::Answer(_) => None,
            Response::Facts(f) => Some(f.text.clone()),
            Response::Reply(r) => Some(r.text.clone()),
            Response::List(l) => Some(l.plain()),
        }
    }

    /// The turn as its JSON document: the answer's own fields plus `kind`, `intent` and
    /// `confidence`.
    pub fn json(&self) -> serde_json::Value {
        #[derive(Serialize)]
        struct Doc<'a> {
            kind: Kind,
            intent: Intent,
            confidence: f64,
            #[serde(flatten)]
            response: &'a Response,
        }
        serde_json::to_value(Doc {
            kind: self.kind(),
            intent: self.intent,
            // Rounded in f64: an f32 widened for JSON prints as 0.6000000238.
            confidence: (f64::from(self.confidence) * 100.0).round() / 100.0,
            response: &self.response,
        })
        .unwrap_or(serde_json::Value::Null)
    }
}

/// What kind of answer a command layer's answer is (the `kind` of its JSON): an `ask` that
/// found nothing, or a search that found nothing, is `not_found`.
pub fn kind_of(answer: &Answer) -> Kind {
    match answer {
        Answer::Ask(ask) if ask.results.is_empty() => Kind::NotFound,
        Answer::Ask(_) => Kind::Answer,
        Answer::Search(s) if s.results.is_empty() => Kind::NotFound,
        Answer::Search(_) => Kind::List,
        Answer::Summary(_) => Kind::Summary,
        Answer::Takeaways(_) => Kind::Takeaways,
        Answer::Article(_) => Kind::Facts,
        Answer::Related(_) => Kind::Related,
        Answer::NotFound(_) => Kind::NotFound,
    }
}

impl ListAnswer {
    /// A heading line, then one line per article: title, date and authors, link.
    pub fn plain(&self) -> String {
        let mut out = match (self.list, &self.query) {
            (_, _) if self.items.is_empty() => match &self.query {
                Some(q) => format!("No article for \"{q}\"."),
                None => "No articles yet.".to_string(),
            },
            ("author", Some(a)) => format!("Articles by {a} ({}):", self.total),
            ("tag", Some(t)) => format!("Articles tagged {t} ({}):", self.total),
            _ => format!("Latest articles ({} in all):", self.total),
        };
        for (i, it) in self.items.iter().enumerate() {
            out.push_str(&format!("\n{}. {}", i + 1, it.title));
            let about: Vec<String> = it
                .date
                .iter()
                .cloned()
                .chain((!it.authors.is_empty()).then(|| it.authors.join(", ")))
                .collect();
            if !about.is_empty() {
                out.push_str(&format!(" ({})", about.join(", ")));
            }
            if let Some(u) = &it.url {
                out.push_str(&format!(" {u}"));
            }
        }
        out
    }
}

/// Answers `message` in the conversation `state`, at `now` (seconds since the Unix epoch):
/// recognises it, runs what it asks for against `lib`, and returns the turn and the new
/// state. Never fails on what the message says; errors are the engine's (an index read).
pub fn respond(
    lib: &Library,
    answers: &AnswerSettings,
    settings: &Settings,
    state: &State,
    message: &str,
    now: u64,
) -> anyhow::Result<(Turn, State)> {
    let mut state = state.at(settings, now);
    let message = capped(message, answers.max_question_chars);
    let m = model::model();
    let understood = recognize::recognize(m, lib, &message);
    let turn = act::act(m, lib, answers, &mut state, &message, understood)?;
    state.last_seen = now;
    if turn.intent.is_about_article() {
        state.last_intent = Some(turn.intent);
    }
    Ok((turn, state))
}

/// The best passage of section `section` (an index into the article's sections, as
/// [`sections`] lists them) of article `slug`, as a turn of the conversation `state`: the
/// article becomes the current one, the passage is shown, and the section's heading is the
/// topic "tell me more" continues with. An article or section that no longer exists (a reload
/// since the button was made) gets a short reply.
pub fn section(
    lib: &Library,
    answers: &AnswerSettings,
    settings: &Settings,
    state: &State,
    slug: &str,
    section: usize,
    now: u64,
) -> (Turn, State) {
    let mut state = state.at(settings, now);
    let turn = act::section(model::model(), lib, answers, &mut state, slug, section);
    state.last_seen = now;
    (turn, state)
}

/// The sections of article `slug` a reader can jump to: (index among the article's sections,
/// heading), in reading order; the headed sections that hold text, without the takeaway
/// sections (a `/discuss` thread shows those already).
pub fn sections(lib: &Library, slug: &str) -> Vec<(usize, String)> {
    let Some(id) = lib.by_slug(slug) else {
        return Vec::new();
    };
    let with_text: std::collections::HashSet<u32> = lib
        .passages_of(id)
        .map(|p| lib.passages[p as usize].section)
        .collect();
    lib.article(id)
        .sections
        .iter()
        .enumerate()
        .filter(|(i, s)| !s.takeaway && with_text.contains(&(*i as u32)))
        .filter_map(|(i, s)| Some((i, s.heading.clone()?)))
        .collect()
}

/// What `message` asks for, how surely and how that was found, without running anything:
/// recognition alone (for explanations and the bench).
pub fn understand(lib: &Library, message: &str) -> (Intent, f32, How) {
    let u = recognize::recognize(model::model(), lib, message);
    (u.intent, u.confidence, u.how)
}

/// The short reply texts of `intents.toml` (front ends reuse the help text).
pub fn help_text() -> &'static str {
    &model::model().replies.help
}

/// `message` cut to `max` characters (recognition and `ask` read no further).
fn capped(message: &str, max: usize) -> String {
    message.trim().chars().take(max).collect()
}
