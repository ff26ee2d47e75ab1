//! No token in the logs: every way a deferred reply can fail through the interaction
//! webhook (an error status, a connection broken mid-answer; edit, delete and follow-up; with
//! and without a bot token), driven against the real binary logging at trace level, and the
//! log searched for the interaction tokens and the bot token.

use serde_json::json;

use super::binary::{Binary, CONFIG};
use super::*;
use crate::discord::fake::Failure;

/// The log line of a failed deferred reply.
const FAILED: &str = "finishing a deferred interaction";

fn operator() -> String {
    format!("operator_guild_ids = [{GUILD_ID}]\nephemeral = false\n")
}

/// Sends `payload` (deferred by the bot) and waits until its webhook call reached the local
/// Discord (the `n`th call). Returns the interaction token.
async fn deferred(server: &Binary, payload: Value, n: usize) -> String {
    let token = payload["token"].as_str().unwrap().to_string();
    let ack = server.interact(&payload).await;
    assert!(
        matches!(ack["type"].as_u64(), Some(5 | 6)),
        "deferred: {ack}"
    );
    server.fake.wait_calls(n).await;
    token
}

fn reload() -> Value {
    command_from("reload", json!([]), member(USER_ID, MODERATOR_PERMISSIONS))
}

/// A press of the *Delete* button under a public answer (deferred: the deletion goes
/// through the webhook).
async fn delete_press(server: &Binary) -> Value {
    let answer = server
        .interact(&command(
            "summary",
            json!([string_option("article", "composting")]),
        ))
        .await;
    let custom_id = buttons(&answer)
        .into_iter()
        .find(|b| b.0 == "Delete")
        .unwrap_or_else(|| panic!("no Delete button: {answer}"))
        .1;
    let id = server
        .fake
        .record(|r| r.messages.last().map(|m| m.id.to_string()))
        .unwrap();
    let mut press = interaction(
        3,
        json!({"custom_id": custom_id, "component_type": 2}),
        member(USER_ID, MEMBER_PERMISSIONS),
    );
    press["message"] = message_from(&answer, USER_ID, &id);
    press
}

fn discuss() -> Value {
    command("discuss", json!([string_option("article", "composting")]))
}

/// Stops the server and checks its log: `failures` failed deferred replies were logged, and
/// none of `secrets` appears.
async fn assert_log_clean(server: Binary, failures: usize, secrets: &[String]) {
    let (ok, _, log) = server.stop().await;
    assert!(ok, "{log}");
    assert!(log.contains("TRACE"), "trace-level logging is on");
    assert_eq!(log.matches(FAILED).count(), failures, "{log}");
    for secret in secrets {
        assert!(
            !log.contains(secret.as_str()),
            "{secret} is in the log:\n{log}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_webhook_calls_log_no_token_without_a_bot_token() {
    let f = Fixture::standard();
    let env = [("RUST_LOG", "trace")];
    let server = Binary::start_with(f.dir.path(), CONFIG, &operator(), &env).await;
    let fake = server.fake.clone();
    let mut tokens = Vec::new();
    // The edit of `@original`: an error status, then a connection broken mid-answer.
    fake.fail_webhooks("PATCH", Failure::Status(404));
    tokens.push(deferred(&server, reload(), 1).await);
    fake.fail_webhooks("PATCH", Failure::BrokenBody);
    tokens.push(deferred(&server, reload(), 2).await);
    // The deletion of `@original`.
    fake.heal_webhooks();
    fake.fail_webhooks("DELETE", Failure::Status(500));
    let press = delete_press(&server).await;
    tokens.push(deferred(&server, press, 3).await);
    // The follow-up `/discuss` sends when it cannot open a thread (no bot token).
    fake.heal_webhooks();
    fake.fail_webhooks("POST", Failure::Status(404));
    tokens.push(deferred(&server, discuss(), 5).await);
    fake.fail_webhooks("POST", Failure::BrokenBody);
    tokens.push(deferred(&server, discuss(), 7).await);
    assert_log_clean(server, 5, &tokens).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_webhook_calls_log_no_token_with_a_bot_token() {
    let f = Fixture::standard();
    let discord = format!("{}token_env = \"ARTICLEBOT_TEST_TOKEN\"\n", operator());
    let env = [
        ("RUST_LOG", "trace"),
        ("ARTICLEBOT_TEST_TOKEN", fake::BOT_TOKEN),
    ];
    let server = Binary::start_with(f.dir.path(), CONFIG, &discord, &env).await;
    let fake = server.fake.clone();
    let mut tokens = Vec::new();
    fake.fail_webhooks("PATCH", Failure::Status(404));
    tokens.push(deferred(&server, reload(), 1).await);
    fake.fail_webhooks("PATCH", Failure::BrokenBody);
    tokens.push(deferred(&server, reload(), 2).await);
    fake.heal_webhooks();
    fake.fail_webhooks("DELETE", Failure::Status(401));
    let press = delete_press(&server).await;
    tokens.push(deferred(&server, press, 3).await);
    // `/discuss` with the thread refused: its follow-up fails too.
    fake.heal_webhooks();
    fake.refuse_threads();
    fake.fail_webhooks("POST", Failure::Status(500));
    tokens.push(deferred(&server, discuss(), 6).await);
    let mut secrets = tokens;
    secrets.push(fake::BOT_TOKEN.to_string());
    assert_log_clean(server, 4, &secrets).await;
}
