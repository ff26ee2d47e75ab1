//! The shared interaction layer: everything about a slash command, an autocomplete or a button
//! press that is not transport. Both the gateway adapter and the HTTP-interactions adapter call
//! [`handle`] and send what it returns, so the checks (moderators, cooldowns, button owner
//! and expiry), the deferral decision, the rendering within Discord's limits and the no-ping
//! rule live here, once.
//!
//! A transport sends [`Reply::Now`] as the interaction response; for [`Reply::Deferred`] it
//! sends `ack` as the response and then runs [`complete`], which finishes the work and edits,
//! deletes or follows up through the interaction webhook. The [`Rest`](super::rest::Rest)
//! given to [`complete`] must know the application id (`Http::set_application_id`), since
//! webhook routes name it.
//!
//! One job per module:
//! - `bot`: the bot's shared state (service, settings, cooldowns, moderators, conversations);
//! - `talk`: conversations (messages to the bot, the `question` of `/ask`, `/discuss` threads
//!   and their section buttons) through the conversation layer, and their keys;
//! - `threads`: the threads `/discuss` opened and the article each is about;
//! - `shared`: the Discord side's state on the shared store (`[state] url`), and following
//!   the other instances' changes to it;
//! - `keep`: where a message's button state lives (its custom ids, or a button store: memory
//!   or the shared one) and the button
//!   row that carries it;
//! - `deferred`: the deferred-reply protocol (answer within the window, or acknowledge and
//!   finish through the webhook);
//! - `slash`: slash commands and autocomplete;
//! - `moderation`: the moderator commands, who may run them where, and their reports without
//!   the host's paths;
//! - `curating`: `/curate` (curated answers), its autocomplete, and the pinned passage put
//!   first in answers;
//! - `press`: button presses (paging, posting, deleting);
//! - `notices`: the short ephemeral messages every flow shares;
//! - `tags`: a channel's tag filter on answers (`discord.channel_tags`);
//! - `voting`: 👍/👎 under answers, the votes and the demotions they make.

mod bot;
mod curating;
mod deferred;
mod keep;
mod moderation;
mod notices;
mod press;
mod shared;
mod slash;
mod tags;
mod talk;
mod threads;
mod voting;

use std::sync::Arc;

use serenity::builder::CreateInteractionResponse;
use serenity::model::application::Interaction;

pub use bot::{Bot, DEFER_AFTER};
pub use deferred::{complete, Later, Reply};
pub use talk::{Heard, ReplyTo};

/// Everything that is not transport: checks, cooldowns, running the command, rendering.
pub async fn handle(bot: &Arc<Bot>, interaction: Interaction) -> Reply {
    match interaction {
        Interaction::Ping(_) => Reply::Now(CreateInteractionResponse::Pong),
        Interaction::Autocomplete(ci) if ci.data.name == super::commands::CURATE => {
            curating::autocomplete(bot, &ci).await
        }
        Interaction::Autocomplete(ci) => Reply::Now(slash::autocomplete(bot, &ci)),
        Interaction::Command(ci) => slash::command(bot, &ci).await,
        Interaction::Component(ci) => {
            if let Some(vote) = super::buttons::parse_vote(&ci.data.custom_id) {
                return voting::press(bot, &ci, vote).await;
            }
            match super::buttons::parse_section(&ci.data.custom_id) {
                Some(button) => talk::press_section(bot, &ci, button).await,
                None => press::component(bot, &ci).await,
            }
        }
        _ => notices::ephemeral("This kind of interaction is not supported."),
    }
}
