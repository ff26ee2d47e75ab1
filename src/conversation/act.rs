//! Acting on what was understood: the command to run (through the command layer) or the
//! answer made here from the library (the next passage, facts, lists, short replies), and
//! what the conversation remembers afterwards.

use std::collections::HashSet;

use super::entities::{ArticleSlot, AuthorSlot};
use super::model::Model;
use super::recognize::{How, Understanding};
use super::{FactsAnswer, Intent, ListAnswer, ListItem, Reply, Response, State, Turn};
use crate::answer::excerpt::{self, Question};
use crate::answer::{
    self, rank_article_sentences, Answer, ArticleRef, AskAnswer, AskResult, Command, NotFound,
    Scope,
};
use crate::config::AnswerSettings;
use crate::library::Library;
use crate::text;

/// Articles a list of an author's or a tag's shows.
const LIST_MAX: usize = 10;
/// Reading speed for "how long is it?", in words per minute.
const WORDS_PER_MINUTE: usize = 200;

/// Which article a turn is about.
enum Target {
    Article(u32),
    /// "it", but there is no current article.
    NoCurrent,
    /// Named as an article, but none goes by that name.
    Missing(String),
}

pub(super) fn act(
    m: &Model,
    lib: &Library,
    answers: &AnswerSettings,
    state: &mut State,
    message: &str,
    mut u: Understanding,
) -> anyhow::Result<Turn> {
    let current = state.article.as_deref().and_then(|s| lib.by_slug(s));
    if u.intent == Intent::Same {
        resolve_same(&mut u, state, current);
    }
    let mut turn = Turn {
        intent: u.intent,
        confidence: u.confidence,
        how: u.how.clone(),
        article: None,
        command: None,
        response: Response::Reply(reply(String::new())),
    };
    let target = || match &u.article {
        Some(ArticleSlot::Named { id, .. }) => Target::Article(*id),
        Some(ArticleSlot::Missing { query, .. }) => Target::Missing(query.clone()),
        Some(ArticleSlot::Current) | None => match current {
            Some(id) => Target::Article(id),
            None => Target::NoCurrent,
        },
    };
    let replies = &m.replies;
    match u.intent {
        // Recognition never yields `Section` (only a button does, through `section`).
        Intent::Unclear | Intent::Section => {
            turn.response = Response::Reply(reply(replies.unclear.clone()))
        }
        Intent::Greeting => turn.response = Response::Reply(reply(replies.greeting.clone())),
        Intent::Thanks => turn.response = Response::Reply(reply(replies.thanks.clone())),
        Intent::Help => turn.response = Response::Reply(reply(replies.help.clone())),
        Intent::Ask => {
            let command = ask_command(m, lib, state, message, &u, current);
            run(lib, answers, state, &mut turn, command)?;
        }
        Intent::More => match target() {
            Target::Article(id) => {
                turn.article = Some(lib.article(id).slug.clone());
                set_article(state, lib, id);
                turn.response = Response::Answer(more(m, lib, answers, state, id));
            }
            Target::NoCurrent => {
                turn.response = Response::Reply(reply(replies.more_without_article.clone()))
            }
            Target::Missing(query) => turn.response = not_found(lib, &query),
        },
        Intent::ListLatest => turn.response = Response::List(latest(lib, answers.page_size)),
        Intent::ListAuthor => {
            let author = match &u.author {
                Some(AuthorSlot::Named(a)) => Some(a.clone()),
                Some(AuthorSlot::Current) | None => {
                    current.and_then(|id| lib.article(id).authors.first().cloned())
                }
            };
            turn.response = match author {
                Some(a) => Response::List(by_author(lib, &a)),
                None => Response::Reply(reply(
                    replies.need_article.replace("{example}", &example(lib)),
                )),
            };
        }
        Intent::ListTag => {
            let tag = u.tag.clone().unwrap_or_default();
            turn.response = Response::List(by_tag(lib, &tag));
        }
        Intent::ListTopic => {
            let command = Command::Search {
                query: u.topic.clone().unwrap_or_else(|| message.to_string()),
                page: 1,
                tag: None,
            };
            turn.response = Response::Answer(answer::execute(lib, answers, &command)?);
            turn.command = Some(command);
        }
        Intent::Summary
        | Intent::Takeaways
        | Intent::Facts
        | Intent::Related
        | Intent::FactsAuthor
        | Intent::FactsDate
        | Intent::FactsTags
        | Intent::FactsLength
        | Intent::FactsLink => match target() {
            Target::Article(id) => {
                let slug = lib.article(id).slug.clone();
                turn.article = Some(slug.clone());
                set_article(state, lib, id);
                let command = match u.intent {
                    Intent::Summary => Some(Command::Summary { article: slug }),
                    Intent::Takeaways => Some(Command::Takeaways { article: slug }),
                    Intent::Facts => Some(Command::Article { query: slug }),
                    Intent::Related => Some(Command::Related { article: slug }),
                    _ => None,
                };
                match command {
                    Some(c) => {
                        turn.response = Response::Answer(answer::execute(lib, answers, &c)?);
                        turn.command = Some(c);
                    }
                    None => turn.response = Response::Facts(fact(m, lib, id, u.intent)),
                }
            }
            Target::NoCurrent => {
                turn.response = Response::Reply(reply(
                    replies.need_article.replace("{example}", &example(lib)),
                ))
            }
            Target::Missing(query) => turn.response = not_found(lib, &query),
        },
        Intent::Same => unreachable!("resolved above"),
    }
    Ok(turn)
}

/// "and the sleep one?" / "what about passkeys?": a question about the current article when
/// the words merely name it again, else the last intent about an article (a summary when
/// there was none).
fn resolve_same(u: &mut Understanding, state: &State, current: Option<u32>) {
    match &u.article {
        Some(ArticleSlot::Named {
            id,
            explicit: false,
            ..
        }) if Some(*id) == current => {
            u.intent = Intent::Ask;
            u.article = None;
            u.how = How::Fallback;
        }
        Some(ArticleSlot::Named { .. }) | Some(ArticleSlot::Missing { .. }) => {
            u.intent = state
                .last_intent
                .filter(|i| i.is_about_article())
                .unwrap_or(Intent::Summary);
        }
        _ => {
            u.intent = Intent::Ask;
            u.article = None;
            u.how = How::Fallback;
        }
    }
}

/// The `ask` a question makes: to the article it names ("what does the X article say about
/// Y"), else to the current article first when the conversation is a `/discuss` thread or the
/// question points back ("why does it …"), else to the whole collection.
fn ask_command(
    m: &Model,
    lib: &Library,
    state: &State,
    message: &str,
    u: &Understanding,
    current: Option<u32>,
) -> Command {
    let slug = |id: u32| lib.article(id).slug.clone();
    if let (Some(topic), Some(article)) = (&u.topic, &u.article) {
        let scope = match article {
            ArticleSlot::Named { id, .. } => Scope::Article(slug(*id)),
            _ => match current {
                Some(id) => Scope::Article(slug(id)),
                None => Scope::Collection,
            },
        };
        return Command::Ask {
            question: topic.clone(),
            scope,
        };
    }
    let follows = state.home.is_some()
        || super::recognize::tokens(m, message)
            .iter()
            .any(|t| m.follow_words.contains(&t.stem));
    let scope = match current {
        Some(id) if follows => Scope::PreferArticle(slug(id)),
        _ => Scope::Collection,
    };
    Command::Ask {
        question: message.to_string(),
        scope,
    }
}

/// Runs an `ask` and remembers its answer: the top result's article becomes the current one,
/// its passages shown, the question the topic "more" continues.
fn run(
    lib: &Library,
    answers: &AnswerSettings,
    state: &mut State,
    turn: &mut Turn,
    command: Command,
) -> anyhow::Result<()> {
    let answer = answer::execute(lib, answers, &command)?;
    if let Answer::Ask(ask) = &answer {
        if let Some(id) = ask.results.first().and_then(|r| lib.by_slug(&r.slug)) {
            set_article(state, lib, id);
            turn.article = Some(lib.article(id).slug.clone());
            state.topic = Some(ask.question.clone());
            for r in ask
                .results
                .iter()
                .filter(|r| lib.by_slug(&r.slug) == Some(id))
            {
                if let Some(offset) = passage_of(lib, id, r) {
                    if !state.shown.contains(&offset) {
                        state.shown.push(offset);
                    }
                }
            }
        }
    }
    turn.response = Response::Answer(answer);
    turn.command = Some(command);
    Ok(())
}

/// Makes `id` the current article; a change of article forgets what was shown.
fn set_article(state: &mut State, lib: &Library, id: u32) {
    let slug = &lib.article(id).slug;
    if state.article.as_deref() != Some(slug.as_str()) {
        state.article = Some(slug.clone());
        state.shown.clear();
        state.topic = None;
    }
}

/// The offset (among its article's passages) of the passage an `ask` result quotes.
fn passage_of(lib: &Library, id: u32, r: &AskResult) -> Option<u32> {
    let probe: String = r.excerpt.trim_end_matches('…').chars().take(60).collect();
    let range = lib.passages_of(id);
    let article = lib.article(id);
    range.clone().find_map(|pid| {
        let p = &lib.passages[pid as usize];
        let heading = &article.sections[p.section as usize].heading;
        (heading == &r.section
            && lib
                .passage_blocks(pid)
                .iter()
                .any(|b| b.text.contains(&probe)))
        .then_some(pid - range.start)
    })
}

/// The next passage of article `id` not shown yet: the best for the conversation's topic when
/// there is one, else the next in reading order; an empty answer with a note when every
/// passage has been shown.
fn more(m: &Model, lib: &Library, answers: &AnswerSettings, state: &mut State, id: u32) -> Answer {
    let a = lib.article(id);
    let range = lib.passages_of(id);
    let shown: HashSet<u32> = state.shown.iter().copied().collect();
    let mut answer = AskAnswer {
        question: state.topic.clone().unwrap_or_default(),
        article: Some(a.slug.clone()),
        results: Vec::new(),
        takeaways: None,
        suggestions: Vec::new(),
        note: None,
    };
    let ranked = state
        .topic
        .as_deref()
        .and_then(|t| rank_article_sentences(lib, t, id).ok())
        .unwrap_or_default();
    let by_topic = ranked
        .iter()
        .find(|r| r.score > 0.0 && !shown.contains(&(r.passage - range.start)));
    let (pid, result) = match by_topic {
        Some(r) => {
            let q = Question::new(&answer.question, |_| 1.0);
            (r.passage, sentence_result(lib, answers, &q, r))
        }
        None => match range.clone().find(|p| !shown.contains(&(p - range.start))) {
            Some(pid) => (pid, passage_result(lib, answers, pid)),
            None => {
                answer.note = Some(m.replies.no_more.replace("{title}", &a.title));
                return Answer::Ask(answer);
            }
        },
    };
    state.shown.push(pid - range.start);
    answer.results.push(result);
    Answer::Ask(answer)
}

/// The best passage of section `section` of article `slug` (see [`super::section`]): the
/// passage holding the section's sentence that best matches its heading, else its first.
/// (A section of one passage, the usual case, has no choice to make.)
pub(super) fn section(
    m: &Model,
    lib: &Library,
    answers: &AnswerSettings,
    state: &mut State,
    slug: &str,
    section: usize,
) -> Turn {
    let mut turn = Turn {
        intent: Intent::Section,
        confidence: 1.0,
        how: How::Button,
        article: None,
        command: None,
        response: Response::Reply(reply(String::new())),
    };
    let Some(id) = lib.by_slug(slug) else {
        turn.response = not_found(lib, slug);
        return turn;
    };
    let a = lib.article(id);
    let range = lib.passages_of(id);
    let in_section: Vec<u32> = range
        .clone()
        .filter(|&p| lib.passages[p as usize].section as usize == section)
        .collect();
    let heading = a.sections.get(section).and_then(|s| s.heading.clone());
    let (Some(heading), Some(&first)) = (heading, in_section.first()) else {
        turn.response = Response::Reply(reply(m.replies.no_section.replace("{title}", &a.title)));
        return turn;
    };
    turn.article = Some(a.slug.clone());
    set_article(state, lib, id);
    // Quoted from its start, whole up to the excerpt length: a section is read from its
    // beginning, and a lone sentence out of it (a list item, say) reads badly.
    let ranked = rank_article_sentences(lib, &heading, id).unwrap_or_default();
    let pid = ranked
        .iter()
        .find(|r| r.score > 0.0 && in_section.contains(&r.passage))
        .map_or(first, |r| r.passage);
    let result = passage_result(lib, answers, pid);
    if !state.shown.contains(&(pid - range.start)) {
        state.shown.push(pid - range.start);
    }
    state.topic = Some(heading.clone());
    turn.response = Response::Answer(Answer::Ask(AskAnswer {
        question: heading,
        article: Some(a.slug.clone()),
        results: vec![result],
        takeaways: None,
        suggestions: Vec::new(),
        note: None,
    }));
    turn
}

/// A result quoting the sentences around a ranked one.
fn sentence_result(
    lib: &Library,
    answers: &AnswerSettings,
    q: &Question,
    r: &answer::RankedSentence,
) -> AskResult {
    let block = &lib.passage_blocks(r.passage)[r.block].text;
    let sentences = text::sentences(block);
    let best = sentences.iter().position(|s| *s == r.range).unwrap_or(0);
    let range = excerpt::excerpt_range(block, &sentences, best, answers.excerpt_max_chars);
    let mut quote = block[range].to_string();
    if quote.is_empty() {
        quote = block.clone();
    }
    let quote = text::truncate(&quote, answers.excerpt_max_chars);
    let mut result = passage_result(lib, answers, r.passage);
    result.highlights = excerpt::highlights(&quote, q);
    result.excerpt = quote;
    result.score = r.score;
    result
}

/// A result quoting a passage from its start.
fn passage_result(lib: &Library, answers: &AnswerSettings, pid: u32) -> AskResult {
    let p = &lib.passages[pid as usize];
    let a = lib.article(p.article);
    let body = lib
        .passage_blocks(pid)
        .iter()
        .map(|b| b.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    AskResult {
        slug: a.slug.clone(),
        title: a.title.clone(),
        url: a.section_url(p.section as usize),
        article_url: a.url.clone(),
        section: a.sections[p.section as usize].heading.clone(),
        excerpt: text::truncate(&body, answers.excerpt_max_chars),
        highlights: Vec::new(),
        score: 0.0,
    }
}

/// One fact about article `id`, in a sentence.
fn fact(m: &Model, lib: &Library, id: u32, intent: Intent) -> FactsAnswer {
    let a = lib.article(id);
    let r = &m.replies;
    let title = &a.title;
    let words = a.word_count();
    let minutes = words.div_ceil(WORDS_PER_MINUTE).max(1);
    let (fact, text) = match intent {
        Intent::FactsAuthor => (
            "author",
            if a.authors.is_empty() {
                r.no_author.replace("{title}", title)
            } else {
                format!("\u{201c}{title}\u{201d} was written by {}.", and_list(&a.authors))
            },
        ),
        Intent::FactsDate => (
            "date",
            match &a.date {
                Some(d) => format!("\u{201c}{title}\u{201d} was published on {d}."),
                None => r.no_date.replace("{title}", title),
            },
        ),
        Intent::FactsTags => (
            "tags",
            if a.tags.is_empty() {
                r.no_tags.replace("{title}", title)
            } else {
                format!("\u{201c}{title}\u{201d} is tagged {}.", a.tags.join(", "))
            },
        ),
        Intent::FactsLength => (
            "length",
            format!(
                "\u{201c}{title}\u{201d} is {words} words long, about {minutes} minute{} of reading.",
                if minutes == 1 { "" } else { "s" }
            ),
        ),
        _ => (
            "link",
            match &a.url {
                Some(u) => format!("\u{201c}{title}\u{201d}: {u}"),
                None => r.no_link.replace("{title}", title),
            },
        ),
    };
    FactsAnswer {
        slug: a.slug.clone(),
        title: a.title.clone(),
        url: a.url.clone(),
        fact,
        text,
        authors: a.authors.clone(),
        date: a.date.clone(),
        tags: a.tags.clone(),
        words,
        reading_minutes: minutes,
    }
}

/// "A", "A and B", "A, B and C".
fn and_list(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn item(lib: &Library, id: u32) -> ListItem {
    let a = lib.article(id);
    ListItem {
        slug: a.slug.clone(),
        title: a.title.clone(),
        url: a.url.clone(),
        date: a.date.clone(),
        authors: a.authors.clone(),
    }
}

/// Article ids newest first (undated last, then by title).
fn newest_first(lib: &Library, mut ids: Vec<u32>) -> Vec<u32> {
    ids.sort_by(|&x, &y| {
        let (a, b) = (lib.article(x), lib.article(y));
        b.date
            .is_some()
            .cmp(&a.date.is_some())
            .then_with(|| b.date.cmp(&a.date))
            .then_with(|| a.title.cmp(&b.title))
    });
    ids
}

fn latest(lib: &Library, n: usize) -> ListAnswer {
    let ids = newest_first(lib, (0..lib.articles.len() as u32).collect());
    ListAnswer {
        list: "latest",
        query: None,
        total: ids.len(),
        items: ids.into_iter().take(n).map(|id| item(lib, id)).collect(),
    }
}

fn by_author(lib: &Library, author: &str) -> ListAnswer {
    let ids: Vec<u32> = (0..lib.articles.len() as u32)
        .filter(|&id| lib.article(id).authors.iter().any(|a| a == author))
        .collect();
    let ids = newest_first(lib, ids);
    ListAnswer {
        list: "author",
        query: Some(author.to_string()),
        total: ids.len(),
        items: ids
            .into_iter()
            .take(LIST_MAX)
            .map(|id| item(lib, id))
            .collect(),
    }
}

fn by_tag(lib: &Library, tag: &str) -> ListAnswer {
    let ids: Vec<u32> = (0..lib.articles.len() as u32)
        .filter(|&id| {
            lib.article(id)
                .tags
                .iter()
                .any(|t| t.eq_ignore_ascii_case(tag))
        })
        .collect();
    let ids = newest_first(lib, ids);
    ListAnswer {
        list: "tag",
        query: Some(tag.to_string()),
        total: ids.len(),
        items: ids
            .into_iter()
            .take(LIST_MAX)
            .map(|id| item(lib, id))
            .collect(),
    }
}

/// No article goes by `query`: the command layer's not-found answer, with the closest names.
fn not_found(lib: &Library, query: &str) -> Response {
    Response::Answer(Answer::NotFound(NotFound {
        error: "not_found",
        query: query.to_string(),
        suggestions: lib
            .names
            .lookup(query, 5)
            .into_iter()
            .map(|m| article_ref(lib, m.article))
            .collect(),
    }))
}

fn article_ref(lib: &Library, id: u32) -> ArticleRef {
    let a = lib.article(id);
    ArticleRef {
        slug: a.slug.clone(),
        title: a.title.clone(),
        url: a.url.clone(),
    }
}

/// An article name to show in "name it, for example …".
fn example(lib: &Library) -> String {
    lib.names
        .lookup("", 1)
        .first()
        .map(|m| lib.article(m.article).title.clone())
        .unwrap_or_else(|| "stablecoins".into())
}

fn reply(text: String) -> Reply {
    Reply {
        text,
        suggestions: Vec::new(),
    }
}
