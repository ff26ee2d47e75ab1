//! A local web site for the source tests: resources by path, served on 127.0.0.1 by axum in
//! the test process, with ETags (304 on `If-None-Match`), delays, redirects, any status and
//! headers, and a count of requests per path.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;

/// One resource of the site.
#[derive(Debug, Clone)]
pub struct Resource {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
    /// Sent as `ETag`; a request with a matching `If-None-Match` gets a 304.
    pub etag: Option<String>,
    pub delay: Option<Duration>,
    pub headers: Vec<(&'static str, String)>,
}

impl Resource {
    pub fn new(content_type: &str, body: impl Into<Vec<u8>>) -> Resource {
        Resource {
            status: 200,
            content_type: content_type.into(),
            body: body.into(),
            etag: None,
            delay: None,
            headers: Vec::new(),
        }
    }

    pub fn etag(mut self, tag: &str) -> Resource {
        self.etag = Some(format!("\"{tag}\""));
        self
    }

    pub fn html(body: &str) -> Resource {
        Resource::new("text/html; charset=utf-8", body)
    }

    pub fn redirect(to: &str) -> Resource {
        let mut r = Resource::new("text/plain", "");
        r.status = 302;
        r.headers.push(("location", to.into()));
        r
    }
}

#[derive(Clone, Default)]
pub struct Site {
    resources: Arc<Mutex<HashMap<String, Resource>>>,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    pub base: String,
}

impl Site {
    /// Starts the site on a free loopback port (it runs until the test's runtime ends).
    pub async fn start() -> Site {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut site = Site {
            base: format!("http://{}", listener.local_addr().unwrap()),
            ..Site::default()
        };
        let state = site.clone();
        let app = Router::new().fallback(move |uri: Uri, headers: HeaderMap| {
            let state = state.clone();
            async move { state.serve(uri, headers).await }
        });
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        site.base = site.base.clone();
        site
    }

    /// The absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Puts (or replaces) the resource at `path`; `HOST` in the body becomes the site's
    /// address.
    pub fn put(&self, path: &str, mut resource: Resource) {
        let text = String::from_utf8_lossy(&resource.body).to_string();
        if text.contains("HOST") {
            resource.body = text.replace("HOST", &self.base).into_bytes();
        }
        self.resources
            .lock()
            .unwrap()
            .insert(path.to_string(), resource);
    }

    pub fn remove(&self, path: &str) {
        self.resources.lock().unwrap().remove(path);
    }

    /// Requests for `path` so far.
    pub fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }

    /// Requests for every path so far.
    pub fn total_hits(&self) -> usize {
        self.hits.lock().unwrap().values().sum()
    }

    pub fn reset_hits(&self) {
        self.hits.lock().unwrap().clear();
    }

    async fn serve(&self, uri: Uri, headers: HeaderMap) -> Response {
        let path = uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_default();
        *self.hits.lock().unwrap().entry(path.clone()).or_default() += 1;
        let found = self.resources.lock().unwrap().get(&path).cloned();
        let Some(r) = found else {
            return (StatusCode::NOT_FOUND, "not here").into_response();
        };
        if let Some(delay) = r.delay {
            tokio::time::sleep(delay).await;
        }
        if let (Some(tag), Some(asked)) = (&r.etag, headers.get("if-none-match")) {
            if asked.as_bytes() == tag.as_bytes() {
                return StatusCode::NOT_MODIFIED.into_response();
            }
        }
        let mut response = (StatusCode::from_u16(r.status).unwrap(), r.body).into_response();
        let h = response.headers_mut();
        h.insert(
            "content-type",
            HeaderValue::from_str(&r.content_type).unwrap(),
        );
        if let Some(tag) = &r.etag {
            h.insert("etag", HeaderValue::from_str(tag).unwrap());
        }
        for (name, value) in &r.headers {
            h.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        response
    }
}
