//! Over HTTP: answers pointed at a member (`target`) and curated answers (`/curate`), the same
//! interaction layer as the gateway.

use serde_json::json;

use super::*;

fn user_option(name: &str, id: &str) -> Value {
    json!({"name": name, "type": 6, "value": id})
}

/// `name` with `options` pointing OTHER_USER_ID, resolved as Discord sends it.
fn pointing(name: &str, mut options: Vec<Value>) -> Value {
    options.push(user_option("target", OTHER_USER_ID));
    let mut payload = command(name, Value::Array(options));
    let target = member(OTHER_USER_ID, MEMBER_PERMISSIONS);
    let mut partial = target.clone();
    for k in ["user", "deaf", "mute"] {
        partial.as_object_mut().unwrap().remove(k);
    }
    payload["data"]["resolved"] = json!({
        "users": {OTHER_USER_ID: target["user"]},
        "members": {OTHER_USER_ID: partial},
    });
    payload
}

fn only_the_target_pinged(body: &Value) {
    assert_eq!(
        body["content"],
        format!("<@{OTHER_USER_ID}>, this may help"),
        "{body}"
    );
    assert_eq!(body["allowed_mentions"]["parse"], json!([]), "{body}");
    assert_eq!(
        body["allowed_mentions"]["users"],
        json!([OTHER_USER_ID]),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pointed_answer_over_http() {
    let f = Fixture::standard();
    let server = Server::start(quick(&f)).await;
    let response = server
        .interact(&pointing(
            "summary",
            vec![string_option("article", "sleep")],
        ))
        .await;
    assert_eq!(response["type"], 4, "{response}");
    let data = &response["data"];
    assert_eq!(
        data["flags"].as_u64().unwrap_or(0) & 64,
        0,
        "public: {data}"
    );
    only_the_target_pinged(data);
    assert_eq!(data["embeds"][0]["title"], "Why Sleep Matters");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_pointed_answer_over_http_is_a_follow_up() {
    let f = Fixture::standard();
    let server = Server::start_deferring(quick(&f)).await;
    let response = server
        .interact(&pointing(
            "ask",
            vec![string_option("question", "how do pegs break")],
        ))
        .await;
    assert_eq!(response["type"], 5, "{response}");
    let post = server
        .fake
        .wait("the follow-up", |r| r.followups.first().cloned())
        .await;
    only_the_target_pinged(&post);
    assert_eq!(post["embeds"][0]["title"], "Stablecoins and Their Pegs");
    server
        .fake
        .wait("the placeholder deleted", |r| {
            (r.deletes == 1).then_some(())
        })
        .await;
    server.stop().await;
}

fn curate_from(sub: &str, options: Value, permissions: &str) -> Value {
    command_from(
        "curate",
        json!([{"name": sub, "type": 1, "options": options}]),
        member(USER_ID, permissions),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curated_answers_over_http() {
    let f = Fixture::standard();
    let server = Server::start(quick(&f)).await;
    let add = json!([
        string_option("question", "what goes with banana peels"),
        string_option("article", "composting"),
    ]);
    let refused = server
        .interact(&curate_from("add", add.clone(), MEMBER_PERMISSIONS))
        .await;
    assert_eq!(content(&refused), "This command is for moderators only.");
    let added = server
        .interact(&curate_from("add", add, MODERATOR_PERMISSIONS))
        .await;
    assert!(content(&added).starts_with("Curated answer #"), "{added}");
    let asked = server
        .interact(&command(
            "ask",
            json!([string_option("question", "What goes with banana peel?")]),
        ))
        .await;
    let title = asked["data"]["embeds"][0]["title"].as_str().unwrap();
    assert!(
        title.starts_with("Chosen by the moderators: Home Composting Basics"),
        "{asked}"
    );
    assert_no_pings(&asked);
    server.stop().await;
}

/// 👍/👎 over HTTP: the buttons under an answer to a question, a press recorded as the
/// member's vote (acknowledged privately), pressed again by the same member: still one voter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn votes_over_http() {
    let f = Fixture::standard();
    let server = Server::start(quick(&f)).await;
    let answer = server
        .interact(&command(
            "ask",
            json!([string_option("question", "how do pegs break")]),
        ))
        .await;
    let votes: Vec<(String, String, bool)> = buttons(&answer)
        .into_iter()
        .filter(|b| b.1.starts_with("abv:"))
        .collect();
    assert_eq!(votes.len(), 2, "{answer}");
    let down = votes[1].1.clone();
    assert!(down.starts_with("abv:d:"), "{down}");
    for who in [USER_ID, USER_ID, OTHER_USER_ID] {
        let press = server.press_id(&answer, &down, USER_ID, member(who, MEMBER_PERMISSIONS));
        let thanks = server.interact(&press).await;
        assert_eq!(thanks["data"]["flags"], 64, "{thanks}");
        assert!(content(&thanks).starts_with("Thanks"), "{thanks}");
    }
    let stats = server
        .interact(&command_from(
            "stats",
            json!([]),
            member(USER_ID, MODERATOR_PERMISSIONS),
        ))
        .await;
    assert!(content(&stats).contains("2/0 by 2"), "{stats}");
    server.stop().await;
}

/// A channel's tags apply to `/ask` over HTTP as on the gateway.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_tags_over_http() {
    let f = Fixture::standard();
    let mut s = quick(&f);
    s.discord
        .channels
        .tags
        .insert(CHANNEL_ID.parse().unwrap(), vec!["transport".into()]);
    let server = Server::start(s).await;
    let answer = server
        .interact(&command(
            "ask",
            json!([string_option("question", "how long does compost take")]),
        ))
        .await;
    let text = answer["data"].to_string();
    assert!(text.contains("tagged transport"), "{text}");
    assert!(!text.contains("two to three months"), "{text}");
    server.stop().await;
}
