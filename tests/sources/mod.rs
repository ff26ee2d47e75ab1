//! Sources kept in sync, against a local web site and local git repositories: feeds of every
//! shape, sitemaps, 304s and request counts, failures that keep the last good articles,
//! `articlebot sync`, and `/reload` fetching before it rebuilds.

pub mod samples;
pub mod site;

use std::path::Path;
use std::time::Duration;

use articlebot::config::Settings;
use articlebot::content::Article;
use articlebot::library::{Library, NoProgress, OpenMode};
use articlebot::sources::{self, Limits, SourceReport, SyncReport};

use site::{Resource, Site};

/// Settings with the given `[[sources]]` tables, relative to `dir`; index and statistics in
/// memory.
fn settings(dir: &Path, sources: &str) -> Settings {
    Settings::from_toml(
        &format!("[index]\ndir = \"memory\"\n[stats]\ndb = \"memory\"\n{sources}"),
        dir,
    )
    .unwrap()
}

fn feed_source(name: &str, url: &str) -> String {
    format!("[[sources]]\nname = \"{name}\"\nfeed = \"{url}\"\n")
}

/// Short limits, so the slow-server case takes a fraction of a second.
fn limits() -> Limits {
    Limits {
        timeout: Duration::from_millis(800),
        max_bytes: 64 * 1024,
        max_redirects: 3,
        source_budget: Duration::from_secs(60),
    }
}

async fn sync(s: &Settings) -> SyncReport {
    sources::sync_all(&s.sources, &limits()).await
}

fn library(s: &Settings) -> Library {
    Library::open(s, OpenMode::Reuse, &NoProgress).unwrap()
}

fn article<'a>(lib: &'a Library, slug: &str) -> &'a Article {
    lib.articles
        .iter()
        .find(|a| a.slug == slug)
        .unwrap_or_else(|| {
            let slugs: Vec<&str> = lib.articles.iter().map(|a| a.slug.as_str()).collect();
            panic!("no article {slug}; have {slugs:?}")
        })
}

fn blocks(a: &Article) -> Vec<String> {
    a.sections
        .iter()
        .flat_map(|s| s.blocks.iter())
        .map(|b| b.text.clone())
        .collect()
}

fn headings(a: &Article) -> Vec<String> {
    a.sections
        .iter()
        .filter_map(|s| s.heading.clone())
        .collect()
}

fn gzip(text: &str) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(text.as_bytes()).unwrap();
    e.finish().unwrap()
}

fn report<'a>(r: &'a SyncReport, name: &str) -> &'a SourceReport {
    r.sources.iter().find(|s| s.name == name).unwrap()
}

fn counts(r: &SourceReport) -> (usize, usize, usize, usize) {
    (r.added, r.changed, r.removed, r.unchanged)
}

#[tokio::test]
async fn feeds_of_every_shape_become_articles() {
    let site = Site::start().await;
    site.put(
        "/wp/feed",
        Resource::new("application/rss+xml", samples::WORDPRESS),
    );
    site.put(
        "/substack/feed",
        Resource::new("application/rss+xml", samples::SUBSTACK),
    );
    site.put("/medium/feed", Resource::new("text/xml", samples::MEDIUM));
    site.put(
        "/atom.xml",
        Resource::new("application/atom+xml", samples::ATOM),
    );
    // Served gzip-compressed, as most servers do when asked.
    let mut json = Resource::new(
        "application/feed+json",
        gzip(&samples::JSON_FEED.replace("HOST", &site.base)),
    );
    json.headers.push(("content-encoding", "gzip".into()));
    site.put("/feed.json", json);
    let dir = tempfile::tempdir().unwrap();
    let s = settings(
        dir.path(),
        &[
            feed_source("wp", &site.url("/wp/feed")),
            feed_source("substack", &site.url("/substack/feed")),
            feed_source("medium", &site.url("/medium/feed")),
            feed_source("atom", &site.url("/atom.xml")),
            feed_source("json", &site.url("/feed.json")),
        ]
        .concat(),
    );
    let r = sync(&s).await;
    assert!(r.failed().next().is_none(), "{r:#?}");
    assert_eq!(counts(report(&r, "wp")), (2, 0, 0, 0));
    assert_eq!(counts(report(&r, "json")), (2, 0, 0, 0));
    // Full content in the feeds: one request each, no page fetched.
    assert_eq!(site.total_hits(), 5);

    let lib = library(&s);
    assert!(
        lib.warnings.iter().all(|w| !w.rejected),
        "{:?}",
        lib.warnings
    );
    assert_eq!(lib.articles.len(), 7);

    let wp = article(&lib, "rain-barrels-you");
    assert_eq!(wp.title, "Rain Barrels & You");
    assert_eq!(wp.path, Path::new("wp/rain-barrels-you.md"));
    assert_eq!(
        wp.url.as_deref(),
        Some(site.url("/wp/2024/05/rain-barrels/").as_str())
    );
    assert_eq!(wp.authors, ["Maria Lopez"]);
    assert_eq!(wp.tags, ["Water", "Garden"]);
    assert_eq!(wp.date.as_deref(), Some("2024-05-01"));
    assert_eq!(
        wp.summary.as_deref(),
        Some("A rain barrel saves water for dry weeks. […]")
    );
    assert_eq!(headings(wp), ["Key takeaways"]);
    assert_eq!(
        blocks(wp),
        [
            "A 200 litre rain barrel fills after one summer storm.",
            "Mount the barrel on blocks.",
            "Read the overflow guide."
        ]
    );
    let takeaways = wp.takeaways.value();
    assert_eq!(takeaways.len(), 2);
    assert_eq!(takeaways[1].links[0].url, site.url("/wp/guide"));

    let sub = article(&lib, "why-seedlings-get-leggy");
    assert_eq!(
        blocks(sub),
        [
            "Seedlings stretch toward weak light.",
            "A leggy tomato seedling.",
            "Put a lamp five centimetres above the leaves."
        ]
    );
    assert_eq!(sub.takeaways.value().len(), 1, "a `Bottom line` section");
    assert_eq!(sub.authors, ["Jo Park"]);

    let medium = article(&lib, "pruning-roses-without-fear");
    assert_eq!(headings(medium), ["Start with dead wood"]);
    assert_eq!(
        blocks(medium),
        [
            "Cut dead canes back to healthy white pith.",
            "Open the centre of the bush for air."
        ]
    );
    assert_eq!(medium.tags, ["roses"]);

    let atom = article(&lib, "compost-basics");
    assert_eq!(atom.title, "Compost basics");
    assert_eq!(atom.authors, ["Sam Green"]);
    assert_eq!(atom.tags, ["Soil"]);
    assert_eq!(atom.date.as_deref(), Some("2024-05-30"));
    assert_eq!(
        atom.summary.as_deref(),
        Some("How to start a compost heap.")
    );
    assert_eq!(headings(atom), ["Lessons learned"]);
    assert_eq!(atom.takeaways.value()[0].text, "Turn the heap every week.");

    let seed = article(&lib, "seed-saving");
    assert_eq!(seed.authors, ["Kim Ito"]);
    assert_eq!(seed.tags, ["seeds"]);
    assert_eq!(
        blocks(seed),
        ["Dry bean seeds for a full week before storing them."]
    );
    let labels = article(&lib, "labels-that-last");
    assert_eq!(
        blocks(labels),
        [
            "Pencil outlasts marker on plastic labels.",
            "Write the date too."
        ]
    );

    // What was fetched is plain article files: a start without the network reads them.
    drop(site);
    let again = library(&s);
    assert_eq!(again.articles.len(), 7);
}

#[tokio::test]
async fn unchanged_feeds_cost_a_304_and_edits_and_removals_show_up() {
    let site = Site::start().await;
    site.put(
        "/wp/feed",
        Resource::new("application/rss+xml", samples::WORDPRESS).etag("v1"),
    );
    let dir = tempfile::tempdir().unwrap();
    let s = settings(dir.path(), &feed_source("wp", &site.url("/wp/feed")));
    assert_eq!(counts(report(&sync(&s).await, "wp")), (2, 0, 0, 0));

    site.reset_hits();
    let r = sync(&s).await;
    assert_eq!(counts(report(&r, "wp")), (0, 0, 0, 2));
    assert_eq!(report(&r, "wp").requests, 1);
    assert_eq!(
        site.total_hits(),
        1,
        "one conditional request, answered 304"
    );

    // One entry edited, the other removed.
    let edited = samples::WORDPRESS
        .replace("one summer storm", "one autumn storm")
        .replace(
            &samples::WORDPRESS[samples::WORDPRESS
                .find("  <item>\n    <title>Mulch")
                .unwrap()
                ..samples::WORDPRESS.find("</channel>").unwrap()],
            "",
        );
    site.put(
        "/wp/feed",
        Resource::new("application/rss+xml", edited).etag("v2"),
    );
    site.reset_hits();
    let r = sync(&s).await;
    assert_eq!(counts(report(&r, "wp")), (0, 1, 1, 0), "{r:#?}");
    assert_eq!(site.total_hits(), 1);
    let lib = library(&s);
    assert_eq!(lib.articles.len(), 1);
    assert_eq!(
        blocks(article(&lib, "rain-barrels-you"))[0],
        "A 200 litre rain barrel fills after one autumn storm."
    );
}

#[tokio::test]
async fn entries_without_content_are_read_from_their_page_once() {
    let site = Site::start().await;
    site.put(
        "/ghost/rss/",
        Resource::new("application/rss+xml", samples::LINKS_ONLY),
    );
    site.put(
        "/ghost/watering/",
        Resource::html(&samples::page(
            "Watering at dawn",
            "<p>Water before the sun is high.</p><h2>Takeaways</h2><ul><li>Water early.</li></ul>",
        ))
        .etag("p1"),
    );
    let dir = tempfile::tempdir().unwrap();
    let s = settings(dir.path(), &feed_source("ghost", &site.url("/ghost/rss/")));
    let r = sync(&s).await;
    assert_eq!(counts(report(&r, "ghost")), (1, 0, 0, 0), "{r:#?}");
    assert_eq!(site.hits("/ghost/watering/"), 1);
    let lib = library(&s);
    let a = article(&lib, "watering-at-dawn");
    assert_eq!(blocks(a), ["Water before the sun is high.", "Water early."]);
    assert_eq!(a.authors, ["Ana Ruiz"], "from the page's metadata");
    assert_eq!(a.tags, ["water"]);
    assert_eq!(a.takeaways.value().len(), 1);

    // The feed has no validators: it is fetched again, but the entry's date is unchanged,
    // so its page is not.
    let r = sync(&s).await;
    assert_eq!(counts(report(&r, "ghost")), (0, 0, 0, 1));
    assert_eq!(site.hits("/ghost/watering/"), 1);
    assert_eq!(site.hits("/ghost/rss/"), 2);
}

#[tokio::test]
async fn a_sitemap_of_pages_fetches_only_what_changed() {
    let site = Site::start().await;
    let put_map = |pages: &[(&str, Option<&str>)], tag: &str| {
        site.put(
            "/sitemap.xml",
            Resource::new("application/xml", samples::sitemap(pages)).etag(tag),
        )
    };
    put_map(
        &[
            ("/guide/soil", Some("2024-01-01")),
            ("/guide/light", Some("2024-01-01")),
            ("/guide/frost", None),
        ],
        "m1",
    );
    for (path, title, text) in [
        ("/guide/soil", "Soil tests", "Test the soil every spring."),
        (
            "/guide/light",
            "Light levels",
            "Tomatoes want eight hours of sun.",
        ),
        (
            "/guide/frost",
            "Frost dates",
            "Plant out after the last frost.",
        ),
    ] {
        site.put(
            path,
            Resource::html(&samples::page(title, &format!("<p>{text}</p>"))).etag("p1"),
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let s = settings(
        dir.path(),
        &format!(
            "[[sources]]\nname = \"guide\"\nsitemap = \"{}\"\n",
            site.url("/sitemap.xml")
        ),
    );
    let r = sync(&s).await;
    assert_eq!(counts(report(&r, "guide")), (3, 0, 0, 0), "{r:#?}");
    assert_eq!(site.total_hits(), 4);
    let lib = library(&s);
    let soil = article(&lib, "soil-tests");
    assert_eq!(blocks(soil), ["Test the soil every spring."]);
    assert_eq!(soil.url.as_deref(), Some(site.url("/guide/soil").as_str()));
    assert_eq!(soil.date.as_deref(), Some("2024-06-01"));
    assert_eq!(soil.summary.as_deref(), Some("About Soil tests."));

    // Unchanged sitemap: one 304.
    site.reset_hits();
    assert_eq!(counts(report(&sync(&s).await, "guide")), (0, 0, 0, 3));
    assert_eq!(site.total_hits(), 1);

    // One page edited (new lastmod), one removed; the page without lastmod is asked
    // conditionally (304), the unchanged one not at all.
    site.put(
        "/guide/light",
        Resource::html(&samples::page(
            "Light levels",
            "<p>Peppers want ten hours.</p>",
        ))
        .etag("p2"),
    );
    put_map(
        &[("/guide/light", Some("2024-02-01")), ("/guide/frost", None)],
        "m2",
    );
    site.reset_hits();
    let r = sync(&s).await;
    assert_eq!(counts(report(&r, "guide")), (0, 1, 1, 1), "{r:#?}");
    assert_eq!(site.hits("/guide/light"), 1);
    assert_eq!(site.hits("/guide/frost"), 1);
    assert_eq!(site.hits("/guide/soil"), 0);
    assert_eq!(site.total_hits(), 3);
    let lib = library(&s);
    let slugs: Vec<&str> = lib.articles.iter().map(|a| a.slug.as_str()).collect();
    assert_eq!(slugs, ["frost-dates", "light-levels"]);
    assert_eq!(
        blocks(article(&lib, "light-levels")),
        ["Peppers want ten hours."]
    );
}

#[tokio::test]
async fn a_failing_source_keeps_its_last_good_articles_and_says_why() {
    let site = Site::start().await;
    site.put(
        "/good",
        Resource::new("application/rss+xml", samples::WORDPRESS),
    );
    site.put("/a", Resource::new("application/rss+xml", samples::MEDIUM));
    let dir = tempfile::tempdir().unwrap();
    let s = settings(
        dir.path(),
        &[
            feed_source("good", &site.url("/good")),
            feed_source("a", &site.url("/a")),
        ]
        .concat(),
    );
    let r = sync(&s).await;
    assert!(r.failed().next().is_none(), "{r:#?}");
    assert_eq!(library(&s).articles.len(), 3);

    let mut slow = Resource::new("application/rss+xml", samples::MEDIUM);
    slow.delay = Some(Duration::from_secs(3));
    let mut gzip = Resource::new("application/rss+xml", b"\x1f\x8b\x08\x00".to_vec());
    gzip.headers.push(("content-encoding", "gzip".into()));
    let mut brotli = Resource::new("application/rss+xml", samples::MEDIUM);
    brotli.headers.push(("content-encoding", "br".into()));
    let mut broken = Resource::new("text/plain", "");
    broken.status = 500;
    let cases: Vec<(Resource, &str)> = vec![
        (broken, "HTTP 500 Internal Server Error"),
        (slow, "timed out after 0.8 s"),
        (
            Resource::new("application/rss+xml", vec![b'x'; 100 * 1024]),
            "body over 65536 bytes",
        ),
        (Resource::redirect("/a"), "more than 3 redirects"),
        (
            Resource::new(
                "application/rss+xml",
                "<rss><channel><item><title>x</channel>",
            ),
            "not a feed",
        ),
        (
            Resource::html("<html><body><p>Welcome!</p></body></html>"),
            "not a feed: the server sent text/html",
        ),
        (gzip, "broken gzip body"),
        (brotli, "the server sent a br body, which was not asked for"),
    ];
    for (resource, why) in cases {
        site.put("/a", resource);
        let r = sync(&s).await;
        let failed: Vec<&SourceReport> = r.failed().collect();
        assert_eq!(failed.len(), 1, "{why}: {r:#?}");
        assert_eq!(failed[0].name, "a");
        let reason = failed[0].error.as_deref().unwrap();
        assert!(reason.contains(why), "expected {why:?} in {reason:?}");
        assert_eq!(counts(report(&r, "good")).3, 2);
        // The failing source still serves what it had.
        let lib = library(&s);
        assert_eq!(lib.articles.len(), 3, "{why}");
        article(&lib, "pruning-roses-without-fear");
    }
    // A source that never synced and cannot be reached: reported, and the rest is served.
    let s2 = settings(
        dir.path(),
        &[
            feed_source("good", &site.url("/good")),
            feed_source("gone", "http://127.0.0.1:9/feed"),
        ]
        .concat(),
    );
    let r = sync(&s2).await;
    let reason = report(&r, "gone").error.clone().unwrap();
    assert!(reason.starts_with("cannot connect"), "{reason}");
    let lib = library(&s2);
    assert_eq!(lib.articles.len(), 2);
    assert!(
        lib.warnings
            .iter()
            .any(|w| w.path == Path::new("gone") && w.reason.contains("not synced yet")),
        "{:?}",
        lib.warnings
    );
}

/// Runs git in `dir`, failing the test with git's message.
fn git(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=T", "-c", "user.email=t@example.org"])
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn a_git_source_is_cloned_then_pulled() {
    let dir = tempfile::tempdir().unwrap();
    let bare = dir.path().join("guides.git");
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    git(dir.path(), &["init", "--quiet", "--bare", "guides.git"]);
    git(&work, &["init", "--quiet", "-b", "main"]);
    std::fs::write(work.join("pots.md"), "# Pots\n\nClay pots breathe.\n").unwrap();
    std::fs::create_dir_all(work.join("notes")).unwrap();
    std::fs::write(
        work.join("notes/ash.txt"),
        "Wood ash\n\nAsh sweetens soil.\n",
    )
    .unwrap();
    std::fs::write(work.join("README.rst"), "not an article").unwrap();
    git(&work, &["add", "."]);
    git(&work, &["commit", "--quiet", "-m", "one"]);
    git(&work, &["push", "--quiet", bare.to_str().unwrap(), "main"]);

    let s = settings(
        dir.path(),
        &format!(
            "[[sources]]\nname = \"guides\"\ngit = \"{}\"\nbranch = \"main\"\n",
            bare.display()
        ),
    );
    let r = sync(&s).await;
    assert_eq!(counts(report(&r, "guides")), (2, 0, 0, 0), "{r:#?}");
    let lib = library(&s);
    let paths: Vec<&Path> = lib.articles.iter().map(|a| a.path.as_path()).collect();
    assert_eq!(
        paths,
        [
            Path::new("guides/notes/ash.txt"),
            Path::new("guides/pots.md")
        ]
    );

    // Unchanged.
    assert_eq!(counts(report(&sync(&s).await, "guides")), (0, 0, 0, 2));

    // Edited, removed, added.
    std::fs::write(work.join("pots.md"), "# Pots\n\nClay pots dry out fast.\n").unwrap();
    std::fs::remove_file(work.join("notes/ash.txt")).unwrap();
    std::fs::write(work.join("trays.md"), "# Trays\n\nTrays catch water.\n").unwrap();
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "--quiet", "-m", "two"]);
    git(&work, &["push", "--quiet", bare.to_str().unwrap(), "main"]);
    let r = sync(&s).await;
    assert_eq!(counts(report(&r, "guides")), (1, 1, 1, 0), "{r:#?}");
    let lib = library(&s);
    let pots = lib.articles.iter().find(|a| a.title == "Pots").unwrap();
    assert_eq!(blocks(pots), ["Clay pots dry out fast."]);
    assert_eq!(lib.articles.len(), 2);

    // A branch that does not exist fails with git's reason and keeps the checkout.
    let bad = settings(
        dir.path(),
        &format!(
            "[[sources]]\nname = \"guides\"\ngit = \"{}\"\nbranch = \"nope\"\n",
            bare.display()
        ),
    );
    let r = sync(&bad).await;
    let reason = report(&r, "guides").error.clone().unwrap();
    assert!(reason.starts_with("git: "), "{reason}");
    assert_eq!(library(&bad).articles.len(), 2);
}

#[test]
fn the_sync_command_exits_1_when_a_source_failed() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let site = runtime.block_on(Site::start());
    site.put(
        "/wp/feed",
        Resource::new("application/rss+xml", samples::WORDPRESS),
    );
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[index]\ndir = \"memory\"\n[stats]\ndb = \"memory\"\n{}",
            feed_source("wp", &site.url("/wp/feed"))
        ),
    )
    .unwrap();
    let (code, out, err) = crate::util::run(dir.path(), &["sync"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        out,
        "wp: 2 added, 0 changed, 0 removed, 0 unchanged (1 request(s))\n"
    );
    let (code, out, _) = crate::util::run(
        dir.path(),
        &["ask", "how", "big", "is", "a", "rain", "barrel"],
    );
    assert_eq!(code, 0);
    assert!(out.contains("200 litre"), "{out}");

    site.remove("/wp/feed");
    let (code, out, _) = crate::util::run(dir.path(), &["--json", "sync"]);
    assert_eq!(code, 1, "{out}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["sources"][0]["name"], "wp");
    assert_eq!(json["sources"][0]["error"], "HTTP 404 Not Found");
    // The last good articles are still answered from.
    let (code, out, _) = crate::util::run(dir.path(), &["summary", "rain", "barrels"]);
    assert_eq!(code, 0, "{out}");
    drop(runtime);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_fetches_the_sources_first() {
    let site = Site::start().await;
    site.put(
        "/feed.json",
        Resource::new("application/feed+json", samples::JSON_FEED),
    );
    let dir = tempfile::tempdir().unwrap();
    let s = settings(dir.path(), &feed_source("json", &site.url("/feed.json")));
    let lib = library(&s);
    assert!(lib.articles.is_empty(), "nothing synced yet");
    let service = articlebot::service::Service::new(s, lib).unwrap();

    let report = service.reload("test").await;
    assert_eq!(report.added, ["labels-that-last", "seed-saving"]);
    assert_eq!(report.sources.len(), 1);
    assert_eq!(report.sources[0].added, 2);

    site.put("/feed.json", Resource::html("<p>down for maintenance</p>"));
    let report = service.reload("test").await;
    assert_eq!(report.articles, 2, "the last good articles stay");
    let text = articlebot::render::reload_report(&report);
    assert!(
        text.contains("source json failed, its last good articles stay: not a feed"),
        "{text}"
    );
}

#[tokio::test]
async fn pages_on_other_hosts_are_not_fetched() {
    let site = Site::start().await;
    // The same server under another name: a different host for the source.
    let elsewhere = site.base.replace("127.0.0.1", "localhost");
    site.put(
        "/rss",
        Resource::new(
            "application/rss+xml",
            samples::LINKS_ONLY.replace("HOST/ghost/watering/", &format!("{elsewhere}/page")),
        ),
    );
    site.put(
        "/page",
        Resource::html(&samples::page("Watering at dawn", "<p>Secret.</p>")),
    );
    site.put(
        "/sitemap.xml",
        Resource::new(
            "application/xml",
            samples::sitemap(&[("/page", None)]).replace("HOST", &elsewhere),
        ),
    );
    let dir = tempfile::tempdir().unwrap();
    let s = settings(
        dir.path(),
        &format!(
            "{}[[sources]]\nname = \"map\"\nsitemap = \"{}\"\n",
            feed_source("feed", &site.url("/rss")),
            site.url("/sitemap.xml")
        ),
    );
    let r = sync(&s).await;
    let feed = report(&r, "feed").error.clone().unwrap();
    assert!(
        feed.contains("its page is on another host (localhost)"),
        "{feed}"
    );
    let map = report(&r, "map").error.clone().unwrap();
    assert!(map.contains("on another host than the sitemap"), "{map}");
    assert_eq!(site.hits("/page"), 0);
    assert!(library(&s).articles.is_empty());
}

#[tokio::test]
async fn pages_past_the_time_budget_wait_for_the_next_sync() {
    let site = Site::start().await;
    site.put(
        "/sitemap.xml",
        Resource::new(
            "application/xml",
            samples::sitemap(&[("/a", None), ("/b", None)]),
        )
        .etag("m1"),
    );
    site.put(
        "/a",
        Resource::html(&samples::page("Page A", "<p>Alpha text.</p>")),
    );
    site.put(
        "/b",
        Resource::html(&samples::page("Page B", "<p>Beta text.</p>")),
    );
    let dir = tempfile::tempdir().unwrap();
    let s = settings(
        dir.path(),
        &format!(
            "[[sources]]\nname = \"map\"\nsitemap = \"{}\"\n",
            site.url("/sitemap.xml")
        ),
    );
    let spent = Limits {
        source_budget: Duration::ZERO,
        ..limits()
    };
    let r = sources::sync_all(&s.sources, &spent).await;
    let map = report(&r, "map");
    assert_eq!((map.added, map.deferred, map.error.clone()), (0, 2, None));
    assert_eq!(site.hits("/a") + site.hits("/b"), 0);
    assert_eq!(
        articlebot::render::sync_report(&r),
        "map: 0 added, 0 changed, 0 removed, 0 unchanged (1 request(s)); 2 page(s) left for \
         the next sync (time budget spent)\n"
    );
    let r = sync(&s).await;
    assert_eq!(counts(report(&r, "map")), (2, 0, 0, 0));
    assert_eq!(library(&s).articles.len(), 2);
}

/// `[sync]` sets the bounds a sync keeps: on `/reload`, a body over `max_bytes`, a redirect
/// past `max_redirects` and a server slower than `timeout_seconds` each fail their own source,
/// named in the report, while the same feed served plainly syncs; with the defaults the big
/// body and the redirect are fine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sync_limits_come_from_the_config() {
    let site = Site::start().await;
    let padded = format!("{}{}", samples::JSON_FEED, " ".repeat(3000));
    site.put("/big.json", Resource::new("application/feed+json", padded));
    site.put(
        "/feed.json",
        Resource::new("application/feed+json", samples::JSON_FEED),
    );
    site.put("/moved.json", Resource::redirect(&site.url("/feed.json")));
    let mut slow = Resource::new("application/feed+json", samples::JSON_FEED);
    slow.delay = Some(Duration::from_secs(3));
    site.put("/slow.json", slow);
    let sources = [
        feed_source("big", &site.url("/big.json")),
        feed_source("moved", &site.url("/moved.json")),
        feed_source("slow", &site.url("/slow.json")),
        feed_source("plain", &site.url("/feed.json")),
    ]
    .concat();
    let dir = tempfile::tempdir().unwrap();
    let s = settings(
        dir.path(),
        &format!("[sync]\nmax_bytes = 2048\nmax_redirects = 0\ntimeout_seconds = 1\n{sources}"),
    );
    let lib = library(&s);
    let service = articlebot::service::Service::new(s, lib).unwrap();
    let reloaded = service.reload("test").await;
    let error = |name: &str| {
        reloaded
            .sources
            .iter()
            .find(|r| r.name == name)
            .unwrap_or_else(|| panic!("no report for {name}: {reloaded:#?}"))
            .error
            .clone()
    };
    assert_eq!(error("big").as_deref(), Some("body over 2048 bytes"));
    let moved = error("moved").unwrap_or_default();
    assert!(moved.contains("more than 0 redirects"), "{moved}");
    assert_eq!(error("slow").as_deref(), Some("timed out after 1 s"));
    assert_eq!(error("plain"), None);
    assert_eq!(reloaded.added, ["labels-that-last", "seed-saving"]);
    let text = articlebot::render::reload_report(&reloaded);
    assert!(
        text.contains("source big failed, its last good articles stay: body over 2048 bytes"),
        "{text}"
    );

    // The defaults (8 MiB, 5 redirects) take the same big body and the redirect.
    let dir = tempfile::tempdir().unwrap();
    let d = settings(
        dir.path(),
        &[
            feed_source("big", &site.url("/big.json")),
            feed_source("moved", &site.url("/moved.json")),
        ]
        .concat(),
    );
    let r = sources::sync_all(&d.sources, &Limits::of(&d.sources.sync)).await;
    assert!(r.failed().next().is_none(), "{r:#?}");
    assert_eq!(counts(report(&r, "big")), (2, 0, 0, 0));
}
