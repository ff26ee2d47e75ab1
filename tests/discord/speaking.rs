//! Where the bot speaks: `discord.channels` (mentions only in those), `quiet_channels` (never
//! a word), `auto_reply_channels` (questions answered unasked when the match is strong, forum
//! posts on their first message, small talk never) and `channel_tags`.

use serde_json::{json, Value};

use super::fake::{self, BOT_ID, CHANNEL_ID, GUILD_ID};
use super::*;

const QUIET: u64 = 900_000_000_000_000_101;
const HELP: u64 = 900_000_000_000_000_102;
const FORUM: u64 = 900_000_000_000_000_103;
const OTHER: u64 = 900_000_000_000_000_104;
const TRANSPORT: u64 = 900_000_000_000_000_105;

/// Sends a message from ann in `channel` and returns its id.
fn send(rig: &Rig, channel: u64, content: &str, mention: bool) -> String {
    let payload = fake::user_message(&rig.fake, channel, (111, "ann"), content, mention, None);
    fake::assert_serenity_accepts::<serenity::all::Message>(&payload);
    let id = payload["id"].as_str().unwrap().to_string();
    rig.fake.dispatch("MESSAGE_CREATE", payload);
    id
}

/// Waits for the bot's reply to message `id`.
async fn reply_to(rig: &Rig, id: &str) -> Msg {
    rig.fake
        .wait("the bot's reply", |r| {
            r.messages
                .iter()
                .find(|m| {
                    m.interaction.is_none() && m.body["message_reference"]["message_id"] == id
                })
                .cloned()
        })
        .await
}

/// The messages the bot replied to, once it has stopped (a stop finishes every message in
/// flight, so a message not answered by then never will be).
fn answered(fake: &fake::Fake) -> Vec<String> {
    fake.record(|r| {
        r.messages
            .iter()
            .filter(|m| m.interaction.is_none())
            .filter_map(|m| m.body["message_reference"]["message_id"].as_str())
            .map(str::to_string)
            .collect()
    })
}

fn title(m: &Msg) -> &str {
    m.body["embeds"][0]["title"].as_str().unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mentions_only_in_allowed_channels_and_never_in_quiet_ones() {
    let rig = rig_with(Options {
        tune: Box::new(|s| {
            s.discord.channels.allowed = vec![CHANNEL_ID];
            s.discord.channels.quiet = vec![QUIET];
        }),
        ..Options::default()
    })
    .await;
    let question = format!("<@{BOT_ID}> how long does compost take?");
    let quiet = send(&rig, QUIET, &question, true);
    let other = send(&rig, OTHER, &question, true);
    let allowed = send(&rig, CHANNEL_ID, &question, true);
    assert_eq!(
        title(&reply_to(&rig, &allowed).await),
        "Home Composting Basics"
    );
    // (Slash commands in a quiet channel: `pointing::pointing_a_bot_or_in_a_quiet_channel…`.)
    let fake = rig.stop().await;
    let answered = answered(&fake);
    assert_eq!(answered, [allowed], "{answered:?}");
    assert!(!answered.contains(&quiet) && !answered.contains(&other));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_reply_answers_clear_questions_and_ignores_small_talk() {
    let rig = rig_with(Options {
        tune: Box::new(|s| {
            s.discord.channels.auto_reply = vec![HELP];
            s.discord.channels.auto_reply_min_score = 0.5;
        }),
        ..Options::default()
    })
    .await;
    // Small talk, thanks, a greeting, a statement, a question to someone else: silence.
    let mut silent = Vec::new();
    for text in [
        "thanks!",
        "hello there?",
        "thank you so much",
        "compost is great",
        "hi",
    ] {
        silent.push(send(&rig, HELP, text, false));
    }
    let to_bob = fake::user_message(
        &rig.fake,
        HELP,
        (111, "ann"),
        "<@222> how long does compost take?",
        false,
        None,
    );
    let mut to_bob = to_bob;
    to_bob["mentions"] = json!([fake::user(222, "bob")]);
    silent.push(to_bob["id"].as_str().unwrap().to_string());
    rig.fake.dispatch("MESSAGE_CREATE", to_bob);
    // The same question elsewhere, unmentioned: not for the bot.
    silent.push(send(&rig, CHANNEL_ID, "how long does compost take?", false));
    let clear = send(&rig, HELP, "how long does compost take?", false);
    let reply = reply_to(&rig, &clear).await;
    assert_eq!(title(&reply), "Home Composting Basics");
    assert_eq!(reply.body["allowed_mentions"]["parse"], json!([]));
    let fake = rig.stop().await;
    let answered = answered(&fake);
    assert_eq!(answered, [clear], "silent: {silent:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_reply_stays_silent_below_the_score() {
    let rig = rig_with(Options {
        tune: Box::new(|s| {
            s.discord.channels.auto_reply = vec![HELP];
            s.discord.channels.auto_reply_min_score = 1000.0;
        }),
        ..Options::default()
    })
    .await;
    let weak = send(&rig, HELP, "how long does compost take?", false);
    // A mention in the same channel is still answered, whatever the score.
    let mention = send(
        &rig,
        HELP,
        &format!("<@{BOT_ID}> how long does compost take?"),
        true,
    );
    assert_eq!(
        title(&reply_to(&rig, &mention).await),
        "Home Composting Basics"
    );
    let fake = rig.stop().await;
    assert_eq!(answered(&fake), [mention], "not {weak}");
}

/// A forum post: Discord makes the thread (THREAD_CREATE, parent = the forum), then its first
/// message, whose id is the thread's. Only that first message is answered unasked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forum_posts_are_answered_on_their_first_message() {
    let rig = rig_with(Options {
        tune: Box::new(|s| {
            s.discord.channels.auto_reply = vec![FORUM];
            s.discord.channels.auto_reply_min_score = 0.5;
        }),
        ..Options::default()
    })
    .await;
    let post = rig.fake.next_id();
    let thread = json!({
        "id": post.to_string(), "type": 11, "guild_id": GUILD_ID.to_string(),
        "name": "compost timing", "parent_id": FORUM.to_string(),
        "owner_id": "111", "last_message_id": null, "rate_limit_per_user": 0,
        "message_count": 0, "member_count": 1, "flags": 0, "applied_tags": [],
        "thread_metadata": {"archived": false, "auto_archive_duration": 4320,
                            "archive_timestamp": "2026-01-01T00:00:00.000000+00:00",
                            "locked": false, "create_timestamp": "2026-01-01T00:00:00.000000+00:00"},
        "newly_created": true
    });
    fake::assert_serenity_accepts::<serenity::all::GuildChannel>(&thread);
    rig.fake.dispatch("THREAD_CREATE", thread);
    // serenity hands each event to its own task: a round trip makes sure the thread was
    // seen before its first message is (Discord sends them in this order too).
    rig.slash(&ann(), "summary", &[("article", "sleep")]).await;
    let mut first = fake::user_message(
        &rig.fake,
        post,
        (111, "ann"),
        "How long does compost take to be ready",
        false,
        None,
    );
    first["id"] = json!(post.to_string());
    rig.fake.dispatch("MESSAGE_CREATE", first);
    let reply = reply_to(&rig, &post.to_string()).await;
    assert_eq!(title(&reply), "Home Composting Basics");
    assert_eq!(reply.channel_id, post);
    // A later message of the post is the members' conversation: left alone.
    let later = send(&rig, post, "how do pegs break?", false);
    let fake = rig.stop().await;
    assert_eq!(answered(&fake), [post.to_string()], "not {later}");
}

/// A forum post whose THREAD_CREATE the bot has not handled yet (serenity runs events
/// concurrently): the bot asks Discord which channel the new thread belongs to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forum_post_seen_before_its_thread_is_looked_up() {
    let rig = rig_with(Options {
        tune: Box::new(|s| {
            s.discord.channels.auto_reply = vec![FORUM];
            s.discord.channels.auto_reply_min_score = 0.5;
        }),
        ..Options::default()
    })
    .await;
    let post = rig.fake.next_id();
    rig.fake.know_thread(post, FORUM);
    let mut first = fake::user_message(
        &rig.fake,
        post,
        (111, "ann"),
        "How long does compost take to be ready",
        false,
        None,
    );
    first["id"] = json!(post.to_string());
    rig.fake.dispatch("MESSAGE_CREATE", first);
    let reply = reply_to(&rig, &post.to_string()).await;
    assert_eq!(title(&reply), "Home Composting Basics");
    // A first message in a thread of another channel is left alone (looked up, not ours).
    let elsewhere = rig.fake.next_id();
    rig.fake.know_thread(elsewhere, OTHER);
    let mut other = fake::user_message(
        &rig.fake,
        elsewhere,
        (111, "ann"),
        "How long does compost take?",
        false,
        None,
    );
    other["id"] = json!(elsewhere.to_string());
    rig.fake.dispatch("MESSAGE_CREATE", other);
    let fake = rig.stop().await;
    assert_eq!(answered(&fake), [post.to_string()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_tags_limit_answers_to_their_articles() {
    let rig = rig_with(Options {
        tune: Box::new(|s| {
            s.discord
                .channels
                .tags
                .insert(TRANSPORT, vec!["transport".to_string()]);
        }),
        ..Options::default()
    })
    .await;
    let compost = format!("<@{BOT_ID}> how long does compost take?");
    let outside = send(&rig, CHANNEL_ID, &compost, true);
    assert_eq!(
        title(&reply_to(&rig, &outside).await),
        "Home Composting Basics"
    );
    let inside = send(&rig, TRANSPORT, &compost, true);
    let reply = reply_to(&rig, &inside).await;
    let text = reply.body.to_string();
    assert!(!text.contains("Composting"), "{text}");
    assert!(text.contains("tagged transport"), "{text}");
    let lights = send(
        &rig,
        TRANSPORT,
        &format!("<@{BOT_ID}> which light after dark?"),
        true,
    );
    assert_eq!(
        title(&reply_to(&rig, &lights).await),
        "Urban Cycling Safety"
    );
    rig.stop().await;
}

/// Builds a slash command run in `channel`.
pub fn command_in(
    rig: &Rig,
    channel: u64,
    member: &Value,
    name: &str,
    options: &[(&str, &str)],
) -> Value {
    let mut v = fake::command(&rig.fake, member, name, options);
    v["channel_id"] = json!(channel.to_string());
    v["channel"]["id"] = json!(channel.to_string());
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ask_in_a_tagged_channel_is_limited_too() {
    let rig = rig_with(Options {
        tune: Box::new(|s| {
            s.discord
                .channels
                .tags
                .insert(TRANSPORT, vec!["transport".to_string()]);
        }),
        ..Options::default()
    })
    .await;
    let payload = command_in(
        &rig,
        TRANSPORT,
        &ann(),
        "ask",
        &[("question", "how long does compost take")],
    );
    let seen = rig.send(payload).await;
    assert!(seen.text().contains("tagged transport"), "{}", seen.text());
    assert!(
        !seen.text().contains("two to three months"),
        "{}",
        seen.text()
    );
    rig.stop().await;
}
