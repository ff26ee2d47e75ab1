//! The short ephemeral messages every interaction flow shares: failures, refusals, expired
//! buttons, cooldowns. Each is a final reply, sent without pings.

use std::time::Duration;

use serenity::builder::{CreateInteractionResponse, CreateInteractionResponseMessage};

use super::super::render::{self, no_pings};
use super::Reply;

pub(super) const FAILED: &str = "Sorry, something went wrong while answering. Please try again.";
pub(super) const MODERATORS_ONLY: &str = "This command is for moderators only.";
pub(super) const NO_THREAD: &str = "I could not open a thread here (the bot may lack the Create \
                                    Public Threads permission). You can still ask with `/ask`.";
pub(super) const POINT_IN_SERVERS: &str =
    "`target` points a member of a server to an answer: it works in a server's channels only.";
pub(super) const POINT_AT_MEMBERS: &str = "`target` points a member to an answer, not a bot.";
pub(super) const QUIET_CHANNEL: &str =
    "I do not post in this channel (`discord.quiet_channels`); ask without `target` for an \
     answer only you can see.";
pub(super) const EXPIRED: &str =
    "These buttons have expired. Run the command again for fresh ones.";
pub(super) const UNKNOWN_BUTTON: &str =
    "I cannot read this button (it may come from another version of the bot). Run the command \
     again for fresh buttons.";

pub(super) fn cooldown_text(wait: Duration) -> String {
    let secs = wait.as_secs_f32().ceil().max(1.0) as u64;
    format!("Slow down: you can ask again in {secs} s.")
}

/// An ephemeral notice (rendered as one).
pub(super) fn ephemeral(text: &str) -> Reply {
    Reply::Now(CreateInteractionResponse::Message(
        CreateInteractionResponseMessage::new()
            .content(render::notice(text))
            .ephemeral(true)
            .allowed_mentions(no_pings()),
    ))
}

/// An ephemeral message whose text is already rendered.
pub(super) fn ephemeral_raw(text: String) -> Reply {
    Reply::Now(CreateInteractionResponse::Message(
        CreateInteractionResponseMessage::new()
            .content(text)
            .ephemeral(true)
            .allowed_mentions(no_pings()),
    ))
}

/// The response when an answer failed (the log says why).
pub(super) fn failed_message() -> CreateInteractionResponse {
    CreateInteractionResponse::Message(
        CreateInteractionResponseMessage::new()
            .content(FAILED)
            .ephemeral(true)
            .allowed_mentions(no_pings()),
    )
}
