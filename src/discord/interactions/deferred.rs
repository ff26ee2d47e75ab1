//! The deferred-reply protocol: a reply goes out at once when the work finishes inside the
//! defer window ([`Bot::defer_after`](super::Bot)); otherwise an acknowledgement goes out and
//! [`complete`] finishes through the interaction webhook (edit, delete, follow-up, and the
//! thread `/discuss` opens).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serenity::builder::{
    CreateActionRow, CreateInteractionResponse, CreateInteractionResponseFollowup,
    CreateInteractionResponseMessage, CreateMessage, CreateThread, EditInteractionResponse,
};

use super::super::render::{self, no_pings, point_to, pointer, Rendered};
use super::super::rest::Rest;
use super::notices::{FAILED, NO_THREAD};
use super::Bot;

/// What to send for an interaction.
pub enum Reply {
    /// The whole interaction response (callback types 1/4/7/8/9...).
    Now(CreateInteractionResponse),
    /// A deferred response now (type 5 or 6); `then` finishes the work, and [`complete`]
    /// sends it.
    Deferred {
        ack: CreateInteractionResponse,
        then: Later,
    },
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reply::Now(r) => f.debug_tuple("Now").field(r).finish(),
            Reply::Deferred { ack, .. } => f.debug_struct("Deferred").field("ack", ack).finish(),
        }
    }
}

pub(super) type Pending<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// The rest of a deferred reply: work still running and what to send when it is done.
pub struct Later(Job);

enum Job {
    /// Edit `@original` with what the work produces.
    Edit(Pending<EditInteractionResponse>),
    /// Delete `@original` (the message a button was on).
    Delete,
    /// `/discuss`: edit `@original` with the article, open a thread on it, post the summary,
    /// the takeaways and the section buttons there.
    Discuss(Arc<Bot>, Pending<Discussion>),
    /// An answer pointed at a member: a follow-up that mentions them (an edit would not notify
    /// them: Discord notifies the mentions of a message when it is made), then `@original`
    /// (the "thinking…" placeholder) deleted.
    Point(u64, Pending<Made>),
}

/// What `/discuss` found.
pub(super) enum Discussion {
    Open {
        slug: String,
        title: String,
        opening: Rendered,
        posts: Rendered,
        /// The section buttons under the posts.
        sections: Vec<CreateActionRow>,
    },
    /// Nothing to discuss (no such article, or an error): just this answer.
    Answer(EditInteractionResponse),
}

impl Later {
    /// Edit `@original` with what `work` produces.
    pub(super) fn edit(
        work: impl Future<Output = EditInteractionResponse> + Send + 'static,
    ) -> Later {
        Later(Job::Edit(Box::pin(work)))
    }

    /// Delete `@original`.
    pub(super) fn delete() -> Later {
        Later(Job::Delete)
    }

    /// Open the discussion `work` finds, and remember its thread in `bot`.
    pub(super) fn discuss(bot: Arc<Bot>, work: Pending<Discussion>) -> Later {
        Later(Job::Discuss(bot, work))
    }
}

/// Sends what a deferred reply produces, through the interaction webhook (PATCH or DELETE
/// `/webhooks/{application_id}/{token}/messages/@original`, POST follow-ups). Failures are
/// logged: the interaction is over by then. The interaction token is never logged: `Rest`'s
/// errors leave the URL out, and should any error still quote it, it is cut out here.
pub async fn complete(rest: &Rest, interaction_token: &str, later: Later) {
    if let Err(e) = run_later(rest, interaction_token, later).await {
        tracing::warn!(
            "finishing a deferred interaction: {}",
            without_token(&format!("{e:#}"), interaction_token)
        );
    }
}

/// `text` with every occurrence of `token` replaced by `<token>`.
fn without_token(text: &str, token: &str) -> String {
    if token.is_empty() {
        return text.to_string();
    }
    text.replace(token, "<token>")
}

async fn run_later(http: &Rest, token: &str, later: Later) -> anyhow::Result<()> {
    match later.0 {
        Job::Edit(work) => {
            let edit = work.await.allowed_mentions(no_pings());
            http.edit_original(token, &edit).await?;
        }
        Job::Delete => http.delete_original(token).await?,
        Job::Point(member, work) => match work.await {
            Some((rendered, buttons)) => {
                let post = CreateInteractionResponseFollowup::new()
                    .content(pointer(member))
                    .embeds(rendered.embeds())
                    .components(buttons)
                    .allowed_mentions(point_to(member));
                http.followup(token, &post).await?;
                http.delete_original(token).await?;
            }
            None => {
                let edit = EditInteractionResponse::new()
                    .content(FAILED)
                    .allowed_mentions(no_pings());
                http.edit_original(token, &edit).await?;
            }
        },
        Job::Discuss(bot, work) => match work.await {
            Discussion::Answer(edit) => {
                let edit = edit.allowed_mentions(no_pings());
                http.edit_original(token, &edit).await?;
            }
            Discussion::Open {
                slug,
                title,
                opening,
                posts,
                sections,
            } => {
                let edit = EditInteractionResponse::new()
                    .embeds(opening.embeds())
                    .allowed_mentions(no_pings());
                let msg = http.edit_original(token, &edit).await?;
                let name = render::cut_plain(&title, 100);
                let thread = match http
                    .create_thread_from_message(msg.channel_id, msg.id, &CreateThread::new(name))
                    .await
                {
                    Ok(thread) => thread,
                    Err(e) => {
                        // Tell the member why there is no thread (usually a missing
                        // "Create Public Threads" permission), then log it.
                        let note = CreateInteractionResponseFollowup::new()
                            .content(NO_THREAD)
                            .ephemeral(true)
                            .allowed_mentions(no_pings());
                        http.followup(token, &note).await?;
                        return Err(anyhow::anyhow!("cannot open a /discuss thread: {e}"));
                    }
                };
                bot.open_discussion(thread.id.get(), slug);
                let post = CreateMessage::new()
                    .embeds(posts.embeds())
                    .components(sections)
                    .allowed_mentions(no_pings());
                http.send_message(thread.id, &post).await?;
            }
        },
    }
    Ok(())
}

/// A finished answer: its embeds and buttons (`None`: it failed, and the log says why).
pub(super) type Made = Option<(Rendered, Vec<CreateActionRow>)>;

/// Runs `work`: its result when it finishes within the defer window, else its task (as soon
/// as the work waits for a free core, or when the window closes).
async fn race(
    bot: &Bot,
    work: impl Future<Output = Made> + Send + 'static,
) -> Result<Made, tokio::task::JoinHandle<Made>> {
    // Told when the work has to wait for a free core: the acknowledgement goes out at once
    // then, rather than after the defer window.
    let queued = Arc::new(tokio::sync::Notify::new());
    let mut handle = tokio::spawn(crate::service::watch_queue(queued.clone(), work));
    if bot.defer_after.is_zero() {
        return Err(handle);
    }
    let ready = tokio::select! {
        result = &mut handle => Some(result),
        _ = tokio::time::sleep(bot.defer_after) => None,
        _ = queued.notified() => None,
    };
    match ready {
        Some(result) => Ok(joined(result)),
        None => Err(handle),
    }
}

fn joined(result: Result<Made, tokio::task::JoinError>) -> Made {
    result.unwrap_or_else(|e| {
        tracing::error!("answer task failed: {e}");
        None
    })
}

/// Runs `work`. When it finishes within the defer window, `now` makes the response from it;
/// otherwise (or as soon as the work waits for a free core) `ack` goes out and the result
/// edits `@original` when it is ready.
pub(super) async fn within_window(
    bot: &Bot,
    work: impl Future<Output = Made> + Send + 'static,
    now: impl FnOnce(Made) -> CreateInteractionResponse,
    ack: CreateInteractionResponse,
) -> Reply {
    match race(bot, work).await {
        Ok(made) => Reply::Now(now(made)),
        Err(handle) => Reply::Deferred {
            ack,
            then: Later::edit(async move {
                match joined(handle.await) {
                    Some((rendered, buttons)) => EditInteractionResponse::new()
                        .embeds(rendered.embeds())
                        .components(buttons),
                    None => EditInteractionResponse::new().content(FAILED),
                }
            }),
        },
    }
}

/// [`within_window`] for an answer pointed at `member` (the `target` option): posted in the
/// channel, its first line mentions the member, and `allowed_mentions` names that member and
/// nobody else. Late, it goes out as a follow-up (see [`Job::Point`]).
pub(super) async fn pointed(
    bot: &Bot,
    work: impl Future<Output = Made> + Send + 'static,
    member: u64,
) -> Reply {
    match race(bot, work).await {
        Ok(Some((rendered, buttons))) => Reply::Now(CreateInteractionResponse::Message(
            CreateInteractionResponseMessage::new()
                .content(pointer(member))
                .embeds(rendered.embeds())
                .components(buttons)
                .allowed_mentions(point_to(member)),
        )),
        Ok(None) => Reply::Now(super::notices::failed_message()),
        Err(handle) => Reply::Deferred {
            ack: CreateInteractionResponse::Defer(
                CreateInteractionResponseMessage::new().ephemeral(false),
            ),
            then: Later(Job::Point(
                member,
                Box::pin(async move { joined(handle.await) }),
            )),
        },
    }
}
