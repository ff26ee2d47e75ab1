//! The real `serve-http` binary against slow and idle clients (issue 19, item 2): raw TCP
//! connections that send nothing, half a request line or stay idle after a request are
//! closed by the server; SIGTERM ends the process even with a half-sent request open; the
//! connection cap keeps the server's descriptors bounded while `/healthz` still answers.
//! Every wait is a hang guard ([`PATIENCE`]), never a speed target.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::binary::{Binary, CONFIG};
use super::*;

fn addr(server: &Binary) -> String {
    server.url.trim_start_matches("http://").to_string()
}

/// Reads until the server closes the connection; what it sent before closing.
async fn closed_by_server(mut stream: TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let read = tokio::time::timeout(PATIENCE, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(
        read.is_ok(),
        "the server kept the connection open; it sent {:?}",
        String::from_utf8_lossy(&got)
    );
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_half_sent_and_idle_connections_are_closed() {
    let f = Fixture::standard();
    let config = format!("{CONFIG}[http]\nheader_timeout_seconds = 1\n");
    let server = Binary::start(f.dir.path(), &config, &[]).await;
    let addr = addr(&server);

    let silent = TcpStream::connect(&addr).await.unwrap();
    let mut half = TcpStream::connect(&addr).await.unwrap();
    half.write_all(b"POST /interac").await.unwrap();
    let mut trickle = TcpStream::connect(&addr).await.unwrap();
    trickle
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // A complete request on a kept-alive connection is answered, then the idle connection
    // is closed too.
    let mut idle = TcpStream::connect(&addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();

    assert!(closed_by_server(silent).await.is_empty());
    closed_by_server(half).await;
    let trickled = closed_by_server(trickle).await;
    assert!(
        !String::from_utf8_lossy(&trickled).contains("\"status\""),
        "an incomplete request was answered: {}",
        String::from_utf8_lossy(&trickled)
    );
    let answered = String::from_utf8_lossy(&closed_by_server(idle).await).into_owned();
    assert!(answered.starts_with("HTTP/1.1 200"), "{answered}");
    assert!(answered.contains("\"status\":\"ok\""), "{answered}");

    let (ok, _, stderr) = server.stop().await;
    assert!(ok, "exit 0: {stderr}");
}

/// With the header timer long, only the end of the shutdown grace can close a connection
/// stuck in the middle of its headers: the process still exits, and the client sees its
/// connection closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_closes_a_half_sent_request_when_the_grace_ends() {
    let f = Fixture::standard();
    let config =
        format!("{CONFIG}[http]\nheader_timeout_seconds = 3600\nshutdown_grace_seconds = 1\n");
    let server = Binary::start(f.dir.path(), &config, &[]).await;
    let mut half = TcpStream::connect(addr(&server)).await.unwrap();
    half.write_all(b"POST /interactions HTTP/1.1\r\nHost: x\r\nContent-Le")
        .await
        .unwrap();
    // The server has the connection (it answers another one meanwhile).
    let health = reqwest::get(format!("{}/healthz", server.url))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);

    let (ok, rest, stderr) = server.stop().await;
    assert!(ok, "exit 0: {stderr}");
    assert!(rest.iter().any(|l| l.contains("stopped")), "{rest:?}");
    closed_by_server(half).await;
}

/// Descriptors the process holds.
fn open_descriptors(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count()
}

/// Far more idle connections than the cap: the server holds at most the cap (the rest wait
/// in the listen backlog), the header timer frees the slots, and `/healthz` answers.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_answers_with_many_idle_connections_open() {
    const CAP: usize = 8;
    const IDLE: usize = 80;
    let f = Fixture::standard();
    let config = format!("{CONFIG}[http]\nheader_timeout_seconds = 2\nmax_connections = {CAP}\n");
    let server = Binary::start(f.dir.path(), &config, &[]).await;
    // One request served (and its connection closed) before counting: what the server opens
    // on its first connection is part of its baseline, not of the idle connections (counted
    // right after the banner, the baseline was once one descriptor short under load).
    let warm = reqwest::Client::new()
        .get(format!("{}/healthz", server.url))
        .header("connection", "close")
        .send()
        .await
        .unwrap();
    assert!(warm.status().is_success());
    drop(warm.bytes().await);
    let before = open_descriptors(server.pid());
    let mut idle = Vec::new();
    for _ in 0..IDLE {
        idle.push(TcpStream::connect(addr(&server)).await.unwrap());
    }
    let during = open_descriptors(server.pid());
    assert!(
        during <= before + CAP,
        "{before} descriptors before, {during} with {IDLE} idle connections (cap {CAP})"
    );
    let health: Value = tokio::time::timeout(PATIENCE, async {
        reqwest::get(format!("{}/healthz", server.url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    })
    .await
    .expect("/healthz answers");
    assert_eq!(health["status"], "ok");
    drop(idle);
    let (ok, _, stderr) = server.stop().await;
    assert!(ok, "exit 0: {stderr}");
}

/// Engine work waits for a free core, and an interaction whose answer has to wait is
/// acknowledged at once ("thinking…"), not after the defer window (an hour here): with every
/// core held, `/ask` is deferred, and its answer is edited in once a core is free.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_waiting_for_a_core_are_deferred_at_once() {
    use std::sync::{Arc, Barrier};
    let f = Fixture::standard();
    let server = Server::start_bot(
        quick(&f),
        articlebot::http::READ_TIMEOUT,
        Duration::from_secs(3600),
        Fake::start().await,
    )
    .await;
    let cores = server.service.cores();
    assert!(cores >= 1);
    let (started, release) = (
        Arc::new(Barrier::new(cores + 1)),
        Arc::new(Barrier::new(cores + 1)),
    );
    let mut held = Vec::new();
    for _ in 0..cores {
        let (service, started, release) =
            (server.service.clone(), started.clone(), release.clone());
        held.push(tokio::spawn(async move {
            service
                .run_blocking(move || {
                    started.wait();
                    release.wait();
                })
                .await
                .unwrap()
        }));
    }
    tokio::task::spawn_blocking(move || started.wait())
        .await
        .unwrap();
    // Every core is held: the answer cannot start.
    let payload = command(
        "ask",
        json!([string_option("question", "how do pegs break")]),
    );
    let ack = tokio::time::timeout(PATIENCE, server.interact(&payload))
        .await
        .expect("acknowledged while every core is busy");
    assert_eq!(ack["type"], 5, "deferred: {ack}");
    assert!(server.fake.calls().is_empty(), "{:?}", server.fake.calls());
    tokio::task::spawn_blocking(move || release.wait())
        .await
        .unwrap();
    let call = server.fake.wait_calls(1).await.remove(0);
    assert_eq!(call.method, "PATCH", "{call:?}");
    assert_eq!(
        call.body["embeds"][0]["title"], "Stablecoins and Their Pegs",
        "{call:?}"
    );
    for h in held {
        h.await.unwrap();
    }
    server.stop().await;
}
