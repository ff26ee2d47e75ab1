//! Conversations over HTTP interactions: the `question` of `/ask` through the conversation
//! layer (one conversation per member and channel), bad questions, and a `/discuss` thread's
//! section buttons.

use serde_json::json;

use super::binary::{Binary, CONFIG};
use super::*;

fn description(response: &Value) -> &str {
    response["data"]["embeds"][0]["description"]
        .as_str()
        .unwrap_or("")
}

fn footer(response: &Value) -> &str {
    response["data"]["embeds"][0]["footer"]["text"]
        .as_str()
        .unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ask_questions_continue_the_members_conversation() {
    let f = Fixture::standard();
    let server = Server::start(quick(&f)).await;
    let summary = server
        .interact(&ask_as(USER_ID, "summarize the stablecoins article"))
        .await;
    assert_eq!(summary["type"], 4, "{summary}");
    assert_eq!(title(&summary), "Stablecoins and Their Pegs");
    assert!(footer(&summary).starts_with("Summary"), "{summary}");
    assert_no_pings(&summary);
    let more = server.interact(&ask_as(USER_ID, "tell me more")).await;
    assert_eq!(title(&more), "Stablecoins and Their Pegs");
    assert!(footer(&more).contains("tell me more"), "{more}");
    let next = server.interact(&ask_as(USER_ID, "go on")).await;
    assert_eq!(title(&next), "Stablecoins and Their Pegs");
    assert_ne!(description(&next), description(&more), "a new passage");
    // Another member's conversation is their own.
    let other = server
        .interact(&ask_as(OTHER_USER_ID, "tell me more"))
        .await;
    assert!(description(&other).starts_with("More of what?"), "{other}");
    // A fact answered by the conversation layer can still be posted to the channel as shown.
    let who = server
        .interact(&ask_as(USER_ID, "who wrote the compost guide?"))
        .await;
    assert_eq!(title(&who), "Home Composting Basics");
    assert!(description(&who).contains("Ada"), "{who}");
    let press = server.press(
        &who,
        "Post to channel",
        USER_ID,
        member(USER_ID, MEMBER_PERMISSIONS),
    );
    let posted = server.interact(&press).await;
    assert_eq!(posted["type"], 4, "{posted}");
    assert_eq!(posted["data"]["flags"].as_u64().unwrap_or(0) & 64, 0);
    assert_eq!(posted["data"]["embeds"], who["data"]["embeds"]);
    server.stop().await;
}

/// Empty, emoji only, 5,000 characters, an article that does not exist: a short reply, no
/// pings, within Discord's limits (the local Discord checks every response).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_questions_get_a_short_clear_reply() {
    let f = Fixture::standard();
    let server = Server::start(quick(&f)).await;
    for question in ["", "   ", "🎉🎉🎉", "?!"] {
        let r = server.interact(&ask_as(USER_ID, question)).await;
        assert_eq!(r["type"], 4, "{r}");
        assert!(
            description(&r).starts_with("I didn't catch a question"),
            "{question:?}: {r}"
        );
        assert_no_pings(&r);
    }
    let long = "how do pegs break when reserves fail ".repeat(140);
    assert!(long.chars().count() > 5000);
    let r = server.interact(&ask_as(USER_ID, &long)).await;
    assert_eq!(title(&r), "Stablecoins and Their Pegs", "{r}");
    assert_no_pings(&r);
    let r = server
        .interact(&ask_as(USER_ID, "summarize the zorblax article"))
        .await;
    assert_eq!(title(&r), "No article called “zorblax”", "{r}");
    assert_no_pings(&r);
    server.stop().await;
}

/// `/discuss` over HTTP (with the bot token, which the thread needs): the thread post carries
/// the section buttons, and a press in the thread shows that section's passage there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discuss_section_buttons_over_http() {
    let f = Fixture::standard();
    let server = Binary::start_with(
        f.dir.path(),
        CONFIG,
        "token_env = \"ARTICLEBOT_TEST_TOKEN\"\n",
        &[("ARTICLEBOT_TEST_TOKEN", fake::BOT_TOKEN)],
    )
    .await;
    let discuss = command("discuss", json!([string_option("article", "composting")]));
    let ack = server.interact(&discuss).await;
    assert_eq!(ack["type"], 5, "{ack}");
    server.fake.wait_calls(3).await;
    let thread = server.fake.record(|r| r.threads[0].1);
    let post = server
        .fake
        .wait("the thread post", |r| {
            r.messages.iter().find(|m| m.channel_id == thread).cloned()
        })
        .await;
    let section_buttons: Vec<(String, String)> = post.body["components"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .map(|b| {
            (
                b["label"].as_str().unwrap_or("").to_string(),
                b["custom_id"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let labels: Vec<&str> = section_buttons.iter().map(|b| b.0.as_str()).collect();
    assert_eq!(labels, ["Greens and Browns", "How Long It Takes"]);
    let press = fake::button(
        &server.fake,
        &member(OTHER_USER_ID, MEMBER_PERMISSIONS),
        &post,
        &section_buttons[0].1,
    );
    let shown = server.interact(&press).await;
    assert_eq!(shown["type"], 4, "{shown}");
    assert_eq!(
        shown["data"]["flags"].as_u64().unwrap_or(0) & 64,
        0,
        "public"
    );
    assert_eq!(title(&shown), "Home Composting Basics");
    let text = shown["data"]["embeds"].to_string();
    assert!(text.contains("Greens and Browns"), "{text}");
    assert!(text.contains("three parts brown material"), "{text}");
    assert_no_pings(&shown);
    let (ok, _, stderr) = server.stop().await;
    assert!(ok, "{stderr}");
}
