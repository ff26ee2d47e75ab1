//! Samples in the shapes platforms publish (written for these tests; `HOST` is the local
//! site's address).

/// WordPress: RSS 2.0 with `content:encoded`, `dc:creator`, categories, a share box.
pub const WORDPRESS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom">
<channel>
  <title>Garden Notes</title>
  <atom:link href="HOST/wp/feed" rel="self" type="application/rss+xml" />
  <link>HOST/wp/</link>
  <description>Notes from the garden</description>
  <generator>https://wordpress.org/?v=6.5</generator>
  <item>
    <title>Rain Barrels &#038; You</title>
    <link>HOST/wp/2024/05/rain-barrels/</link>
    <dc:creator><![CDATA[Maria Lopez]]></dc:creator>
    <pubDate>Wed, 01 May 2024 08:00:00 +0000</pubDate>
    <category><![CDATA[Water]]></category>
    <category><![CDATA[Garden]]></category>
    <guid isPermaLink="false">HOST/wp/?p=101</guid>
    <description><![CDATA[A rain barrel saves water for dry weeks. [&#8230;]]]></description>
    <content:encoded><![CDATA[<p>A 200 litre rain barrel fills after one summer storm.</p>
<h2>Key takeaways</h2>
<ul><li>Mount the barrel on blocks.</li><li>Read the <a href="/wp/guide">overflow guide</a>.</li></ul>
<div class="sharedaddy sd-sharing-enabled"><h3 class="sd-title">Share this:</h3><ul><li><a href="HOST/share?x">Twitter</a></li></ul></div>
<script>trackVisit()</script>]]></content:encoded>
  </item>
  <item>
    <title>Mulch in autumn</title>
    <link>HOST/wp/2024/10/mulch/</link>
    <dc:creator><![CDATA[Maria Lopez]]></dc:creator>
    <pubDate>Tue, 01 Oct 2024 08:00:00 +0000</pubDate>
    <guid isPermaLink="false">HOST/wp/?p=102</guid>
    <content:encoded><![CDATA[<p>Mulch keeps the soil warm through the first frosts.</p>]]></content:encoded>
  </item>
</channel>
</rss>"#;

/// Substack: RSS with a subscription widget and captioned images in the content.
pub const SUBSTACK: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:content="http://purl.org/rss/1.0/modules/content/" version="2.0">
<channel>
  <title><![CDATA[The Weekly Sprout]]></title>
  <link>HOST/substack</link>
  <item>
    <title><![CDATA[Why seedlings get leggy]]></title>
    <description><![CDATA[Light, not water, is usually the reason.]]></description>
    <link>HOST/substack/p/leggy-seedlings</link>
    <guid isPermaLink="false">HOST/substack/p/leggy-seedlings</guid>
    <dc:creator><![CDATA[Jo Park]]></dc:creator>
    <pubDate>Mon, 03 Jun 2024 12:00:00 GMT</pubDate>
    <content:encoded><![CDATA[<p>Seedlings stretch toward weak light.</p><div class="captioned-image-container"><figure><img src="HOST/img.png"><figcaption>A leggy tomato seedling.</figcaption></figure></div><div class="subscription-widget-wrap"><div class="subscription-widget"><p>Subscribe to get new posts.</p><form><input type="email"></form></div></div><h3>Bottom line</h3><p>Put a lamp five centimetres above the leaves.</p>]]></content:encoded>
  </item>
</channel>
</rss>"#;

/// Medium: RSS whose content ends with the "originally published" line and a tracking pixel.
pub const MEDIUM: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:atom="http://www.w3.org/2005/Atom" version="2.0">
<channel>
  <title><![CDATA[Stories by Lee on Medium]]></title>
  <link>HOST/medium/@lee</link>
  <item>
    <title><![CDATA[Pruning roses without fear]]></title>
    <link>HOST/medium/@lee/pruning-roses-3f2a</link>
    <guid isPermaLink="false">HOST/medium/p/3f2a</guid>
    <category><![CDATA[roses]]></category>
    <dc:creator><![CDATA[Lee Chen]]></dc:creator>
    <pubDate>Fri, 15 Mar 2024 09:30:00 GMT</pubDate>
    <atom:updated>2024-03-15T09:30:00.000Z</atom:updated>
    <content:encoded><![CDATA[<h3>Start with dead wood</h3><p>Cut dead canes back to healthy white pith.</p><figure><img alt="" src="HOST/medium/rose.jpeg" /></figure><p>Open the centre of the bush for air.</p><img src="HOST/medium/_/stat?event=post.clientViewed" width="1" height="1" alt="">]]></content:encoded>
  </item>
</channel>
</rss>"#;

/// Atom with xhtml content.
pub const ATOM: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Soil Matters</title>
  <id>urn:uuid:60a76c80-d399-11d9-b91C-0003939e0af6</id>
  <updated>2024-06-01T10:00:00Z</updated>
  <link href="HOST/atom/"/>
  <entry>
    <title type="html">Compost &lt;em&gt;basics&lt;/em&gt;</title>
    <link rel="alternate" href="HOST/atom/compost"/>
    <id>urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a</id>
    <updated>2024-06-01T10:00:00Z</updated>
    <published>2024-05-30T10:00:00Z</published>
    <author><name>Sam Green</name></author>
    <category term="soil" label="Soil"/>
    <summary>How to start a compost heap.</summary>
    <content type="xhtml">
      <div xmlns="http://www.w3.org/1999/xhtml">
        <p>Compost needs <em>green</em> and brown matter in equal parts.</p>
        <h2>Lessons learned</h2>
        <ul><li>Turn the heap every week.</li></ul>
      </div>
    </content>
  </entry>
</feed>"#;

/// JSON Feed 1.1: one item with HTML content, one with plain text.
pub const JSON_FEED: &str = r#"{
  "version": "https://jsonfeed.org/version/1.1",
  "title": "Seed Library",
  "home_page_url": "HOST/json/",
  "items": [
    {
      "id": "seed-1",
      "url": "HOST/json/seed-saving",
      "title": "Seed saving",
      "content_html": "<p>Dry bean seeds for a full week before storing them.</p>",
      "date_published": "2024-07-01T00:00:00Z",
      "authors": [{"name": "Kim Ito"}],
      "tags": ["seeds"]
    },
    {
      "id": "seed-2",
      "url": "HOST/json/labels",
      "title": "Labels that last",
      "content_text": "Pencil outlasts marker on plastic labels.\n\nWrite the date too."
    }
  ]
}"#;

/// An RSS feed without content: each item links to its page.
pub const LINKS_ONLY: &str = r#"<?xml version="1.0"?>
<rss version="2.0"><channel><title>Ghost-ish</title><link>HOST/ghost/</link>
<item><title>Watering at dawn</title><link>HOST/ghost/watering/</link>
<guid>ghost-1</guid><pubDate>Sat, 01 Jun 2024 06:00:00 GMT</pubDate></item>
</channel></rss>"#;

/// A blog page with the usual furniture around the post.
pub fn page(title: &str, body: &str) -> String {
    format!(
        r##"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>{title} – Greenhouse</title>
<meta property="og:title" content="{title}">
<meta name="author" content="Ana Ruiz">
<meta property="article:published_time" content="2024-06-01T06:00:00+00:00">
<meta property="article:tag" content="water">
<meta name="description" content="About {title}.">
<style>body {{ color: green }}</style><script>window.x = 1;</script>
</head><body>
<a class="skip-link" href="#main">Skip to content</a>
<header class="site-header"><nav class="main-nav"><ul><li><a href="/">Home</a></li><li><a href="/about">About us</a></li></ul></nav></header>
<main id="main"><article class="post">
<header><h1>{title}</h1><p class="byline">by Ana Ruiz</p></header>
{body}
<footer class="post-footer"><a href="/tag/water">water</a></footer>
</article>
<aside class="sidebar"><h2>Popular posts</h2><ul><li>Other post</li></ul></aside></main>
<footer class="site-footer"><p>© 2024 Greenhouse. All rights reserved.</p></footer>
<!-- analytics -->
</body></html>"##
    )
}

/// A sitemap of `paths` with their `lastmod`.
pub fn sitemap(pages: &[(&str, Option<&str>)]) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    for (path, lastmod) in pages {
        out.push_str(&format!("  <url><loc>HOST{path}</loc>"));
        if let Some(l) = lastmod {
            out.push_str(&format!("<lastmod>{l}</lastmod>"));
        }
        out.push_str("</url>\n");
    }
    out.push_str("</urlset>\n");
    out
}
