//! Conversations over the gateway: @mentions, replies to the bot (reply chains), `/discuss`
//! threads with their section buttons, and bad input, all through the conversation layer.

use serde_json::{json, Value};

use super::fake::{self, BOT_ID, CHANNEL_ID};
use super::*;

const ANN: (u64, &str) = (111, "ann");
const BOB: (u64, &str) = (222, "bob");

/// A message from `author` in `channel`, perhaps mentioning the bot or others, perhaps
/// replying to `reply_to`.
fn message(
    rig: &Rig,
    channel: u64,
    author: (u64, &str),
    content: &str,
    mention: bool,
    reply_to: Option<&Value>,
) -> Value {
    let payload = fake::user_message(&rig.fake, channel, author, content, mention, reply_to);
    fake::assert_serenity_accepts::<serenity::all::Message>(&payload);
    payload
}

/// Sends `payload` and waits for the bot's reply to it.
async fn answered(rig: &Rig, payload: Value) -> Msg {
    let id = payload["id"].as_str().unwrap().to_string();
    rig.fake.dispatch("MESSAGE_CREATE", payload);
    let reply = rig
        .fake
        .wait("the bot's reply", |r| {
            r.messages
                .iter()
                .find(|m| m.body["message_reference"]["message_id"] == id.as_str())
                .cloned()
        })
        .await;
    assert_eq!(
        reply.body["allowed_mentions"]["parse"],
        json!([]),
        "no pings: {}",
        reply.body
    );
    reply
}

/// The bot's message as a reply's `referenced_message`: with its own reference to the
/// message it answered, as Discord sends it.
fn bots(m: &Msg) -> Value {
    let mut v = fake::message_json(m.id, m.channel_id, &m.body, &fake::bot_user());
    v["message_reference"] = json!({
        "message_id": m.body["message_reference"]["message_id"],
        "channel_id": m.channel_id.to_string(),
        "guild_id": fake::GUILD_ID.to_string(),
    });
    v
}

fn embed<'a>(m: &'a Msg, key: &str) -> &'a str {
    m.body["embeds"][0][key].as_str().unwrap_or("")
}

fn footer(m: &Msg) -> &str {
    m.body["embeds"][0]["footer"]["text"].as_str().unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mention_summarizes_and_replies_to_the_answer_go_on_with_new_passages() {
    let rig = rig().await;
    let mention = format!("<@{BOT_ID}> summarize the stablecoins article");
    let summary = answered(&rig, message(&rig, CHANNEL_ID, ANN, &mention, true, None)).await;
    assert_eq!(embed(&summary, "title"), "Stablecoins and Their Pegs");
    assert!(footer(&summary).starts_with("Summary"), "{}", summary.body);
    // "tell me more" as a reply to the summary: the article's passages, one new one each time.
    let more = answered(
        &rig,
        message(
            &rig,
            CHANNEL_ID,
            ANN,
            "tell me more",
            false,
            Some(&bots(&summary)),
        ),
    )
    .await;
    assert_eq!(embed(&more, "title"), "Stablecoins and Their Pegs");
    assert!(footer(&more).contains("tell me more"), "{}", more.body);
    // Bob replies to Ann's answer: the reply chain is Ann's conversation, so he gets the next
    // passage, not the first one again.
    let next = answered(
        &rig,
        message(&rig, CHANNEL_ID, BOB, "go on", false, Some(&bots(&more))),
    )
    .await;
    assert_eq!(embed(&next, "title"), "Stablecoins and Their Pegs");
    assert_ne!(
        embed(&next, "description"),
        embed(&more, "description"),
        "a new passage"
    );
    // Bob's own mention is his own conversation, which has no article yet.
    let own = format!("<@{BOT_ID}> tell me more");
    let asked = answered(&rig, message(&rig, CHANNEL_ID, BOB, &own, true, None)).await;
    assert!(
        embed(&asked, "description").starts_with("More of what?"),
        "{}",
        asked.body
    );
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_discuss_thread_answers_every_message_and_offers_its_sections() {
    let rig = rig().await;
    rig.slash(&ann(), "discuss", &[("article", "compost guide")])
        .await;
    let thread = rig
        .fake
        .wait("the thread", |r| r.threads.first().map(|t| t.1))
        .await;
    let post = rig
        .fake
        .wait("the thread post", |r| {
            r.messages.iter().find(|m| m.channel_id == thread).cloned()
        })
        .await;
    // The sections, without the takeaways (already posted), as buttons.
    let seen = Seen {
        kind: 0,
        body: post.body.clone(),
        message: Some(post.clone()),
    };
    let labels: Vec<String> = seen.buttons().into_iter().map(|b| b.0).collect();
    assert_eq!(labels, ["Greens and Browns", "How Long It Takes"]);
    // No mention needed in the thread; "it" is the thread's article.
    let who = answered(
        &rig,
        message(&rig, thread, ANN, "who wrote it?", false, None),
    )
    .await;
    assert_eq!(embed(&who, "title"), "Home Composting Basics");
    assert!(embed(&who, "description").contains("Ada"), "{}", who.body);
    // A section button shows that section's passage, publicly in the thread.
    let shown = rig
        .press(&bob(), &post, &seen.button("How Long It Takes"))
        .await;
    assert_eq!(shown.kind, 4);
    assert!(!shown.ephemeral());
    assert_eq!(shown.embed(0)["title"], "Home Composting Basics");
    let text = shown.text();
    assert!(text.contains("How Long It Takes"), "{text}");
    assert!(text.contains("two to three months"), "{text}");
    // What the button showed is part of the thread's conversation: more goes elsewhere.
    let more = answered(
        &rig,
        message(&rig, thread, ANN, "tell me more", false, None),
    )
    .await;
    assert_eq!(embed(&more, "title"), "Home Composting Basics");
    assert!(
        !embed(&more, "description").contains("two to three months"),
        "{}",
        more.body
    );
    // A message for someone else in the thread gets no answer.
    let aside = message(&rig, thread, ANN, "<@222> what do you think?", false, None);
    let mut aside = aside;
    aside["mentions"] = json!([fake::user(222, "bob")]);
    let aside_id = aside["id"].clone();
    rig.fake.dispatch("MESSAGE_CREATE", aside);
    let fake = rig.stop().await;
    let replied_to = fake.record(|r| {
        r.messages
            .iter()
            .map(|m| m.body["message_reference"]["message_id"].clone())
            .collect::<Vec<_>>()
    });
    assert!(!replied_to.contains(&aside_id), "{replied_to:?}");
}

/// A thread's conversation, not just its article, survives a restart: "tell me more" goes on
/// past what was shown before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thread_conversation_survives_a_restart() {
    let state = tempfile::tempdir().unwrap();
    let options = || Options {
        state_dir: Some(state.path().to_path_buf()),
        ..Options::default()
    };
    let rig = rig_with(options()).await;
    rig.slash(&ann(), "discuss", &[("article", "compost guide")])
        .await;
    let thread = rig
        .fake
        .wait("the thread", |r| r.threads.first().map(|t| t.1))
        .await;
    // The post comes once the bot knows the thread.
    rig.fake
        .wait("the thread post", |r| {
            r.messages
                .iter()
                .any(|m| m.channel_id == thread)
                .then_some(())
        })
        .await;
    let mut seen = Vec::new();
    for _ in 0..2 {
        let more = answered(
            &rig,
            message(&rig, thread, ANN, "tell me more", false, None),
        )
        .await;
        seen.push(embed(&more, "description").to_string());
    }
    rig.stop().await;
    let rig = rig_with(options()).await;
    let more = answered(
        &rig,
        message(&rig, thread, ANN, "tell me more", false, None),
    )
    .await;
    assert_eq!(embed(&more, "title"), "Home Composting Basics");
    let after = embed(&more, "description").to_string();
    assert!(
        !seen.contains(&after),
        "{after:?} was shown before: {seen:?}"
    );
    assert!(state.path().join("discord-conversations.json").exists());
    rig.stop().await;
}

/// Empty, emoji only, 5,000 characters, an article that does not exist: a short reply that
/// pings no one and fits Discord's limits (the local Discord checks every message).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_short_clear_reply() {
    let rig = rig().await;
    let mention = |text: &str| format!("<@{BOT_ID}> {text}");
    for text in ["", "🎉🎉🎉 !!!", "?"] {
        let reply = answered(
            &rig,
            message(&rig, CHANNEL_ID, ANN, &mention(text), true, None),
        )
        .await;
        let d = embed(&reply, "description");
        assert!(d.starts_with("I didn't catch a question"), "{text:?}: {d}");
        assert!(d.chars().count() < 200, "{d}");
    }
    let long = mention(&"why does the peg break ".repeat(220));
    assert!(long.chars().count() > 5000);
    let reply = answered(&rig, message(&rig, CHANNEL_ID, ANN, &long, true, None)).await;
    assert_eq!(embed(&reply, "title"), "Stablecoins and Their Pegs");
    let missing = mention("summarize the zorblax article");
    let reply = answered(&rig, message(&rig, CHANNEL_ID, ANN, &missing, true, None)).await;
    assert_eq!(embed(&reply, "title"), "No article called “zorblax”");
    rig.stop().await;
}

/// An article with more sections than one message can hold buttons for, under a slug too long
/// to travel in a custom id: 24 section buttons and *More sections*, five rows at most, every
/// custom id within 100 characters; *More sections* offers the rest to the presser, and a
/// press on one of those shows its section (the thread's article, since the slug did not fit).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_article_offers_every_section_within_discords_limits() {
    let f = standard_fixture();
    let slug = "the-complete-field-guide-to-every-tide-pool-creature-of-the-northern-pacific-coast-and-beyond";
    let mut text = format!("+++\ntitle = \"Tide Pool Field Guide\"\nslug = \"{slug}\"\n+++\n\n");
    for n in 1..=30 {
        text.push_str(&format!(
            "## Creature {n}\n\nCreature {n} hides under the rocks and eats algae patch {n}.\n\n"
        ));
    }
    f.write("tidepools.md", &text);
    let rig = rig_with(Options {
        fixture: Some(f),
        ..Options::default()
    })
    .await;
    rig.slash(&ann(), "discuss", &[("article", "Tide Pool Field Guide")])
        .await;
    let thread = rig
        .fake
        .wait("the thread", |r| r.threads.first().map(|t| t.1))
        .await;
    let post = rig
        .fake
        .wait("the thread post", |r| {
            r.messages.iter().find(|m| m.channel_id == thread).cloned()
        })
        .await;
    let rows = post.body["components"].as_array().unwrap();
    assert!(rows.len() <= 5, "{} rows", rows.len());
    assert!(rows
        .iter()
        .all(|r| r["components"].as_array().unwrap().len() <= 5));
    let seen = Seen {
        kind: 0,
        body: post.body.clone(),
        message: Some(post.clone()),
    };
    let buttons = seen.buttons();
    assert_eq!(buttons.len(), 25);
    let expected: Vec<String> = (1..=24)
        .map(|n| format!("Creature {n}"))
        .chain(["More sections (6)".to_string()])
        .collect();
    let labels: Vec<String> = buttons.iter().map(|b| b.0.clone()).collect();
    assert_eq!(labels, expected);
    for (_, id, _) in &buttons {
        assert!(id.chars().count() <= 100, "{id}");
    }
    let more = rig
        .press(&bob(), &post, &seen.button("More sections (6)"))
        .await;
    assert!(more.ephemeral(), "only for the presser");
    let labels: Vec<String> = more.buttons().into_iter().map(|b| b.0).collect();
    assert_eq!(
        labels,
        (25..=30)
            .map(|n| format!("Creature {n}"))
            .collect::<Vec<_>>()
    );
    let offered = more.message.clone().expect("the ephemeral message");
    let shown = rig
        .press(&bob(), &offered, &more.button("Creature 27"))
        .await;
    assert!(!shown.ephemeral(), "{shown:?}");
    assert_eq!(shown.embed(0)["title"], "Tide Pool Field Guide");
    let text = shown.text();
    assert!(text.contains("algae patch 27"), "{text}");
    rig.stop().await;
}
