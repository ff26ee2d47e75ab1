//! The process's log output. Every formatted line passes through [`redact`] on its way to
//! stderr, whichever crate logged it and at whatever level: the bot token (registered with
//! [`keep_secret`] once the command line knows it) and interaction tokens (in webhook and
//! callback routes, in `token` fields of structs and JSON, after `Bot `) become `<token>`.
//! And the targets of serenity that write whole gateway payloads (question text and tokens)
//! into their lines or spans are held to errors, whatever `RUST_LOG` says.

use std::io::Write;
use std::sync::RwLock;

use tracing_subscriber::fmt::MakeWriter;

/// serenity's targets whose lines or spans quote whole gateway events: an unreadable
/// payload (`ws`), an unknown event (`dispatch`), the event a shard handles (`shard`'s spans).
/// Our own gateway adapter logs what it needs from those (the kind of an unreadable event).
pub const QUIET_TARGETS: &[&str] = &[
    "serenity::gateway::ws=error",
    "serenity::gateway::shard=error",
    "serenity::gateway::bridge=error",
    "serenity::client::dispatch=error",
    "serenity::http=error",
];

/// Secrets known to this process, cut from every line.
static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Cuts `secret` (the bot token) from every log line from now on. Short values are ignored:
/// they would cut ordinary words.
pub fn keep_secret(secret: &str) {
    let secret = secret.trim();
    let secret = secret.strip_prefix("Bot ").unwrap_or(secret);
    if secret.len() >= 8 {
        if let Ok(mut s) = SECRETS.write() {
            s.push(secret.to_string());
        }
    }
}

/// Writes each log line to stderr, redacted.
pub struct Redacting;

impl<'a> MakeWriter<'a> for Redacting {
    type Writer = Line;

    fn make_writer(&'a self) -> Line {
        Line
    }
}

/// One formatted event (tracing's formatter writes each in one call).
pub struct Line;

impl Write for Line {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let secrets = SECRETS.read().map(|s| s.clone()).unwrap_or_default();
        std::io::stderr().write_all(redact(&text, &secrets).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// Stands for a cut token.
const CUT: &str = "<token>";
/// Values shorter than this after a `token` key are left alone ("token: none").
const MIN_TOKEN: usize = 8;

fn token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '=' | '+')
}

/// `line` without tokens: `secrets` anywhere; the token part of `webhooks/{id}/{token}` and
/// `interactions/{id}/{token}`; the value after a `token` key (`token: "…"`, `"token":"…"`,
/// `token=…`, `"token": String("…")`); the token after `Bot `.
pub fn redact(line: &str, secrets: &[String]) -> String {
    let mut out = line.to_string();
    for s in secrets {
        out = out.replace(s.as_str(), CUT);
    }
    for route in ["webhooks/", "interactions/"] {
        out = cut_after(&out, route, |rest| {
            // `{digits}/` then the token.
            let digits = rest.chars().take_while(char::is_ascii_digit).count();
            (digits > 0 && rest[digits..].starts_with('/')).then_some(digits + 1)
        });
    }
    out = cut_after(&out, "token", |rest| {
        let mut i = 0;
        let skip = |i: &mut usize, what: &str| {
            if rest[*i..].starts_with(what) {
                *i += what.len();
            }
        };
        // A quote, or a quote escaped inside a JSON log line (`--log-format json`).
        let skip_quote = |i: &mut usize| {
            if rest[*i..].starts_with("\\\"") {
                *i += 2;
            } else {
                skip(i, "\"");
            }
        };
        skip_quote(&mut i);
        while rest[i..].starts_with(' ') {
            i += 1;
        }
        if !(rest[i..].starts_with(':') || rest[i..].starts_with('=')) {
            return None;
        }
        i += 1;
        while rest[i..].starts_with(' ') {
            i += 1;
        }
        skip(&mut i, "Some(");
        skip(&mut i, "String(");
        skip_quote(&mut i);
        Some(i)
    });
    cut_after(&out, "Bot ", |_| Some(0))
}

/// Replaces the run of token characters that follows each `marker` (after the `lead` bytes
/// `at` returns for the text after the marker) by [`CUT`], when it is a token's length.
fn cut_after(text: &str, marker: &str, at: impl Fn(&str) -> Option<usize>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = find_ignoring_case(rest, marker) {
        let after = pos + marker.len();
        out.push_str(&rest[..after]);
        rest = &rest[after..];
        let Some(lead) = at(rest) else { continue };
        let len: usize = rest[lead..]
            .chars()
            .take_while(|&c| token_char(c))
            .map(char::len_utf8)
            .sum();
        if len >= MIN_TOKEN && &rest[lead..lead + len] != CUT {
            out.push_str(&rest[..lead]);
            out.push_str(CUT);
            rest = &rest[lead + len..];
        }
    }
    out.push_str(rest);
    out
}

fn find_ignoring_case(hay: &str, needle: &str) -> Option<usize> {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    (0..h.len().checked_sub(n.len())? + 1).find(|&i| h[i..i + n.len()].eq_ignore_ascii_case(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "aW50ZXJhY3Rpb246MTE4MDAwMDAwMDAwMDAwMDAwNzpabc.def-ghi_jkl";

    fn check(line: &str, expected: &str) {
        assert_eq!(redact(line, &["MTA5.bot.secret-value".into()]), expected);
    }

    #[test]
    fn tokens_are_cut_wherever_they_appear() {
        check(
            &format!("PATCH http://127.0.0.1:9/api/v10/webhooks/900000000000000001/{TOKEN}/messages/@original failed"),
            "PATCH http://127.0.0.1:9/api/v10/webhooks/900000000000000001/<token>/messages/@original failed",
        );
        check(
            &format!("POST /api/v10/interactions/123/{TOKEN}/callback"),
            "POST /api/v10/interactions/123/<token>/callback",
        );
        check(
            &format!("req=Request {{ route: WebhookFollowupMessages {{ application_id: ApplicationId(9), token: \"{TOKEN}\" }} }}"),
            "req=Request { route: WebhookFollowupMessages { application_id: ApplicationId(9), token: \"<token>\" } }",
        );
        check(
            &format!("payload {{\"id\":\"1\",\"token\":\"{TOKEN}\",\"type\":2}}"),
            "payload {\"id\":\"1\",\"token\":\"<token>\",\"type\":2}",
        );
        check(
            &format!("Object {{\"token\": String(\"{TOKEN}\")}}"),
            "Object {\"token\": String(\"<token>\")}",
        );
        check(
            "authorization: \"Bot MTA5.bot.secret-value\"",
            "authorization: \"Bot <token>\"",
        );
        check(
            "the token MTA5.bot.secret-value leaked",
            "the token <token> leaked",
        );
    }

    /// The same lines as a JSON log line carries them (`--log-format json`): quotes escaped.
    #[test]
    fn tokens_are_cut_inside_json_log_lines() {
        for (line, expected) in [
            (
                format!("token: \"{TOKEN}\" }}"),
                "token: \"<token>\" }".to_string(),
            ),
            (
                format!("{{\"token\":\"{TOKEN}\",\"type\":2}}"),
                "{\"token\":\"<token>\",\"type\":2}".to_string(),
            ),
            (
                format!("{{\"token\": String(\"{TOKEN}\")}}"),
                "{\"token\": String(\"<token>\")}".to_string(),
            ),
        ] {
            // Escaped as serde_json escapes a string field's value.
            let json = serde_json::json!({ "fields": { "message": line } }).to_string();
            let want = serde_json::json!({ "fields": { "message": expected } }).to_string();
            check(&json, &want);
        }
        check(
            "{\"fields\":{\"message\":\"authorization: \\\"Bot MTA5.bot.secret-value\\\"\"}}",
            "{\"fields\":{\"message\":\"authorization: \\\"Bot <token>\\\"\"}}",
        );
    }

    #[test]
    fn ordinary_lines_stay() {
        for line in [
            "finishing a deferred interaction: interaction webhook: 404 Not Found: {\"message\": \"Unknown Webhook\"}",
            "discord.token_env: token: none",
            "webhooks/abc/def are not routes",
            "Bot here",
            "ünïcode token: é",
        ] {
            check(line, line);
        }
    }
}
