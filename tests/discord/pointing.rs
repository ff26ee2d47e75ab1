//! The `target` option: an answer pointed at a member, posted in the channel with one ping
//! (that member's) and nothing else that can ping.

use std::time::Duration;

use serde_json::json;

use super::fake::{self, BOT_ID};
use super::*;

/// `name` with `options`, pointing `target`, run by ann.
fn pointing(rig: &Rig, name: &str, options: &[(&str, &str)], target: &Value) -> Value {
    let payload = fake::command_pointing(&rig.fake, &ann(), name, options, ("target", target));
    fake::assert_serenity_accepts::<serenity::all::Interaction>(&payload);
    payload
}

fn only_bob_pinged(body: &Value) {
    assert_eq!(body["content"], "<@222>, this may help", "{body}");
    assert_eq!(body["allowed_mentions"]["parse"], json!([]), "{body}");
    assert_eq!(body["allowed_mentions"]["users"], json!(["222"]), "{body}");
    assert!(body["allowed_mentions"]["roles"]
        .as_array()
        .is_none_or(|r| r.is_empty()));
    assert_ne!(body["allowed_mentions"]["replied_user"], json!(true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ask_summary_takeaways_and_article_point_a_member_publicly() {
    let rig = rig().await;
    for (name, options, title) in [
        (
            "ask",
            vec![("question", "how long does compost take")],
            "Home Composting Basics",
        ),
        ("summary", vec![("article", "sleep")], "Why Sleep Matters"),
        (
            "takeaways",
            vec![("article", "compost guide")],
            "Takeaways: Home Composting Basics",
        ),
        (
            "article",
            vec![("article", "Server Announcements")],
            "Server Announcements",
        ),
    ] {
        let seen = rig.send(pointing(&rig, name, &options, &bob())).await;
        assert_eq!(seen.kind, 4, "{name}");
        assert!(!seen.ephemeral(), "{name}: posted in the channel");
        only_bob_pinged(&seen.body);
        assert_eq!(seen.embed(0)["title"], title, "{name}");
        // The article's own mentions stay inert.
        let text = seen.text();
        assert!(
            !text.contains("@everyone") && !text.contains("<@1234"),
            "{text}"
        );
        assert!(
            seen.buttons().iter().any(|b| b.0 == "Delete"),
            "{name}: {:?}",
            seen.buttons()
        );
    }
    rig.stop().await;
}

/// Late answers go out as a follow-up (an edit would not notify the member), and the
/// "thinking…" placeholder is deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_pointed_answer_is_a_follow_up_that_mentions_the_member() {
    let rig = rig_with(Options {
        defer_after: Duration::ZERO,
        ..Options::default()
    })
    .await;
    let id = rig.fake.interact(pointing(
        &rig,
        "ask",
        &[("question", "how long does compost take")],
        &bob(),
    ));
    let post = rig
        .fake
        .wait("the follow-up", |r| r.followups.first().cloned())
        .await;
    only_bob_pinged(&post);
    assert_ne!(post["flags"].as_u64().unwrap_or(0) & 64, 64, "public");
    assert_eq!(post["embeds"][0]["title"], "Home Composting Basics");
    let (kind, deleted) = rig
        .fake
        .wait("the placeholder deleted", |r| {
            let s = r.sent.iter().find(|s| s.id == id)?;
            let m = r.messages.iter().find(|m| Some(m.id) == s.original)?;
            m.deleted.then(|| s.callback.clone().map(|c| c.0))
        })
        .await
        .map(|k| (k, true))
        .unwrap_or((0, false));
    assert_eq!((kind, deleted), (5, true));
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pointing_a_bot_or_in_a_quiet_channel_is_refused() {
    let rig = rig_with(Options {
        tune: Box::new(|s| s.discord.channels.quiet = vec![fake::CHANNEL_ID]),
        ..Options::default()
    })
    .await;
    let robot = json!({
        "user": {"id": BOT_ID.to_string(), "username": "articlebot", "discriminator": "0",
                 "global_name": null, "avatar": null, "bot": true, "public_flags": 0},
        "nick": null, "avatar": null, "roles": [], "joined_at": "2024-01-01T00:00:00.000000+00:00",
        "premium_since": null, "deaf": false, "mute": false, "flags": 0, "pending": false,
        "permissions": "0", "communication_disabled_until": null
    });
    let seen = rig
        .send(pointing(&rig, "summary", &[("article", "sleep")], &robot))
        .await;
    assert!(seen.ephemeral());
    assert!(seen.content().contains("not a bot"), "{}", seen.content());
    let seen = rig
        .send(pointing(&rig, "summary", &[("article", "sleep")], &bob()))
        .await;
    assert!(seen.ephemeral());
    assert!(
        seen.content().contains("quiet_channels"),
        "{}",
        seen.content()
    );
    // Without a target, a quiet channel still gets private answers.
    let seen = rig.slash(&ann(), "summary", &[("article", "sleep")]).await;
    assert!(seen.ephemeral());
    assert_eq!(seen.embed(0)["title"], "Why Sleep Matters");
    rig.stop().await;
}
