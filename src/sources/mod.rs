//! Content sources kept in sync: feeds, sitemaps and git repositories fetched into a folder
//! each below `content.sources_dir`, as article files the content folder's reader already
//! reads (front matter with the source URL). The library then reads those folders like
//! `content/`, so a start without the network serves the last synced articles.
//!
//! A sync fetches each source in turn; a source that fails keeps its last good files and
//! its report says why. Conditional requests, the limits and the User-Agent live in
//! [`fetch`]; turning HTML into articles in [`crate::content::html`].

pub mod fetch;
mod git;
pub mod sitemap;
mod store;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use serde::Serialize;
use url::Url;

use crate::config::{SourceKind, SourceSettings, SourcesSettings};
use crate::content::html::{self, FrontMatter};
use crate::text;
pub use fetch::{Fetcher, Limits, Validators};
use store::{Entry, State, Store, Written};

/// What a sync did to one source.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SourceReport {
    pub name: String,
    pub added: usize,
    pub changed: usize,
    pub removed: usize,
    pub unchanged: usize,
    /// Pages not reached within the time budget (`Limits::source_budget`): they keep what
    /// they had and are fetched by the next sync.
    pub deferred: usize,
    /// HTTP requests sent for this source (0 for folders and git).
    pub requests: u64,
    /// Why the source, or some of its articles, could not be synced; what it had before is
    /// kept. `None` when everything synced.
    pub error: Option<String>,
}

/// What a sync did, source by source (folder sources are not synced and not listed).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    pub sources: Vec<SourceReport>,
}

impl SyncReport {
    /// The sources that failed.
    pub fn failed(&self) -> impl Iterator<Item = &SourceReport> {
        self.sources.iter().filter(|s| s.error.is_some())
    }

    /// Whether any synced source's articles changed on disk.
    pub fn changed_anything(&self) -> bool {
        self.sources
            .iter()
            .any(|s| s.added + s.changed + s.removed > 0)
    }
}

/// Syncs every feed, sitemap and git source, one after the other.
pub async fn sync_all(settings: &SourcesSettings, limits: &Limits) -> SyncReport {
    sync_some(settings, limits, |_| true).await
}

/// Syncs the feed, sitemap and git sources `wanted` accepts.
pub async fn sync_some(
    settings: &SourcesSettings,
    limits: &Limits,
    wanted: impl Fn(&SourceSettings) -> bool,
) -> SyncReport {
    let mut report = SyncReport::default();
    if settings.synced().all(|s| !wanted(s)) {
        return report;
    }
    let fetcher = match Fetcher::new(limits.clone()) {
        Ok(f) => f,
        Err(e) => {
            report.sources = settings
                .synced()
                .filter(|s| wanted(s))
                .map(|s| SourceReport {
                    name: s.name.clone(),
                    error: Some(format!("cannot set up HTTP: {e}")),
                    ..SourceReport::default()
                })
                .collect();
            return report;
        }
    };
    for source in settings.synced().filter(|s| wanted(s)) {
        let before = fetcher.requests();
        let store = Store::new(settings.folder_of(&source.name));
        let deadline = tokio::time::Instant::now() + limits.source_budget;
        let mut one = match &source.kind {
            SourceKind::Feed(url) => sync_feed(&fetcher, url, &store, deadline).await,
            SourceKind::Sitemap(url) => sync_sitemap(&fetcher, url, &store, deadline).await,
            SourceKind::Git { url, branch } => {
                match git::sync(url, branch.as_deref(), store.dir(), limits.timeout * 6).await {
                    Ok(c) => SourceReport {
                        added: c.added,
                        changed: c.changed,
                        removed: c.removed,
                        unchanged: c.unchanged,
                        ..SourceReport::default()
                    },
                    Err(e) => failed(e),
                }
            }
            SourceKind::Folder(_) => continue,
        };
        one.name = source.name.clone();
        one.requests = fetcher.requests() - before;
        match &one.error {
            Some(e) => {
                tracing::warn!(source = %one.name, "sync failed, last good articles kept: {e}")
            }
            None => tracing::info!(
                source = %one.name,
                added = one.added,
                changed = one.changed,
                removed = one.removed,
                requests = one.requests,
                "synced"
            ),
        }
        report.sources.push(one);
    }
    report
}

fn failed(reason: String) -> SourceReport {
    SourceReport {
        error: Some(reason),
        ..SourceReport::default()
    }
}

/// What a source said about one of its articles.
enum Step {
    /// Read now: write it.
    Fresh(Box<Item>),
    /// Not changed at the source: its file stays as it is.
    Keep(Entry),
    /// Not reached in the time budget: what it had stays (nothing if it is new).
    Deferred,
}

/// An article read from the source, before it has a file.
struct Item {
    stamp: Option<String>,
    page: Validators,
    front: FrontMatter,
    markdown: String,
}

/// The longest slug given to a fetched article (file names have a length limit).
const MAX_SLUG_CHARS: usize = 80;

fn slug_for(title: &str, url: Option<&str>) -> String {
    let mut slug = text::slugify(title);
    if slug.is_empty() {
        if let Some(url) = url.and_then(|u| Url::parse(u).ok()) {
            let last = url
                .path_segments()
                .and_then(|mut s| s.rfind(|p| !p.is_empty()))
                .unwrap_or_default()
                .to_string();
            slug = text::slugify(&last);
        }
    }
    let cut: String = slug.chars().take(MAX_SLUG_CHARS).collect();
    cut.trim_end_matches('-').to_string()
}

/// Writes what the source gave: new and changed articles, removal of those it no longer
/// lists, then the state. Articles that failed keep their old file; their reasons (the
/// first few) become the source's error.
fn apply(
    store: &Store,
    old: &State,
    index: Validators,
    steps: Vec<(String, Result<Step, String>)>,
) -> SourceReport {
    let mut report = SourceReport::default();
    let mut state = State {
        index,
        articles: Default::default(),
    };
    let mut errors: Vec<String> = Vec::new();
    let listed: HashSet<String> = steps.iter().map(|(k, _)| k.clone()).collect();
    // Files of articles still listed keep their names; a new one may not take them.
    let mut taken: HashSet<String> = old
        .articles
        .iter()
        .filter(|(k, _)| listed.contains(k.as_str()))
        .map(|(_, e)| e.file.clone())
        .collect();
    for (key, step) in steps {
        if state.articles.contains_key(&key) {
            continue;
        }
        match step {
            Ok(Step::Keep(entry)) => {
                report.unchanged += 1;
                state.articles.insert(key, entry);
            }
            Ok(Step::Deferred) => {
                report.deferred += 1;
                if let Some(e) = old.articles.get(&key) {
                    state.articles.insert(key, e.clone());
                }
            }
            Ok(Step::Fresh(item)) => {
                let Item {
                    stamp,
                    page,
                    mut front,
                    markdown,
                } = *item;
                let file = match old.articles.get(&key) {
                    Some(e) => e.file.clone(),
                    None => {
                        let name =
                            store::new_file(&slug_for(&front.title, front.url.as_deref()), &taken);
                        taken.insert(name.clone());
                        name
                    }
                };
                front.slug = file.trim_end_matches(".md").to_string();
                match store.write(&file, &html::article_file(&front, &markdown)) {
                    Ok(Written::Added) => report.added += 1,
                    Ok(Written::Changed) => report.changed += 1,
                    Ok(Written::Unchanged) => report.unchanged += 1,
                    Err(e) => {
                        errors.push(format!("{e:#}"));
                        if let Some(e) = old.articles.get(&key) {
                            state.articles.insert(key, e.clone());
                        }
                        continue;
                    }
                }
                state.articles.insert(key, Entry { file, stamp, page });
            }
            Err(reason) => {
                errors.push(format!("{key}: {reason}"));
                // Its last good file stays.
                if let Some(e) = old.articles.get(&key) {
                    state.articles.insert(key, e.clone());
                }
            }
        }
    }
    for (key, entry) in &old.articles {
        if !state.articles.contains_key(key) && !listed.contains(key.as_str()) {
            match store.remove(&entry.file) {
                Ok(()) => report.removed += 1,
                Err(e) => errors.push(format!("{e:#}")),
            }
        }
    }
    // Pages that failed or were not reached are tried again next time: the feed or sitemap
    // must then be read again, not answered with a 304.
    if report.deferred > 0 || !errors.is_empty() {
        state.index = Validators::default();
    }
    if let Err(e) = store.save(&state) {
        errors.push(format!("{e:#}"));
    }
    if !errors.is_empty() {
        let more = errors.len().saturating_sub(3);
        let mut reason = errors.into_iter().take(3).collect::<Vec<_>>().join("; ");
        if more > 0 {
            reason.push_str(&format!(" (and {more} more)"));
        }
        report.error = Some(reason);
    }
    report
}

/// Whether a body looks like an HTML page rather than what was asked for.
fn is_html(media_type: Option<&str>) -> bool {
    matches!(media_type, Some("text/html" | "application/xhtml+xml"))
}

/// Whether a page may be fetched for a source at `source`: only on the source's own host,
/// so a feed or sitemap cannot send the bot to other sites or to internal services.
fn same_host(source: &Url, page: &Url) -> bool {
    source.host_str() == page.host_str()
}

async fn sync_feed(
    fetcher: &Fetcher,
    url: &str,
    store: &Store,
    deadline: tokio::time::Instant,
) -> SourceReport {
    let old = store.state();
    let body = match fetcher.get(url, &old.index).await {
        Ok(fetch::Fetched::NotModified) => {
            return SourceReport {
                unchanged: old.articles.len(),
                ..SourceReport::default()
            }
        }
        Ok(fetch::Fetched::Body(body)) => body,
        Err(e) => return failed(e),
    };
    let feed = match feed_rs::parser::parse(body.bytes.as_slice()) {
        Ok(feed) => feed,
        Err(e) if is_html(body.media_type.as_deref()) => {
            return failed(format!(
                "not a feed: the server sent {} ({e})",
                body.media_type.as_deref().unwrap_or("html")
            ))
        }
        Err(e) => return failed(format!("not a feed: {e}")),
    };
    let mut steps = Vec::with_capacity(feed.entries.len());
    for entry in feed.entries {
        let key = entry.id.clone();
        let step = feed_entry(
            fetcher,
            &body.url,
            entry,
            old.articles.get(&key),
            store,
            deadline,
        )
        .await;
        steps.push((key, step));
    }
    apply(store, &old, body.validators, steps)
}

/// One feed entry as an article: its own content when the feed carries it, else the page
/// it links to (fetched only when the entry's date changed or the file is missing).
async fn feed_entry(
    fetcher: &Fetcher,
    feed_url: &Url,
    entry: feed_rs::model::Entry,
    known: Option<&Entry>,
    store: &Store,
    deadline: tokio::time::Instant,
) -> Result<Step, String> {
    let link = entry
        .links
        .iter()
        .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
        .or(entry.links.first())
        .and_then(|l| feed_url.join(&l.href).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"));
    let stamp = entry.updated.or(entry.published).map(|d| d.to_rfc3339());
    let text_of = |t: &feed_rs::model::Text| {
        if t.content_type.to_string().contains("html") {
            html::plain_text(&t.content)
        } else {
            text::clean_whitespace(&t.content)
        }
    };
    let title = entry.title.as_ref().map(text_of).filter(|t| !t.is_empty());
    let summary = entry
        .summary
        .as_ref()
        .map(text_of)
        .filter(|s| !s.is_empty());
    let mut front = FrontMatter {
        title: title.clone().unwrap_or_default(),
        slug: String::new(),
        url: link.as_ref().map(Url::to_string),
        summary: summary.as_deref().map(|s| text::truncate(s, 500)),
        date: entry
            .published
            .or(entry.updated)
            .map(|d| d.format("%Y-%m-%d").to_string()),
        authors: entry
            .authors
            .iter()
            .filter_map(|p| p.name.as_deref().map(text::clean_whitespace))
            .filter(|n| !n.is_empty())
            .collect(),
        tags: entry
            .categories
            .iter()
            .map(|c| text::clean_whitespace(c.label.as_deref().unwrap_or(&c.term)))
            .filter(|t| !t.is_empty())
            .collect(),
    };
    let content = entry
        .content
        .as_ref()
        .and_then(|c| c.body.as_ref().map(|b| (b, c.content_type.to_string())))
        .filter(|(b, _)| !b.trim().is_empty());
    let base = link.as_ref().unwrap_or(feed_url);
    let (markdown, page) = if let Some((body, media)) = content {
        let markdown = if media.contains("html") || media.contains("xml") {
            html::fragment(body, Some(base))
        } else {
            plain_markdown(body)
        };
        (markdown, Validators::default())
    } else if let Some(link) = link.as_ref().filter(|l| same_host(feed_url, l)) {
        if let Some(known) = known.filter(|k| stamp.is_some() && k.stamp == stamp) {
            if store.has(&known.file) {
                return Ok(Step::Keep(known.clone()));
            }
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(Step::Deferred);
        }
        let validators = known
            .filter(|k| store.has(&k.file))
            .map(|k| k.page.clone())
            .unwrap_or_default();
        match fetcher.get(link.as_str(), &validators).await? {
            fetch::Fetched::NotModified => {
                let mut kept = known.cloned().unwrap_or_default();
                kept.stamp = stamp;
                return Ok(Step::Keep(kept));
            }
            fetch::Fetched::Body(body) => {
                let page = read_page(&body)?;
                if front.title.is_empty() {
                    front.title = page.meta.title.clone().unwrap_or_default();
                }
                if front.summary.is_none() {
                    front.summary = page.meta.summary.clone();
                }
                if front.authors.is_empty() {
                    front.authors = page.meta.authors.clone();
                }
                if front.tags.is_empty() {
                    front.tags = page.meta.tags.clone();
                }
                if front.date.is_none() {
                    front.date = page.meta.date.clone();
                }
                (page.markdown, body.validators)
            }
        }
    } else if let Some(summary) = entry.summary.as_ref() {
        (
            html::fragment(&summary.content, Some(base)),
            Validators::default(),
        )
    } else if let Some(link) = &link {
        return Err(format!(
            "its page is on another host ({}) than the feed, which is not fetched, and it has \
             no content or summary",
            link.host_str().unwrap_or_default()
        ));
    } else {
        return Err("the entry has no content, summary or link".into());
    };
    if front.title.is_empty() {
        return Err("the entry has no title".into());
    }
    if markdown.trim().is_empty() && front.summary.is_none() {
        return Err("no text in the entry or the page it links to".into());
    }
    Ok(Step::Fresh(Box::new(Item {
        stamp,
        page,
        front,
        markdown,
    })))
}

/// A fetched page's text and metadata; refuses what is not HTML.
fn read_page(body: &fetch::Body) -> Result<html::Page, String> {
    if let Some(media) = body.media_type.as_deref() {
        if !is_html(Some(media)) && !media.starts_with("text/") {
            return Err(format!("not a page: the server sent {media}"));
        }
    }
    let text = String::from_utf8_lossy(&body.bytes);
    Ok(html::page(&text, &body.url))
}

/// Plain text (a JSON Feed's `content_text`) as Markdown paragraphs.
fn plain_markdown(text: &str) -> String {
    let mut out = String::new();
    for para in text.split("\n\n") {
        let t = text::clean_whitespace(para);
        if !t.is_empty() {
            out.push_str(&html::fragment(
                &format!("<p>{}</p>", escape_html(&t)),
                None,
            ));
        }
    }
    out
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The most pages one sitemap source fetches (a sitemap may list 50,000).
const MAX_PAGES: usize = 5000;

async fn sync_sitemap(
    fetcher: &Fetcher,
    url: &str,
    store: &Store,
    deadline: tokio::time::Instant,
) -> SourceReport {
    let old = store.state();
    let body = match fetcher.get(url, &old.index).await {
        Ok(fetch::Fetched::NotModified) => {
            return SourceReport {
                unchanged: old.articles.len(),
                ..SourceReport::default()
            }
        }
        Ok(fetch::Fetched::Body(body)) => body,
        Err(e) => return failed(e),
    };
    let map = match sitemap::parse(&body.bytes) {
        Ok(map) => map,
        Err(e) => return failed(e),
    };
    let mut pages = map.pages;
    // An index: the sitemaps it lists, each read once (not conditionally: the index's own
    // validators already said something changed).
    for nested in map.sitemaps.iter().take(50) {
        let Ok(nested_url) = body.url.join(nested) else {
            continue;
        };
        if !same_host(&body.url, &nested_url) {
            return failed(format!(
                "{nested_url}: a sitemap on another host than the index, not fetched"
            ));
        }
        match fetcher
            .get(nested_url.as_str(), &Validators::default())
            .await
        {
            Ok(fetch::Fetched::Body(b)) => match sitemap::parse(&b.bytes) {
                Ok(m) => pages.extend(m.pages),
                Err(e) => return failed(format!("{nested_url}: {e}")),
            },
            Ok(fetch::Fetched::NotModified) => {}
            Err(e) => return failed(format!("{nested_url}: {e}")),
        }
    }
    let mut steps = Vec::with_capacity(pages.len().min(MAX_PAGES));
    let mut seen = HashSet::new();
    for listed in pages.into_iter().take(MAX_PAGES) {
        let Ok(page_url) = body.url.join(&listed.loc) else {
            continue;
        };
        let key = page_url.to_string();
        if !seen.insert(key.clone()) {
            continue;
        }
        let step = if !same_host(&body.url, &page_url) {
            Err("on another host than the sitemap, not fetched".to_string())
        } else {
            sitemap_page(
                fetcher,
                &page_url,
                listed.lastmod,
                old.articles.get(&key),
                store,
                deadline,
            )
            .await
        };
        steps.push((key, step));
    }
    apply(store, &old, body.validators, steps)
}

async fn sitemap_page(
    fetcher: &Fetcher,
    url: &Url,
    lastmod: Option<String>,
    known: Option<&Entry>,
    store: &Store,
    deadline: tokio::time::Instant,
) -> Result<Step, String> {
    let known = known.filter(|k| store.has(&k.file));
    if let Some(k) = known.filter(|k| lastmod.is_some() && k.stamp == lastmod) {
        return Ok(Step::Keep(k.clone()));
    }
    if tokio::time::Instant::now() >= deadline {
        return Ok(Step::Deferred);
    }
    let validators = known.map(|k| k.page.clone()).unwrap_or_default();
    let body = match fetcher.get(url.as_str(), &validators).await? {
        fetch::Fetched::NotModified => {
            let mut kept = known.cloned().unwrap_or_default();
            kept.stamp = lastmod;
            return Ok(Step::Keep(kept));
        }
        fetch::Fetched::Body(body) => body,
    };
    let page = read_page(&body)?;
    let title = page
        .meta
        .title
        .clone()
        .filter(|t| !t.is_empty())
        .ok_or("the page has no title")?;
    if page.markdown.trim().is_empty() {
        return Err("no text on the page".into());
    }
    let front = FrontMatter {
        title,
        slug: String::new(),
        url: Some(
            page.meta
                .canonical
                .clone()
                .unwrap_or_else(|| url.to_string()),
        ),
        summary: page.meta.summary.clone(),
        date: page
            .meta
            .date
            .clone()
            .or_else(|| lastmod.as_deref().and_then(html::day)),
        authors: page.meta.authors.clone(),
        tags: page.meta.tags.clone(),
    };
    Ok(Step::Fresh(Box::new(Item {
        stamp: lastmod,
        page: body.validators,
        front,
        markdown: page.markdown,
    })))
}

/// When each scheduled source is next due, for `refresh_minutes`.
#[derive(Debug, Default)]
pub struct Schedule {
    next: HashMap<String, tokio::time::Instant>,
}

impl Schedule {
    /// Every source with `refresh_minutes` (or `refresh_seconds`), first due one period from
    /// `now`.
    pub fn new(settings: &SourcesSettings, now: tokio::time::Instant) -> Schedule {
        Schedule {
            next: settings
                .synced()
                .filter_map(|s| s.refresh.map(|r| (s.name.clone(), now + r)))
                .collect(),
        }
    }

    /// The earliest time a source is due; `None` when no source has a schedule.
    pub fn next_due(&self) -> Option<tokio::time::Instant> {
        self.next.values().min().copied()
    }

    /// The sources due at `now`, each moved to its next period.
    pub fn take_due(
        &mut self,
        settings: &SourcesSettings,
        now: tokio::time::Instant,
    ) -> Vec<String> {
        let mut due = Vec::new();
        for s in settings.synced() {
            if let (Some(at), Some(every)) = (self.next.get_mut(&s.name), s.refresh) {
                if *at <= now {
                    due.push(s.name.clone());
                    // The config allows no period under a second; this keeps a zero from
                    // turning the schedule into a busy loop all the same.
                    *at = now + every.max(Duration::from_secs(1));
                }
            }
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    #[test]
    fn the_schedule_takes_each_source_when_due() {
        let s = Settings::from_toml(
            "[[sources]]\nname = \"a\"\nfeed = \"https://x.example/a\"\nrefresh_minutes = 30\n\
             [[sources]]\nname = \"b\"\nfeed = \"https://x.example/b\"\nrefresh_minutes = 60\n\
             [[sources]]\nname = \"c\"\nfeed = \"https://x.example/c\"\n",
            std::path::Path::new("/base"),
        )
        .unwrap();
        let start = tokio::time::Instant::now();
        let min = Duration::from_secs(60);
        let mut schedule = Schedule::new(&s.sources, start);
        assert_eq!(schedule.next_due(), Some(start + 30 * min));
        assert!(schedule.take_due(&s.sources, start + 29 * min).is_empty());
        assert_eq!(schedule.take_due(&s.sources, start + 30 * min), ["a"]);
        assert_eq!(schedule.next_due(), Some(start + 60 * min));
        assert_eq!(schedule.take_due(&s.sources, start + 60 * min), ["a", "b"]);
        assert_eq!(schedule.next_due(), Some(start + 90 * min));
        let unscheduled = Settings::from_toml("", std::path::Path::new("/base")).unwrap();
        assert_eq!(Schedule::new(&unscheduled.sources, start).next_due(), None);
    }

    #[test]
    fn slugs_come_from_the_title_else_the_address() {
        assert_eq!(slug_for("Rain Barrels & You", None), "rain-barrels-you");
        assert_eq!(
            slug_for("!!!", Some("https://x.example/posts/mulch-101/")),
            "mulch-101"
        );
        assert_eq!(
            slug_for(&"long words ".repeat(40), None).chars().count(),
            80
        );
        assert!(!slug_for(&"ab ".repeat(40), None).ends_with('-'));
    }
}
