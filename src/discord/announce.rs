//! Announcing new articles in `discord.announce_channel_id`. What to announce is the core's
//! decision ([`crate::reload::Announcer`], from each reload's news); this module only turns it
//! into messages — a post per new article (its title and link, summary and takeaways, as
//! `/discuss` shows them) or one digest listing them — within Discord's limits and with no
//! pings, and posts them with the bot token (the gateway's, or `serve-http`'s when the token's
//! variable is set). Instances sharing a store (`[state] url`) share what was announced, so
//! each new article is posted by one of them.

use std::path::PathBuf;
use std::sync::Arc;

use serenity::all::{ChannelId, CreateMessage};
use tokio::sync::broadcast::error::RecvError;

use super::render::{self, cut_plain, inert, limits, no_pings, Card, Rendered};
use super::rest::Rest;
use crate::answer::{Answer, Command};
use crate::reload::{Announcement, Announcer, NewArticle};
use crate::service::Service;
use crate::state::postgres::PgStore;
use crate::state::AnnouncedStore;

/// The file in the bot's data folder that remembers what was seen and announced.
pub const ANNOUNCED_FILE: &str = "announced.json";

/// Posts the announcements while it lives; dropping it stops them.
#[derive(Debug)]
pub struct Announcing {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Announcing {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts announcing the new articles of every reload from now on, when
/// `discord.announce_channel_id` is set (`None` otherwise). `rest` must hold the bot token
/// (posting in a channel needs it); `state_dir` is where `announced.json` is kept (`None`:
/// in memory, so a restart takes the articles it starts with as announced).
pub fn start(
    service: Arc<Service>,
    rest: Arc<Rest>,
    state_dir: Option<PathBuf>,
) -> Option<Announcing> {
    let channel = ChannelId::new(service.settings().discord.announce_channel_id?);
    // Subscribed before anything else happens: a reload that finishes meanwhile is not missed.
    let mut reloads = service.reloader().subscribe();
    let path = state_dir.map(|d| d.join(ANNOUNCED_FILE));
    let digest_over = service.settings().discord.announce_digest_over;
    let shared = match service.settings().state.url.as_deref().map(PgStore::open) {
        Some(Ok(store)) => Some(Arc::new(store) as Arc<dyn AnnouncedStore>),
        Some(Err(e)) => {
            tracing::warn!("announcements: not shared with the other instances: {e:#}");
            None
        }
        None => None,
    };
    let library = service.engine().library();
    let task = tokio::spawn(async move {
        // Reading the record and seeding the shared one block (a file, a database).
        let opened = tokio::task::spawn_blocking(move || {
            let announcer = Announcer::open(path, &library, digest_over);
            match shared {
                Some(store) => announcer.sharing(store, &library),
                None => announcer,
            }
        })
        .await;
        let mut announcer = match opened {
            Ok(a) => a,
            Err(e) => {
                tracing::error!("announcements stopped: {e}");
                return;
            }
        };
        loop {
            let reloaded = match reloads.recv().await {
                Ok(r) => r,
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!("announcements: {n} reload(s) missed, their news is not posted");
                    continue;
                }
                Err(RecvError::Closed) => return,
            };
            let library = service.engine().library();
            // Planning writes `announced.json`: file I/O, off the async workers.
            let planned = tokio::task::spawn_blocking(move || {
                let announcement = announcer.plan(&reloaded, &library);
                (announcer, announcement)
            })
            .await;
            let announcement = match planned {
                Ok((back, announcement)) => {
                    announcer = back;
                    announcement
                }
                Err(e) => {
                    tracing::error!("announcements stopped: {e}");
                    return;
                }
            };
            let Some(announcement) = announcement else {
                continue;
            };
            for message in messages(&service, &announcement).await {
                post(&rest, channel, &message).await;
            }
        }
    });
    Some(Announcing { task })
}

/// The messages of an announcement: one per article, or one digest.
pub async fn messages(service: &Arc<Service>, announcement: &Announcement) -> Vec<Rendered> {
    match announcement {
        Announcement::Each(articles) => {
            let mut out = Vec::with_capacity(articles.len());
            for a in articles {
                match article(service, a).await {
                    Some(r) => out.push(r),
                    // Gone again (a later reload removed it): its title alone.
                    None => out.push(digest(std::slice::from_ref(a))),
                }
            }
            out
        }
        Announcement::Digest(articles) => vec![digest(articles)],
    }
}

/// An article's post: its summary card (title and link, summary) and, when it has any, its
/// takeaways, as `/discuss` shows them; the footer says it is new. `None` when the article
/// is no longer in service.
async fn article(service: &Arc<Service>, a: &NewArticle) -> Option<Rendered> {
    let engine = service.engine().clone();
    let slug = a.slug.clone();
    let (summary, takeaways) = service
        .run_blocking(move || {
            let summary = engine.execute(&Command::Summary {
                article: slug.clone(),
            });
            let takeaways = engine.execute(&Command::Takeaways { article: slug });
            (summary, takeaways)
        })
        .await
        .ok()?;
    let Ok(Answer::Summary(summary)) = summary else {
        return None;
    };
    // The answer for a slug is that article's, unless it is gone and a name matched instead.
    if summary.slug != a.slug {
        return None;
    }
    let takeaways = match takeaways {
        Ok(Answer::Takeaways(t)) if !t.takeaways.is_empty() => Some(t),
        _ => None,
    };
    let mut rendered = render::discussion(&summary, takeaways.as_ref());
    if let Some(first) = rendered.cards.first_mut() {
        first.footer = Some(match first.footer.take() {
            Some(how) => format!("New article · {how}"),
            None => "New article".into(),
        });
    }
    Some(Rendered::new(rendered.cards))
}

/// Room kept at the end of a digest for the line that says how many more there are.
const MORE_LINE: usize = 40;

/// One card listing the articles (linked titles), as many as fit, then how many more.
pub fn digest(articles: &[NewArticle]) -> Rendered {
    let mut description = String::new();
    let mut shown = 0;
    for a in articles {
        let title = inert(&cut_plain(&a.title, 200));
        // A link whose address would end the Markdown link early is left out.
        let line = match a.url.as_deref().filter(|u| !u.contains([')', ' '])) {
            Some(u) => format!("• [{title}]({u})\n"),
            None => format!("• {title}\n"),
        };
        if render::chars(&description) + render::chars(&line) > limits::DESCRIPTION - MORE_LINE {
            break;
        }
        description.push_str(&line);
        shown += 1;
    }
    if shown < articles.len() {
        description.push_str(&format!("…and {} more", articles.len() - shown));
    }
    let title = match articles.len() {
        1 => "1 new article".to_string(),
        n => format!("{n} new articles"),
    };
    Rendered::new(vec![Card {
        title,
        description: description.trim_end().to_string(),
        color: 0x5865F2,
        ..Card::default()
    }])
}

/// Posts one message; a failure is logged and not retried (the record says it was announced).
async fn post(rest: &Rest, channel: ChannelId, message: &Rendered) {
    let m = CreateMessage::new()
        .embeds(message.embeds())
        .allowed_mentions(no_pings());
    if let Err(e) = rest.send_message(channel, &m).await {
        tracing::warn!("announcement not posted in channel {channel}: {e:#}");
    }
}
