//! Announcements of new articles in `discord.announce_channel_id`, posted to the local
//! Discord (which checks every message against Discord's limits and refuses pings): one post
//! per new article, a digest over the threshold, nothing for a changed article or for what a
//! fresh bot starts with, nothing twice across a restart, once across instances sharing a
//! store; and the gateway bot's own hook.

use std::sync::Arc;

use articlebot::config::StateSettings;
use articlebot::discord::announce::{self, Announcing};
use articlebot::discord::rest::Rest;
use articlebot::library::{Library, NoProgress, OpenMode};
use articlebot::reload::NewArticle;
use articlebot::service::Service;
use articlebot::stats::Stats;
use serde_json::Value;
use serenity::all::HttpBuilder;

use super::fake::{Fake, BOT_TOKEN};
use super::{mia, rig_with, Options};
use crate::pg::Postgres;
use crate::util::Fixture;

const CHANNEL: u64 = 800_000_000_000_000_001;
/// The statistics key instances sharing a store are given (`ARTICLEBOT_STATS_KEY`).
const STATS_KEY: &str = "a long random value shared by both instances";

/// A news article whose text tries to ping everyone, with a summary and takeaways.
fn article(i: usize) -> String {
    format!(
        "+++\ntitle = \"News item {i}\"\nsummary = \"What happened on day {i}, for @everyone.\"\n+++\n\n\
         Day {i} brought rain to @here and <@123456789012345678>.\n\n## Key takeaways\n\n\
         - Rain fell on day {i}.\n- Umbrellas sold out.\n"
    )
}

/// An article past every limit: a long title, a long summary, many long takeaways.
fn huge_article() -> String {
    let takeaways: String = (0..60)
        .map(|i| {
            format!(
                "- Takeaway {i}: {}\n",
                "a long point about rain ".repeat(12)
            )
        })
        .collect();
    format!(
        "+++\ntitle = \"{}\"\nsummary = \"{}\"\n+++\n\nBody text about rain.\n\n## Key takeaways\n\n{takeaways}",
        "Huge ".repeat(80),
        "A very long summary about rain. ".repeat(200)
    )
}

/// The REST client the announcer posts with, sent to the local Discord.
fn rest(fake: &Fake) -> Arc<Rest> {
    let http = HttpBuilder::new(BOT_TOKEN)
        .proxy(fake.rest_url.clone())
        .ratelimiter_disabled(true)
        .build();
    Arc::new(Rest::with_token(Arc::new(http)))
}

/// A service over the fixture's content (persisted index) and its announcer, which keeps its
/// record in the fixture's `state/`.
fn bot(f: &Fixture, fake: &Fake, digest_over: usize) -> (Arc<Service>, Announcing) {
    let mut settings = f.persisted();
    settings.discord.announce_channel_id = Some(CHANNEL);
    settings.discord.announce_digest_over = digest_over;
    let lib = Library::open(&settings, OpenMode::Reuse, &NoProgress).unwrap();
    let svc = Service::new(settings, lib).unwrap();
    let state = Some(f.dir.path().join("state"));
    let announcing = announce::start(svc.clone(), rest(fake), state).expect("a channel is set");
    (svc, announcing)
}

/// The announcements posted so far.
fn posts(fake: &Fake) -> Vec<Value> {
    fake.record(|r| {
        r.messages
            .iter()
            .filter(|m| m.channel_id == CHANNEL)
            .map(|m| m.body.clone())
            .collect()
    })
}

/// Waits until `n` announcements were posted, and returns them in order.
async fn wait_posts(fake: &Fake, n: usize) -> Vec<Value> {
    fake.wait(&format!("{n} announcement(s)"), |r| {
        let p: Vec<Value> = r
            .messages
            .iter()
            .filter(|m| m.channel_id == CHANNEL)
            .map(|m| m.body.clone())
            .collect();
        (p.len() >= n).then_some(p)
    })
    .await
}

fn title(post: &Value) -> String {
    post["embeds"][0]["title"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_articles_are_announced_once_and_changed_ones_never() {
    let fake = Fake::start().await;
    let f = Fixture::new();
    for i in 0..3 {
        f.write(&format!("a{i}.md"), &article(i));
    }
    let (svc, announcing) = bot(&f, &fake, 3);
    // Two new articles: a post each with the summary and the takeaways, pinging nobody.
    f.write("b1.md", &article(11));
    f.write("b2.md", &article(12));
    assert_eq!(svc.reload("test").await.added, ["b1", "b2"]);
    let first = wait_posts(&fake, 2).await;
    let titles: Vec<String> = first.iter().map(title).collect();
    assert_eq!(titles, ["News item 11", "News item 12"], "{first:#?}");
    for p in &first {
        assert_eq!(p["allowed_mentions"]["parse"], serde_json::json!([]), "{p}");
        let text = p.to_string();
        assert!(text.contains("What happened on day"), "the summary: {p}");
        assert!(text.contains("Umbrellas sold out"), "the takeaways: {p}");
        assert!(text.contains("New article"), "{p}");
        assert!(
            !text.contains("@everyone") && !text.contains("@here"),
            "{p}"
        );
        assert!(
            !text.contains("<@123456789012345678>"),
            "a live mention: {p}"
        );
        assert!(
            p["embeds"][0]["url"]
                .as_str()
                .is_some_and(|u| u.starts_with("https://site.example/a/b")),
            "the link: {p}"
        );
    }
    // A changed article is not announced: the next post is the next new article's.
    f.write("a1.md", &format!("{}\nMore rain.\n", article(1)));
    let changed = svc.reload("test").await;
    assert_eq!(
        (changed.changed, changed.added.len()),
        (vec!["a1".to_string()], 0)
    );
    f.write("b3.md", &huge_article());
    assert_eq!(svc.reload("test").await.added, ["b3"]);
    let second = wait_posts(&fake, 3).await;
    assert!(
        title(&second[2]).starts_with("Huge Huge"),
        "{:#?}",
        second[2]
    );
    // More than `announce_digest_over` (3) at once: one digest listing them.
    for i in 20..24 {
        f.write(&format!("c{i}.md"), &article(i));
    }
    assert_eq!(svc.reload("test").await.added.len(), 4);
    let third = wait_posts(&fake, 4).await;
    assert_eq!(title(&third[3]), "4 new articles");
    let listed = third[3]["embeds"][0]["description"].as_str().unwrap();
    for i in 20..24 {
        assert!(
            listed.contains(&format!("[News item {i}](https://site.example/a/c{i})")),
            "{listed}"
        );
    }
    // A restart announces nothing again: the record says what was seen, even of an article
    // that was gone when the bot started (a fresh bot would take it for news).
    std::fs::remove_file(f.content().join("b2.md")).unwrap();
    assert_eq!(svc.reload("test").await.removed, ["b2"]);
    drop(announcing);
    drop(svc);
    let record = f.dir.path().join("state").join(announce::ANNOUNCED_FILE);
    let seen: Vec<String> = serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap();
    assert!(seen.contains(&"b3".to_string()) && seen.contains(&"a0".to_string()));
    let (svc, _announcing) = bot(&f, &fake, 3);
    f.write("b2.md", &article(12));
    f.write("d1.md", &article(30));
    assert_eq!(svc.reload("test").await.added, ["b2", "d1"]);
    let fourth = wait_posts(&fake, 5).await;
    assert_eq!(title(&fourth[4]), "News item 30");
    // Every post was within Discord's limits and pinged nobody (the local Discord checks).
    fake.assert_clean();
    assert_eq!(posts(&fake).len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_bot_does_not_announce_what_it_starts_with() {
    let fake = Fake::start().await;
    let f = Fixture::new();
    for i in 0..5 {
        f.write(&format!("a{i}.md"), &article(i));
    }
    let (svc, _announcing) = bot(&f, &fake, 10);
    // A reload with nothing new posts nothing; the first post is the first new article.
    svc.reload("test").await;
    f.write("b.md", &article(9));
    svc.reload("test").await;
    let p = wait_posts(&fake, 1).await;
    assert_eq!(title(&p[0]), "News item 9");
    // A removed article that comes back was seen: not news again.
    std::fs::remove_file(f.content().join("b.md")).unwrap();
    assert_eq!(svc.reload("test").await.removed, ["b"]);
    f.write("b.md", &article(9));
    assert_eq!(svc.reload("test").await.added, ["b"]);
    f.write("c.md", &article(10));
    svc.reload("test").await;
    let p = wait_posts(&fake, 2).await;
    assert_eq!(title(&p[1]), "News item 10");
    fake.assert_clean();
}

/// With `[[sources]]`, news is counted per source: the first articles of a source that had
/// none (its back catalogue) are not announced, later ones are, in any source.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sources_first_articles_are_its_back_catalogue() {
    let fake = Fake::start().await;
    let dir = tempfile::tempdir().unwrap();
    let write = |rel: &str, text: &str| {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("old/a0.md", &article(0));
    std::fs::create_dir_all(dir.path().join("new")).unwrap();
    let mut settings = articlebot::config::Settings::from_toml(
        "[index]\ndir = \"memory\"\n[stats]\ndb = \"memory\"\n\
         [[sources]]\nname = \"old\"\nfolder = \"old\"\n\
         [[sources]]\nname = \"new\"\nfolder = \"new\"\n",
        dir.path(),
    )
    .unwrap();
    settings.discord.announce_channel_id = Some(CHANNEL);
    let lib = Library::open(&settings, OpenMode::Reuse, &NoProgress).unwrap();
    let svc = Service::new(settings, lib).unwrap();
    let _announcing = announce::start(svc.clone(), rest(&fake), None).unwrap();
    for i in 1..=3 {
        write(&format!("new/n{i}.md"), &article(100 + i));
    }
    assert_eq!(svc.reload("test").await.added.len(), 3);
    write("new/n4.md", &article(104));
    write("old/a1.md", &article(1));
    assert_eq!(svc.reload("test").await.added.len(), 2);
    let p = wait_posts(&fake, 2).await;
    let mut titles: Vec<String> = p.iter().map(title).collect();
    titles.sort();
    assert_eq!(titles, ["News item 1", "News item 104"], "{p:#?}");
    fake.assert_clean();
}

/// Two instances sharing one PostgreSQL (`[state] url`), each reloading the same content:
/// every new article is posted once, by one of them, and neither posts what the first to start
/// had when it seeded the shared record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_sharing_a_store_announce_each_article_once() {
    let fake = Fake::start().await;
    let pg = Postgres::start();
    let state = StateSettings::with_url(&pg.url(), "test").unwrap();
    let fixtures = [Fixture::new(), Fixture::new()];
    for f in &fixtures {
        for i in 0..3 {
            f.write(&format!("a{i}.md"), &article(i));
        }
    }
    let bots: Vec<(Arc<Service>, Announcing)> = fixtures
        .iter()
        .map(|f| {
            let mut settings = f.persisted();
            settings.discord.announce_channel_id = Some(CHANNEL);
            settings.discord.announce_digest_over = 3;
            settings.state = state.clone();
            let lib = Library::open(&settings, OpenMode::Reuse, &NoProgress).unwrap();
            let stats = Stats::open_with(&settings.stats, &settings.state, Some(STATS_KEY));
            let svc = Service::with_stats(settings, lib, stats.unwrap()).unwrap();
            let state_dir = Some(f.dir.path().join("state"));
            let announcing = announce::start(svc.clone(), rest(&fake), state_dir).unwrap();
            (svc, announcing)
        })
        .collect();
    // Each round: the same new files in both instances' content, both reloaded at once; then
    // time for a second post to show up if one were coming.
    let mut expected = Vec::new();
    for round in [vec![11], vec![12, 13]] {
        for f in &fixtures {
            for &i in &round {
                f.write(&format!("b{i}.md"), &article(i));
            }
        }
        let (a, b) = tokio::join!(bots[0].0.reload("test"), bots[1].0.reload("test"));
        assert_eq!(a.added.len(), round.len(), "{a:?}");
        assert_eq!(b.added.len(), round.len(), "{b:?}");
        expected.extend(round.iter().map(|i| format!("News item {i}")));
        wait_posts(&fake, expected.len()).await;
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        let mut titles: Vec<String> = posts(&fake).iter().map(title).collect();
        titles.sort();
        assert_eq!(titles, expected, "each new article posted once");
    }
    fake.assert_clean();
}

#[test]
fn a_digest_of_many_long_titles_stays_within_the_embed_limits() {
    let articles: Vec<NewArticle> = (0..500)
        .map(|i| NewArticle {
            slug: format!("s{i}"),
            title: format!("{} *{i}* @everyone", "A very long title ".repeat(8)),
            url: Some(format!("https://site.example/a/s{i}")),
        })
        .collect();
    let r = announce::digest(&articles);
    let card = &r.cards[0];
    assert_eq!(card.title, "500 new articles");
    assert!(card.description.chars().count() <= 4096);
    assert!(card.total_chars() <= 6000);
    assert!(card.description.ends_with(" more"), "{}", card.description);
    assert!(!card.description.contains("@everyone"));
    assert!(card.description.contains("\\*0\\*"), "Markdown escaped");
}

/// The gateway bot (`gateway::run`, as `articlebot serve` runs it) announces what a moderator's
/// `/reload` brings, in the configured channel, with its token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_bot_announces_what_a_reload_brings() {
    let rig = rig_with(Options {
        tune: Box::new(|s| s.discord.announce_channel_id = Some(CHANNEL)),
        ..Options::default()
    })
    .await;
    rig.f.write("tides.md", &article(42));
    let seen = rig.slash(&mia(), "reload", &[]).await;
    assert!(seen.text().contains("Reload"), "{}", seen.text());
    let p = wait_posts(&rig.fake, 1).await;
    assert_eq!(title(&p[0]), "News item 42");
    let fake = rig.stop().await;
    assert_eq!(posts(&fake).len(), 1, "only the new article");
}
