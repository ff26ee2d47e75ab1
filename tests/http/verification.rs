//! Verification, limits and the server's life cycle.

use std::io::{BufRead, BufReader, Read, Write};
use std::time::Duration;

use serde_json::json;

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_is_answered_with_pong() {
    let f = Fixture::standard();
    let server = Server::start(f.settings()).await;
    let reply = server.post(serde_json::to_vec(&ping()).unwrap()).await;
    assert_eq!(reply.json(), json!({"type": 1}));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_reports_the_articles() {
    let f = Fixture::standard();
    let server = Server::start(f.settings()).await;
    let res = reqwest::get(format!("{}/healthz", server.url))
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body, json!({"status": "ok", "articles": 4}));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_signatures_are_refused() {
    let f = Fixture::standard();
    let server = Server::start(f.settings()).await;
    let body = serde_json::to_vec(&ping()).unwrap();
    let ts = unix_now().to_string();
    let good = sign(&server.key, &ts, &body);

    // Signed by another key (a forged request, or the wrong application's key).
    let reply = server
        .post_signed_by(&new_key(), unix_now(), body.clone())
        .await;
    assert_eq!(reply.status, 401, "{}", reply.text);

    let refused = |headers: Vec<(&'static str, String)>, body: Vec<u8>| {
        let server = &server;
        async move { server.post_with(body, &headers).await }
    };
    // The body changed after signing.
    let mut tampered = body.clone();
    tampered.extend_from_slice(b" ");
    let cases: Vec<(&str, Headers, Vec<u8>)> = vec![
        (
            "tampered body",
            vec![
                ("X-Signature-Ed25519", good.clone()),
                ("X-Signature-Timestamp", ts.clone()),
            ],
            tampered,
        ),
        (
            "timestamp changed after signing",
            vec![
                ("X-Signature-Ed25519", good.clone()),
                ("X-Signature-Timestamp", (unix_now() + 1).to_string()),
            ],
            body.clone(),
        ),
        (
            "well-formed random signature",
            vec![
                ("X-Signature-Ed25519", "ab".repeat(64)),
                ("X-Signature-Timestamp", ts.clone()),
            ],
            body.clone(),
        ),
        (
            "signature not hex",
            vec![
                ("X-Signature-Ed25519", "zz".repeat(64)),
                ("X-Signature-Timestamp", ts.clone()),
            ],
            body.clone(),
        ),
        (
            "signature too short",
            vec![
                ("X-Signature-Ed25519", good[..100].to_string()),
                ("X-Signature-Timestamp", ts.clone()),
            ],
            body.clone(),
        ),
        (
            "empty signature",
            vec![
                ("X-Signature-Ed25519", String::new()),
                ("X-Signature-Timestamp", ts.clone()),
            ],
            body.clone(),
        ),
        ("no headers", vec![], body.clone()),
        (
            "no signature",
            vec![("X-Signature-Timestamp", ts.clone())],
            body.clone(),
        ),
        (
            "no timestamp",
            vec![("X-Signature-Ed25519", good.clone())],
            body.clone(),
        ),
    ];
    for (what, headers, body) in cases {
        let reply = refused(headers, body).await;
        assert_eq!(reply.status, 401, "{what}: {}", reply.text);
        assert!(!reply.text.contains("ping-token"), "{what}: body echoed");
    }

    // The same request, correctly signed, is answered.
    let reply = server
        .post_with(
            body,
            &[("X-Signature-Ed25519", good), ("X-Signature-Timestamp", ts)],
        )
        .await;
    assert_eq!(reply.json(), json!({"type": 1}));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timestamps_older_or_newer_than_five_minutes_are_refused() {
    let f = Fixture::standard();
    let server = Server::start(f.settings()).await;
    let body = || serde_json::to_vec(&ping()).unwrap();
    let now = unix_now();
    for (ts, expected) in [
        (now - 60, 200),
        (now + 60, 200),
        (now - 10 * 60, 401),
        (now + 10 * 60, 401),
        (now - 24 * 3600, 401),
        (0, 401),
    ] {
        let reply = server.post_signed_by(&server.key, ts, body()).await;
        assert_eq!(reply.status, expected, "timestamp {ts} (now {now})");
    }
    // A signed timestamp that is not a number.
    let signature = sign(&server.key, "yesterday", &body());
    let reply = server
        .post_with(
            body(),
            &[
                ("X-Signature-Ed25519", signature),
                ("X-Signature-Timestamp", "yesterday".into()),
            ],
        )
        .await;
    assert_eq!(reply.status, 401);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_over_the_limit_get_413() {
    let f = Fixture::standard();
    let mut settings = f.settings();
    settings.http.body_limit_bytes = 4096;
    let server = Server::start(settings).await;
    // A valid, signed interaction padded past the limit.
    let mut payload = ping();
    payload["padding"] = json!("x".repeat(8000));
    let reply = server.post(serde_json::to_vec(&payload).unwrap()).await;
    assert_eq!(reply.status, 413, "{}", reply.text);
    // Without a signature, every request is refused as unsigned first (whatever its size):
    // verification comes before anything else.
    // (Just over the limit: a body the client is still writing when the server answers and
    // closes can reset the connection before the answer is read.)
    let reply = server.post_with(vec![b' '; 5000], &[]).await;
    assert_eq!(reply.status, 401, "{}", reply.text);
    // Just under the limit is fine.
    let mut payload = ping();
    payload["padding"] = json!("x".repeat(3000));
    let reply = server.post(serde_json::to_vec(&payload).unwrap()).await;
    assert_eq!(reply.json(), json!({"type": 1}));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_json_after_a_valid_signature_gets_400() {
    let f = Fixture::standard();
    let server = Server::start(f.settings()).await;
    let mut missing_field = command(
        "ask",
        json!([{"name": "question", "type": 3, "value": "x"}]),
    );
    missing_field.as_object_mut().unwrap().remove("token");
    let mut bad_type = ping();
    bad_type["type"] = json!("one");
    for (what, body) in [
        ("not json", b"{\"type\": 1,".to_vec()),
        ("empty", Vec::new()),
        ("array", b"[1, 2]".to_vec()),
        ("no type", b"{\"id\": \"1\"}".to_vec()),
        ("type not a number", serde_json::to_vec(&bad_type).unwrap()),
        ("unknown type", b"{\"type\": 99}".to_vec()),
        (
            "command without a token",
            serde_json::to_vec(&missing_field).unwrap(),
        ),
        ("not utf-8", vec![0xff, 0xfe, 0x00]),
    ] {
        let reply = server.post(body).await;
        assert_eq!(reply.status, 400, "{what}: {}", reply.text);
    }
    // The server is still serving.
    let reply = server.post(serde_json::to_vec(&ping()).unwrap()).await;
    assert_eq!(reply.json(), json!({"type": 1}));
    server.stop().await;
}

/// A body that trickles in slower than the read timeout gets 408, and the server goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_never_arrives_gets_408() {
    let f = Fixture::standard();
    let server = Server::start_with(f.settings(), Duration::from_millis(300)).await;
    let addr = server.url.trim_start_matches("http://").to_string();
    let body = serde_json::to_vec(&ping()).unwrap();
    let ts = unix_now().to_string();
    let signature = sign(&server.key, &ts, &body);
    let response = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(&addr).unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        write!(
            stream,
            "POST /interactions HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nX-Signature-Ed25519: {signature}\r\n\
             X-Signature-Timestamp: {ts}\r\n\r\n",
            body.len()
        )
        .unwrap();
        // Half the body, then nothing.
        stream.write_all(&body[..body.len() / 2]).unwrap();
        let mut response = [0u8; 12];
        stream.read_exact(&mut response).unwrap();
        String::from_utf8_lossy(&response).into_owned()
    })
    .await
    .unwrap();
    assert_eq!(response, "HTTP/1.1 408");
    let reply = server.post(serde_json::to_vec(&ping()).unwrap()).await;
    assert_eq!(reply.json(), json!({"type": 1}));
    server.stop().await;
}

/// Shutdown lets a request that is already being read finish, then stops accepting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_drains_requests_in_flight() {
    let f = Fixture::standard();
    let mut server = Server::start(f.settings()).await;
    let addr = server.url.trim_start_matches("http://").to_string();
    let body = serde_json::to_vec(&ping()).unwrap();
    let ts = unix_now().to_string();
    let signature = sign(&server.key, &ts, &body);

    let addr2 = addr.clone();
    let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
    let (finish_tx, finish_rx) = std::sync::mpsc::channel::<()>();
    let client = std::thread::spawn(move || {
        let mut stream = std::net::TcpStream::connect(&addr2).unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        // `Expect: 100-continue`: the server says "100 Continue" once the handler reads the
        // body, so the request is provably in flight before shutdown begins.
        write!(
            stream,
            "POST /interactions HTTP/1.1\r\nHost: {addr2}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nExpect: 100-continue\r\nX-Signature-Ed25519: {signature}\r\n\
             X-Signature-Timestamp: {ts}\r\n\r\n",
            body.len()
        )
        .unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        assert!(line.starts_with("HTTP/1.1 100"), "{line}");
        reader.read_line(&mut line).unwrap();
        started_tx.send(()).unwrap();
        finish_rx.recv().unwrap();
        stream.write_all(&body).unwrap();
        let mut rest = String::new();
        reader.read_to_string(&mut rest).unwrap();
        rest
    });
    tokio::task::spawn_blocking(move || started_rx.recv().unwrap())
        .await
        .unwrap();
    server.stop.take().unwrap().send(()).unwrap();
    // New connections are refused once the server stops accepting; the one in flight is
    // still served. Wait until a fresh connection is refused.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while tokio::net::TcpStream::connect(&addr).await.is_ok() {
        assert!(tokio::time::Instant::now() < deadline, "still accepting");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        !server.task.is_finished(),
        "stopped before the request was answered"
    );
    finish_tx.send(()).unwrap();
    let response = tokio::task::spawn_blocking(move || client.join().unwrap())
        .await
        .unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("{\"type\":1}"), "{response}");
    tokio::time::timeout(PATIENCE, server.task)
        .await
        .expect("server stops")
        .unwrap()
        .unwrap();
}

/// The documented defaults: a 64 KiB body limit, 10 s for a body to arrive, an answer not
/// ready within 2 s is deferred. (The body limit is also tested end to end on the binary.)
#[test]
fn the_documented_defaults() {
    let f = Fixture::standard();
    assert_eq!(f.settings().http.body_limit_bytes, 64 * 1024);
    assert_eq!(articlebot::http::READ_TIMEOUT, Duration::from_secs(10));
    assert_eq!(
        articlebot::discord::interactions::DEFER_AFTER,
        Duration::from_secs(2)
    );
}

/// A signed request replayed within the signature window (the same interaction id) is
/// refused with 409 and runs nothing; a new interaction is answered as usual, and a PING may
/// come again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_interaction_is_refused() {
    let f = Fixture::standard();
    let server = Server::start(quick(&f)).await;
    let payload = command(
        "ask",
        json!([string_option("question", "how do pegs break")]),
    );
    let body = serde_json::to_vec(&payload).unwrap();
    let ts = unix_now();
    let first = server.interact(&payload).await;
    assert_eq!(first["type"], 4, "{first}");
    for _ in 0..2 {
        let replay = server.post_signed_by(&server.key, ts, body.clone()).await;
        assert_eq!(replay.status, 409, "{}", replay.text);
        assert_eq!(replay.text, "interaction already received");
    }
    // The same question as a new interaction is answered.
    let again = server
        .interact(&command(
            "ask",
            json!([string_option("question", "how do pegs break")]),
        ))
        .await;
    assert_eq!(again["type"], 4, "{again}");
    let ping = serde_json::to_vec(&ping()).unwrap();
    for _ in 0..2 {
        let pong = server.post_signed_by(&server.key, ts, ping.clone()).await;
        assert_eq!(pong.json(), json!({"type": 1}));
    }
    server.stop().await;
}
