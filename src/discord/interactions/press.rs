//! Button presses: the custom id read back without trusting it, the owner and moderator
//! checks, and what each action does (turn a search page, post an answer, delete a message).

use std::sync::Arc;

use serenity::builder::{CreateInteractionResponse, CreateInteractionResponseMessage};
use serenity::model::application::{ComponentInteraction, MessageInteractionMetadata};
use serenity::model::channel::Message;

use super::super::buttons::{self, Action, ButtonId};
use super::super::render;
use super::deferred::{within_window, Later, Made, Reply};
use super::keep::{buttons, paging, Keep};
use super::notices::{cooldown_text, ephemeral, failed_message, EXPIRED, UNKNOWN_BUTTON};
use super::Bot;
use crate::answer::Command;

/// Runs a button's command again and renders the answer; `None` (logged as `what`) when it
/// fails.
async fn rerun(
    bot: &Bot,
    command: &Command,
    what: &str,
) -> Option<(crate::answer::Answer, render::Rendered)> {
    let answer = bot
        .service
        .execute(command.clone(), None)
        .await
        .map_err(|e| tracing::error!("{what}: {e:#}"))
        .ok()?;
    let rendered = render::answer(&answer);
    Some((answer, rendered))
}

/// Turns a search page in place (the message the buttons are on).
async fn turn_page(
    bot: &Arc<Bot>,
    keep: Keep,
    asker: u64,
    command: Command,
    public: bool,
) -> Reply {
    let work = {
        let bot = bot.clone();
        async move {
            let (answer, rendered) = rerun(&bot, &command, "paging").await?;
            let keep = match keep {
                Keep::Stored(id) => {
                    bot.button_state
                        .update(id, command, rendered.clone(), &answer);
                    Keep::Stored(id)
                }
                // The new page's ids may be a digit longer: they may have to move to the store.
                Keep::Carried(_) => bot.button_state.keep(command, asker, &rendered, &answer),
            };
            let buttons = buttons(&keep, asker, paging(&answer), public);
            Some((rendered, buttons))
        }
    };
    let now = |made: Made| match made {
        Some((rendered, buttons)) => {
            CreateInteractionResponse::UpdateMessage(rendered.message().components(buttons))
        }
        None => failed_message(),
    };
    within_window(bot, work, now, CreateInteractionResponse::Acknowledge).await
}

/// Posts the answer to `command` publicly (a *Post to channel* whose state was carried): the
/// command runs again, so the post shows what the library answers now.
async fn post(bot: &Arc<Bot>, command: Command, asker: u64) -> Reply {
    let work = {
        let bot = bot.clone();
        async move {
            let (answer, rendered) = rerun(&bot, &command, "posting").await?;
            let keep = bot.button_state.keep(command, asker, &rendered, &answer);
            let mut buttons = buttons(&keep, asker, paging(&answer), true);
            if let crate::answer::Answer::Ask(a) = &answer {
                super::voting::add_vote_buttons(&mut buttons, Some(a));
            }
            Some((rendered, buttons))
        }
    };
    let now = |made: Made| match made {
        Some((rendered, buttons)) => CreateInteractionResponse::Message(
            rendered.message().components(buttons).ephemeral(false),
        ),
        None => failed_message(),
    };
    let ack =
        CreateInteractionResponse::Defer(CreateInteractionResponseMessage::new().ephemeral(false));
    within_window(bot, work, now, ack).await
}

/// The user whose interaction `message` answered, when Discord says (`interaction_metadata`).
fn answered_user(message: &Message) -> Option<u64> {
    match message.interaction_metadata.as_deref()? {
        MessageInteractionMetadata::Command(m) => Some(m.user.id.get()),
        MessageInteractionMetadata::Component(m) => Some(m.user.id.get()),
        _ => None,
    }
}

/// A button press. The custom id is read back without trusting it ([`buttons::parse`]): one
/// that is not ours, or that names an asker other than the one Discord says the message
/// answered, gets an ephemeral message; only the asker may page or post, and the asker or a
/// moderator delete.
pub(super) async fn component(bot: &Arc<Bot>, ci: &ComponentInteraction) -> Reply {
    let Some(button) = buttons::parse(&ci.data.custom_id) else {
        tracing::debug!("a button with an unknown custom id was pressed");
        return ephemeral(UNKNOWN_BUTTON);
    };
    let asker = button.asker();
    if answered_user(&ci.message).is_some_and(|answered| answered != asker) {
        tracing::debug!("a button's custom id names someone the message did not answer");
        return ephemeral(UNKNOWN_BUTTON);
    }
    let user = ci.user.id.get();
    let action = button.action();
    if action == Action::Delete {
        if user != asker && !bot.is_moderator(ci.member.as_ref()) {
            return ephemeral("Only the person who asked or a moderator can delete this.");
        }
        return Reply::Deferred {
            ack: CreateInteractionResponse::Acknowledge,
            then: Later::delete(),
        };
    }
    let (keep, command, stored) = match button {
        ButtonId::Carried {
            command: Some(command),
            ..
        } => (Keep::Carried(command.clone()), command, None),
        ButtonId::Carried { command: None, .. } => return ephemeral(UNKNOWN_BUTTON),
        ButtonId::Stored { id, .. } => {
            let Some(stored) = bot.button_state.stored(id) else {
                return ephemeral(EXPIRED);
            };
            if stored.asker != asker {
                return ephemeral(UNKNOWN_BUTTON);
            }
            (Keep::Stored(id), stored.command.clone(), Some(stored))
        }
    };
    match action {
        Action::Prev | Action::Next => {
            if user != asker {
                return ephemeral("Only the person who asked can page through these results.");
            }
            let Command::Search { query, page, tag } = command else {
                return ephemeral(UNKNOWN_BUTTON);
            };
            let page = if action == Action::Next {
                page + 1
            } else {
                page.saturating_sub(1).max(1)
            };
            let command = Command::Search { query, page, tag };
            let public = ci
                .message
                .flags
                .is_none_or(|f| !f.contains(serenity::model::channel::MessageFlags::EPHEMERAL));
            turn_page(bot, keep, asker, command, public).await
        }
        Action::Post => {
            if user != asker {
                return ephemeral("Only the person who asked can post this answer.");
            }
            if let Err(wait) = bot.post_cooldown(user) {
                return ephemeral(&cooldown_text(wait));
            }
            let Some(stored) = stored else {
                return post(bot, command, asker).await;
            };
            let new_id = bot.button_state.store(stored.clone());
            Reply::Now(CreateInteractionResponse::Message(
                stored
                    .rendered
                    .message()
                    .components(buttons(&Keep::Stored(new_id), asker, stored.paging, true))
                    .ephemeral(false),
            ))
        }
        Action::Delete => ephemeral(UNKNOWN_BUTTON),
    }
}
