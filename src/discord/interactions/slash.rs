//! Slash commands and autocomplete: the moderator gate and cooldown, a command's options read
//! into a [`Command`], the answer with its buttons (at once or deferred), `/discuss` and the
//! moderator commands.

use std::collections::HashMap;
use std::sync::Arc;

use serenity::builder::{
    CreateAutocompleteResponse, CreateInteractionResponse, CreateInteractionResponseMessage,
    EditInteractionResponse,
};
use serenity::model::application::{CommandInteraction, ResolvedValue};

use super::super::commands;
use super::super::render;
use super::deferred::{pointed, within_window, Discussion, Later, Made, Pending, Reply};
use super::keep::{buttons, paging};
use super::moderation;
use super::notices::{
    cooldown_text, ephemeral, failed_message, FAILED, POINT_AT_MEMBERS, POINT_IN_SERVERS,
    QUIET_CHANNEL,
};
use super::voting::add_vote_buttons;
use super::{talk, Bot};
use crate::answer::{Answer, Command, Scope};
use crate::service::Asker;

/// At most 25 choices of at most 100 characters, from titles and aliases.
pub(super) fn autocomplete(bot: &Bot, ci: &CommandInteraction) -> CreateInteractionResponse {
    let typed = ci.data.autocomplete().map(|o| o.value).unwrap_or("");
    let choices = bot
        .service
        .autocomplete(typed, render::limits::CHOICES)
        .into_iter()
        .fold(CreateAutocompleteResponse::new(), |r, c| {
            r.add_string_choice(
                render::cut_plain(&c.name, render::limits::CHOICE),
                c.value
                    .chars()
                    .take(render::limits::CHOICE)
                    .collect::<String>(),
            )
        });
    CreateInteractionResponse::Autocomplete(choices)
}

/// The string options of a command, by name.
fn options(ci: &CommandInteraction) -> HashMap<&str, String> {
    ci.data
        .options()
        .into_iter()
        .filter_map(|o| match o.value {
            ResolvedValue::String(s) => Some((o.name, s.to_string())),
            _ => None,
        })
        .collect()
}

/// The channel `ci`'s channel (a thread) belongs to, as Discord says.
pub(super) fn parent(ci: &CommandInteraction) -> Option<u64> {
    ci.channel
        .as_ref()
        .and_then(|c| c.parent_id)
        .map(|p| p.get())
}

/// The member the `target` option points to the answer, if any; `Err`: why not.
fn target(bot: &Bot, ci: &CommandInteraction) -> Result<Option<u64>, &'static str> {
    let user = ci.data.options().into_iter().find_map(|o| match o.value {
        ResolvedValue::User(u, _) if o.name == commands::TARGET => Some(u.clone()),
        _ => None,
    });
    let Some(user) = user else { return Ok(None) };
    if ci.guild_id.is_none() {
        return Err(POINT_IN_SERVERS);
    }
    if user.bot {
        return Err(POINT_AT_MEMBERS);
    }
    let channel = ci.channel_id.get();
    if bot.settings.channels.is_quiet(channel, parent(ci)) {
        return Err(QUIET_CHANNEL);
    }
    Ok(Some(user.id.get()))
}

/// Who runs `ci`, and in which guild (statistics are kept per guild).
fn asker(ci: &CommandInteraction) -> Asker {
    Asker::user(ci.user.id.get().to_string()).in_guild(ci.guild_id.map(|g| g.get()))
}

pub(super) async fn command(bot: &Arc<Bot>, ci: &CommandInteraction) -> Reply {
    let name = ci.data.name.as_str();
    if commands::MODERATOR_COMMANDS.contains(&name) {
        return moderation::command(bot, ci, name).await;
    }
    let user = ci.user.id.get();
    let point = match target(bot, ci) {
        Ok(point) => point,
        Err(why) => return ephemeral(why),
    };
    if let Err(wait) = bot.cooldown(user) {
        return ephemeral(&cooldown_text(wait));
    }
    // A pointed answer is a post in the channel: it shares Post to channel's cooldown.
    if point.is_some() {
        if let Err(wait) = bot.post_cooldown(user) {
            return ephemeral(&cooldown_text(wait));
        }
    }
    let mut opts = options(ci);
    let mut take = |k: &str| opts.remove(k).unwrap_or_default();
    let command = match name {
        commands::ASK => {
            let question = take("question");
            let article = take("article");
            if article.trim().is_empty() {
                // A question alone is a turn of the member's conversation in the channel.
                let at = talk::Where {
                    channel: ci.channel_id.get(),
                    parent: parent(ci),
                };
                let ephemeral = bot.settings.ephemeral;
                return talk::ask(bot, user, asker(ci), at, question, ephemeral, point).await;
            }
            Command::Ask {
                question,
                scope: Scope::Article(article),
            }
        }
        commands::SEARCH => {
            let query = take("query");
            let tag = Some(take("tag")).filter(|t| !t.trim().is_empty());
            Command::Search {
                query,
                page: 1,
                tag,
            }
        }
        commands::SUMMARY => Command::Summary {
            article: take("article"),
        },
        commands::TAKEAWAYS => Command::Takeaways {
            article: take("article"),
        },
        commands::ARTICLE => Command::Article {
            query: take("article"),
        },
        commands::DISCUSS => return discuss(bot, asker(ci), take("article")),
        _ => return ephemeral("Unknown command."),
    };
    answer(bot, command, user, asker(ci), bot.settings.ephemeral, point).await
}

/// Runs a slash command: the answer, with its buttons, at once or deferred.
async fn answer(
    bot: &Arc<Bot>,
    command: Command,
    user: u64,
    asker: Asker,
    ephemeral: bool,
    point: Option<u64>,
) -> Reply {
    let public = !ephemeral || point.is_some();
    let work = {
        let bot = bot.clone();
        async move {
            let result = bot.service.execute(command.clone(), Some(asker)).await;
            let answer = result
                .map_err(|e| tracing::error!("answering a command: {e:#}"))
                .ok()?;
            let rendered = render::answer(&answer);
            let keep = bot.button_state.keep(command, user, &rendered, &answer);
            let mut buttons = buttons(&keep, user, paging(&answer), public);
            if let Answer::Ask(a) = &answer {
                add_vote_buttons(&mut buttons, Some(a));
            }
            Some((rendered, buttons))
        }
    };
    if let Some(member) = point {
        return pointed(bot, work, member).await;
    }
    let now = |made: Made| match made {
        Some((rendered, buttons)) => CreateInteractionResponse::Message(
            rendered.message().components(buttons).ephemeral(ephemeral),
        ),
        None => failed_message(),
    };
    let ack = CreateInteractionResponse::Defer(
        CreateInteractionResponseMessage::new().ephemeral(ephemeral),
    );
    within_window(bot, work, now, ack).await
}

/// `/discuss`: always deferred and public (a thread hangs off the message).
fn discuss(bot: &Arc<Bot>, asker: Asker, article: String) -> Reply {
    let service = bot.service.clone();
    let work: Pending<Discussion> = Box::pin(async move {
        let asker = Some(asker);
        let summary = service
            .execute(
                Command::Summary {
                    article: article.clone(),
                },
                asker.clone(),
            )
            .await;
        let summary = match summary {
            Ok(Answer::Summary(s)) => s,
            Ok(other) => {
                return Discussion::Answer(
                    EditInteractionResponse::new().embeds(render::answer(&other).embeds()),
                )
            }
            Err(e) => {
                tracing::error!("/discuss: {e:#}");
                return Discussion::Answer(EditInteractionResponse::new().content(FAILED));
            }
        };
        let takeaways = match service
            .execute(
                Command::Takeaways {
                    article: summary.slug.clone(),
                },
                None,
            )
            .await
        {
            Ok(Answer::Takeaways(t)) => Some(t),
            _ => None,
        };
        let mut opening = render::answer(&Answer::Summary(summary.clone()));
        if let Some(c) = opening.cards.first_mut() {
            c.title = render::cut_plain(
                &render::inert(&format!("Discussion: {}", summary.title)),
                render::limits::TITLE,
            );
            c.footer = Some("Ask in the thread: I answer every message there.".into());
        }
        let sections = crate::conversation::sections(&service.engine().library(), &summary.slug);
        let mut posts = render::discussion(&summary, takeaways.as_ref());
        if let Some(c) = posts.cards.last_mut().filter(|_| !sections.is_empty()) {
            c.footer = Some("Ask me anything here, or pick a section below.".into());
        }
        Discussion::Open {
            slug: summary.slug.clone(),
            title: summary.title.clone(),
            opening,
            posts,
            sections: talk::section_rows(&summary.slug, &sections, 0),
        }
    });
    Reply::Deferred {
        ack: CreateInteractionResponse::Defer(
            CreateInteractionResponseMessage::new().ephemeral(false),
        ),
        then: Later::discuss(bot.clone(), work),
    }
}
