//! Two `serve-http` processes on one PostgreSQL (`[state] url`): `/stats` on either counts
//! the questions both answered; SIGHUP to one reloads both; PostgreSQL stopped under them leaves answers going and
//! `/healthz` degraded, and started again, the questions asked meanwhile are counted; a
//! killed instance leaves the other serving with everything recorded.

use serde_json::json;

use super::binary::{Binary, CONFIG};
use super::*;
use crate::pg::Postgres;

const ENV: [(&str, &str); 1] = [("ARTICLEBOT_STATS_KEY", "the key every instance shares")];

async fn ask(server: &Binary) {
    let answer = server
        .interact(&command(
            "ask",
            json!([string_option("question", "how do pegs break")]),
        ))
        .await;
    assert_eq!(answer["type"], 4, "{answer}");
    assert!(
        answer.to_string().contains("Stablecoins"),
        "answered: {answer}"
    );
}

/// The `/stats` text a moderator of the test guild gets from `server`.
async fn stats(server: &Binary) -> String {
    let reply = server
        .interact(&command_from(
            "stats",
            json!([]),
            member(USER_ID, MODERATOR_PERMISSIONS),
        ))
        .await;
    reply["data"]["content"].as_str().unwrap().to_string()
}

/// Polls `/stats` on `server` until it says `want`: a question another instance answered
/// is written by that instance's queue a moment after its answer, so it appears eventually.
async fn wait_stats(server: &Binary, want: &str) -> String {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let text = stats(server).await;
        if text.contains(want) {
            return text;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "/stats never said {want:?}: {text}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn health(server: &Binary) -> Value {
    reqwest::get(format!("{}/healthz", server.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Polls `/healthz` until its `status` is `want`.
async fn wait_health(server: &Binary, want: &str) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let h = health(server).await;
        if h["status"] == want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "/healthz never said {want}: {h}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_postgres_share_statistics_and_survive_its_outage() {
    let pg = Postgres::start();
    let config = format!("{CONFIG}[state]\nurl = \"{}\"\n", pg.url());
    let (f, g) = (Fixture::standard(), Fixture::standard());
    let a = Binary::start(f.dir.path(), &config, &ENV).await;
    let b = Binary::start(g.dir.path(), &config, &ENV).await;
    ask(&a).await;
    ask(&b).await;
    ask(&b).await;
    for server in [&a, &b] {
        // Both instances' questions, one person.
        wait_stats(server, "3 questions from 1 people").await;
        assert_eq!(health(server).await["status"], "ok");
    }

    // SIGHUP to one instance reloads both (LISTEN/NOTIFY): a new article in the content
    // both read appears in the other's article count.
    let before = health(&a).await["articles"].as_u64().unwrap();
    for fixture in [&f, &g] {
        fixture.write("kites.md", "# Flying Kites\n\nA kite needs steady wind.\n");
    }
    let sent = std::time::Instant::now();
    b.signal("HUP");
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while health(&a).await["articles"].as_u64().unwrap() != before + 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the other instance never reloaded"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Reported, not asserted (no wall-clock limits in tests): the issue asks for 2 s.
    eprintln!("reload reached the other instance in {:?}", sent.elapsed());
    wait_stats(&a, "reloaded 5 articles (+1").await;

    // PostgreSQL goes away: answers go on, both say degraded.
    pg.halt();
    ask(&a).await;
    ask(&b).await;
    wait_health(&a, "degraded").await;
    wait_health(&b, "degraded").await;
    let h = health(&a).await;
    assert_eq!(h["state"], "postgres unreachable", "{h}");
    assert!(h["articles"].as_u64().unwrap() > 0);

    // Back: the queued questions are written, and counted by either instance.
    pg.resume();
    wait_health(&a, "ok").await;
    wait_health(&b, "ok").await;
    // The outage's questions caught up.
    wait_stats(&b, "5 questions from 1 people").await;

    // An instance killed outright: the other serves on, and counts what the dead one wrote.
    b.signal("KILL");
    drop(b);
    ask(&a).await;
    wait_stats(&a, "6 questions from 1 people").await;
    let (ok, _, log) = a.stop().await;
    assert!(ok, "{log}");
    assert_eq!(
        log.matches("reload announced (SIGHUP)").count(),
        1,
        "the other instance's SIGHUP reached this one once:\n{log}"
    );
}
