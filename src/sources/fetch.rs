//! HTTP for sources: one client with a User-Agent naming the bot, a timeout, a redirect
//! limit and a size limit on every body, and conditional requests (ETag / Last-Modified) so a
//! source that has not changed costs a 304 and no body.
//!
//! The client is reqwest, the one serenity already builds (no second HTTP stack).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serenity_reqwest as reqwest;

/// The bounds every request keeps.
#[derive(Debug, Clone)]
pub struct Limits {
    /// For the whole request: connecting, headers and body.
    pub timeout: Duration,
    /// A body longer than this is refused (and not read further).
    pub max_bytes: u64,
    /// Redirects followed before a request is given up.
    pub max_redirects: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Duration::from_secs(20),
            max_bytes: 8 * 1024 * 1024,
            max_redirects: 5,
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
            .redirect(reqwest::redirect::Policy::limited(limits.max_redirects))
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
            format!(
                "more than {} redirects (or a redirect loop)",
                self.limits.max_redirects
            )
        } else if e.is_connect() {
            format!("cannot connect: {}", root_cause(e))
        } else {
            root_cause(e)
        }
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
