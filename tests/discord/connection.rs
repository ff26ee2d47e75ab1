//! The gateway connection: a dropped socket, graceful shutdown, registration across restarts,
//! and `articlebot serve` without a token.

use std::time::Duration;

use super::fake::{self, GUILD_ID};
use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_connection_resumes_and_keeps_answering() {
    let rig = rig().await;
    let before = rig.slash(&ann(), "summary", &[("article", "sleep")]).await;
    assert_eq!(before.embed(0)["title"], "Why Sleep Matters");
    rig.fake.drop_connection();
    rig.fake
        .wait("a new connection", |r| (r.connections >= 2).then_some(()))
        .await;
    let after = rig
        .slash(&ann(), "summary", &[("article", "compost guide")])
        .await;
    assert_eq!(after.embed(0)["title"], "Home Composting Basics");
    let (connections, resumes, identifies) = rig
        .fake
        .record(|r| (r.connections, r.resumes, r.identifies.len()));
    assert_eq!(connections, 2);
    assert_eq!((resumes, identifies), (1, 1), "one IDENTIFY, then a RESUME");
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnect_request_resumes_and_keeps_answering() {
    let rig = rig().await;
    rig.slash(&ann(), "summary", &[("article", "sleep")]).await;
    rig.fake.ask_to_reconnect();
    rig.fake
        .wait("the RESUME", |r| (r.resumes >= 1).then_some(()))
        .await;
    let after = rig
        .slash(&ann(), "takeaways", &[("article", "sleep")])
        .await;
    assert_eq!(after.embed(0)["title"], "Takeaways: Why Sleep Matters");
    assert_eq!(
        rig.fake.record(|r| (r.connections, r.identifies.len())),
        (2, 1)
    );
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_work_in_flight_and_closes_the_gateway() {
    let rig = rig_with(Options {
        defer_after: Duration::ZERO,
        ..Options::default()
    })
    .await;
    rig.fake
        .wait("READY", |r| (!r.command_puts.is_empty()).then_some(()))
        .await;
    // A reload in flight when the shutdown starts still reports.
    let payload = fake::command(&rig.fake, &mia(), "reload", &[]);
    let id = rig.fake.interact(payload);
    rig.fake
        .wait("the deferral", |r| {
            r.sent
                .iter()
                .find(|s| s.id == id)?
                .callback
                .as_ref()
                .map(|_| ())
        })
        .await;
    let fake = rig.fake.clone();
    let stopping = tokio::spawn(rig.stop());
    let edited = fake
        .wait("the reload report", |r| {
            let s = r.sent.iter().find(|s| s.id == id)?;
            let m = r.messages.iter().find(|m| Some(m.id) == s.original)?;
            m.body["content"]
                .as_str()
                .filter(|c| !c.is_empty())
                .map(str::to_string)
        })
        .await;
    assert!(edited.starts_with("**Reload**\n"), "{edited}");
    let fake = stopping.await.unwrap();
    // The shard said goodbye with a close frame and did not come back.
    assert_eq!(fake.record(|r| r.client_closes.clone()), [1000]);
    let connections = fake.record(|r| r.connections);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(fake.record(|r| r.connections), connections);
}

/// Starts a bot whose state folder already holds `marker` as the guild's registration.
async fn rig_remembering(marker: &str) -> Rig {
    let f = standard_fixture();
    let state = f.dir.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(
        state.join(format!("discord-commands-{GUILD_ID}.hash")),
        marker,
    )
    .unwrap();
    rig_with(Options {
        fixture: Some(f),
        ..Options::default()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn during_shutdown_new_work_is_turned_away_while_old_work_finishes() {
    let rig = rig_with(Options {
        defer_after: Duration::ZERO,
        ..Options::default()
    })
    .await;
    rig.slash(&ann(), "summary", &[("article", "sleep")]).await;
    // The next answer's edit takes a while: it is in flight when the shutdown begins.
    rig.fake.slow_edits(1500);
    let fake = rig.fake.clone();
    let first = fake.interact(fake::command(
        &fake,
        &ann(),
        "summary",
        &[("article", "compost guide")],
    ));
    fake.wait("the deferral", |r| {
        r.sent
            .iter()
            .find(|s| s.id == first)?
            .callback
            .as_ref()
            .map(|_| ())
    })
    .await;
    let stopping = tokio::spawn(rig.stop());
    // New commands until one is turned away: the moment the shutdown reaches the bot is not
    // observable from outside, its first refusal is. Commands it still took are deferred
    // (their slow edits keep work in flight, so the drain is still waiting).
    let (kind, data) = loop {
        let late = fake.interact(fake::command(
            &fake,
            &bob(),
            "summary",
            &[("article", "sleep")],
        ));
        let (kind, data) = fake
            .wait("an answer to a late command", |r| {
                r.sent.iter().find(|s| s.id == late)?.callback.clone()
            })
            .await;
        if kind != 5 {
            break (kind, data);
        }
    };
    assert_eq!(kind, 4);
    assert_eq!(data["flags"], 64);
    assert_eq!(
        data["content"],
        "The bot is restarting; try again in a minute."
    );
    let fake = stopping.await.unwrap();
    // The answer in flight was delivered before the gateway closed.
    let title = fake.record(|r| {
        let s = r.sent.iter().find(|s| s.id == first).unwrap();
        let m = r
            .messages
            .iter()
            .find(|m| Some(m.id) == s.original)
            .unwrap();
        m.body["embeds"][0]["title"].clone()
    });
    assert_eq!(title, "Home Composting Basics");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_are_re_registered_only_when_changed() {
    let rig = rig().await;
    rig.fake
        .wait("registration", |r| {
            (!r.command_puts.is_empty()).then_some(())
        })
        .await;
    let path = rig
        .f
        .dir
        .path()
        .join("state")
        .join(format!("discord-commands-{GUILD_ID}.hash"));
    // The file appears after the registration; it is read once written (it is created, then
    // filled, so an empty read is not the answer yet).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let marker = loop {
        match std::fs::read_to_string(&path) {
            Ok(text) if !text.is_empty() => break text,
            _ => assert!(
                std::time::Instant::now() < deadline,
                "no registration remembered in {}",
                path.display()
            ),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let hash = articlebot::discord::commands::definitions_hash();
    assert_eq!(marker, format!("{}:{hash}", fake::APP_ID));
    assert_eq!(rig.stop().await.record(|r| r.command_puts.len()), 1);
    // The same definitions: no registration on the next start.
    let rig = rig_remembering(&marker).await;
    let seen = rig.slash(&ann(), "summary", &[("article", "sleep")]).await;
    assert_eq!(seen.embed(0)["title"], "Why Sleep Matters");
    assert_eq!(rig.stop().await.record(|r| r.command_puts.len()), 0);
    // Changed definitions (a different hash on record) register again.
    let rig = rig_remembering(&format!("{}:0000", fake::APP_ID)).await;
    rig.fake
        .wait("re-registration", |r| {
            (!r.command_puts.is_empty()).then_some(())
        })
        .await;
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn global_commands_without_guilds() {
    let rig = rig_with(Options {
        tune: Box::new(|s| s.discord.guild_ids.clear()),
        ..Options::default()
    })
    .await;
    let puts = rig
        .fake
        .wait("registration", |r| {
            (!r.command_puts.is_empty()).then(|| r.command_puts.clone())
        })
        .await;
    assert_eq!(puts[0].0, "global");
    rig.stop().await;
}

#[test]
fn serve_without_a_token_exits_2_and_says_how_to_set_it() {
    let f = crate::util::Fixture::standard();
    f.config("");
    let (code, _out, err) = crate::util::run(f.dir.path(), &["serve"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("DISCORD_TOKEN"), "{err}");
    assert!(err.contains("set the environment variable"), "{err}");
    let f2 = crate::util::Fixture::standard();
    f2.config("[discord]\ntoken_env = \"MY_BOT_TOKEN\"\n");
    let (code, _out, err) = crate::util::run(f2.dir.path(), &["serve"]);
    assert_eq!(code, 2);
    assert!(err.contains("MY_BOT_TOKEN"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shards_automatic_or_a_range_of_the_total() {
    let rig = rig().await;
    let shards = rig.fake.record(|r| r.shards.clone());
    assert_eq!(
        shards,
        [serde_json::json!([0, 1])],
        "Discord's recommendation: 1"
    );
    rig.stop().await;
    let rig = rig_with(Options {
        tune: Box::new(|s| {
            s.discord.shards = articlebot::config::Shards::Range {
                first: 1,
                count: 1,
                total: 2,
            }
        }),
        ..Options::default()
    })
    .await;
    let shards = rig.fake.record(|r| r.shards.clone());
    assert_eq!(shards, [serde_json::json!([1, 2])]);
    let seen = rig.slash(&ann(), "summary", &[("article", "sleep")]).await;
    assert_eq!(seen.embed(0)["title"], "Why Sleep Matters");
    rig.stop().await;
}

/// The real binary, pointed at the local Discord with `rest_proxy`, answers, reloads on
/// SIGHUP and stops on SIGTERM with exit code 0; its state (the registered commands' hash)
/// is kept next to the statistics database.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_serve_binary_answers_and_stops_on_sigterm() {
    let fake = fake::Fake::start().await;
    let f = crate::util::Fixture::standard();
    let config = f.dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[content]\ndir = \"content\"\nbase_url = \"https://site.example/a\"\n\
             [index]\ndir = \"index\"\n[stats]\ndb = \"var/stats.sqlite3\"\n\
             [discord]\nguild_ids = [{GUILD_ID}]\nrest_proxy = \"{}\"\ncooldown_seconds = 0\n",
            fake.rest_url
        ),
    )
    .unwrap();
    let mut child = crate::util::bin()
        .current_dir(f.dir.path())
        .args(["--config", config.to_str().unwrap(), "serve"])
        .env("DISCORD_TOKEN", fake::BOT_TOKEN)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start articlebot serve");
    fake.wait("registration", |r| {
        (!r.command_puts.is_empty()).then_some(())
    })
    .await;
    let payload = fake::command(&fake, &ann(), "summary", &[("article", "compost guide")]);
    let id = fake.interact(payload);
    let (kind, data) = fake
        .wait("the answer", |r| {
            r.sent.iter().find(|s| s.id == id)?.callback.clone()
        })
        .await;
    assert_eq!(kind, 4);
    assert_eq!(data["embeds"][0]["title"], "Home Composting Basics");
    // SIGHUP reloads the content without a restart.
    f.write("kites.md", "# Flying Kites\n\nA kite needs steady wind.\n");
    let signal = |name: &str| {
        let status = std::process::Command::new("kill")
            .args([name, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    };
    signal("-HUP");
    let mut found = false;
    for _ in 0..100 {
        let payload = fake::command(&fake, &bob(), "summary", &[("article", "Flying Kites")]);
        let id = fake.interact(payload);
        let (_, data) = fake
            .wait("the answer", |r| {
                r.sent.iter().find(|s| s.id == id)?.callback.clone()
            })
            .await;
        if data["embeds"][0]["title"] == "Flying Kites" {
            found = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(found, "the article written before SIGHUP went live");
    signal("-TERM");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let code = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s.code();
        }
        assert!(std::time::Instant::now() < deadline, "serve did not stop");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut err = String::new();
    use std::io::Read;
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(fake.record(|r| r.client_closes.clone()), [1000], "{err}");
    fake.assert_clean();
    let hash = format!("discord-commands-{GUILD_ID}.hash");
    assert!(f.dir.path().join("var").join(&hash).exists(), "{err}");
    assert!(f.dir.path().join("var/stats.sqlite3").exists());
    assert!(!f.dir.path().join(&hash).exists());
}

/// The local Discord refuses a bad `Authorization` header with 401, as Discord does, and
/// counts it against the bot: the bot under test sends only its token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_discord_refuses_a_bad_authorization() {
    let fake = fake::Fake::start().await;
    let client = reqwest::Client::new();
    let me = format!("{}/api/v10/users/@me", fake.rest_url);
    let status = |auth: Option<&str>| {
        let mut req = client.get(&me);
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        async move { req.send().await.unwrap().status().as_u16() }
    };
    let good = format!("Bot {}", fake::BOT_TOKEN);
    assert_eq!(status(Some(&good)).await, 200);
    for bad in [Some(""), Some("Bot "), Some("Bot other"), None] {
        assert_eq!(status(bad).await, 401, "{bad:?}");
    }
    let violations = fake.record(|r| r.violations.len());
    assert_eq!(violations, 4);
    // The interaction webhook needs no header (its token is in the path), but refuses a bad one.
    let webhook = format!(
        "{}/api/v10/webhooks/{}/t/messages/@original",
        fake.rest_url,
        fake::APP_ID
    );
    let res = client
        .delete(&webhook)
        .header("authorization", "Bot ")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);
}
