//! The local Discord's own checks: each refuses what Discord refuses (so that a clean run
//! means something), on hand-made bodies.

use std::time::Duration;

use serde_json::{json, Value};

use super::fake::{self, check_message, validate_commands, Fake};

fn ok_message() -> Value {
    json!({"content": "hello", "allowed_mentions": {"parse": []}})
}

#[track_caller]
fn refused(body: Value, why: &str) {
    let bad = check_message(&body, "test");
    assert!(
        bad.iter().any(|b| b.contains(why)),
        "{why:?} not among {bad:?} for {body}"
    );
}

fn button(label: &str, id: &str) -> Value {
    json!({"type": 2, "style": 2, "label": label, "custom_id": id})
}

fn with_rows(rows: Value) -> Value {
    let mut m = ok_message();
    m["components"] = rows;
    m
}

#[test]
fn messages_are_checked() {
    assert_eq!(check_message(&ok_message(), "test"), Vec::<String>::new());
    refused(json!({"allowed_mentions": {"parse": []}}), "empty message");
    refused(
        json!({"content": "", "embeds": [], "allowed_mentions": {"parse": []}}),
        "empty message",
    );
    refused(json!({"content": "hi"}), "allowed_mentions missing");
    let mut m = ok_message();
    m["flags"] = json!(1 << 1);
    refused(m, "invalid flags");
    let mut m = ok_message();
    m["flags"] = json!("64");
    refused(m, "invalid flags");
    let mut m = ok_message();
    m["content"] = json!("x".repeat(2001));
    refused(m, "content 2001 > 2000");

    let row = |buttons: Vec<Value>| json!({"type": 1, "components": buttons});
    let six: Vec<Value> = (0..6).map(|i| button("b", &format!("id{i}"))).collect();
    refused(with_rows(json!([row(six)])), "action row of 6");
    let rows: Vec<Value> = (0..6)
        .map(|i| row(vec![button("b", &format!("id{i}"))]))
        .collect();
    refused(with_rows(json!(rows)), "more than 5 action rows");
    refused(
        with_rows(json!([row(vec![button("a", "same"), button("b", "same")])])),
        "duplicate custom_id",
    );
    refused(
        with_rows(json!([row(vec![button("a", "")])])),
        "custom_id missing",
    );
    refused(
        with_rows(json!([row(vec![
            json!({"type": 2, "style": 5, "label": "Read", "custom_id": "x", "url": "https://e.example"})
        ])])),
        "link button",
    );
    refused(
        with_rows(json!([row(vec![
            json!({"type": 2, "style": 5, "label": "Read"})
        ])])),
        "link button",
    );
    refused(
        with_rows(json!([row(vec![
            json!({"type": 2, "style": 1, "label": "Go", "custom_id": "x", "url": "https://e.example"})
        ])])),
        "only link buttons",
    );
    let fine = with_rows(json!([row(vec![
        button("Previous", "p"),
        button("Next", "n"),
        json!({"type": 2, "style": 5, "label": "Read more", "url": "https://e.example"}),
    ])]));
    assert_eq!(check_message(&fine, "test"), Vec::<String>::new());
}

#[test]
fn command_definitions_are_checked() {
    let option = |name: &str, required: bool| json!({"type": 3, "name": name, "description": "d", "required": required});
    let command =
        |options: Vec<Value>| json!([{"name": "ask", "description": "Ask", "options": options}]);
    assert!(validate_commands(&command(vec![
        option("question", true),
        option("article", false)
    ]))
    .is_empty());
    let cases = [
        (command(vec![option("Question", true)]), "bad option name"),
        (
            command(vec![option(&"x".repeat(33), true)]),
            "bad option name",
        ),
        (command(vec![option("two words", true)]), "bad option name"),
        (
            command(vec![json!({"type": 3, "name": "q", "description": ""})]),
            "description 0 chars",
        ),
        (
            command(vec![
                json!({"type": 3, "name": "q", "description": "d".repeat(101)}),
            ]),
            "description 101 chars",
        ),
        (
            command(vec![option("article", false), option("question", true)]),
            "required option question after an optional one",
        ),
        (
            json!([{"name": "Ask", "description": "Ask"}]),
            "bad command name",
        ),
    ];
    for (defs, why) in cases {
        let bad = validate_commands(&defs);
        assert!(
            bad.iter().any(|b| b.contains(why)),
            "{why:?} not in {bad:?}"
        );
    }
}

/// The 3-second and 15-minute rules hold on the fake's clock, which a test can move; the
/// webhook routes check the application id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_limits_and_the_application_id() {
    let fake = Fake::start().await;
    let client = reqwest::Client::new();
    let payload = fake::command(&fake, &super::ann(), "ask", &[("question", "q")]);
    let token = payload["token"].as_str().unwrap().to_string();
    let id = fake.expect(&payload);
    fake.advance(Duration::from_secs(4));
    fake.respond(id, &json!({"type": 5, "data": {"flags": 64}}));
    let violations = fake.record(|r| r.violations.clone());
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert!(violations[0].contains("(> 3 s)"), "{violations:?}");

    let webhook = |app: u64| format!("{}/api/v10/webhooks/{app}/{token}", fake.rest_url);
    let edit = format!("{}/messages/@original", webhook(fake::APP_ID));
    let body = json!({"content": "done", "allowed_mentions": {"parse": []}});
    let res = client.patch(&edit).json(&body).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(fake.record(|r| r.violations.len()), 1);

    // A follow-up for another application.
    client
        .post(webhook(fake::APP_ID + 1))
        .json(&body)
        .send()
        .await
        .unwrap();
    let violations = fake.record(|r| r.violations.clone());
    assert!(
        violations[1].contains("follow-up for unknown application"),
        "{violations:?}"
    );

    // Sixteen minutes later the token is no longer valid.
    fake.advance(Duration::from_secs(16 * 60));
    client.patch(&edit).json(&body).send().await.unwrap();
    let violations = fake.record(|r| r.violations.clone());
    assert_eq!(
        violations[2], "webhook call after 15 minutes",
        "{violations:?}"
    );

    // An edit cannot make an ephemeral message public.
    let payload = fake::command(&fake, &super::ann(), "ask", &[("question", "q")]);
    let token = payload["token"].as_str().unwrap().to_string();
    let id = fake.expect(&payload);
    fake.respond(id, &json!({"type": 5, "data": {"flags": 64}}));
    let edit = format!(
        "{}/api/v10/webhooks/{}/{token}/messages/@original",
        fake.rest_url,
        fake::APP_ID
    );
    let public = json!({"content": "x", "flags": 0, "allowed_mentions": {"parse": []}});
    client.patch(&edit).json(&public).send().await.unwrap();
    let violations = fake.record(|r| r.violations.clone());
    assert!(
        violations[3].contains("cannot change EPHEMERAL"),
        "{violations:?}"
    );
}

/// `allowed_mentions` may name one user, only the one an answer is pointed at (whose mention
/// opens the content); anything more pings someone who was not meant.
#[test]
fn only_the_pointed_member_may_be_pinged() {
    let pointed = |content: &str, users: Value| json!({"content": content, "allowed_mentions": {"parse": [], "users": users}});
    assert_eq!(
        check_message(&pointed("<@222>, this may help", json!(["222"])), "test"),
        Vec::<String>::new()
    );
    refused(
        pointed("<@222>, this may help", json!(["333"])),
        "allows pings",
    );
    refused(
        pointed("<@222> <@333>", json!(["222", "333"])),
        "allows pings",
    );
    refused(pointed("hello", json!(["222"])), "allows pings");
    refused(
        json!({"content": "hi", "allowed_mentions": {"parse": ["users"]}}),
        "parse not empty",
    );
}
