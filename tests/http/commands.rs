//! Commands and autocomplete over HTTP: the shared interaction layer, compared with a gateway
//! bot over the same content and with the fixture's own titles and texts.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::*;

/// Every command as the gateway bot answers it (a real serenity client against the local
/// Discord) and as the HTTP endpoint answers it: the same embeds and buttons, and the
/// fixture's own titles.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_is_answered_like_the_gateway() {
    let rig = crate::discord::rig().await;
    let server = Server::start(quick(&rig.f)).await;
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: [Case; 8] = [
        (
            "ask",
            &[("question", "how do pegs break")],
            "Stablecoins and Their Pegs",
        ),
        (
            "ask",
            &[
                ("question", "how long does it take"),
                ("article", "compost guide"),
            ],
            "Home Composting Basics",
        ),
        (
            "search",
            &[("query", "sleep caffeine")],
            "Search: sleep caffeine",
        ),
        (
            "search",
            &[("query", "pile"), ("tag", "garden")],
            "Search: pile [tag: garden]",
        ),
        (
            "summary",
            &[("article", "composting")],
            "Home Composting Basics",
        ),
        (
            "takeaways",
            &[("article", "stablecoins")],
            "Takeaways: Stablecoins and Their Pegs",
        ),
        (
            "article",
            &[("article", "Urban Cyclng")],
            "Urban Cycling Safety",
        ),
        (
            "summary",
            &[("article", "no such thing")],
            "No article called “no such thing”",
        ),
    ];
    for (name, options, title) in cases {
        let gateway = rig.slash(&crate::discord::ann(), name, options).await;
        let options: Vec<Value> = options.iter().map(|(n, v)| string_option(n, v)).collect();
        let response = server.interact(&command(name, json!(options))).await;
        let what = format!("/{name} {options:?}");
        assert_eq!(response["type"], 4, "{what}: {response}");
        assert_eq!(response["data"]["embeds"][0]["title"], title, "{what}");
        assert_eq!(
            response["data"]["embeds"], gateway.body["embeds"],
            "{what}: HTTP and gateway differ"
        );
        let gateway_labels: Vec<String> = gateway.buttons().into_iter().map(|b| b.0).collect();
        assert_eq!(labels(&response), gateway_labels, "{what}");
        assert!(
            labels(&response).contains(&"Post to channel".to_string()),
            "{what}: {response}"
        );
        assert_eq!(
            response["data"]["flags"], 64,
            "ephemeral by default: {what}"
        );
        assert!(gateway.ephemeral(), "{what}");
        assert_no_pings(&response);
    }

    // The passage itself: the sentences that answer, and the takeaways.
    let response = server
        .interact(&command(
            "ask",
            json!([string_option("question", "how do pegs break")]),
        ))
        .await;
    let embed = &response["data"]["embeds"][0];
    assert_eq!(embed["url"], "https://site.example/a/stablecoins");
    let description = without_markup(embed["description"].as_str().unwrap());
    assert!(
        description.contains(
            "A peg breaks when holders doubt the reserves and redeem faster than the issuer can pay."
        ),
        "{description}"
    );
    let fields = embed["fields"].to_string();
    assert!(
        fields.contains("Publish monthly reserve attestations from an independent auditor"),
        "{fields}"
    );
    let response = server
        .interact(&command(
            "summary",
            json!([string_option("article", "composting")]),
        ))
        .await;
    assert_eq!(
        response["data"]["embeds"][0]["description"],
        "Turn kitchen scraps into soil in a few months."
    );
    server.stop().await;
    rig.stop().await;
}

/// The values offered for `typed`, in order.
async fn choices(server: &Server, command: &str, typed: &str) -> Vec<(String, String)> {
    let response = server.interact(&autocomplete(command, typed)).await;
    assert_eq!(response["type"], 8, "{response}");
    response["data"]["choices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                c["value"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autocomplete_offers_at_most_25_short_choices() {
    let f = Fixture::standard();
    for i in 0..40 {
        f.write(
            &format!("gardening/garden-{i:02}.md"),
            &format!("# Garden Notes {i:02}\n\nNotes on the garden, part {i}.\n"),
        );
    }
    let long_title = format!("Garden {}", "Very Long Title ".repeat(12));
    f.write(
        "gardening/long.md",
        &format!("# {long_title}\n\nA long title.\n"),
    );
    let server = Server::start(quick(&f)).await;
    assert_eq!(
        choices(&server, "summary", "compost").await,
        [("compost guide".to_string(), "guides-composting".to_string())]
    );
    assert_eq!(
        choices(&server, "article", "slee").await,
        [("Why Sleep Matters".to_string(), "sleep".to_string())]
    );
    // 41 articles start with "Garden": exactly 25 are offered, every option autocompletes the
    // same way.
    let garden = choices(&server, "ask", "Garden").await;
    assert_eq!(garden.len(), 25, "{garden:?}");
    assert_eq!(choices(&server, "summary", "Garden").await, garden);
    for (name, value) in &garden {
        assert!(name.starts_with("Garden "), "{name}");
        assert!(value.starts_with("gardening-"), "{value}");
    }
    // A title over 100 characters is offered, cut to 100.
    assert!(long_title.chars().count() > 100);
    let long = choices(&server, "summary", "Garden Very").await;
    assert_eq!(long.len(), 25, "{long:?}");
    assert_eq!(long[0].1, "gardening-long", "the closest first");
    assert!(long[0].0.chars().count() <= 100, "{}", long[0].0);
    assert!(long[0].0.ends_with('…'), "{}", long[0].0);
    assert!(long[0]
        .0
        .starts_with("Garden Very Long Title Very Long Title"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moderator_commands_check_and_reload_completes_through_the_webhook() {
    let f = Fixture::standard();
    let mut settings = quick(&f);
    settings.discord.moderator_role_ids = vec![MODERATOR_ROLE_ID.parse().unwrap()];
    settings.discord.operator_guild_ids = vec![GUILD_ID.parse().unwrap()];
    let server = Server::start(settings).await;
    let fake = server.fake.clone();

    // An ordinary member is refused, and nothing is deferred.
    for name in ["reload", "check", "stats"] {
        let response = server.interact(&command(name, json!([]))).await;
        assert_eq!(response["type"], 4, "{response}");
        assert_eq!(response["data"]["flags"], 64);
        assert_eq!(
            response["data"]["content"], "This command is for moderators only.",
            "{response}"
        );
        assert_no_pings(&response);
    }

    f.write(
        "tides.md",
        "# Tidal Power Basics\n\nTidal turbines turn the rise and fall of the sea into electricity.\n",
    );
    // A new interaction each time (Discord never sends one twice).
    let summary = || command("summary", json!([string_option("article", "tidal power")]));
    let before = server.interact(&summary()).await;
    assert_eq!(
        before["data"]["embeds"][0]["title"], "No article called “tidal power”",
        "{before}"
    );

    let moderator = member(USER_ID, MODERATOR_PERMISSIONS);
    let reload = command_from("reload", json!([]), moderator.clone());
    let token = reload["token"].as_str().unwrap().to_string();
    let ack = server.interact(&reload).await;
    assert_eq!(ack["type"], 5, "deferred message: {ack}");
    assert_eq!(ack["data"]["flags"], 64, "{ack}");
    let call = fake.wait_calls(1).await.remove(0);
    assert_eq!(call.method, "PATCH");
    assert_eq!(
        call.path,
        format!("/api/v10/webhooks/{APP_ID}/{token}/messages/@original")
    );
    let content = call.body["content"].as_str().unwrap();
    assert!(
        content.starts_with("**Reload**\nReloaded: 5 article(s) in service ("),
        "five articles now: {content}"
    );
    assert!(content.ends_with("\nadded (1): tides"), "{content}");
    assert_allowed_mentions_empty(&call.body["allowed_mentions"]);

    let after = server.interact(&summary()).await;
    assert_eq!(
        after["data"]["embeds"][0]["title"], "Tidal Power Basics",
        "{after}"
    );

    // /check is deferred too; /stats answers at once.
    let ack = server
        .interact(&command_from("check", json!([]), moderator.clone()))
        .await;
    assert_eq!(ack["type"], 5);
    let calls = fake.wait_calls(2).await;
    assert!(
        calls[1].body["content"]
            .as_str()
            .unwrap()
            .starts_with("**Content check**\n"),
        "{:?}",
        calls[1].body
    );
    let stats = server
        .interact(&command_from("stats", json!([]), moderator))
        .await;
    assert_eq!(stats["type"], 4);
    assert_eq!(stats["data"]["flags"], 64);
    let text = stats["data"]["content"].as_str().unwrap();
    assert!(text.starts_with("**Statistics**\n5 articles, "), "{text}");
    assert!(text.contains("\nlast reload: <t:"), "{text}");
    assert!(
        text.contains(": reloaded 5 articles (+1 −0 \\~0)\n"),
        "{text}"
    );

    // A moderator role (`discord.moderator_role_ids`) is enough without Manage Server.
    let mut by_role = member(OTHER_USER_ID, MEMBER_PERMISSIONS);
    by_role["roles"] = json!([MODERATOR_ROLE_ID]);
    let stats = server
        .interact(&command_from("stats", json!([]), by_role))
        .await;
    assert!(
        stats["data"]["content"]
            .as_str()
            .unwrap()
            .starts_with("**Statistics**\n"),
        "{stats}"
    );

    // Outside a guild (a direct message: `user`, no `member`) nobody is a moderator.
    let mut dm = command("stats", json!([]));
    let dm_map = dm.as_object_mut().unwrap();
    for key in ["guild_id", "member", "guild_locale"] {
        dm_map.remove(key);
    }
    dm_map.insert("user".into(), user(USER_ID, "reader"));
    dm_map.insert("context".into(), json!(1));
    dm_map.insert(
        "channel".into(),
        json!({"id": CHANNEL_ID, "type": 1, "recipients": [user(USER_ID, "reader")]}),
    );
    dm_map.insert(
        "authorizing_integration_owners".into(),
        json!({"1": USER_ID}),
    );
    dm["data"].as_object_mut().unwrap().remove("guild_id");
    let refused = server.interact(&dm).await;
    assert_eq!(
        refused["data"]["content"], "This command is for moderators only.",
        "{refused}"
    );
    assert_eq!(fake.calls().len(), 2, "nothing more was deferred");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cooldown_and_no_pings_hold_over_http() {
    let f = Fixture::standard();
    f.write(
        "loud.md",
        "# Loud Announcements\n\nPing @everyone and @here and <@123456789012345678> whenever the reserves move.\n",
    );
    let mut settings = f.settings();
    settings.discord.cooldown = Duration::from_secs(3600);
    let server = Server::start(settings).await;
    let first = server
        .interact(&command(
            "summary",
            json!([string_option("article", "loud announcements")]),
        ))
        .await;
    assert_eq!(first["data"]["embeds"][0]["title"], "Loud Announcements");
    assert_no_pings(&first);
    let text = first.to_string();
    assert!(text.contains("everyone"), "{text}");
    assert!(
        !text.contains("@everyone") && !text.contains("@here"),
        "{text}"
    );
    assert!(!text.contains("<@123456789012345678>"), "{text}");
    // The same member again, at once: asked to wait.
    let second = server
        .interact(&command(
            "ask",
            json!([string_option("question", "reserves")]),
        ))
        .await;
    assert_eq!(second["type"], 4);
    assert_eq!(second["data"]["flags"], 64);
    assert!(second.to_string().contains("Slow down"), "{second}");
    assert_no_pings(&second);
    server.stop().await;
}

/// Typed prefixes and the slugs autocomplete offers for them, in order.
const PREFIXES: &[(&str, &[&str])] = &[
    ("stab", &["stablecoins"]),
    ("comp", &["guides-composting"]),
    ("slee", &["sleep"]),
    ("urba", &["cycling"]),
    ("why ", &["sleep"]),
    ("home", &["guides-composting"]),
];

/// Sixty requests at once (PINGs, autocompletes, questions): each gets its own right answer,
/// at once or, for a question queued behind others, deferred and edited in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_are_all_answered_correctly() {
    let f = Fixture::standard();
    let server = Arc::new(Server::start(quick(&f)).await);
    let questions = [
        "how do pegs break",
        "how long does compost take",
        "how much sleep do adults need",
        "which lights for cycling at night",
        "what is a stablecoin",
        "caffeine half-life",
    ];
    let mut tasks = Vec::new();
    for i in 0..60 {
        let server = server.clone();
        let q = questions[i % questions.len()];
        tasks.push(tokio::spawn(async move {
            match i % 3 {
                0 => {
                    let reply = server.post(serde_json::to_vec(&ping()).unwrap()).await;
                    (i, None, reply.json())
                }
                1 => {
                    let prefix = PREFIXES[i % PREFIXES.len()].0;
                    let payload = autocomplete("summary", prefix);
                    (i, Some(prefix.to_string()), server.interact(&payload).await)
                }
                _ => {
                    let payload = command("ask", json!([string_option("question", q)]));
                    let token = payload["token"].as_str().unwrap().to_string();
                    let response = server.interact(&payload).await;
                    if response["type"] != 5 {
                        return (i, Some(q.to_string()), response);
                    }
                    // Queued behind other answers (one per core): acknowledged at once, then
                    // edited in through the webhook.
                    let edit = server
                        .fake
                        .wait(&format!("the edit of {q}"), |r| {
                            r.calls
                                .iter()
                                .find(|c| c.method == "PATCH" && c.path.contains(&token))
                                .map(|c| c.body.clone())
                        })
                        .await;
                    (i, Some(q.to_string()), json!({"type": 4, "data": edit}))
                }
            }
        }));
    }
    // What each question and prefix must find in the fixture.
    let title_of = |q: &str| match q {
        "how do pegs break" | "what is a stablecoin" => "Stablecoins and Their Pegs",
        "how long does compost take" => "Home Composting Basics",
        "how much sleep do adults need" | "caffeine half-life" => "Why Sleep Matters",
        "which lights for cycling at night" => "Urban Cycling Safety",
        other => panic!("{other}"),
    };
    let slug_of = |prefix: &str| {
        PREFIXES
            .iter()
            .find(|p| p.0 == prefix)
            .map(|p| p.1.to_vec())
            .unwrap()
    };
    let mut answered = 0;
    for t in tasks {
        let (i, text, response) = t.await.unwrap();
        match (i % 3, text) {
            (0, _) => assert_eq!(response, json!({"type": 1})),
            (1, Some(prefix)) => {
                let got: Vec<String> = response["data"]["choices"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c["value"].as_str().unwrap().to_string())
                    .collect();
                let expected: Vec<&str> = slug_of(&prefix);
                assert_eq!(got, expected, "{prefix}");
            }
            (_, Some(q)) => {
                assert_eq!(response["type"], 4, "{q}: {response}");
                assert_eq!(response["data"]["embeds"][0]["title"], title_of(&q), "{q}");
            }
            _ => unreachable!(),
        }
        answered += 1;
    }
    assert_eq!(answered, 60);
    Arc::into_inner(server).unwrap().stop().await;
}

/// `/reload` and `/check` act on the whole bot: with no operator guild configured they run
/// nowhere on Discord, and the refusal names the key to set; nothing is deferred or run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_operator_guilds_reload_and_check_run_nowhere() {
    let f = Fixture::standard();
    let server = Server::start(quick(&f)).await;
    f.write("tides.md", "# Tidal Power Basics\n\nTidal turbines.\n");
    let moderator = member(USER_ID, MODERATOR_PERMISSIONS);
    for name in ["reload", "check"] {
        let response = server
            .interact(&command_from(name, json!([]), moderator.clone()))
            .await;
        assert_eq!(response["type"], 4, "{response}");
        assert_eq!(response["data"]["flags"], 64);
        let text = response["data"]["content"].as_str().unwrap();
        assert!(
            text.contains("`discord.operator_guild_ids`") && text.contains("SIGHUP"),
            "{text}"
        );
        assert_no_pings(&response);
    }
    let summary = server
        .interact(&command(
            "summary",
            json!([string_option("article", "tidal power")]),
        ))
        .await;
    assert_eq!(
        summary["data"]["embeds"][0]["title"], "No article called “tidal power”",
        "not reloaded: {summary}"
    );
    assert!(server.fake.calls().is_empty(), "nothing was deferred");
    server.stop().await;
}

/// An interaction from another guild than the fixture's (the same member shape, Manage
/// Server there).
fn in_guild(mut payload: Value, guild: &str) -> Value {
    payload["guild_id"] = json!(guild);
    payload["channel"]["guild_id"] = json!(guild);
    payload["data"]["guild_id"] = json!(guild);
    payload["authorizing_integration_owners"] = json!({"0": guild});
    payload
}

/// The scope of each moderator command, over the signed endpoint: a moderator of another
/// guild gets that guild's statistics only and cannot reload or check; in the operator's
/// guild, the reports of a failed reload and check name no path of the host.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moderators_act_in_their_own_guild_and_reports_hide_host_paths() {
    const OTHER_GUILD: &str = "900000000000000099";
    let f = Fixture::standard();
    let mut settings = quick(&f);
    settings.discord.operator_guild_ids = vec![GUILD_ID.parse().unwrap()];
    let server = Server::start(settings).await;
    let question = "how long does composting take in winter";
    let asked = server
        .interact(&command(
            "ask",
            json!([string_option("question", question)]),
        ))
        .await;
    assert_eq!(asked["type"], 4, "{asked}");

    let moderator = member(USER_ID, MODERATOR_PERMISSIONS);
    let elsewhere = |name: &str| {
        in_guild(
            command_from(name, json!([]), moderator.clone()),
            OTHER_GUILD,
        )
    };
    for name in ["reload", "check"] {
        let refused = server.interact(&elsewhere(name)).await;
        assert_eq!(refused["type"], 4, "{refused}");
        let text = refused["data"]["content"].as_str().unwrap();
        assert!(
            text.contains("`discord.operator_guild_ids`")
                && text.contains("this server is not one of them"),
            "{text}"
        );
    }
    let theirs = server.interact(&elsewhere("stats")).await;
    let text = theirs["data"]["content"].as_str().unwrap();
    assert!(
        text.contains("last 30 days: 0 questions from 0 people"),
        "{text}"
    );
    assert!(
        !text.contains("composting"),
        "another guild's question: {text}"
    );
    let ours = server
        .interact(&command_from("stats", json!([]), moderator.clone()))
        .await;
    let text = ours["data"]["content"].as_str().unwrap();
    assert!(text.contains("1 questions from 1 people"), "{text}");
    assert!(text.contains(question), "{text}");

    // The content folder disappears: the reload keeps the old library and says why, the
    // check cannot run; neither names the folder where it was on this host.
    let host = f.dir.path().display().to_string();
    std::fs::rename(f.content(), f.dir.path().join("moved")).unwrap();
    for (i, name) in ["reload", "check"].into_iter().enumerate() {
        let ack = server
            .interact(&command_from(name, json!([]), moderator.clone()))
            .await;
        assert_eq!(ack["type"], 5, "{ack}");
        let call = server.fake.wait_calls(i + 1).await.remove(i);
        let text = call.body["content"].as_str().unwrap();
        assert!(text.contains("content folder <content>"), "{text}");
        assert!(!text.contains(&host) && !text.contains("/tmp"), "{text}");
    }
    let stats = server
        .interact(&command_from("stats", json!([]), moderator))
        .await;
    let text = stats["data"]["content"].as_str().unwrap();
    assert!(
        text.contains("kept the old content: content folder <content>"),
        "{text}"
    );
    assert!(!text.contains(&host), "{text}");
    server.stop().await;
}
