//! Markdown articles, parsed with pulldown-cmark: headings make sections, paragraphs and list
//! items make blocks, links keep their URLs (http(s) only: others stay as text). The first `#`
//! heading is the title when no front matter gives one.

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use super::{Block, BlockKind, Link, Parsed, Section};
use crate::text;

pub(super) fn parse(body: &str) -> Parsed {
    let mut opts = Options::empty();
    opts.insert(Options::ENABLE_TABLES);
    opts.insert(Options::ENABLE_STRIKETHROUGH);
    let parser = Parser::new_ext(body, opts);

    let mut out = Parsed::default();
    let mut sections = vec![Section::intro()];
    let mut buf = String::new();
    let mut links: Vec<Link> = Vec::new();
    // An open link: its destination and where its text starts in `buf`.
    let mut open_link: Option<(String, usize)> = None;
    let mut heading: Option<(u8, String)> = None;
    let mut item_depth = 0usize;
    let mut in_code = false;
    let mut in_image = false;

    let flush = |buf: &mut String, links: &mut Vec<Link>, kind, sections: &mut Vec<Section>| {
        let text = text::clean_whitespace(buf);
        buf.clear();
        let links = std::mem::take(links);
        if !text.is_empty() {
            sections
                .last_mut()
                .expect("there is always a section")
                .blocks
                .push(Block { kind, text, links });
        }
    };

    for event in parser {
        match event {
            Event::Start(Tag::Heading { level, .. }) => {
                flush(&mut buf, &mut links, block_kind(item_depth), &mut sections);
                heading = Some((heading_level(level), String::new()));
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some((level, h)) = heading.take() {
                    let h = text::clean_whitespace(&h);
                    links.clear();
                    if level == 1 && out.title.is_none() && sections.len() == 1 {
                        out.title = Some(h);
                    } else if !h.is_empty() {
                        sections.push(Section::headed(h, level));
                    }
                }
            }
            Event::Start(Tag::Item) => {
                flush(&mut buf, &mut links, block_kind(item_depth), &mut sections);
                item_depth += 1;
            }
            Event::End(TagEnd::Item) => {
                flush(&mut buf, &mut links, BlockKind::Item, &mut sections);
                item_depth = item_depth.saturating_sub(1);
            }
            Event::End(TagEnd::Paragraph) if item_depth == 0 => {
                flush(&mut buf, &mut links, BlockKind::Paragraph, &mut sections);
            }
            Event::End(TagEnd::Paragraph) => buf.push(' '),
            Event::End(TagEnd::TableCell) => buf.push_str(" | "),
            Event::End(TagEnd::TableRow | TagEnd::TableHead) => {
                let row = buf.trim().trim_end_matches('|').to_string();
                buf.clear();
                buf.push_str(&row);
                flush(&mut buf, &mut links, BlockKind::Paragraph, &mut sections);
            }
            Event::Start(Tag::CodeBlock(_)) => in_code = true,
            Event::End(TagEnd::CodeBlock) => in_code = false,
            Event::Start(Tag::Image { .. }) => in_image = true,
            Event::End(TagEnd::Image) => in_image = false,
            Event::Start(Tag::Link { dest_url, .. }) => {
                let target = match &heading {
                    Some((_, h)) => h.len(),
                    None => buf.len(),
                };
                open_link = Some((dest_url.to_string(), target));
            }
            Event::End(TagEnd::Link) => {
                if let Some((url, start)) = open_link.take() {
                    let source = match &heading {
                        Some((_, h)) => h.as_str(),
                        None => buf.as_str(),
                    };
                    let label = text::clean_whitespace(source.get(start..).unwrap_or(""));
                    // A link that is not http(s) (javascript:, data:, a relative path) or
                    // too long keeps its text and loses its target.
                    if heading.is_none() && super::check_url(&url).is_ok() {
                        links.push(Link {
                            text: if label.is_empty() { url.clone() } else { label },
                            url,
                        });
                    }
                }
            }
            Event::Text(t) | Event::Code(t) => {
                if in_code || in_image {
                    continue;
                }
                match &mut heading {
                    Some((_, h)) => h.push_str(&t),
                    None => buf.push_str(&t),
                }
            }
            Event::SoftBreak | Event::HardBreak => match &mut heading {
                Some((_, h)) => h.push(' '),
                None => buf.push(' '),
            },
            _ => {}
        }
    }
    flush(&mut buf, &mut links, block_kind(item_depth), &mut sections);
    out.sections = sections
        .into_iter()
        .filter(|s| s.heading.is_some() || !s.blocks.is_empty())
        .collect();
    out
}

fn block_kind(item_depth: usize) -> BlockKind {
    if item_depth > 0 {
        BlockKind::Item
    } else {
        BlockKind::Paragraph
    }
}

fn heading_level(level: HeadingLevel) -> u8 {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_blocks_links() {
        let p = parse(
            "# The Title\n\nIntro with a [link](https://a.example/x).\n\n## Part *one*\n\n\
             - first item\n- second [b](https://b.example)\n  continued\n\n\
             ```\ncode is skipped\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n## Key Takeaways\n\nDone.\n",
        );
        assert_eq!(p.title.as_deref(), Some("The Title"));
        assert_eq!(p.sections.len(), 3);
        let intro = &p.sections[0];
        assert_eq!(intro.heading, None);
        assert_eq!(intro.blocks[0].text, "Intro with a link.");
        assert_eq!(intro.blocks[0].links[0].url, "https://a.example/x");
        assert_eq!(intro.blocks[0].links[0].text, "link");
        let one = &p.sections[1];
        assert_eq!(one.heading.as_deref(), Some("Part one"));
        assert_eq!(one.level, 2);
        let texts: Vec<_> = one.blocks.iter().map(|b| b.text.as_str()).collect();
        assert_eq!(
            texts,
            ["first item", "second b continued", "a | b", "1 | 2"]
        );
        assert_eq!(one.blocks[0].kind, BlockKind::Item);
        assert_eq!(one.blocks[1].links[0].text, "b");
        assert_eq!(p.sections[2].blocks[0].text, "Done.");
    }

    #[test]
    fn nested_items_are_separate_blocks() {
        let p = parse("- outer\n  - inner one\n  - inner two\n- last\n");
        let texts: Vec<_> = p.sections[0]
            .blocks
            .iter()
            .map(|b| b.text.as_str())
            .collect();
        assert_eq!(texts, ["outer", "inner one", "inner two", "last"]);
    }

    #[test]
    fn second_h1_is_a_section() {
        let p = parse("# A\n\ntext\n\n# B\n\nmore\n");
        assert_eq!(p.title.as_deref(), Some("A"));
        assert_eq!(p.sections[1].heading.as_deref(), Some("B"));
    }

    #[test]
    fn links_other_than_http_keep_their_text_only() {
        let long = format!("https://a.example/{}", "x".repeat(600));
        let p = parse(&format!(
            "[click](javascript:alert(1)) [data](data:text/html,hi) [rel](../x.md) \
             <javascript:alert(2)> [ok](HTTPS://b.example/y) [long]({long})\n"
        ));
        let block = &p.sections[0].blocks[0];
        assert_eq!(block.text, "click data rel javascript:alert(2) ok long");
        let urls: Vec<_> = block.links.iter().map(|l| l.url.as_str()).collect();
        assert_eq!(urls, ["HTTPS://b.example/y"]);
    }
}
