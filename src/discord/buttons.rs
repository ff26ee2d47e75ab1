//! Button custom ids: what a button press must know, written into the button itself so that
//! it survives a restart and works on any `serve-http` instance, and read back without
//! trusting it.
//!
//! Two forms, both at most [`CUSTOM_ID_MAX`] characters (Discord's limit):
//! - carried, `ab2:<action>:<asker>:<kind>:<page>:<len>:<a><b>`: the whole command. `kind` is
//!   one letter per command, `page` the search page (0 otherwise), `a` its short text (tag or
//!   article, `len` bytes long) and `b` its main text (query, question or article), last, so
//!   that both may hold any character, `:` included. *Delete* needs only the asker:
//!   `ab2:d:<asker>`.
//! - stored, `ab:<action>:<id>:<asker>`: the state stays in the process's memory under `id`;
//!   used only when the command does not fit, so those buttons expire (and say so) after
//!   `discord.button_timeout_seconds`, a restart, or on another instance.
//!
//! Anything else, or a carried id whose parts do not add up, parses to `None`; the caller
//! answers with an ephemeral message. Parsing never panics (a unit test feeds it garbage).
//!
//! The section buttons of a `/discuss` thread have their own form, read by [`parse_section`]:
//! `abs:<s|m>:<section>:<slug>` (*s* shows section number `section`, *m* offers the sections
//! from that number on), the slug left out when it would not fit (the thread's article is
//! meant then).

use crate::answer::{Command, Scope};

/// Discord's limit on a custom id, in characters.
pub const CUSTOM_ID_MAX: usize = 100;

/// Prefix of the stored form.
const STORED: &str = "ab";
/// Prefix of the carried form (version 2 of our custom ids).
const CARRIED: &str = "ab2";

/// The highest search page a custom id may ask for.
const PAGE_MAX: usize = 10_000;

/// What a button does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Prev,
    Next,
    Post,
    Delete,
}

impl Action {
    fn code(self) -> &'static str {
        match self {
            Action::Prev => "p",
            Action::Next => "n",
            Action::Post => "o",
            Action::Delete => "d",
        }
    }

    fn from_code(code: &str) -> Option<Action> {
        Some(match code {
            "p" => Action::Prev,
            "n" => Action::Next,
            "o" => Action::Post,
            "d" => Action::Delete,
            _ => return None,
        })
    }

    /// The action's name in the stored form.
    fn stored_name(self) -> &'static str {
        match self {
            Action::Prev => "prev",
            Action::Next => "next",
            Action::Post => "post",
            Action::Delete => "del",
        }
    }

    fn from_stored_name(name: &str) -> Option<Action> {
        [Action::Prev, Action::Next, Action::Post, Action::Delete]
            .into_iter()
            .find(|a| a.stored_name() == name)
    }
}

/// A button's custom id, read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ButtonId {
    /// The command travels in the id (`None` for *Delete*, which needs none).
    Carried {
        action: Action,
        asker: u64,
        command: Option<Command>,
    },
    /// The state is in memory under `id`.
    Stored { action: Action, id: u64, asker: u64 },
}

impl ButtonId {
    pub fn action(&self) -> Action {
        match self {
            ButtonId::Carried { action, .. } | ButtonId::Stored { action, .. } => *action,
        }
    }

    /// Who asked, as the id says (checked against who pressed, never trusted alone).
    pub fn asker(&self) -> u64 {
        match self {
            ButtonId::Carried { asker, .. } | ButtonId::Stored { asker, .. } => *asker,
        }
    }
}

/// The carried custom id for `action` on an answer to `command` by `asker`, or `None` when it
/// would be longer than Discord allows (or the command has no carried form).
pub fn carried(action: Action, asker: u64, command: &Command) -> Option<String> {
    let (kind, page, a, b) = parts(command)?;
    let id = format!(
        "{CARRIED}:{}:{asker}:{kind}:{page}:{}:{a}{b}",
        action.code(),
        a.len()
    );
    (id.chars().count() <= CUSTOM_ID_MAX).then_some(id)
}

/// The custom id of a *Delete* button: only the asker matters.
pub fn delete(asker: u64) -> String {
    format!("{CARRIED}:{}:{asker}", Action::Delete.code())
}

/// The stored custom id: the state is in memory under `id`.
pub fn stored(action: Action, id: u64, asker: u64) -> String {
    format!("{STORED}:{}:{id}:{asker}", action.stored_name())
}

/// Prefix of the section buttons of a `/discuss` thread.
const SECTION: &str = "abs";

/// A section button of a `/discuss` thread, read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SectionButton {
    /// Show this section (an index into the article's sections).
    Show {
        section: usize,
        slug: Option<String>,
    },
    /// Offer the sections from this index on (more than one message's buttons hold).
    More { from: usize, slug: Option<String> },
}

impl SectionButton {
    /// The button's custom id: with the slug when it fits in [`CUSTOM_ID_MAX`], else without.
    pub fn custom_id(&self) -> String {
        let (code, n, slug) = match self {
            SectionButton::Show { section, slug } => ("s", section, slug),
            SectionButton::More { from, slug } => ("m", from, slug),
        };
        let bare = format!("{SECTION}:{code}:{n}");
        match slug {
            Some(slug) if bare.chars().count() + 1 + slug.chars().count() <= CUSTOM_ID_MAX => {
                format!("{bare}:{slug}")
            }
            _ => bare,
        }
    }

    /// The article the button names, if it names one.
    pub fn slug(&self) -> Option<&str> {
        match self {
            SectionButton::Show { slug, .. } | SectionButton::More { slug, .. } => slug.as_deref(),
        }
    }
}

/// Reads a section button's custom id; `None` when it is not one.
pub fn parse_section(custom_id: &str) -> Option<SectionButton> {
    if custom_id.chars().count() > CUSTOM_ID_MAX {
        return None;
    }
    let mut it = custom_id.splitn(4, ':');
    if it.next()? != SECTION {
        return None;
    }
    let code = it.next()?;
    let n = usize::try_from(number(it.next()?)?).ok()?;
    let slug = match it.next() {
        Some("") => return None,
        other => other.map(str::to_string),
    };
    match code {
        "s" => Some(SectionButton::Show { section: n, slug }),
        "m" => Some(SectionButton::More { from: n, slug }),
        _ => None,
    }
}

/// Prefix of the vote buttons.
const VOTE: &str = "abv";

/// A vote button (👍/👎 under an answer): `abv:<u|d>:<question hash>:<passage>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoteButton {
    pub up: bool,
    /// [`crate::feedback::question_hash`] of the question answered.
    pub question: String,
    /// [`crate::feedback::passage_key`] of the answer's first passage.
    pub passage: String,
}

impl VoteButton {
    /// The custom id, or `None` when the passage makes it too long (no vote buttons then).
    pub fn custom_id(&self) -> Option<String> {
        let id = format!(
            "{VOTE}:{}:{}:{}",
            if self.up { "u" } else { "d" },
            self.question,
            self.passage
        );
        (id.chars().count() <= CUSTOM_ID_MAX).then_some(id)
    }
}

/// Reads a vote button's custom id; `None` when it is not one.
pub fn parse_vote(custom_id: &str) -> Option<VoteButton> {
    if custom_id.chars().count() > CUSTOM_ID_MAX {
        return None;
    }
    let mut it = custom_id.splitn(4, ':');
    if it.next()? != VOTE {
        return None;
    }
    let up = match it.next()? {
        "u" => true,
        "d" => false,
        _ => return None,
    };
    let question = it.next()?;
    let passage = it.next()?;
    let hex = question.len() == 16 && question.bytes().all(|b| b.is_ascii_hexdigit());
    (hex && !passage.is_empty()).then(|| VoteButton {
        up,
        question: question.to_string(),
        passage: passage.to_string(),
    })
}

/// Reads a custom id; `None` when it is not one of ours or does not add up.
pub fn parse(custom_id: &str) -> Option<ButtonId> {
    if custom_id.chars().count() > CUSTOM_ID_MAX {
        return None;
    }
    let (prefix, rest) = custom_id.split_once(':')?;
    match prefix {
        STORED => {
            let mut it = rest.split(':');
            let action = Action::from_stored_name(it.next()?)?;
            let id = number(it.next()?)?;
            let asker = number(it.next()?)?;
            it.next()
                .is_none()
                .then_some(ButtonId::Stored { action, id, asker })
        }
        CARRIED => {
            let mut it = rest.splitn(6, ':');
            let action = Action::from_code(it.next()?)?;
            let asker = number(it.next()?)?;
            if action == Action::Delete {
                return it.next().is_none().then_some(ButtonId::Carried {
                    action,
                    asker,
                    command: None,
                });
            }
            let kind = it.next()?;
            let page = usize::try_from(number(it.next()?)?).ok()?;
            let len = usize::try_from(number(it.next()?)?).ok()?;
            let text = it.next()?;
            if len > text.len() || !text.is_char_boundary(len) {
                return None;
            }
            let (a, b) = text.split_at(len);
            let command = command(kind, page, a, b)?;
            Some(ButtonId::Carried {
                action,
                asker,
                command: Some(command),
            })
        }
        _ => None,
    }
}

/// Plain decimal digits as we write them: no sign, no spaces, no leading zero.
fn number(s: &str) -> Option<u64> {
    let canonical = !s.is_empty() && (s == "0" || !s.starts_with('0'));
    if !canonical || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A command as (kind, page, short text, main text).
fn parts(command: &Command) -> Option<(char, usize, &str, &str)> {
    Some(match command {
        Command::Search { query, page, tag } => ('s', *page, tag.as_deref().unwrap_or(""), query),
        Command::Ask { question, scope } => match scope {
            Scope::Collection => ('a', 0, "", question),
            Scope::Article(article) => ('A', 0, article, question),
            Scope::PreferArticle(article) => ('P', 0, article, question),
        },
        Command::Summary { article } => ('m', 0, "", article),
        Command::Takeaways { article } => ('t', 0, "", article),
        Command::Article { query } => ('r', 0, "", query),
        Command::Related { article } => ('l', 0, "", article),
    })
}

/// The command `parts` made, when the parts are consistent.
fn command(kind: &str, page: usize, a: &str, b: &str) -> Option<Command> {
    let (a, b) = (a.to_string(), b.to_string());
    let plain = |command: Command| (page == 0 && a.is_empty()).then_some(command);
    match kind {
        "s" => (1..=PAGE_MAX).contains(&page).then(|| Command::Search {
            query: b,
            page,
            tag: Some(a.clone()).filter(|t| !t.is_empty()),
        }),
        "a" => plain(Command::Ask {
            question: b,
            scope: Scope::Collection,
        }),
        "A" | "P" if page == 0 && !a.is_empty() => Some(Command::Ask {
            question: b,
            scope: if kind == "A" {
                Scope::Article(a)
            } else {
                Scope::PreferArticle(a)
            },
        }),
        "m" => plain(Command::Summary { article: b }),
        "t" => plain(Command::Takeaways { article: b }),
        "r" => plain(Command::Article { query: b }),
        "l" => plain(Command::Related { article: b }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ASKER: u64 = 18_446_744_073_709_551_615;

    fn search(query: &str, page: usize, tag: Option<&str>) -> Command {
        Command::Search {
            query: query.into(),
            page,
            tag: tag.map(Into::into),
        }
    }

    #[test]
    fn carried_ids_read_back_whole() {
        let commands = [
            search("sleep light", 1, None),
            search("a:b::c", 12, Some("x:y")),
            search("héllo wörld", 3, Some("ünïcode")),
            Command::Ask {
                question: "how do pegs break?".into(),
                scope: Scope::Collection,
            },
            Command::Ask {
                question: "how long: really".into(),
                scope: Scope::Article("guides-composting".into()),
            },
            Command::Ask {
                question: "q".into(),
                scope: Scope::PreferArticle("sleep".into()),
            },
            Command::Summary {
                article: "sleep".into(),
            },
            Command::Takeaways {
                article: "stablecoins".into(),
            },
            Command::Article {
                query: "Urban Cyclng".into(),
            },
            Command::Related {
                article: "cycling".into(),
            },
        ];
        for command in commands {
            for action in [Action::Prev, Action::Next, Action::Post] {
                let id = carried(action, ASKER, &command).unwrap();
                assert!(id.chars().count() <= CUSTOM_ID_MAX, "{id}");
                assert_eq!(
                    parse(&id),
                    Some(ButtonId::Carried {
                        action,
                        asker: ASKER,
                        command: Some(command.clone()),
                    }),
                    "{id}"
                );
            }
        }
        assert_eq!(
            parse(&delete(7)),
            Some(ButtonId::Carried {
                action: Action::Delete,
                asker: 7,
                command: None
            })
        );
        assert_eq!(
            parse(&stored(Action::Next, 42, 7)),
            Some(ButtonId::Stored {
                action: Action::Next,
                id: 42,
                asker: 7
            })
        );
    }

    #[test]
    fn what_does_not_fit_has_no_carried_id() {
        let long = "word ".repeat(20);
        assert!(carried(Action::Next, ASKER, &search(&long, 1, None)).is_none());
        // Exactly at the limit fits; one character more does not.
        let head = carried(Action::Next, ASKER, &search("", 1, None)).unwrap();
        let room = CUSTOM_ID_MAX - head.chars().count();
        let fits = "é".repeat(room);
        let id = carried(Action::Next, ASKER, &search(&fits, 1, None)).unwrap();
        assert_eq!(id.chars().count(), CUSTOM_ID_MAX);
        assert!(parse(&id).is_some());
        let over = "é".repeat(room + 1);
        assert!(carried(Action::Next, ASKER, &search(&over, 1, None)).is_none());
    }

    #[test]
    fn garbled_ids_are_refused() {
        let good = carried(Action::Next, 7, &search("sleep", 2, Some("t"))).unwrap();
        assert_eq!(good, "ab2:n:7:s:2:1:tsleep");
        let long = format!("ab2:n:7:s:1:0:{}", "x".repeat(100));
        for bad in [
            "",
            ":",
            "ab2",
            "ab2:",
            "ab2:n",
            "ab2:n:7",
            "ab2:x:7:s:2:1:tsleep",
            "ab2:n:-7:s:2:1:tsleep",
            "ab2:n:+7:s:2:1:tsleep",
            "ab2:n:07:s:2:1:tsleep",
            "ab2:n:99999999999999999999999:s:2:1:tsleep",
            "ab2:n:7:z:2:1:tsleep",
            "ab2:n:7:s:0:1:tsleep",
            "ab2:n:7:s:10001:1:tsleep",
            "ab2:n:7:s:2:9:tsleep",
            "ab2:n:7:s:2:99999999999999999999:tsleep",
            "ab2:n:7:s:2:1",
            "ab2:n:7:s:2:x:tsleep",
            "ab2:n:7:s:2:1:é",
            "ab2:n:7:m:3:0:sleep",
            "ab2:n:7:a:0:1:xq",
            "ab2:n:7:A:0:0:q",
            "ab2:d:7:extra",
            "ab:next:1",
            "ab:next:1:2:3",
            "ab:next:x:2",
            "ab:jump:1:2",
            "zz:n:7:s:2:1:tsleep",
            &long,
            "\u{0}\u{0}:\u{0}",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn section_ids_read_back_and_stay_within_the_limit() {
        for button in [
            SectionButton::Show {
                section: 3,
                slug: Some("sleep-science".into()),
            },
            SectionButton::More {
                from: 24,
                slug: Some("a:b".into()),
            },
            SectionButton::Show {
                section: 0,
                slug: None,
            },
        ] {
            assert_eq!(parse_section(&button.custom_id()), Some(button));
        }
        // A slug too long to fit is left out: the thread's article is meant.
        let long = SectionButton::Show {
            section: 7,
            slug: Some("x".repeat(98)),
        };
        assert_eq!(long.custom_id(), "abs:s:7");
        assert_eq!(
            parse_section(&long.custom_id()),
            Some(SectionButton::Show {
                section: 7,
                slug: None
            })
        );
        for bad in [
            "abs",
            "abs:s",
            "abs:s:",
            "abs:x:1",
            "abs:s:01:a",
            "abs:s:1:",
            "ab2:s:1",
        ] {
            assert_eq!(parse_section(bad), None, "{bad:?}");
        }
        assert_eq!(parse("abs:s:1:sleep"), None, "not a paging button");
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // A small deterministic generator over a custom-id alphabet, with multibyte letters.
        let alphabet: Vec<char> = "ab2:npod0123456789sAaPmtrlé€x".chars().collect();
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            let mut s = String::from(["ab2:", "ab:", ""][(state % 3) as usize]);
            for _ in 0..(state % 24) {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                s.push(alphabet[(state >> 33) as usize % alphabet.len()]);
            }
            if let Some(ButtonId::Carried {
                action,
                asker,
                command: Some(command),
            }) = parse(&s)
            {
                // Whatever parses writes back to the same id.
                assert_eq!(
                    carried(action, asker, &command).as_deref(),
                    Some(s.as_str())
                );
            }
        }
    }

    #[test]
    fn vote_buttons_read_back() {
        let b = VoteButton {
            up: false,
            question: "0123456789abcdef".into(),
            passage: "guides-composting#greens-and-browns".into(),
        };
        let id = b.custom_id().unwrap();
        assert_eq!(
            id,
            "abv:d:0123456789abcdef:guides-composting#greens-and-browns"
        );
        assert_eq!(parse_vote(&id), Some(b));
        let long = VoteButton {
            up: true,
            question: "0123456789abcdef".into(),
            passage: "x".repeat(80),
        };
        assert_eq!(long.custom_id(), None, "too long: no buttons");
        for bad in [
            "abv:x:0123456789abcdef:a",
            "abv:u:0123:a",
            "abv:u:0123456789abcdeg:a",
            "abv:u:0123456789abcdef:",
            "abv:u:0123456789abcdef",
            "ab2:d:1",
        ] {
            assert_eq!(parse_vote(bad), None, "{bad}");
        }
    }
}
