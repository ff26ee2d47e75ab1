//! The buttons: paging in place (asker only), post to channel, who may delete, expiry of the
//! buttons kept in memory.

use std::time::Duration;

use super::*;

fn footer(seen: &Seen) -> String {
    seen.embed(0)["footer"]["text"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_in_place_only_for_the_asker() {
    let rig = rig_with(Options {
        tune: Box::new(|s| s.answer.page_size = 1),
        ..Options::default()
    })
    .await;
    let first = rig
        .slash(&ann(), "search", &[("query", "sleep light")])
        .await;
    let msg = first.message.clone().unwrap();
    assert!(
        footer(&first).starts_with("Page 1 of "),
        "{}",
        footer(&first)
    );
    let pages: usize = footer(&first)["Page 1 of ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(pages >= 2);
    // Someone else cannot page.
    let refused = rig.press(&bob(), &msg, &first.button("Next")).await;
    assert_eq!(refused.kind, 4);
    assert!(refused.ephemeral());
    assert!(refused
        .content()
        .starts_with("Only the person who asked can page"));
    // The asker pages in place: the same message, now page 2.
    let next = rig.press(&ann(), &msg, &first.button("Next")).await;
    assert_eq!(next.kind, 7);
    assert_eq!(next.message.as_ref().unwrap().id, msg.id);
    assert!(footer(&next).starts_with("Page 2 of "), "{}", footer(&next));
    assert!(next.embed(0)["description"]
        .as_str()
        .unwrap()
        .starts_with("**2.**"));
    assert_ne!(next.embed(0)["description"], first.embed(0)["description"]);
    let prev_enabled = next.buttons().iter().any(|b| b.0 == "Previous" && !b.2);
    assert!(prev_enabled);
    let msg = next.message.clone().unwrap();
    let back = rig.press(&ann(), &msg, &next.button("Previous")).await;
    assert!(footer(&back).starts_with("Page 1 of "));
    assert_eq!(back.embed(0)["description"], first.embed(0)["description"]);
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_to_channel_then_delete_by_asker_or_moderator() {
    let rig = rig().await;
    let private = rig.slash(&ann(), "summary", &[("article", "sleep")]).await;
    assert!(private.ephemeral());
    let msg = private.message.clone().unwrap();
    let posted = rig
        .press(&ann(), &msg, &private.button("Post to channel"))
        .await;
    assert_eq!(posted.kind, 4);
    assert!(!posted.ephemeral());
    assert_eq!(posted.body["embeds"], private.body["embeds"]);
    let public = posted.message.clone().unwrap();
    assert!(!public.ephemeral);
    let delete = posted.button("Delete");
    // Another member may not delete it.
    let refused = rig.press(&bob(), &public, &delete).await;
    assert!(refused.ephemeral());
    assert_eq!(
        refused.content(),
        "Only the person who asked or a moderator can delete this."
    );
    assert!(!rig
        .fake
        .record(|r| r.messages.iter().any(|m| m.id == public.id && m.deleted)));
    // A moderator may.
    let gone = rig.press(&mia(), &public, &delete).await;
    assert_eq!(gone.kind, 6);
    rig.fake
        .wait("the deletion", |r| {
            r.messages
                .iter()
                .any(|m| m.id == public.id && m.deleted)
                .then_some(())
        })
        .await;
    // And so may the asker, on a second post.
    let again = rig
        .press(&ann(), &msg, &private.button("Post to channel"))
        .await;
    let public2 = again.message.clone().unwrap();
    rig.press(&ann(), &public2, &again.button("Delete")).await;
    rig.fake
        .wait("the asker's deletion", |r| {
            r.messages
                .iter()
                .any(|m| m.id == public2.id && m.deleted)
                .then_some(())
        })
        .await;
    rig.stop().await;
}

/// Buttons whose command is too long to travel in their custom ids keep it in memory, and
/// those expire and say so; buttons that carry their command do not expire.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buttons_kept_in_memory_expire_and_say_so() {
    let rig = rig_with(Options {
        tune: Box::new(|s| s.discord.button_timeout = Duration::from_millis(200)),
        ..Options::default()
    })
    .await;
    let long = "how many hours of sleep do adults need each night to stay healthy and rested, \
                and does caffeine matter";
    let kept = rig.slash(&ann(), "search", &[("query", long)]).await;
    assert!(kept.button("Post to channel").starts_with("ab:post:"));
    let carried = rig.slash(&ann(), "search", &[("query", "sleep")]).await;
    assert!(carried.button("Post to channel").starts_with("ab2:o:"));
    tokio::time::sleep(Duration::from_millis(250)).await;
    let msg = kept.message.clone().unwrap();
    let late = rig
        .press(&ann(), &msg, &kept.button("Post to channel"))
        .await;
    assert!(late.ephemeral());
    assert_eq!(
        late.content(),
        "These buttons have expired. Run the command again for fresh ones."
    );
    let msg = carried.message.clone().unwrap();
    let posted = rig
        .press(&ann(), &msg, &carried.button("Post to channel"))
        .await;
    assert!(!posted.ephemeral());
    assert_eq!(posted.body["embeds"], carried.body["embeds"]);
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_paging_acknowledges_then_edits_the_same_message() {
    let rig = rig_with(Options {
        defer_after: Duration::ZERO,
        tune: Box::new(|s| s.answer.page_size = 1),
        ..Options::default()
    })
    .await;
    let first = rig
        .slash(&ann(), "search", &[("query", "sleep light")])
        .await;
    assert_eq!(first.kind, 5);
    let msg = first.message.clone().unwrap();
    let pressed = rig.press(&ann(), &msg, &first.button("Next")).await;
    assert_eq!(pressed.kind, 6, "a deferred update");
    let page2 = rig
        .fake
        .wait("page 2", |r| {
            let m = r.messages.iter().find(|m| m.id == msg.id)?;
            let footer = m.body["embeds"][0]["footer"]["text"].as_str()?;
            footer.starts_with("Page 2 of ").then(|| m.clone())
        })
        .await;
    assert!(page2.ephemeral, "still the asker's private message");
    rig.stop().await;
}

/// *Post to channel* has a cooldown of its own (`discord.cooldown_seconds`): an answer can be
/// posted right after it was asked for, but the same member cannot post again at once, and
/// nothing more is posted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posting_to_the_channel_has_a_cooldown() {
    let rig = rig_with(Options {
        tune: Box::new(|s| s.discord.cooldown = std::time::Duration::from_secs(3600)),
        ..Options::default()
    })
    .await;
    let private = rig.slash(&ann(), "summary", &[("article", "sleep")]).await;
    assert!(private.ephemeral());
    let msg = private.message.clone().unwrap();
    let post = private.button("Post to channel");
    let posted = rig.press(&ann(), &msg, &post).await;
    assert_eq!(posted.kind, 4);
    assert!(!posted.ephemeral(), "posted right after asking");
    let public = |rig: &Rig| {
        rig.fake
            .record(|r| r.messages.iter().filter(|m| !m.ephemeral).count())
    };
    let before = public(&rig);
    for _ in 0..5 {
        let again = rig.press(&ann(), &msg, &post).await;
        assert!(again.ephemeral());
        assert!(
            again
                .content()
                .starts_with("Slow down: you can ask again in "),
            "{}",
            again.content()
        );
    }
    assert_eq!(public(&rig), before, "nothing more was posted");
    rig.stop().await;
}
