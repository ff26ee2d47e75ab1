//! `/curate add|list|remove|restore` (moderators of the guild, checked in `moderation` like `/stats`),
//! their autocomplete (questions from the guild's `/stats` gaps and recent questions, the
//! articles, the chosen article's sections, the guild's curated answers: for moderators
//! only, since the questions are the guild's), and the pinned passage put first in answers to
//! questions close to a curated one.

use std::sync::Arc;
use std::time::Duration;

use serenity::builder::{CreateAutocompleteResponse, CreateInteractionResponse};
use serenity::model::application::{CommandInteraction, ResolvedOption, ResolvedValue};

use super::super::commands;
use super::super::render::{self, Rendered};
use super::deferred::Reply;
use super::notices::{ephemeral, ephemeral_raw, FAILED};
use super::tags::tagged;
use super::Bot;
use crate::answer::{Answer, AskResult, Command, Scope};
use crate::curate::{Match, NewCurated};

/// How long the question suggestions may take (autocomplete has no deferral: 3 s in all).
const SUGGESTIONS_WITHIN: Duration = Duration::from_millis(1500);

/// The subcommand of `/curate` and its string options.
fn subcommand<'a>(ci: &'a CommandInteraction) -> Option<(&'a str, Vec<ResolvedOption<'a>>)> {
    ci.data.options().into_iter().find_map(|o| match o.value {
        ResolvedValue::SubCommand(opts) => Some((o.name, opts)),
        _ => None,
    })
}

fn string<'a>(opts: &'a [ResolvedOption<'a>], name: &str) -> Option<&'a str> {
    opts.iter().find_map(|o| match o.value {
        ResolvedValue::String(s) if o.name == name => Some(s),
        ResolvedValue::Autocomplete { value, .. } if o.name == name => Some(value),
        _ => None,
    })
}

/// `/curate` in `guild`, for one of its moderators.
pub(super) async fn command(bot: &Arc<Bot>, ci: &CommandInteraction, guild: u64) -> Reply {
    let Some((name, opts)) = subcommand(ci) else {
        return ephemeral(
            "Use `/curate add`, `/curate list`, `/curate remove` or `/curate restore`.",
        );
    };
    match name {
        commands::CURATE_ADD => {
            let question = string(&opts, "question").unwrap_or_default().to_string();
            let article = string(&opts, "article").unwrap_or_default().to_string();
            let section = string(&opts, "section").map(str::to_string);
            let note = string(&opts, "note").map(str::to_string);
            match add(bot, guild, question, article, section, note).await {
                Ok(text) | Err(text) => ephemeral(&text),
            }
        }
        commands::CURATE_LIST => {
            ephemeral_raw(render::report("Curated answers", &list_text(bot, guild)))
        }
        commands::CURATE_REMOVE => {
            let entry = string(&opts, "entry").unwrap_or_default();
            let Ok(id) = entry.trim().trim_start_matches('#').parse::<i64>() else {
                return ephemeral("Pick a curated answer from the list (its number).");
            };
            let curation = bot.curation.clone();
            match tokio::task::spawn_blocking(move || curation.remove(guild, id)).await {
                Ok(Ok(true)) => ephemeral(&format!("Removed curated answer #{id}.")),
                Ok(Ok(false)) => ephemeral(&format!("This server has no curated answer #{id}.")),
                Ok(Err(e)) => {
                    tracing::error!("/curate remove: {e:#}");
                    ephemeral(FAILED)
                }
                Err(e) => {
                    tracing::error!("/curate remove: {e}");
                    ephemeral(FAILED)
                }
            }
        }
        commands::CURATE_RESTORE => {
            let chosen = string(&opts, "answer").unwrap_or_default();
            let Some((question, passage)) = chosen.split_once('|') else {
                return ephemeral("Pick an answer from the list.");
            };
            let (question, passage) = (question.to_string(), passage.to_string());
            let feedback = bot.feedback.clone();
            let (q, p) = (question.clone(), passage.clone());
            match tokio::task::spawn_blocking(move || feedback.restore(guild, &q, &p)).await {
                Ok(Ok(0)) => ephemeral("No votes on that answer in this server."),
                Ok(Ok(n)) => ephemeral(&format!(
                    "Restored {passage}: its {n} vote(s) for that question are forgotten, and it is no longer demoted."
                )),
                Ok(Err(e)) => {
                    tracing::error!("/curate restore: {e:#}");
                    ephemeral(FAILED)
                }
                Err(e) => {
                    tracing::error!("/curate restore: {e}");
                    ephemeral(FAILED)
                }
            }
        }
        _ => ephemeral("Unknown command."),
    }
}

/// Pins `article` (and `section`) to `question` in `guild` (see [`crate::curate::pin`]). The
/// text says what was done, or why not.
async fn add(
    bot: &Arc<Bot>,
    guild: u64,
    question: String,
    article: String,
    section: Option<String>,
    note: Option<String>,
) -> Result<String, String> {
    let new = NewCurated {
        guild,
        question,
        article,
        section,
        note,
    };
    let (engine, curation) = (bot.service.engine().clone(), bot.curation.clone());
    match bot
        .service
        .run_blocking(move || crate::curate::pin(&engine, &curation, new))
        .await
    {
        Ok(Ok(p)) => Ok(format!(
            "Curated answer #{}: questions close to “{}” now get “{}”{} first.",
            p.curated.id,
            p.curated.question,
            p.title,
            p.curated
                .section
                .map(|s| format!(" › {s}"))
                .unwrap_or_default()
        )),
        Ok(Err(e)) => Err(format!("Not pinned: {e}.")),
        Err(e) => {
            tracing::error!("/curate add: {e:#}");
            Err(FAILED.into())
        }
    }
}

/// The guild's curated answers, one per line; those whose article is gone say so.
fn list_text(bot: &Bot, guild: u64) -> String {
    let lib = bot.service.engine().library();
    let list = bot.curation.list(guild);
    if list.is_empty() {
        return "None yet. Pin an article to a question with `/curate add`.".into();
    }
    let mut out = String::new();
    for c in list {
        let title = lib
            .by_slug(&c.article)
            .map(|id| lib.article(id).title.clone());
        let target = match (&title, &c.section) {
            (Some(t), Some(s)) => format!("{t} › {s}"),
            (Some(t), None) => t.clone(),
            (None, _) => format!("{} (article missing: not used until it returns)", c.article),
        };
        out.push_str(&format!("#{} “{}” → {}", c.id, c.question, target));
        if let Some(n) = &c.note {
            out.push_str(&format!(" ({n})"));
        }
        out.push('\n');
    }
    out
}

/// Autocomplete for `/curate`: moderators only (the questions are the guild's own).
pub(super) async fn autocomplete(bot: &Arc<Bot>, ci: &CommandInteraction) -> Reply {
    let empty = || {
        Reply::Now(CreateInteractionResponse::Autocomplete(
            CreateAutocompleteResponse::new(),
        ))
    };
    let (Some(guild), true) = (
        ci.guild_id.map(|g| g.get()),
        bot.is_moderator(ci.member.as_deref()),
    ) else {
        return empty();
    };
    let Some(focused) = ci.data.autocomplete() else {
        return empty();
    };
    let typed = focused.value.to_string();
    let choices: Vec<(String, String)> = match focused.name {
        "question" => questions(bot, guild, &typed).await,
        "article" => bot
            .service
            .autocomplete(&typed, render::limits::CHOICES)
            .into_iter()
            .map(|c| (c.name, c.value))
            .collect(),
        "section" => {
            let article = subcommand(ci)
                .and_then(|(_, opts)| string(&opts, "article").map(str::to_string))
                .unwrap_or_default();
            sections(bot, &article, &typed)
        }
        "entry" => {
            let typed = typed.to_lowercase();
            bot.curation
                .list(guild)
                .into_iter()
                .rev()
                .filter(|c| {
                    typed.is_empty()
                        || c.question.to_lowercase().contains(&typed)
                        || c.id.to_string() == typed.trim_start_matches('#')
                })
                .map(|c| (format!("#{} {}", c.id, c.question), c.id.to_string()))
                .collect()
        }
        "answer" => {
            let feedback = bot.feedback.clone();
            tokio::task::spawn_blocking(move || {
                feedback.least_helpful(guild, render::limits::CHOICES)
            })
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default()
            .into_iter()
            .map(|(t, demoted)| {
                let about = t.question.unwrap_or_else(|| t.question_hash.clone());
                let name = format!(
                    "{}{} for “{about}” ({}👎/{}👍)",
                    if demoted { "[demoted] " } else { "" },
                    t.passage,
                    t.down,
                    t.up
                );
                (name, format!("{}|{}", t.question_hash, t.passage))
            })
            .collect()
        }
        _ => Vec::new(),
    };
    let response = choices.into_iter().take(render::limits::CHOICES).fold(
        CreateAutocompleteResponse::new(),
        |r, (name, value)| {
            r.add_string_choice(
                render::cut_plain(&name, render::limits::CHOICE),
                value
                    .chars()
                    .take(render::limits::CHOICE)
                    .collect::<String>(),
            )
        },
    );
    Reply::Now(CreateInteractionResponse::Autocomplete(response))
}

/// Question suggestions: what was typed, then the guild's gaps (questions that found nothing
/// or only weak matches) and most asked questions from the statistics, those containing the
/// typed text first. Values are cut to Discord's 100 characters.
async fn questions(bot: &Arc<Bot>, guild: u64, typed: &str) -> Vec<(String, String)> {
    let mut out: Vec<String> = Vec::new();
    let typed_clean = typed.trim();
    if !typed_clean.is_empty() {
        out.push(typed_clean.to_string());
    }
    let report = tokio::time::timeout(SUGGESTIONS_WITHIN, bot.service.stats_report(guild)).await;
    if let Ok(Ok(report)) = report {
        let lower = typed_clean.to_lowercase();
        let mut asked: Vec<String> = report
            .gaps
            .into_iter()
            .chain(report.top_questions)
            .map(|a| a.question)
            .filter(|q| !q.trim().is_empty())
            .collect();
        // Those containing what was typed first, the order otherwise kept (gaps first).
        asked.sort_by_key(|q| !q.to_lowercase().contains(&lower));
        for q in asked {
            if !out.contains(&q) {
                out.push(q);
            }
        }
    }
    out.into_iter()
        .map(|q| {
            let v: String = q.chars().take(render::limits::CHOICE).collect();
            (q, v)
        })
        .collect()
}

/// The sections of `article` (as the library names it now) starting with or containing
/// `typed`.
fn sections(bot: &Bot, article: &str, typed: &str) -> Vec<(String, String)> {
    let lib = bot.service.engine().library();
    let Some(hit) = lib.names.lookup(article, 1).into_iter().next() else {
        return Vec::new();
    };
    let slug = lib.article(hit.article).slug.clone();
    let typed = typed.to_lowercase();
    crate::conversation::sections(&lib, &slug)
        .into_iter()
        .map(|(_, heading)| heading)
        .filter(|h| h.to_lowercase().contains(&typed))
        .map(|h| (h.clone(), h))
        .collect()
}

impl Bot {
    /// The curated answer for `question` in `guild` (0: outside any guild), whose article is
    /// in the library being served and, when the channel has tags, carries one of them.
    pub(super) fn curated_for(&self, guild: u64, question: &str, tags: &[String]) -> Option<Match> {
        let lib = self.service.engine().library();
        self.curation.find(guild, question, |slug| {
            lib.by_slug(slug).is_some() && (tags.is_empty() || tagged(&lib, slug, tags))
        })
    }

    /// The pinned passage of `pin`: the best passage of its article (of its section, when one
    /// was chosen) for its question, as the engine finds it; `None` when the article has none
    /// (the pin is then not shown rather than shown empty).
    pub(super) async fn pinned_passage(&self, pin: &Match) -> Option<AskResult> {
        let c = &pin.curated;
        let question = match &c.section {
            Some(s) => format!("{} {s}", c.question),
            None => c.question.clone(),
        };
        let engine = self.service.engine().clone();
        let command = Command::Ask {
            question,
            scope: Scope::Article(c.article.clone()),
        };
        let answer = self
            .service
            .run_blocking(move || engine.execute(&command))
            .await
            .ok()?
            .map_err(|e| tracing::warn!("the pinned passage: {e:#}"))
            .ok()?;
        let Answer::Ask(a) = answer else { return None };
        let in_section = a
            .results
            .iter()
            .position(|r| r.section.is_some() && r.section == c.section)
            .unwrap_or(0);
        a.results.into_iter().nth(in_section)
    }

    /// The report lines on `guild`'s curated answers whose article is gone (none: empty), and
    /// how many more other guilds have; for `/stats` and `/reload`.
    pub(super) fn orphans_text(&self, guild: Option<u64>) -> String {
        let lib = self.service.engine().library();
        let all = self
            .curation
            .orphans(None, |slug| lib.by_slug(slug).is_some());
        if all.is_empty() {
            return String::new();
        }
        let (here, elsewhere): (Vec<_>, Vec<_>) =
            all.into_iter().partition(|o| Some(o.guild) == guild);
        let mut out = String::new();
        if !here.is_empty() {
            out.push_str(&format!(
                "\nCurated answers whose article is gone ({}; kept but not used until the article returns or `/curate remove`):\n",
                here.len()
            ));
            for o in &here {
                out.push_str(&format!("#{} “{}” → {}\n", o.id, o.question, o.article));
            }
        }
        if !elsewhere.is_empty()
            && guild.is_some_and(|g| self.settings.operator_guild_ids.contains(&g))
        {
            out.push_str(&format!(
                "\n{} curated answer(s) of other servers point to a gone article.\n",
                elsewhere.len()
            ));
        }
        out
    }

    /// `rendered` (an answer to `question` in `guild`) with the curated passage first when a
    /// curated answer matches; unchanged otherwise. Whether one was put first.
    pub(super) async fn put_curated_first(
        &self,
        guild: u64,
        question: &str,
        tags: &[String],
        rendered: &mut Rendered,
    ) -> bool {
        let Some(pin) = self.curated_for(guild, question, tags) else {
            return false;
        };
        let Some(passage) = self.pinned_passage(&pin).await else {
            return false;
        };
        let card = render::curated(&passage, pin.curated.note.as_deref());
        let mut cards = vec![card];
        cards.append(&mut rendered.cards);
        *rendered = Rendered::new(cards);
        true
    }
}
