//! @mentions, replies to the bot, `/discuss` threads and the MESSAGE_CONTENT fallback.

use serde_json::Value;

use super::fake::{self, BOT_ID, CHANNEL_ID};
use super::*;

/// Sends a MESSAGE_CREATE and waits for the bot's reply in `channel`.
async fn say(
    rig: &Rig,
    channel: u64,
    content: &str,
    mention: bool,
    reply_to: Option<&Value>,
) -> Msg {
    let before = rig.fake.record(|r| r.messages.len());
    let payload = fake::user_message(&rig.fake, channel, (111, "ann"), content, mention, reply_to);
    fake::assert_serenity_accepts::<serenity::all::Message>(&payload);
    let id = payload["id"].as_str().unwrap().to_string();
    rig.fake.dispatch("MESSAGE_CREATE", payload);
    let reply = rig
        .fake
        .wait("the bot's reply", |r| {
            r.messages[before..]
                .iter()
                .find(|m| m.channel_id == channel && m.interaction.is_none())
                .cloned()
        })
        .await;
    assert_eq!(
        reply.body["message_reference"]["message_id"],
        id.as_str(),
        "a reply"
    );
    reply
}

fn title(m: &Msg) -> &str {
    m.body["embeds"][0]["title"].as_str().unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mentions_and_replies_are_answered_in_the_channel() {
    let rig = rig().await;
    let reply = say(
        &rig,
        CHANNEL_ID,
        &format!("<@{BOT_ID}> how long does compost take?"),
        true,
        None,
    )
    .await;
    assert_eq!(title(&reply), "Home Composting Basics");
    assert_eq!(
        reply.body["allowed_mentions"]["parse"],
        serde_json::json!([])
    );
    // A message that neither mentions nor replies to the bot is ignored: no reply to it, by
    // the time the bot has stopped (a stop finishes every message in flight).
    let ignored = fake::user_message(
        &rig.fake,
        CHANNEL_ID,
        (111, "ann"),
        "what is a stablecoin",
        false,
        None,
    );
    let ignored_id = ignored["id"].clone();
    rig.fake.dispatch("MESSAGE_CREATE", ignored);
    // Replying to the bot's message (no mention) is a question too.
    let bots = fake::message_json(reply.id, CHANNEL_ID, &reply.body, &fake::bot_user());
    let second = say(
        &rig,
        CHANNEL_ID,
        "and what about caffeine before bed?",
        false,
        Some(&bots),
    )
    .await;
    assert_eq!(title(&second), "Why Sleep Matters");
    let fake = rig.stop().await;
    let replies = fake.record(|r| {
        r.messages
            .iter()
            .filter(|m| m.interaction.is_none())
            .map(|m| m.body["message_reference"]["message_id"].clone())
            .collect::<Vec<_>>()
    });
    assert_eq!(replies.len(), 2, "{replies:?}");
    assert!(!replies.contains(&ignored_id), "{replies:?}");
}

/// `discord.mention_replies = false`: mentions, replies and direct messages get no answer,
/// slash commands still do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mention_replies_off_answers_no_message() {
    let rig = rig_with(Options {
        tune: Box::new(|s| s.discord.mention_replies = false),
        ..Options::default()
    })
    .await;
    let mention = fake::user_message(
        &rig.fake,
        CHANNEL_ID,
        (111, "ann"),
        &format!("<@{BOT_ID}> how long does compost take?"),
        true,
        None,
    );
    rig.fake.dispatch("MESSAGE_CREATE", mention);
    let mut dm = fake::user_message(
        &rig.fake,
        555,
        (111, "ann"),
        "how do pegs break",
        false,
        None,
    );
    dm.as_object_mut().unwrap().remove("guild_id");
    dm.as_object_mut().unwrap().remove("member");
    rig.fake.dispatch("MESSAGE_CREATE", dm);
    // The bot is up and answering (the events above reached it before this one).
    let seen = rig.slash(&ann(), "summary", &[("article", "sleep")]).await;
    assert_eq!(seen.embed(0)["title"], "Why Sleep Matters");
    let fake = rig.stop().await;
    let replies = fake.record(|r| {
        r.messages
            .iter()
            .filter(|m| m.interaction.is_none())
            .count()
    });
    assert_eq!(replies, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mentions_never_ping() {
    let rig = rig().await;
    let reply = say(
        &rig,
        CHANNEL_ID,
        &format!("<@{BOT_ID}> when do announcements go out to everyone"),
        true,
        None,
    )
    .await;
    let text = reply.body.to_string();
    assert_eq!(title(&reply), "Server Announcements");
    assert!(
        !text.contains("@everyone") && !text.contains("@here"),
        "{text}"
    );
    assert!(text.contains("@\u{200B}**everyone**"), "{text}");
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discuss_opens_a_thread_that_answers_from_its_article_first() {
    let rig = rig().await;
    let seen = rig
        .slash(&ann(), "discuss", &[("article", "Why Sleep Matters")])
        .await;
    assert_eq!(seen.kind, 5);
    assert!(!seen.ephemeral(), "a thread needs a public message");
    assert_eq!(seen.embed(0)["title"], "Discussion: Why Sleep Matters");
    let (parent, message, body) = rig
        .fake
        .wait("the thread", |r| r.threads.first().cloned())
        .await;
    assert_eq!(parent, CHANNEL_ID);
    assert_eq!(message, seen.message.as_ref().unwrap().id);
    assert_eq!(body["name"], "Why Sleep Matters");
    let thread = message;
    let post = rig
        .fake
        .wait("the thread post", |r| {
            r.messages.iter().find(|m| m.channel_id == thread).cloned()
        })
        .await;
    let embeds = post.body["embeds"].as_array().unwrap();
    assert_eq!(embeds[0]["title"], "Why Sleep Matters");
    assert_eq!(embeds[1]["title"], "Takeaways: Why Sleep Matters");
    assert!(embeds[1]["description"]
        .as_str()
        .unwrap()
        .contains("Keep a regular schedule"));
    // The same question, in the thread and outside it.
    let question = format!("<@{BOT_ID}> what about light?");
    let outside = say(&rig, CHANNEL_ID, &question, true, None).await;
    let inside = say(&rig, thread, &question, true, None).await;
    assert_eq!(title(&inside), "Why Sleep Matters");
    assert_eq!(title(&outside), "Urban Cycling Safety");
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_message_content_the_bot_reconnects_and_slash_commands_work() {
    let rig = rig_with(Options {
        refuse_message_content: true,
        ..Options::default()
    })
    .await;
    let seen = rig.slash(&ann(), "summary", &[("article", "sleep")]).await;
    assert_eq!(seen.embed(0)["title"], "Why Sleep Matters");
    let (identifies, closes) = rig
        .fake
        .record(|r| (r.identifies.clone(), r.closes.clone()));
    assert_eq!(closes, [4014]);
    // GUILDS (1) | GUILD_MESSAGES (1 << 9) | DIRECT_MESSAGES (1 << 12) | MESSAGE_CONTENT
    // (1 << 15), then the same without MESSAGE_CONTENT.
    let all = 1 | (1 << 9) | (1 << 12) | fake::MESSAGE_CONTENT;
    assert_eq!(identifies, [all, all & !fake::MESSAGE_CONTENT]);
    // Discord still sends the text of messages that mention the bot.
    let reply = say(
        &rig,
        CHANNEL_ID,
        &format!("<@{BOT_ID}> caffeine"),
        true,
        None,
    )
    .await;
    assert_eq!(title(&reply), "Why Sleep Matters");
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_messages_and_bare_mentions() {
    let rig = rig().await;
    // A direct message (no guild) is a question.
    let dm_channel = 555;
    let before = rig.fake.record(|r| r.messages.len());
    let mut dm = fake::user_message(
        &rig.fake,
        dm_channel,
        (111, "ann"),
        "how do pegs break",
        false,
        None,
    );
    dm.as_object_mut().unwrap().remove("guild_id");
    dm.as_object_mut().unwrap().remove("member");
    fake::assert_serenity_accepts::<serenity::all::Message>(&dm);
    rig.fake.dispatch("MESSAGE_CREATE", dm);
    let reply = rig
        .fake
        .wait("the DM reply", |r| {
            r.messages[before..]
                .iter()
                .find(|m| m.channel_id == dm_channel)
                .cloned()
        })
        .await;
    assert_eq!(title(&reply), "Stablecoins and Their Pegs");
    // A mention with no question gets a hint, not an error.
    let hint = say(&rig, CHANNEL_ID, &format!("<@{BOT_ID}>"), true, None).await;
    let text = hint.body["embeds"][0]["description"].as_str().unwrap_or("");
    assert!(
        text.starts_with("I didn't catch a question"),
        "{}",
        hint.body
    );
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discuss_threads_are_remembered_across_restarts() {
    let state = tempfile::tempdir().unwrap();
    let rig = rig_with(Options {
        state_dir: Some(state.path().to_path_buf()),
        ..Options::default()
    })
    .await;
    rig.slash(&ann(), "discuss", &[("article", "Why Sleep Matters")])
        .await;
    let thread = rig
        .fake
        .wait("the thread", |r| r.threads.first().map(|t| t.1))
        .await;
    rig.fake
        .wait("the thread post", |r| {
            r.messages
                .iter()
                .any(|m| m.channel_id == thread)
                .then_some(())
        })
        .await;
    rig.stop().await;
    // A new process with the same state folder.
    let rig = rig_with(Options {
        state_dir: Some(state.path().to_path_buf()),
        ..Options::default()
    })
    .await;
    let question = format!("<@{BOT_ID}> what about light?");
    let inside = say(&rig, thread, &question, true, None).await;
    assert_eq!(title(&inside), "Why Sleep Matters");
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discuss_without_thread_permission_says_so() {
    let rig = rig().await;
    rig.fake.refuse_threads();
    let seen = rig.slash(&ann(), "discuss", &[("article", "sleep")]).await;
    assert_eq!(seen.embed(0)["title"], "Discussion: Why Sleep Matters");
    let note = rig
        .fake
        .wait("the follow-up", |r| r.followups.first().cloned())
        .await;
    assert_eq!(note["flags"], 64);
    assert!(note["content"]
        .as_str()
        .unwrap()
        .starts_with("I could not open a thread here"));
    rig.stop().await;
}
