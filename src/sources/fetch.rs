//! HTTP for sources: one client with a User-Agent naming the bot, a timeout, a redirect
//! limit and a size limit on every body, and conditional requests (ETag / Last-Modified) so a
//! source that has not changed costs a 304 and no body.
//!
//! The client is reqwest, the one serenity already builds (no second HTTP stack).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serenity_reqwest as reqwest;

use crate::config::SyncSettings;

/// The bounds every request keeps (`[sync]` in the config, [`Limits::of`]).
#[derive(Debug, Clone)]
pub struct Limits {
    /// For the whole request: connecting, headers and body.
    pub timeout: Duration,
    /// A body longer than this is refused (and not read further).
    pub max_bytes: u64,
    /// Redirects followed before a request is given up.
    pub max_redirects: usize,
    /// How long one source's sync may fetch pages; the pages not reached keep what they had
    /// and are fetched by the next sync (a `/reload` must not wait for hours).
    pub source_budget: Duration,
}

impl Limits {
    /// The limits `[sync]` sets.
    pub fn of(settings: &SyncSettings) -> Limits {
        Limits {
            timeout: settings.timeout,
            max_bytes: settings.max_bytes,
            max_redirects: settings.max_redirects,
            source_budget: settings.source_budget,
        }
    }
}

/// The validators a server gave with a body, sent back to ask "has it changed?".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validators {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
}

/// What a request brought back.
#[derive(Debug)]
pub enum Fetched {
    /// 304: what we have is current.
    NotModified,
    Body(Body),
}

/// A response body within the limits.
#[derive(Debug)]
pub struct Body {
    pub bytes: Vec<u8>,
    /// The media type, lower case, without parameters (`application/rss+xml`).
    pub media_type: Option<String>,
    /// The address the body came from, after redirects.
    pub url: url::Url,
    pub validators: Validators,
}

/// The bot's HTTP client for sources; counts the requests it sends.
#[derive(Debug)]
pub struct Fetcher {
    client: reqwest::Client,
    limits: Limits,
    requests: AtomicU64,
}

/// The User-Agent: the bot's name and version, so a site's owner can tell who fetches.
pub const USER_AGENT: &str = concat!(
    "articlebot/",
    env!("CARGO_PKG_VERSION"),
    " (content sources; +https://crates.io/crates/articlebot)"
);

impl Fetcher {
    pub fn new(limits: Limits) -> anyhow::Result<Fetcher> {
        let client = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .timeout(limits.timeout)
            .connect_timeout(limits.timeout)
            .redirect(redirect_policy(limits.max_redirects))
            .build()?;
        Ok(Fetcher {
            client,
            limits,
            requests: AtomicU64::new(0),
        })
    }

    /// Requests sent so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }

    /// GETs `url`, conditionally when `known` holds validators. The error is the reason in
    /// words ("timed out after 20 s", "HTTP 404 Not Found", "body over 8388608 bytes").
    pub async fn get(&self, url: &str, known: &Validators) -> Result<Fetched, String> {
        self.requests.fetch_add(1, Ordering::SeqCst);
        // gzip is offered and decoded here (flate2) rather than by reqwest's `gzip` feature,
        // which would rebuild reqwest and serenity with it for this one use.
        let mut request = self
            .client
            .get(url)
            .header(reqwest::header::ACCEPT_ENCODING, "gzip");
        if let Some(etag) = &known.etag {
            request = request.header(reqwest::header::IF_NONE_MATCH, etag);
        }
        if let Some(date) = &known.last_modified {
            request = request.header(reqwest::header::IF_MODIFIED_SINCE, date);
        }
        let mut response = request.send().await.map_err(|e| self.describe(&e))?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(Fetched::NotModified);
        }
        if !status.is_success() {
            return Err(format!("HTTP {status}"));
        }
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                .map(str::to_string)
        };
        let validators = Validators {
            etag: header(reqwest::header::ETAG),
            last_modified: header(reqwest::header::LAST_MODIFIED),
        };
        let media_type = header(reqwest::header::CONTENT_TYPE).map(|t| {
            t.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        });
        let gzip = match header(reqwest::header::CONTENT_ENCODING) {
            None => false,
            Some(e) if e.eq_ignore_ascii_case("identity") => false,
            Some(e) if e.eq_ignore_ascii_case("gzip") || e.eq_ignore_ascii_case("x-gzip") => true,
            Some(e) => {
                return Err(format!(
                    "the server sent a {e} body, which was not asked for"
                ))
            }
        };
        let max = self.limits.max_bytes;
        if response.content_length().is_some_and(|n| n > max) {
            return Err(format!("body over {max} bytes"));
        }
        let url = response.url().clone();
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.describe(&e))? {
            if bytes.len() as u64 + chunk.len() as u64 > max {
                return Err(format!("body over {max} bytes"));
            }
            bytes.extend_from_slice(&chunk);
        }
        if gzip {
            bytes = gunzip(&bytes, max)?;
        }
        Ok(Fetched::Body(Body {
            bytes,
            media_type,
            url,
            validators,
        }))
    }

    fn describe(&self, e: &reqwest::Error) -> String {
        if e.is_timeout() {
            format!("timed out after {} s", self.limits.timeout.as_secs_f32())
        } else if e.is_redirect() {
            root_cause(e)
        } else if e.is_connect() {
            format!("cannot connect: {}", root_cause(e))
        } else {
            root_cause(e)
        }
    }
}

/// Why a redirect was not followed (its text is the reason a source failed).
#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// At most `max` redirects, and none from a public address into this machine or its
/// private network (a feed's page must not be able to send the bot to internal services and
/// publish what they answer).
fn redirect_policy(max: usize) -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() > max {
            let why = format!("more than {max} redirects (or a redirect loop)");
            return attempt.error(Refused(why));
        }
        let from = attempt.previous().last().cloned();
        match from {
            Some(from) if !redirect_allowed(&from, attempt.url()) => {
                let why = format!(
                    "a redirect from {} to an internal address ({}) was refused",
                    from.host_str().unwrap_or_default(),
                    attempt.url().host_str().unwrap_or_default()
                );
                attempt.error(Refused(why))
            }
            _ => attempt.follow(),
        }
    })
}

/// Whether a redirect from `from` to `to` may be followed: not from a public host to an
/// internal one.
pub fn redirect_allowed(from: &url::Url, to: &url::Url) -> bool {
    internal(from) || !internal(to)
}

/// Whether `url` names this machine or a private, link-local or unspecified address (by
/// its literal host; a public name that resolves to one is not caught here).
pub fn internal(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => {
            ip.is_loopback()
                || ip.is_private()
                || ip.is_link_local()
                || ip.is_unspecified()
                || ip.is_broadcast()
        }
        Some(url::Host::Ipv6(ip)) => {
            let first = ip.segments()[0];
            ip.is_loopback()
                || ip.is_unspecified()
                || first & 0xfe00 == 0xfc00
                || first & 0xffc0 == 0xfe80
                || ip
                    .to_ipv4_mapped()
                    .is_some_and(|v4| v4.is_loopback() || v4.is_private() || v4.is_link_local())
        }
        Some(url::Host::Domain(d)) => {
            let d = d.to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
        None => true,
    }
}

/// Decompresses a gzip body, refusing one that inflates past `max` bytes.
fn gunzip(bytes: &[u8], max: u64) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .take(max + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("broken gzip body: {e}"))?;
    if out.len() as u64 > max {
        return Err(format!("body over {max} bytes (uncompressed)"));
    }
    Ok(out)
}

/// The innermost cause of an error, which says what happened ("connection refused").
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> url::Url {
        url::Url::parse(s).unwrap()
    }

    #[test]
    fn no_redirect_from_outside_into_the_machine_or_its_network() {
        for inside in [
            "http://127.0.0.1/x",
            "http://localhost:8080/",
            "http://a.localhost/",
            "http://10.1.2.3/",
            "http://192.168.0.1/",
            "http://172.16.0.1/",
            "http://169.254.169.254/latest/meta-data/",
            "http://0.0.0.0/",
            "http://[::1]/",
            "http://[fd00::1]/",
            "http://[fe80::1]/",
            "http://[::ffff:127.0.0.1]/",
        ] {
            assert!(internal(&url(inside)), "{inside}");
            assert!(
                !redirect_allowed(&url("https://blog.example/feed"), &url(inside)),
                "{inside}"
            );
            // A source on the machine may redirect within it.
            assert!(
                redirect_allowed(&url("http://127.0.0.1:9/feed"), &url(inside)),
                "{inside}"
            );
        }
        for outside in [
            "https://blog.example/",
            "http://8.8.8.8/",
            "http://[2001:db8::1]/",
        ] {
            assert!(!internal(&url(outside)), "{outside}");
            assert!(redirect_allowed(
                &url("https://feeds.example/x"),
                &url(outside)
            ));
        }
    }
}
