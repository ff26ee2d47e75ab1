//! The HTTP interactions endpoint's reading of a request (`http::check`, then
//! `http::read_interaction`): signature, timestamp, type and id, then the whole interaction
//! model. Bodies are signed with a fixed key, so that the fuzzer reaches the JSON behind the
//! signature check; some inputs bring their own timestamp or signature instead.

#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, UNIX_EPOCH};

use articlebot::http::{self, Checked};
use ed25519_dalek::{Signer, SigningKey};
use libfuzzer_sys::fuzz_target;
use serenity::interactions_endpoint::Verifier;

const NOW: u64 = 1_700_000_000;

fn key() -> &'static (SigningKey, Verifier) {
    static KEY: OnceLock<(SigningKey, Verifier)> = OnceLock::new();
    KEY.get_or_init(|| {
        let key = SigningKey::from_bytes(&[7; 32]);
        let public: String = key
            .verifying_key()
            .as_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let verifier = http::verifier(&public).expect("a valid key");
        (key, verifier)
    })
}

fn sign(key: &SigningKey, timestamp: &str, body: &[u8]) -> String {
    let mut message = timestamp.as_bytes().to_vec();
    message.extend_from_slice(body);
    key.sign(&message)
        .to_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The part of `data` before its first newline, and the rest.
fn line(data: &[u8]) -> (String, &[u8]) {
    let cut = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let rest = data.get(cut + 1..).unwrap_or(&[]);
    (String::from_utf8_lossy(&data[..cut]).into_owned(), rest)
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, data)) = data.split_first() else {
        return;
    };
    let (key, verifier) = key();
    let now = UNIX_EPOCH + Duration::from_secs(NOW);
    let fresh = NOW.to_string();
    let (signature, timestamp, body, valid) = match mode % 4 {
        // The common case: a body Discord signed just now.
        0 | 1 => (sign(key, &fresh, data), fresh, data, true),
        // A timestamp of the input's choosing, signed.
        2 => {
            let (timestamp, body) = line(data);
            (sign(key, &timestamp, body), timestamp, body, false)
        }
        // A signature of the input's choosing.
        _ => {
            let (signature, body) = line(data);
            (signature, fresh, body, false)
        }
    };
    let checked = http::check(verifier, &signature, &timestamp, body, now);
    if valid {
        if let Err((status, why)) = checked {
            assert_ne!(status, 401, "a fresh, well-signed request refused: {why}");
        }
    }
    if let Ok(Checked::Interaction { .. }) = checked {
        if let Ok(interaction) = http::read_interaction(body) {
            let _ = interaction.id();
        }
    }
});
