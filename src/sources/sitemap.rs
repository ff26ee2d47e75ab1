//! sitemap.xml (the sitemaps.org protocol) read with quick-xml: the pages a `<urlset>` lists,
//! with their `lastmod`, or the sitemaps a `<sitemapindex>` lists. Pure: bytes in, lists out.

use quick_xml::events::Event;
use quick_xml::Reader;

/// A page a sitemap lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub loc: String,
    pub lastmod: Option<String>,
}

/// What a sitemap file holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sitemap {
    /// The pages of a `<urlset>`.
    pub pages: Vec<Listed>,
    /// The sitemaps of a `<sitemapindex>`.
    pub sitemaps: Vec<String>,
}

/// Reads a sitemap; the error says why it is not one ("malformed XML at byte 120: …", "not a
/// sitemap (its root element is `<rss>`)").
pub fn parse(bytes: &[u8]) -> Result<Sitemap, String> {
    let mut reader = Reader::from_reader(bytes);
    reader.config_mut().trim_text(true);
    let mut buf = Vec::new();
    let mut out = Sitemap::default();
    // Local names of the open elements.
    let mut path: Vec<String> = Vec::new();
    // The raw (still escaped) text of the open `loc`/`lastmod`.
    let mut text = String::new();
    let mut loc: Option<String> = None;
    let mut lastmod: Option<String> = None;
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| format!("malformed XML at byte {}: {e}", reader.error_position()))?;
        match event {
            Event::Start(e) => {
                let name = e.local_name().as_ref().to_string();
                if path.is_empty() && name != "urlset" && name != "sitemapindex" {
                    return Err(format!("not a sitemap (its root element is <{name}>)"));
                }
                text.clear();
                path.push(name);
            }
            Event::Empty(e) if path.is_empty() => {
                let name = e.local_name().as_ref().to_string();
                if name != "urlset" && name != "sitemapindex" {
                    return Err(format!("not a sitemap (its root element is <{name}>)"));
                }
                return Ok(out);
            }
            Event::Text(t) => text.push_str(&t.xml10_content()),
            Event::CData(t) => text.push_str(&quick_xml::escape::escape(t.xml10_content())),
            Event::GeneralRef(r) => {
                text.push('&');
                text.push_str(&r.xml10_content());
                text.push(';');
            }
            Event::End(_) => {
                let name = path.pop().unwrap_or_default();
                let parent = path.last().map(String::as_str);
                let value = || {
                    quick_xml::escape::unescape(text.trim())
                        .map(|v| v.trim().to_string())
                        .map_err(|e| format!("malformed XML in <{name}>: {e}"))
                };
                match (parent, name.as_str()) {
                    (Some("url" | "sitemap"), "loc") => loc = Some(value()?),
                    (Some("url"), "lastmod") => lastmod = Some(value()?),
                    (Some("urlset"), "url") => {
                        if let Some(loc) = loc.take().filter(|l| !l.is_empty()) {
                            out.pages.push(Listed {
                                loc,
                                lastmod: lastmod.take().filter(|l| !l.is_empty()),
                            });
                        }
                        lastmod = None;
                    }
                    (Some("sitemapindex"), "sitemap") => {
                        out.sitemaps.extend(loc.take().filter(|l| !l.is_empty()));
                    }
                    _ => {}
                }
                text.clear();
            }
            Event::Eof => {
                if path.is_empty() && out.pages.is_empty() && out.sitemaps.is_empty() {
                    // An empty document (or one of only a declaration and comments).
                    if reader.buffer_position() == 0 {
                        return Err("not a sitemap (the body is empty)".into());
                    }
                }
                if let Some(open) = path.last() {
                    return Err(format!("malformed XML: <{open}> is never closed"));
                }
                return Ok(out);
            }
            _ => {}
        }
        buf.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_and_lastmod() {
        let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <url><loc>https://a.example/one?x=1&amp;y=2</loc><lastmod>2024-05-01</lastmod></url>
  <url><loc> https://a.example/two </loc></url>
  <url><lastmod>2024-05-01</lastmod></url>
</urlset>"#;
        let s = parse(xml).unwrap();
        assert_eq!(
            s.pages,
            [
                Listed {
                    loc: "https://a.example/one?x=1&y=2".into(),
                    lastmod: Some("2024-05-01".into())
                },
                Listed {
                    loc: "https://a.example/two".into(),
                    lastmod: None
                },
            ]
        );
        assert!(s.sitemaps.is_empty());
    }

    #[test]
    fn an_index_lists_sitemaps() {
        let xml = br#"<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>https://a.example/s1.xml</loc><lastmod>2024-01-01</lastmod></sitemap>
</sitemapindex>"#;
        assert_eq!(parse(xml).unwrap().sitemaps, ["https://a.example/s1.xml"]);
    }

    #[test]
    fn other_documents_are_refused_with_the_reason() {
        let rss = parse(b"<rss><channel></channel></rss>").unwrap_err();
        assert_eq!(rss, "not a sitemap (its root element is <rss>)");
        let broken = parse(b"<urlset><url><loc>x</url></urlset>").unwrap_err();
        assert!(broken.starts_with("malformed XML"), "{broken}");
        let cut = parse(b"<urlset><url><loc>x</loc>").unwrap_err();
        assert!(cut.starts_with("malformed XML"), "{cut}");
        assert!(parse(b"").is_err());
    }
}
