//! `GET /metrics`: the numbers Prometheus scrapes, read over loopback after real signed
//! interactions (serve-http) and from `serve --metrics ADDR` (the gateway bot, against the
//! local Discord); and `--log-format json`: every log line one JSON object, tokens cut.

use serde_json::json;

use super::binary::{Binary, CONFIG};
use super::*;
use crate::discord::fake as gateway_fake;

/// The value of the sample `series` (the metric's name and its labels, exactly as the
/// exposition writes them) in `text`; 0 when the series is not there yet.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

/// The sum of every series of `metric` whose labels include `label` (`kind="ask"`).
fn sum(text: &str, metric: &str, label: &str) -> f64 {
    text.lines()
        .filter_map(|l| {
            let rest = l.strip_prefix(metric)?.strip_prefix('{')?;
            let (labels, value) = rest.split_once("} ")?;
            labels
                .split(',')
                .any(|l| l == label)
                .then(|| value.parse::<f64>().ok())?
        })
        .sum()
}

/// GETs `url` and checks it is the OpenMetrics text exposition.
async fn scrape(url: &str) -> String {
    let res = reqwest::get(format!("{url}/metrics")).await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let content_type = res.headers()["content-type"].to_str().unwrap().to_string();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let text = res.text().await.unwrap();
    assert!(text.ends_with("# EOF\n"), "{text}");
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (_, value) = line.rsplit_once(' ').unwrap();
        assert!(value.parse::<f64>().is_ok(), "not a sample: {line:?}");
    }
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_the_interactions_answered_and_the_reloads() {
    let f = Fixture::standard();
    let server = Server::start(quick(&f)).await;
    let before = scrape(&server.url).await;
    assert_eq!(
        sample(&before, "articlebot_articles"),
        server.service.article_count() as f64
    );
    assert!(server.service.article_count() > 0);
    assert_eq!(
        sum(&before, "articlebot_questions_total", "kind=\"ask\""),
        0.0
    );
    // Two questions, a summary that finds its article and one that does not.
    for _ in 0..2 {
        let answer = server
            .interact(&command(
                "ask",
                json!([string_option("question", "how do pegs break")]),
            ))
            .await;
        assert_eq!(answer["type"], 4, "{answer}");
    }
    server
        .interact(&command(
            "summary",
            json!([string_option("article", "composting")]),
        ))
        .await;
    server
        .interact(&command(
            "summary",
            json!([string_option("article", "no such thing")]),
        ))
        .await;
    let after = scrape(&server.url).await;
    assert_eq!(
        sum(&after, "articlebot_questions_total", "kind=\"ask\""),
        2.0,
        "{after}"
    );
    assert_eq!(
        sample(
            &after,
            "articlebot_answer_duration_seconds_count{kind=\"ask\"}"
        ),
        2.0
    );
    assert!(
        sample(
            &after,
            "articlebot_answer_duration_seconds_sum{kind=\"ask\"}"
        ) > 0.0
    );
    assert_eq!(
        sample(
            &after,
            "articlebot_questions_total{kind=\"summary\",outcome=\"answered\"}"
        ),
        1.0,
        "{after}"
    );
    assert_eq!(
        sample(
            &after,
            "articlebot_questions_total{kind=\"summary\",outcome=\"nothing\"}"
        ),
        1.0,
        "{after}"
    );
    assert_eq!(
        sample(&after, "articlebot_state_store_up{store=\"sqlite\"}"),
        1.0,
        "{after}"
    );
    assert_eq!(
        sum(&after, "articlebot_state_errors_total", "store=\"sqlite\""),
        0.0
    );
    // A reload: counted with its duration, and the article gauge follows the content.
    f.write("kites.md", "# Flying Kites\n\nA kite needs steady wind.\n");
    server.service.reload("test").await;
    let reloaded = scrape(&server.url).await;
    assert_eq!(
        sample(&reloaded, "articlebot_reloads_total{outcome=\"swapped\"}"),
        1.0,
        "{reloaded}"
    );
    assert_eq!(
        sample(&reloaded, "articlebot_reload_duration_seconds_count"),
        1.0
    );
    assert_eq!(
        sample(&reloaded, "articlebot_articles"),
        sample(&after, "articlebot_articles") + 1.0
    );
    server.stop().await;
}

/// `serve --metrics 127.0.0.1:0`: the gateway bot prints where it serves `/metrics`, counts
/// what it answers there, reports its shard connected, answers `/healthz`, and stops on
/// SIGTERM with exit code 0.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_metrics_reports_the_gateway_shard_and_its_answers() {
    let fake = gateway_fake::Fake::start().await;
    let f = Fixture::standard();
    let config = f.dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[content]\ndir = \"content\"\nbase_url = \"https://site.example/a\"\n\
             [index]\ndir = \"index\"\n[stats]\ndb = \"memory\"\n\
             [discord]\nguild_ids = [{}]\nrest_proxy = \"{}\"\ncooldown_seconds = 0\n",
            gateway_fake::GUILD_ID,
            fake.rest_url
        ),
    )
    .unwrap();
    let mut child = tokio::process::Command::from({
        let mut cmd = crate::util::bin();
        cmd.current_dir(f.dir.path())
            .args(["--config", config.to_str().unwrap()])
            .args(["serve", "--metrics", "127.0.0.1:0"])
            .env("DISCORD_TOKEN", gateway_fake::BOT_TOKEN)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null());
        cmd
    })
    .kill_on_drop(true)
    .spawn()
    .unwrap();
    let (banner, _lines) = crate::util::banner(&mut child, PATIENCE, None).await;
    let url = banner
        .split_whitespace()
        .find_map(|w| w.strip_suffix("/metrics"))
        .unwrap_or_else(|| panic!("no metrics address in {banner:?}"))
        .to_string();
    fake.wait("registration", |r| {
        (!r.command_puts.is_empty()).then_some(())
    })
    .await;
    let member = crate::discord::ann();
    let payload = gateway_fake::command(&fake, &member, "summary", &[("article", "compost guide")]);
    let id = fake.interact(payload);
    fake.wait("the answer", |r| {
        r.sent.iter().find(|s| s.id == id)?.callback.clone()
    })
    .await;
    let text = scrape(&url).await;
    assert_eq!(
        sample(
            &text,
            "articlebot_questions_total{kind=\"summary\",outcome=\"answered\"}"
        ),
        1.0,
        "{text}"
    );
    assert_eq!(
        sample(&text, "articlebot_gateway_shard_connected{shard=\"0\"}"),
        1.0,
        "{text}"
    );
    assert!(sample(&text, "articlebot_articles") > 0.0);
    let health = reqwest::get(format!("{url}/healthz")).await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().unwrap().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = tokio::time::timeout(PATIENCE, child.wait())
        .await
        .expect("serve stops")
        .unwrap();
    assert!(exit.success(), "{exit:?}");
}

/// `--log-format json` (here through `ARTICLEBOT_LOG_FORMAT`): at trace level, with a
/// deferred reply whose webhook call fails, every line of stderr is one JSON object with a
/// level and fields, and neither the interaction token nor the bot token is in any of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_are_one_object_a_line_without_tokens() {
    let f = Fixture::standard();
    let discord = format!(
        "operator_guild_ids = [{GUILD_ID}]\nephemeral = false\ntoken_env = \"ARTICLEBOT_TEST_TOKEN\"\n"
    );
    let env = [
        ("RUST_LOG", "trace"),
        ("ARTICLEBOT_LOG_FORMAT", "json"),
        ("ARTICLEBOT_TEST_TOKEN", fake::BOT_TOKEN),
    ];
    let server = Binary::start_with(f.dir.path(), CONFIG, &discord, &env).await;
    server
        .fake
        .fail_webhooks("PATCH", crate::discord::fake::Failure::Status(404));
    let reload = command_from("reload", json!([]), member(USER_ID, MODERATOR_PERMISSIONS));
    let token = reload["token"].as_str().unwrap().to_string();
    let ack = server.interact(&reload).await;
    assert_eq!(ack["type"], 5, "deferred: {ack}");
    server.fake.wait_calls(1).await;
    let (ok, _, log) = server.stop().await;
    assert!(ok, "{log}");
    let mut levels = std::collections::BTreeSet::new();
    let mut failed = 0;
    for line in log.lines() {
        let event: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: not JSON: {line:?}"));
        let level = event["level"].as_str().unwrap_or_else(|| panic!("{line}"));
        levels.insert(level.to_string());
        assert!(event["fields"].is_object(), "{line}");
        assert!(event["timestamp"].is_string(), "{line}");
        let message = event["fields"]["message"].as_str().unwrap_or_default();
        if message.contains("finishing a deferred interaction") {
            failed += 1;
        }
    }
    assert!(levels.contains("TRACE"), "trace level is on: {levels:?}");
    assert!(levels.contains("INFO"), "{levels:?}");
    assert_eq!(failed, 1, "the failed webhook call is logged once:\n{log}");
    for secret in [token.as_str(), fake::BOT_TOKEN] {
        assert!(!log.contains(secret), "{secret} is in the log:\n{log}");
    }
}
