//! The refresh schedule of a running `serve-http` (the real binary): a feed source with
//! `refresh_seconds` is synced on its own, so an article added at the source is answered
//! without any `/reload`, and announced in `discord.announce_channel_id` (its back catalogue,
//! brought by the first sync, is not).

use std::time::Duration;

use serde_json::json;

use super::binary::Binary;
use super::*;
use crate::sources::site::{Resource, Site};

const NEWS_CHANNEL: u64 = 800_000_000_000_000_002;

/// A JSON Feed of `(id, title, text)` items, each with its content.
fn feed(site: &Site, items: &[(&str, &str, &str)]) -> Resource {
    let items: Vec<Value> = items
        .iter()
        .map(|(id, title, text)| {
            json!({
                "id": id,
                "url": site.url(&format!("/posts/{id}")),
                "title": title,
                "content_html": format!("<p>{text}</p>"),
            })
        })
        .collect();
    let body = json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Garden News",
        "items": items,
    });
    Resource::new("application/feed+json", body.to_string())
}

/// The title of the article `/summary` finds for `name` (or of the "not found" card).
async fn summary_title(server: &Binary, name: &str) -> String {
    let answer = server
        .interact(&command("summary", json!([string_option("article", name)])))
        .await;
    answer["data"]["embeds"][0]["title"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Asks `/summary` for `name` until the answer is the article `title` (the schedule has
/// synced and reloaded), or fails after a generous deadline saying what it last got.
async fn wait_for_article(server: &Binary, name: &str, title: &str) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let got = summary_title(server, name).await;
        if got == title {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the scheduled sync did not bring {title:?} within {PATIENCE:?}: /summary {name} \
             still answers {got:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schedule_brings_new_articles_without_a_reload() {
    let site = Site::start().await;
    let catalogue = [
        (
            "p1",
            "Mulch in May",
            "Mulch keeps the soil moist through May.",
        ),
        (
            "p2",
            "Pruning roses",
            "Prune roses just above an outward bud.",
        ),
    ];
    site.put("/feed.json", feed(&site, &catalogue));
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[index]\ndir = \"index\"\n[stats]\ndb = \"memory\"\n\
         [[sources]]\nname = \"news\"\nfeed = \"{}\"\nrefresh_seconds = 1\n",
        site.url("/feed.json")
    );
    let server = Binary::start_with(
        dir.path(),
        &config,
        &format!("announce_channel_id = {NEWS_CHANNEL}\n"),
        &[("DISCORD_TOKEN", fake::BOT_TOKEN)],
    )
    .await;
    // Never synced: the first sync runs at start, then the schedule's.
    wait_for_article(&server, "mulch in may", "Mulch in May").await;

    let mut next = catalogue.to_vec();
    next.push((
        "p3",
        "Tidal gardens",
        "Salt-tolerant plants thrive in tidal gardens.",
    ));
    site.put("/feed.json", feed(&site, &next));
    wait_for_article(&server, "tidal gardens", "Tidal gardens").await;
    let answer = server
        .interact(&command(
            "summary",
            json!([string_option("article", "tidal gardens")]),
        ))
        .await;
    assert_eq!(
        answer["data"]["embeds"][0]["description"], "Salt-tolerant plants thrive in tidal gardens.",
        "{answer}"
    );

    // Announced once, as the bot; the back catalogue of the first sync was not.
    let posted = server
        .fake
        .wait("the announcement", |r| {
            let p: Vec<Value> = r
                .messages
                .iter()
                .filter(|m| m.channel_id == NEWS_CHANNEL)
                .map(|m| m.body.clone())
                .collect();
            (!p.is_empty()).then_some(p)
        })
        .await;
    assert_eq!(posted.len(), 1, "{posted:#?}");
    assert_eq!(posted[0]["embeds"][0]["title"], "Tidal gardens");
    assert_eq!(
        posted[0]["embeds"][0]["url"],
        site.url("/posts/p3").as_str()
    );
    assert!(site.hits("/feed.json") >= 2, "synced on the schedule");
    let (ok, _, stderr) = server.stop().await;
    assert!(ok, "exit 0: {stderr}");
    assert!(stderr.contains("scheduled sync"), "{stderr}");
    let record = std::fs::read_to_string(dir.path().join("announced.json")).unwrap();
    assert!(record.contains("tidal-gardens"), "{record}");
}

/// `serve-http` with an announcement channel but no bot token refuses to start, naming the
/// key and the variable.
#[test]
fn announcing_without_a_token_is_refused_at_start() {
    let f = Fixture::standard();
    let config =
        f.config("[discord]\nannounce_channel_id = 42\ntoken_env = \"NO_SUCH_TOKEN_VAR\"\n");
    let out = crate::util::bin()
        .current_dir(f.dir.path())
        .env_remove("NO_SUCH_TOKEN_VAR")
        .arg("--config")
        .arg(&config)
        .args(["serve-http", "--listen", "127.0.0.1:0", "--public-key"])
        .arg(public_hex(&new_key()))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("discord.announce_channel_id") && err.contains("NO_SUCH_TOKEN_VAR"),
        "{err}"
    );
}
