//! Crash safety: a build, a reload of `serve-http` and the statistics writes of a serving
//! process killed with SIGKILL halfway leave the previous (or the new) library whole and a
//! statistics database that opens, and the next start serves (tests that really kill a child
//! process).

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use articlebot::library::{Library, NoProgress, OpenMode};
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{json, Value};

use crate::util::{bin, run, Fixture};

/// Writes `n` generated articles of a few hundred words each.
fn generate(f: &Fixture, n: usize) {
    let words = [
        "river", "garden", "battery", "ledger", "harbour", "lantern", "meadow", "copper", "signal",
        "orchard", "glacier", "compass", "thimble", "quarry", "saddle", "beacon",
    ];
    for i in 0..n {
        let mut body = format!("# Generated Article {i}\n\n");
        for p in 0..6 {
            body.push_str(&format!("## Part {p}\n\n"));
            for s in 0..5 {
                let sentence: Vec<&str> = (0..10)
                    .map(|k| words[(i * 7 + p * 5 + s * 3 + k * 11) % words.len()])
                    .collect();
                body.push_str(&format!(
                    "Sentence {s} of article {i}: {}.\n",
                    sentence.join(" ")
                ));
            }
            body.push('\n');
        }
        f.write(&format!("gen/a{i:05}.md"), &body);
    }
}

/// A staging folder of the index (`.index.building-…`), if one exists.
fn staging(dir: &Path) -> Option<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(".index.building-"))
        })
}

/// Starts `index --rebuild` and kills it with SIGKILL as soon as its staging folder appears.
/// Returns whether it was killed mid-build (false when the build finished first).
fn kill_mid_build(f: &Fixture) -> bool {
    let mut child = bin()
        .current_dir(f.dir.path())
        .args(["index", "--rebuild"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // A hang guard only: the build of the generated collection takes seconds.
    let start = Instant::now();
    loop {
        if staging(f.dir.path()).is_some() {
            child.kill().unwrap(); // SIGKILL on Unix
            let status = child.wait().unwrap();
            // Killed (no exit code) and its half-built folder is still there.
            return status.code().is_none() && staging(f.dir.path()).is_some();
        }
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "the build neither started nor ended"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn a_build_killed_halfway_leaves_the_previous_library_whole() {
    let f = Fixture::standard();
    f.config("");
    let (code, _, err) = run(f.dir.path(), &["index"]);
    assert_eq!(code, 0, "{err}");
    let manifest = std::fs::read(f.dir.path().join("index/manifest.json")).unwrap();

    // A larger collection takes the next build long enough to be killed halfway; grow it
    // until the kill lands mid-build.
    let mut n = 500;
    let mut killed = false;
    for _ in 0..4 {
        generate(&f, n);
        if kill_mid_build(&f) {
            killed = true;
            break;
        }
        n *= 2;
    }
    assert!(killed, "no build could be killed halfway ({n} articles)");

    // The previous library is untouched...
    assert_eq!(
        std::fs::read(f.dir.path().join("index/manifest.json")).unwrap(),
        manifest
    );
    // ...and the next start serves from a whole library: the content changed, so it builds
    // the new one beside the leftover staging folder and answers from it.
    let (code, out, err) = run(
        f.dir.path(),
        &["--json", "ask", "compost", "greens", "browns"],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("guides-composting"), "{out}");
    let (code, out, err) = run(f.dir.path(), &["--json", "index"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"reused\":true"), "{out}");
    let lib = Library::open(&f.persisted(), OpenMode::Reuse, &NoProgress).unwrap();
    assert_eq!(lib.articles.len(), 4 + n);
    assert!(lib.by_slug("gen-a00000").is_some());
}

// ---------------------------------------------------------------------------------------
// `serve-http` as a child process, killed with SIGKILL

/// How long a step that should happen at once may take on a loaded machine: a hang guard,
/// never a measurement.
const PATIENCE: Duration = Duration::from_secs(300);

/// A `serve-http` child process with a fixed key.
struct Served {
    child: tokio::process::Child,
    /// The number of articles its first line announced.
    articles: usize,
    api: Api,
    stderr: PathBuf,
}

/// Requests to a served endpoint, signed as Discord signs them (clones share the client).
#[derive(Clone)]
struct Api {
    url: String,
    key: SigningKey,
    client: reqwest::Client,
}

impl Served {
    /// Starts `serve-http` in `dir` with `config`, and waits for its first line (printed once
    /// it accepts requests).
    async fn start(dir: &Path, config: &Path) -> Served {
        let key = SigningKey::from_bytes(&[7; 32]);
        let stderr = dir.join("serve-http.stderr");
        let mut cmd = bin();
        cmd.current_dir(dir)
            .env_remove("DISCORD_PUBLIC_KEY")
            .env_remove("ARTICLEBOT_STATS_KEY")
            .arg("--config")
            .arg(config)
            .args(["serve-http", "--listen", "127.0.0.1:0", "--public-key"])
            .arg(hex(key.verifying_key().as_bytes()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap());
        let mut child = tokio::process::Command::from(cmd)
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let (banner, mut lines) = crate::util::banner(&mut child, PATIENCE, Some(&stderr)).await;
        let url = crate::util::banner_url(&banner);
        let articles = banner
            .rsplit_once('(')
            .and_then(|(_, n)| n.split_whitespace().next()?.parse().ok())
            .unwrap_or_else(|| panic!("no article count in {banner:?}"));
        // The rest of stdout is not read: it is one line at the stop.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Served {
            child,
            articles,
            api: Api {
                url,
                key,
                client: reqwest::Client::new(),
            },
            stderr,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id().expect("still running")
    }

    /// SIGKILL, and the process reaped: it died of the signal.
    async fn kill(mut self) {
        self.child.start_kill().unwrap(); // SIGKILL on Unix
        let status = self.child.wait().await.unwrap();
        assert_eq!(status.signal(), Some(9), "killed by SIGKILL: {status:?}");
    }

    /// SIGTERM, and a clean exit.
    async fn stop(mut self) {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let status = tokio::time::timeout(PATIENCE, self.child.wait())
            .await
            .expect("the server stops")
            .unwrap();
        assert!(
            status.success(),
            "{status:?}: {}",
            std::fs::read_to_string(&self.stderr).unwrap()
        );
    }
}

impl Api {
    /// The article count `/healthz` reports.
    async fn health(&self) -> usize {
        let health: Value = self
            .client
            .get(format!("{}/healthz", self.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(health["status"], "ok", "{health}");
        health["articles"].as_u64().unwrap() as usize
    }

    /// POSTs an interaction signed just now; the response's JSON, or `None` when the request
    /// failed (the process is gone).
    async fn interact(&self, payload: &Value) -> Option<Value> {
        let body = serde_json::to_vec(payload).unwrap();
        let ts = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            .to_string();
        let mut message = ts.as_bytes().to_vec();
        message.extend_from_slice(&body);
        let res = self
            .client
            .post(format!("{}/interactions", self.url))
            .header(
                "X-Signature-Ed25519",
                hex(&self.key.sign(&message).to_bytes()),
            )
            .header("X-Signature-Timestamp", ts)
            .body(body)
            .send()
            .await
            .ok()?;
        assert_eq!(res.status(), 200);
        res.json().await.ok()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Interaction ids: Discord never sends one twice (the endpoint refuses a replay).
static IDS: AtomicU64 = AtomicU64::new(1_400_000_000_000_000_000);

/// An `/ask` in a guild, in the shape Discord documents (serenity needs every field).
fn ask(question: &str) -> Value {
    const GUILD: &str = "900000000000000003";
    const CHANNEL: &str = "900000000000000004";
    let id = IDS.fetch_add(1, Ordering::Relaxed).to_string();
    let user = json!({
        "id": "1180000000000000004", "username": "reader", "discriminator": "0",
        "global_name": "reader", "avatar": null, "bot": false, "public_flags": 0, "flags": 0,
        "banner": null, "accent_color": null, "avatar_decoration_data": null,
        "collectibles": null, "primary_guild": null
    });
    json!({
        "id": id,
        "application_id": "900000000000000001",
        "type": 2,
        "data": {
            "id": "1180000000000000007", "name": "ask", "type": 1, "guild_id": GUILD,
            "options": [{"name": "question", "type": 3, "value": question}]
        },
        "guild_id": GUILD,
        "channel": {
            "id": CHANNEL, "type": 0, "name": "general", "guild_id": GUILD, "parent_id": null,
            "position": 0, "topic": null, "nsfw": false, "flags": 0, "last_message_id": null,
            "rate_limit_per_user": 0, "permissions": "2147568640"
        },
        "channel_id": CHANNEL,
        "member": {
            "user": user, "nick": null, "avatar": null, "banner": null, "roles": [],
            "joined_at": "2024-01-15T10:00:00.000000+00:00", "premium_since": null,
            "deaf": false, "mute": false, "flags": 0, "pending": false,
            "permissions": "2147568640", "communication_disabled_until": null,
            "unusual_dm_activity_until": null
        },
        "token": format!("token-{id}"),
        "version": 1,
        "app_permissions": "2251799813685247",
        "locale": "en-US",
        "guild_locale": "en-US",
        "entitlements": [],
        "authorizing_integration_owners": {"0": GUILD},
        "context": 0,
        "attachment_size_limit": 10485760
    })
}

/// A config for `serve-http` in the fixture: `index` and `stats` as given; deferred replies
/// (none are awaited here) go to a closed local port, never to Discord.
fn serve_config(f: &Fixture, index: &str, stats: &str) -> PathBuf {
    let path = f.dir.path().join("serve.toml");
    std::fs::write(
        &path,
        format!(
            "[content]\ndir = \"content\"\nbase_url = \"https://site.example/a\"\n\
             [index]\ndir = \"{index}\"\n[stats]\ndb = \"{stats}\"\nkeep_questions = true\n\
             [discord]\ncooldown_seconds = 0\nrest_proxy = \"http://127.0.0.1:9\"\n"
        ),
    )
    .unwrap();
    path
}

/// `serve-http` killed with SIGKILL while a SIGHUP reload builds the next library (its staging
/// folder is there): the persisted library is untouched, and the next start serves the whole
/// collection as it now is, from an index that is whole (reused by the next command).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_killed_halfway_leaves_a_library_that_serves() {
    let f = Fixture::standard();
    let config = serve_config(&f, "index", "memory");
    let config_arg = config.to_str().unwrap().to_string();
    let (code, _, err) = run(f.dir.path(), &["--config", &config_arg, "index"]);
    assert_eq!(code, 0, "{err}");

    // Grow the collection until the reload's build is caught halfway.
    let mut n = 250;
    let mut served = 4;
    let mut killed = false;
    for _ in 0..5 {
        let server = Served::start(f.dir.path(), &config).await;
        assert_eq!(server.articles, served, "the library in place, whole");
        assert!(staging(f.dir.path()).is_none(), "the start's build is done");
        let manifest = std::fs::read(f.dir.path().join("index/manifest.json")).unwrap();
        generate(&f, n);
        let status = std::process::Command::new("kill")
            .args(["-HUP", &server.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        // Wait for the reload's staging folder; a reload that ends first shows in /healthz.
        let start = Instant::now();
        let caught = loop {
            if staging(f.dir.path()).is_some() {
                break true;
            }
            if server.api.health().await != served {
                break false;
            }
            assert!(
                start.elapsed() < PATIENCE,
                "the reload neither started nor ended"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        };
        server.kill().await;
        if caught && staging(f.dir.path()).is_some() {
            // The library in place is the one before the reload, byte for byte.
            assert_eq!(
                std::fs::read(f.dir.path().join("index/manifest.json")).unwrap(),
                manifest
            );
            killed = true;
            break;
        }
        // Done before the kill: the next start serves the reloaded library.
        served = 4 + n;
        n *= 2;
    }
    assert!(killed, "no reload could be killed halfway ({n} articles)");

    // The next start serves every article there now is...
    let server = Served::start(f.dir.path(), &config).await;
    assert_eq!(server.articles, 4 + n);
    assert_eq!(server.api.health().await, 4 + n);
    let answer = server
        .api
        .interact(&ask("how do greens and browns compost"))
        .await
        .expect("answered");
    assert_eq!(answer["type"], 4, "{answer}");
    assert!(
        answer
            .to_string()
            .contains("site.example/a/guides-composting"),
        "{answer}"
    );
    server.stop().await;
    // ...from a whole index, which the next command reuses as it is.
    let (code, out, err) = run(f.dir.path(), &["--config", &config_arg, "--json", "index"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"reused\":true"), "{out}");
}

/// `serve-http` killed with SIGKILL while questions are being answered and their statistics
/// written (two in flight at once; the rows are queued off the answers' path and written by
/// one thread), three times over: the database passes SQLite's integrity check every time,
/// keeps every row of the rounds before and never more rows than questions sent, and opens at
/// the next start, which serves and, stopped with SIGTERM, writes what it queued. What was
/// still queued at a SIGKILL is lost (the queue is in memory, by design).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn statistics_killed_while_written_open_whole() {
    let f = Fixture::standard();
    let config = serve_config(&f, "memory", "data/stats.sqlite3");
    let db = f.dir.path().join("data/stats.sqlite3");
    let count = |db: &Path| -> u64 {
        let conn = rusqlite::Connection::open(db).unwrap();
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
        conn.query_row("SELECT count(*) FROM questions", [], |r| r.get(0))
            .unwrap()
    };
    let mut sent_total = 0u64;
    let mut rows_before = 0u64;
    for round in 1..=3u64 {
        let server = Served::start(f.dir.path(), &config).await;
        let answered = Arc::new(AtomicU64::new(0));
        let sent = Arc::new(AtomicU64::new(0));
        let mut askers = Vec::new();
        // As many askers as a small machine has cores: a question that finds no core free is
        // deferred at once (its row written later), and askers that never wait would keep
        // every core busy with deferred work.
        for i in 0..2 {
            let (api, answered, sent) = (server.api.clone(), answered.clone(), sent.clone());
            askers.push(tokio::spawn(async move {
                let questions = [
                    "how do pegs break",
                    "why does sleep matter",
                    "compost browns",
                ];
                for k in i.. {
                    sent.fetch_add(1, Ordering::SeqCst);
                    match api.interact(&ask(questions[k % questions.len()])).await {
                        // Answered at once (its statistics row queued).
                        Some(reply) if reply["type"] == 4 => {
                            answered.fetch_add(1, Ordering::SeqCst);
                        }
                        // Deferred: recorded when the work ends, perhaps never.
                        Some(_) => {}
                        // The server is gone.
                        None => break,
                    }
                }
            }));
        }
        // Killed once enough answers went out, with two more questions in flight.
        let start = Instant::now();
        while answered.load(Ordering::SeqCst) < 20 {
            assert!(start.elapsed() < PATIENCE, "no answers");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        server.kill().await;
        for asker in askers {
            asker.await.expect("no asker panicked");
        }
        sent_total += sent.load(Ordering::SeqCst);
        let rows = count(&db);
        assert!(
            (rows_before..=sent_total).contains(&rows),
            "round {round}: {rows} rows, {rows_before} before the round, {sent_total} sent"
        );
        rows_before = rows;
    }
    // The next start opens the database (or would fail), serves and records.
    let rows = count(&db);
    let server = Served::start(f.dir.path(), &config).await;
    let reply = server
        .api
        .interact(&ask("how do pegs break"))
        .await
        .expect("answered");
    assert_eq!(reply["type"], 4, "{reply}");
    server.stop().await;
    assert_eq!(count(&db), rows + 1);
    let settings = articlebot::config::Settings::load(&config, &Default::default()).unwrap();
    articlebot::stats::Stats::open_with_secret(&settings.stats, None).expect("opens");
}
