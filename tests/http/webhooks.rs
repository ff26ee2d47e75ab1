//! Deferred replies over HTTP: completed through the interaction webhook, with the bot token
//! when there is one (which `/discuss` needs for its thread) and with no `Authorization`
//! header at all when there is none.

use serde_json::json;

use super::binary::{Binary, CONFIG};
use super::*;

fn discuss() -> Value {
    command("discuss", json!([string_option("article", "composting")]))
}

const DISCUSSION: &str = "Discussion: Home Composting Basics";

/// No bot token (the variable unset, or blank): the answer is edited in, no thread is
/// attempted (Discord would refuse it), the member is told, and no call carries an
/// `Authorization` header (an empty one would be refused too).
async fn discuss_without_a_token(server: &Binary) {
    let payload = discuss();
    let token = payload["token"].as_str().unwrap().to_string();
    let ack = server.interact(&payload).await;
    assert_eq!(ack["type"], 5, "{ack}");
    assert_eq!(
        ack["data"]["flags"].as_u64().unwrap_or(0) & 64,
        0,
        "public: {ack}"
    );
    let calls = server.fake.wait_calls(2).await;
    assert_eq!(calls[0].method, "PATCH");
    assert_eq!(calls[0].body["embeds"][0]["title"], DISCUSSION);
    assert_eq!(calls[1].method, "POST");
    assert_eq!(calls[1].path, format!("/api/v10/webhooks/{APP_ID}/{token}"));
    assert!(
        calls[1].body["content"]
            .as_str()
            .unwrap()
            .starts_with("I could not open a thread here"),
        "{:?}",
        calls[1].body
    );
    assert_eq!(calls[1].body["flags"], 64);
    for call in &calls {
        assert_eq!(call.authorization, None, "{call:?}");
        assert_eq!(call.status, 200, "{call:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discuss_without_a_bot_token_explains() {
    for env in [&[][..], &[("DISCORD_TOKEN", "  ")][..]] {
        let f = Fixture::standard();
        let server = Binary::start(f.dir.path(), CONFIG, env).await;
        discuss_without_a_token(&server).await;
        let fake = server.fake.clone();
        let (ok, _, stderr) = server.stop().await;
        assert!(ok, "{stderr}");
        assert_eq!(fake.calls().len(), 2, "{:?}", fake.calls());
    }
}

/// With the bot token (`discord.token_env`): the thread is opened on the answer's message and
/// gets the summary and the takeaways, every call carrying the token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discuss_opens_a_thread_with_the_bot_token() {
    let f = Fixture::standard();
    let server = Binary::start_with(
        f.dir.path(),
        CONFIG,
        "token_env = \"ARTICLEBOT_TEST_TOKEN\"\n",
        &[("ARTICLEBOT_TEST_TOKEN", fake::BOT_TOKEN)],
    )
    .await;
    let ack = server.interact(&discuss()).await;
    assert_eq!(ack["type"], 5, "{ack}");
    let calls = server.fake.wait_calls(3).await;
    assert_eq!(calls[0].method, "PATCH");
    assert_eq!(calls[0].body["embeds"][0]["title"], DISCUSSION);
    assert_allowed_mentions_empty(&calls[0].body["allowed_mentions"]);
    assert!(calls[1].path.ends_with("/threads"), "{:?}", calls[1]);
    assert_eq!(calls[1].body["name"], "Home Composting Basics");
    let thread = server.fake.record(|r| r.threads[0].1);
    assert_eq!(
        calls[2].path,
        format!("/api/v10/channels/{thread}/messages")
    );
    let posted = calls[2].body.to_string();
    assert!(
        posted.contains("Turn kitchen scraps into soil in a few months."),
        "{posted}"
    );
    assert!(posted.contains("Balance greens and browns"), "{posted}");
    assert_allowed_mentions_empty(&calls[2].body["allowed_mentions"]);
    for call in &calls {
        let bot = format!("Bot {}", fake::BOT_TOKEN);
        assert_eq!(
            call.authorization.as_deref(),
            Some(bot.as_str()),
            "{call:?}"
        );
        assert_eq!(call.status, 200, "{call:?}");
    }
    let (ok, _, stderr) = server.stop().await;
    assert!(ok, "{stderr}");
}

/// In process, with no token: an answer deferred because it was not ready in time is still
/// edited in through the webhook with no `Authorization` header.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_bot_token_deferred_answers_complete_with_no_authorization() {
    let f = Fixture::standard();
    let mut settings = quick(&f);
    settings.discord.token_env = "ARTICLEBOT_HTTP_TEST_UNSET_TOKEN".into();
    let server = Server::start_deferring(settings).await;
    let payload = command(
        "ask",
        json!([string_option("question", "how do pegs break")]),
    );
    let token = payload["token"].as_str().unwrap().to_string();
    let ack = server.interact(&payload).await;
    assert_eq!(ack["type"], 5, "deferred: {ack}");
    let call = server.fake.wait_calls(1).await.remove(0);
    assert_eq!(call.method, "PATCH", "{call:?}");
    assert_eq!(
        call.path,
        format!("/api/v10/webhooks/{APP_ID}/{token}/messages/@original")
    );
    assert_eq!(call.authorization, None, "{call:?}");
    assert_eq!(call.status, 200, "accepted: {call:?}");
    assert_eq!(
        call.body["embeds"][0]["title"], "Stablecoins and Their Pegs",
        "{call:?}"
    );
    assert_allowed_mentions_empty(&call.body["allowed_mentions"]);
    server.stop().await;
}
