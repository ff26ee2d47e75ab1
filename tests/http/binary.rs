//! The real `serve-http` binary as a child process: key resolution, SIGHUP reload, SIGTERM
//! (finishing the follow-ups in flight), what it logs and what it writes to disk.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::json;

use super::*;
use crate::util::bin;

/// A `serve-http` child process in front of a local Discord.
pub(super) struct Binary {
    pub url: String,
    key: SigningKey,
    pub fake: Fake,
    child: tokio::process::Child,
    lines: tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
    /// The first line it printed (the address and the article count).
    pub banner: String,
    stderr: PathBuf,
}

impl Binary {
    /// Starts `serve-http` in `dir` with `config` (its `rest_proxy` set to a new local
    /// Discord) and these extra environment variables.
    pub async fn start(dir: &Path, config: &str, env: &[(&str, &str)]) -> Binary {
        Binary::start_with(dir, config, "", env).await
    }

    /// [`Binary::start`] with more keys for the `[discord]` table.
    pub async fn start_with(
        dir: &Path,
        config: &str,
        discord: &str,
        env: &[(&str, &str)],
    ) -> Binary {
        let fake = Fake::start().await;
        let path = dir.join("config.toml");
        // No cooldown unless the test sets one.
        let cooldown = if discord.contains("cooldown_seconds") {
            ""
        } else {
            "cooldown_seconds = 0\n"
        };
        std::fs::write(
            &path,
            format!(
                "{config}\n[discord]\n{cooldown}rest_proxy = \"{}\"\n{discord}",
                fake.rest_url
            ),
        )
        .unwrap();
        let key = new_key();
        let stderr = dir.join("serve-http.stderr");
        let mut cmd = bin();
        cmd.current_dir(dir)
            .env_remove("DISCORD_PUBLIC_KEY")
            .env_remove("ARTICLEBOT_STATS_KEY")
            .arg("--config")
            .arg(&path)
            .args(["serve-http", "--listen", "127.0.0.1:0", "--public-key"])
            .arg(public_hex(&key))
            .stdout(std::process::Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = tokio::process::Command::from(cmd)
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let (banner, lines) = crate::util::banner(&mut child, PATIENCE, Some(&stderr)).await;
        let url = crate::util::banner_url(&banner);
        Binary {
            url,
            key,
            fake,
            child,
            lines,
            banner,
            stderr,
        }
    }

    /// POSTs `body` signed with the application's key; returns (status, text).
    pub async fn post(&self, body: Vec<u8>) -> (u16, String) {
        let ts = unix_now().to_string();
        let res = reqwest::Client::new()
            .post(format!("{}/interactions", self.url))
            .header("X-Signature-Ed25519", sign(&self.key, &ts, &body))
            .header("X-Signature-Timestamp", ts)
            .body(body)
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    }

    /// Sends an interaction; the local Discord takes the response as its callback.
    pub async fn interact(&self, payload: &Value) -> Value {
        let id = self.fake.expect(payload);
        let (status, text) = self.post(serde_json::to_vec(payload).unwrap()).await;
        assert_eq!(status, 200, "{text}");
        let response: Value = serde_json::from_str(&text).unwrap();
        self.fake.respond(id, &response);
        response
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id().expect("still running")
    }

    pub fn signal(&self, name: &str) {
        let pid = self.child.id().expect("still running");
        let status = std::process::Command::new("kill")
            .args([&format!("-{name}"), &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Stops each of `servers` ([`Binary::stop`]), asserting each exited cleanly.
    pub async fn stop_all(servers: impl IntoIterator<Item = Binary>) {
        for server in servers {
            let (ok, _, log) = server.stop().await;
            assert!(ok, "{log}");
        }
    }

    /// SIGTERM, then waits for the exit: (success, the rest of stdout, stderr). The local
    /// Discord must have seen no broken rule.
    pub async fn stop(mut self) -> (bool, Vec<String>, String) {
        self.signal("TERM");
        let status = tokio::time::timeout(PATIENCE, self.child.wait())
            .await
            .expect("the server stops")
            .unwrap();
        let mut rest = Vec::new();
        while let Some(line) = self.lines.next_line().await.unwrap() {
            rest.push(line);
        }
        let stderr = std::fs::read_to_string(&self.stderr).unwrap();
        self.fake.assert_clean();
        (status.success(), rest, stderr)
    }
}

/// Files under `dir`, relative, sorted.
fn files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}

pub(super) const CONFIG: &str =
    "[content]\ndir = \"content\"\nbase_url = \"https://site.example/a\"\n\
                      [index]\ndir = \"index\"\n[stats]\ndb = \"memory\"\n";

#[test]
fn a_missing_or_invalid_public_key_exits_2() {
    let f = Fixture::standard();
    let config = f.config("");
    let run = |args: &[&str], env: Option<&str>| {
        let mut cmd = bin();
        cmd.current_dir(f.dir.path())
            .env_remove("DISCORD_PUBLIC_KEY")
            .arg("--config")
            .arg(&config)
            .arg("serve-http")
            .args(args);
        if let Some(v) = env {
            cmd.env("DISCORD_PUBLIC_KEY", v);
        }
        let out = cmd.output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = run(&[], None);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("DISCORD_PUBLIC_KEY") && err.contains("--public-key"),
        "{err}"
    );
    let (code, err) = run(&["--public-key", "abc123"], None);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("64 hex digits"), "{err}");
    // The environment variable is read when there is no flag.
    let (code, err) = run(&[], Some("not-a-key"));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("invalid public key"), "{err}");
}

/// SIGHUP reloads (recorded as by "SIGHUP" in `/stats`), SIGTERM stops with 0, and no request
/// body reaches the log, even at the most verbose level and for refused bodies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_reloads_on_sighup_and_stops_on_sigterm() {
    let f = Fixture::standard();
    let server = Binary::start(f.dir.path(), CONFIG, &[("RUST_LOG", "trace")]).await;
    assert!(server.banner.contains("(4 articles)"), "{}", server.banner);

    // A new interaction each time (Discord never sends one twice).
    let summary = || command("summary", json!([string_option("article", "tidal power")]));
    let before = server.interact(&summary()).await;
    assert_eq!(before["type"], 4);
    assert_eq!(
        before["data"]["embeds"][0]["title"],
        "No article called “tidal power”"
    );

    f.write(
        "tides.md",
        "# Tidal Power Basics\n\nTidal turbines turn the rise and fall of the sea into electricity.\n",
    );
    server.signal("HUP");
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let after = server.interact(&summary()).await;
        if after["data"]["embeds"][0]["title"] == "Tidal Power Basics" {
            assert_eq!(
                after["data"]["embeds"][0]["description"],
                "Tidal turbines turn the rise and fall of the sea into electricity."
            );
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no reload: {after}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let health: Value = reqwest::get(format!("{}/healthz", server.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health, json!({"status": "ok", "articles": 5}));
    // The reload is recorded once it is done (the swap comes first).
    let text = loop {
        let stats = server
            .interact(&command_from(
                "stats",
                json!([]),
                member(USER_ID, MODERATOR_PERMISSIONS),
            ))
            .await;
        let text = stats["data"]["content"].as_str().unwrap().to_string();
        if !text.contains("last reload: none") {
            break text;
        }
        assert!(tokio::time::Instant::now() < deadline, "{text}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        text.contains(" by SIGHUP: reloaded 5 articles (+1 −0 \\~0)\n"),
        "{text}"
    );

    // Bodies, good and bad, with a marker that must not reach the log.
    let marker = "zebracrossing";
    server
        .interact(&command(
            "ask",
            json!([string_option(
                "question",
                &format!("what about the {marker}")
            )]),
        ))
        .await;
    let mut bad_version = command("ask", json!([string_option("question", "sleep")]));
    bad_version["version"] = json!(marker);
    for body in [
        serde_json::to_string(&bad_version).unwrap(),
        format!("{{\"type\": \"{marker}\"}}"),
        format!("{{\"type\": 2, \"{marker}\": 1"),
        format!("[\"{marker}\"]"),
    ] {
        let (status, _) = server.post(body.into_bytes()).await;
        assert_eq!(status, 400);
    }
    let (ok, rest, stderr) = server.stop().await;
    assert!(ok, "exit 0: {stderr}");
    assert!(rest.iter().any(|l| l.contains("stopped")), "{rest:?}");
    assert!(stderr.contains("SIGHUP"), "the log is there: {stderr}");
    assert!(!stderr.contains(marker), "a body was logged: {stderr}");
}

/// SIGTERM finishes the deferred replies still pending: the edit of a `/reload` that is
/// still being delivered when the signal arrives reaches Discord, then the process exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_the_pending_follow_ups() {
    let f = Fixture::standard();
    let operator = format!("operator_guild_ids = [{GUILD_ID}]\n");
    let server = Binary::start_with(f.dir.path(), CONFIG, &operator, &[]).await;
    // Every edit takes a while: the reload's is still on its way when SIGTERM comes.
    server.fake.slow_edits(1500);
    let reload = command_from("reload", json!([]), member(USER_ID, MODERATOR_PERMISSIONS));
    let token = reload["token"].as_str().unwrap().to_string();
    let ack = server.interact(&reload).await;
    assert_eq!(ack["type"], 5, "{ack}");
    let fake = server.fake.clone();
    assert!(fake.calls().is_empty(), "the edit is not done yet");
    let (ok, _, stderr) = server.stop().await;
    assert!(ok, "exit 0: {stderr}");
    let calls = fake.calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].method, "PATCH");
    assert_eq!(
        calls[0].path,
        format!("/api/v10/webhooks/{APP_ID}/{token}/messages/@original")
    );
    assert_eq!(calls[0].status, 200);
    let content = calls[0].body["content"].as_str().unwrap();
    assert!(
        content.starts_with("**Reload**\nReloaded: 4 article(s)"),
        "{content}"
    );
}

/// The body limit's default is 64 KiB: one byte more is refused with 413, a body of exactly
/// 64 KiB is read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_body_limit_is_64_kib() {
    let f = Fixture::standard();
    let server = Binary::start(f.dir.path(), CONFIG, &[]).await;
    let sized = |n: usize| {
        let mut payload = ping();
        payload["padding"] = json!("");
        let bare = serde_json::to_vec(&payload).unwrap().len();
        payload["padding"] = json!("x".repeat(n - bare));
        let body = serde_json::to_vec(&payload).unwrap();
        assert_eq!(body.len(), n);
        body
    };
    let (status, text) = server.post(sized(64 * 1024)).await;
    assert_eq!((status, text.as_str()), (200, "{\"type\":1}"));
    let (status, _) = server.post(sized(64 * 1024 + 1)).await;
    assert_eq!(status, 413);
    let (ok, _, stderr) = server.stop().await;
    assert!(ok, "{stderr}");
}

/// `stats.db = "memory"` and `curate.db = "memory"` (and an index in memory): the server
/// writes nothing at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_in_memory_write_nothing() {
    let f = Fixture::standard();
    let config =
        "[content]\ndir = \"content\"\n[index]\ndir = \"memory\"\n[stats]\ndb = \"memory\"\n\
                  [curate]\ndb = \"memory\"\n";
    let before = files(f.dir.path());
    let server = Binary::start(f.dir.path(), config, &[]).await;
    let reply = server
        .interact(&command(
            "ask",
            json!([string_option("question", "how do pegs break")]),
        ))
        .await;
    assert_eq!(
        reply["data"]["embeds"][0]["title"],
        "Stablecoins and Their Pegs"
    );
    let (ok, _, stderr) = server.stop().await;
    assert!(ok, "{stderr}");
    let mut expected = before;
    expected.extend(["config.toml".to_string(), "serve-http.stderr".to_string()]);
    expected.sort();
    assert_eq!(files(f.dir.path()), expected);
}

/// A statistics database on disk: the key file beside it (mode 0600), unless
/// `ARTICLEBOT_STATS_KEY` gives the key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stats_key_file_or_the_environment() {
    let f = Fixture::standard();
    let config = "[content]\ndir = \"content\"\n[index]\ndir = \"memory\"\n\
                  [stats]\ndb = \"var/stats.sqlite3\"\n";
    let server = Binary::start(f.dir.path(), config, &[]).await;
    let (ok, _, stderr) = server.stop().await;
    assert!(ok, "{stderr}");
    let key = f.dir.path().join("var/stats.sqlite3.key");
    assert_eq!(std::fs::read(&key).unwrap().len(), 32);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{mode:o}");
    }

    let f = Fixture::standard();
    let server = Binary::start(
        f.dir.path(),
        config,
        &[("ARTICLEBOT_STATS_KEY", "correct horse battery staple")],
    )
    .await;
    let (ok, _, stderr) = server.stop().await;
    assert!(ok, "{stderr}");
    assert!(f.dir.path().join("var/stats.sqlite3").exists());
    assert!(!f.dir.path().join("var/stats.sqlite3.key").exists());
}
