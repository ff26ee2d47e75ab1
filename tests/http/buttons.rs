//! Buttons over HTTP: paging, posting, deleting, custom ids that carry their command to any
//! instance, and forged or garbled ids.

use serde_json::json;

use super::*;

/// The first result line of a search page (page size 1): "**N.** [Title](url)…".
fn result_line(response: &Value) -> String {
    let description = response["data"]["embeds"][0]["description"]
        .as_str()
        .unwrap_or("");
    description.lines().next().unwrap_or("").to_string()
}

fn footer(response: &Value) -> &str {
    response["data"]["embeds"][0]["footer"]["text"]
        .as_str()
        .unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buttons_page_post_and_delete() {
    let f = Fixture::standard();
    let mut settings = quick(&f);
    settings.answer.page_size = 1;
    let server = Server::start(settings).await;
    let fake = server.fake.clone();

    let first = server
        .interact(&command(
            "search",
            json!([string_option("query", "pile light sleep")]),
        ))
        .await;
    assert_eq!(
        first["data"]["embeds"][0]["title"],
        "Search: pile light sleep"
    );
    assert!(
        result_line(&first).starts_with("**1.** [Why Sleep Matters]("),
        "{first}"
    );
    assert!(footer(&first).starts_with("Page 1 of 3"), "{first}");
    let b = buttons(&first);
    assert_eq!(
        labels(&first),
        ["Previous", "Next", "Post to channel"],
        "{first}"
    );
    assert!(b[0].2, "Previous is disabled on page 1");

    // Only the asker may page.
    let other = member(OTHER_USER_ID, MEMBER_PERMISSIONS);
    let refused = server
        .interact(&server.press(&first, "Next", USER_ID, other.clone()))
        .await;
    assert_eq!(refused["type"], 4);
    assert_eq!(refused["data"]["flags"], 64);
    assert!(
        refused.to_string().contains("Only the person who asked"),
        "{refused}"
    );

    // Next: the message is updated in place with page 2.
    let me = member(USER_ID, MEMBER_PERMISSIONS);
    let second = server
        .interact(&server.press(&first, "Next", USER_ID, me.clone()))
        .await;
    assert_eq!(second["type"], 7, "{second}");
    assert!(
        result_line(&second).starts_with("**2.** [Urban Cycling Safety]("),
        "{second}"
    );
    assert!(footer(&second).starts_with("Page 2 of 3"), "{second}");
    assert_no_pings(&second);
    assert!(!buttons(&second)[0].2, "Previous is enabled on page 2");
    let back = server
        .interact(&server.press(&second, "Previous", USER_ID, me.clone()))
        .await;
    assert_eq!(back["type"], 7);
    assert_eq!(back["data"]["embeds"], first["data"]["embeds"]);

    // Post to channel: the same answer, public, with a Delete button.
    let posted = server
        .interact(&server.press(&first, "Post to channel", USER_ID, me.clone()))
        .await;
    assert_eq!(posted["type"], 4, "{posted}");
    assert!(
        posted["data"]["flags"].as_u64().unwrap_or(0) & 64 == 0,
        "{posted}"
    );
    assert_eq!(posted["data"]["embeds"], first["data"]["embeds"]);
    assert!(labels(&posted).contains(&"Delete".to_string()), "{posted}");
    assert_no_pings(&posted);

    // Delete: refused to another member, done for the asker through the webhook.
    let refused = server
        .interact(&server.press(&posted, "Delete", USER_ID, other))
        .await;
    assert!(
        refused.to_string().contains("Only the person who asked"),
        "{refused}"
    );
    assert!(fake.calls().is_empty());
    let delete = server.press(&posted, "Delete", USER_ID, me);
    let token = delete["token"].as_str().unwrap().to_string();
    let ack = server.interact(&delete).await;
    assert_eq!(ack["type"], 6, "deferred update: {ack}");
    let call = fake.wait_calls(1).await.remove(0);
    assert_eq!(call.method, "DELETE");
    assert_eq!(call.status, 204, "the posted message was deleted: {call:?}");
    assert_eq!(
        call.path,
        format!("/api/v10/webhooks/{APP_ID}/{token}/messages/@original")
    );
    server.stop().await;
}

/// Buttons carry their state in their custom ids: an instance that never saw the search
/// (a restart, another instance behind the load balancer) pages it, and posts it. Custom ids
/// are not trusted: garbled ones, and ones naming someone the message did not answer, get an
/// ephemeral message and change nothing. A query too long to travel in a custom id is kept
/// in memory: it pages on the instance that answered it, and elsewhere says it expired.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buttons_work_on_a_fresh_instance_and_garbled_ids_are_refused() {
    let f = Fixture::standard();
    let mut settings = quick(&f);
    settings.answer.page_size = 1;
    // One Discord in front of every instance, as behind a load balancer.
    let discord = Fake::start().await;
    let query = "pile: light sleep";
    let me = member(USER_ID, MEMBER_PERMISSIONS);
    let other = member(OTHER_USER_ID, MEMBER_PERMISSIONS);

    let first_instance = Server::start_on(settings.clone(), &discord).await;
    let first = first_instance
        .interact(&command("search", json!([string_option("query", query)])))
        .await;
    assert_eq!(
        first["data"]["embeds"][0]["title"],
        "Search: pile: light sleep"
    );
    assert!(
        result_line(&first).starts_with("**1.** [Why Sleep Matters]("),
        "{first}"
    );
    first_instance.stop().await;

    // A fresh instance: only the asker pages, and the page turns.
    let fresh = Server::start_on(settings.clone(), &discord).await;
    let refused = fresh
        .interact(&fresh.press(&first, "Next", USER_ID, other.clone()))
        .await;
    assert_eq!(refused["data"]["flags"], 64);
    assert!(
        refused.to_string().contains("Only the person who asked"),
        "{refused}"
    );
    let second = fresh
        .interact(&fresh.press(&first, "Next", USER_ID, me.clone()))
        .await;
    assert_eq!(second["type"], 7, "{second}");
    assert!(
        result_line(&second).starts_with("**2.** [Urban Cycling Safety]("),
        "{second}"
    );
    assert!(!buttons(&second)[0].2, "Previous is enabled on page 2");
    fresh.stop().await;

    // Yet another one pages back, and posts the page to the channel.
    let fresh = Server::start_on(settings.clone(), &discord).await;
    let back = fresh
        .interact(&fresh.press(&second, "Previous", USER_ID, me.clone()))
        .await;
    assert_eq!(back["type"], 7, "{back}");
    assert_eq!(back["data"]["embeds"], first["data"]["embeds"]);
    let posted = fresh
        .interact(&fresh.press(&second, "Post to channel", USER_ID, me.clone()))
        .await;
    assert_eq!(posted["type"], 4, "{posted}");
    assert_eq!(posted["data"]["flags"].as_u64().unwrap_or(0) & 64, 0);
    assert_eq!(posted["data"]["embeds"], second["data"]["embeds"]);
    assert_eq!(labels(&posted), ["Previous", "Next", "Delete"], "{posted}");
    assert_no_pings(&posted);

    // Garbled custom ids: an ephemeral message, nothing else.
    let next = buttons(&first)[1].1.clone();
    let mut garbled = vec![
        String::new(),
        "ab2".into(),
        "ab2:n:oops".into(),
        next.replace(":s:1:0:", ":s:1:99:"),
        next.replace(":s:1:0:", ":s:0:0:"),
        next.replace(":s:1:0:", ":s:1:x:"),
        next.replace(":s:1:0:", ":z:1:0:"),
        next.replace("ab2:n:", "ab2:q:"),
        next.replace(USER_ID, "-1"),
        "ab:next:12:oops".into(),
        "\u{1F4A5}".into(),
    ];
    garbled.push(format!("ab2:n:{USER_ID}:s:1:0:{}", "x".repeat(100)));
    for id in &garbled {
        let reply = fresh
            .interact(&fresh.press_id(&first, id, USER_ID, me.clone()))
            .await;
        assert_eq!(reply["type"], 4, "{id:?}: {reply}");
        assert_eq!(reply["data"]["flags"], 64, "{id:?}: {reply}");
        assert!(
            reply.to_string().contains("I cannot read this button"),
            "{id:?}: {reply}"
        );
        assert_no_pings(&reply);
    }
    // A forged id: another member writes themselves in as the asker of this message.
    let forged = format!("ab2:n:{OTHER_USER_ID}:s:1:0:{query}");
    assert_eq!(forged.replace(OTHER_USER_ID, USER_ID), next);
    let reply = fresh
        .interact(&fresh.press_id(&first, &forged, USER_ID, other.clone()))
        .await;
    assert_eq!(reply["data"]["flags"], 64, "{reply}");
    assert!(
        reply.to_string().contains("I cannot read this button"),
        "{reply}"
    );
    // A stored id this instance never made: expired.
    let reply = fresh
        .interact(&fresh.press_id(
            &first,
            &format!("ab:next:12:{USER_ID}"),
            USER_ID,
            me.clone(),
        ))
        .await;
    assert!(
        reply.to_string().contains("These buttons have expired"),
        "{reply}"
    );

    // A query too long for a custom id: kept in memory, paged by the same instance...
    let long =
        "how many hours of sleep do adults need each night, and which lights to use after dark";
    let kept = fresh
        .interact(&command("search", json!([string_option("query", long)])))
        .await;
    let next = buttons(&kept)[1].1.clone();
    assert!(next.starts_with("ab:next:"), "{next}");
    let page2 = fresh
        .interact(&fresh.press(&kept, "Next", USER_ID, me.clone()))
        .await;
    assert_eq!(page2["type"], 7, "{page2}");
    assert!(
        result_line(&page2).starts_with("**2.** [Urban Cycling Safety]("),
        "{page2}"
    );
    assert!(footer(&page2).starts_with("Page 2 of "), "{page2}");
    fresh.stop().await;
    // ...and expired on another.
    let fresh = Server::start_on(settings, &discord).await;
    let reply = fresh
        .interact(&fresh.press(&kept, "Next", USER_ID, me))
        .await;
    assert_eq!(reply["data"]["flags"], 64);
    assert!(
        reply.to_string().contains("These buttons have expired"),
        "{reply}"
    );
    fresh.stop().await;
}
