//! Plain-text articles, the shape newsletter and blog exports arrive in: the first non-empty
//! line is the title, the next the standfirst, then paragraphs (one per line, or separated by
//! blank lines with hard-wrapped lines inside). A short line without final punctuation that is
//! followed by a paragraph is a section heading; `-`, `*` and `•` lines are list items.

use super::{Block, BlockKind, Link, Parsed, Section};
use crate::text;

/// A heading has at most this many words.
const HEADING_MAX_WORDS: usize = 10;
const HEADING_MAX_CHARS: usize = 90;

#[derive(Debug)]
enum Line<'a> {
    Blank,
    Text(&'a str),
}

pub(super) fn parse(body: &str) -> Parsed {
    let lines: Vec<Line> = body
        .lines()
        .map(|l| {
            let t = l.trim();
            if t.is_empty() || is_separator(t) {
                Line::Blank
            } else {
                Line::Text(t)
            }
        })
        .collect();
    let mut out = Parsed::default();
    let mut texts = lines.iter().enumerate().filter_map(|(i, l)| match l {
        Line::Text(t) => Some((i, *t)),
        Line::Blank => None,
    });
    let Some((title_at, title)) = texts.next() else {
        return out;
    };
    out.title = Some(title.to_string());
    let mut sections = vec![Section::intro()];
    let mut i = title_at + 1;
    // The standfirst: the next non-empty line (or wrapped block), unless it is a heading.
    while matches!(lines.get(i), Some(Line::Blank)) {
        i += 1;
    }
    // Exports either separate paragraphs with blank lines or put one paragraph per line. In
    // the first style a heading stands alone between blank lines.
    let blank_style = lines[i..]
        .windows(3)
        .any(|w| matches!(w, [Line::Text(_), Line::Blank, Line::Text(_)]));
    let standalone = |i: usize| {
        (i == 0 || matches!(lines[i - 1], Line::Blank))
            && matches!(lines.get(i + 1), None | Some(Line::Blank))
    };
    // A line break inside a block is deliberate (it ends a heading, a byline or a paragraph)
    // when the next line starts a sentence and its first word would have fitted on this line:
    // a wrapping editor breaks a line only when the next word does not fit. Newsletters put
    // a heading directly above its paragraph this way.
    let wrap = wrap_width(&lines);
    let deliberate_break = |i: usize, t: &str| match lines.get(i + 1) {
        Some(Line::Text(next)) => {
            starts_sentence(next) && t.chars().count() + 1 + first_word_chars(next) <= wrap
        }
        _ => false,
    };
    let mut pending: Vec<&str> = Vec::new();
    let mut standfirst_open = true;
    while i < lines.len() {
        match lines[i] {
            Line::Blank => {
                flush(
                    &mut pending,
                    &mut sections,
                    &mut out.standfirst,
                    &mut standfirst_open,
                );
            }
            Line::Text(t) => {
                if is_list_item(t) {
                    flush(
                        &mut pending,
                        &mut sections,
                        &mut out.standfirst,
                        &mut standfirst_open,
                    );
                    let item = t
                        .trim_start_matches(|c: char| "-*•".contains(c) || c.is_ascii_digit())
                        .trim_start_matches(['.', ')'])
                        .trim();
                    push_block(&mut sections, BlockKind::Item, item);
                    standfirst_open = false;
                } else if !standfirst_open
                    && pending.is_empty()
                    && (!blank_style || standalone(i) || deliberate_break(i, t))
                    && is_heading(t)
                    && followed_by_paragraph(&lines, i)
                {
                    flush(
                        &mut pending,
                        &mut sections,
                        &mut out.standfirst,
                        &mut standfirst_open,
                    );
                    sections.push(Section::headed(text::clean_whitespace(t), 2));
                } else {
                    // A line that ends a sentence ends its paragraph, as does a deliberate
                    // break; others are wrapped.
                    pending.push(t);
                    if ends_sentence(t) || deliberate_break(i, t) {
                        flush(
                            &mut pending,
                            &mut sections,
                            &mut out.standfirst,
                            &mut standfirst_open,
                        );
                    }
                }
            }
        }
        i += 1;
    }
    flush(
        &mut pending,
        &mut sections,
        &mut out.standfirst,
        &mut standfirst_open,
    );
    out.sections = sections
        .into_iter()
        .filter(|s| s.heading.is_some() || !s.blocks.is_empty())
        .collect();
    if out.sections.iter().all(|s| s.heading.is_none()) {
        out.unread_heading = unread_heading(&lines, title_at, wrap);
    }
    out
}

/// In a file that yielded no section: the first of at least two lines that look like
/// headings all the same (short, alone on their line, above a paragraph) but were read as
/// text, most often for a final `?` or `:`. `check` reports it.
fn unread_heading(lines: &[Line], title_at: usize, wrap: usize) -> Option<(usize, String)> {
    let text_at = |from: usize| {
        lines[from..].iter().enumerate().find_map(|(k, l)| match l {
            Line::Text(t) => Some((from + k, *t)),
            Line::Blank => None,
        })
    };
    // The standfirst is not a heading.
    let (standfirst_at, _) = text_at(title_at + 1)?;
    let mut found = (standfirst_at + 1..lines.len()).filter_map(|i| {
        let Line::Text(t) = lines[i] else {
            return None;
        };
        let after_break = match lines[i - 1] {
            Line::Blank => true,
            Line::Text(prev) => ends_sentence(prev),
        };
        let short = (1..=HEADING_MAX_WORDS).contains(&text::word_count(t))
            && t.chars().count() <= HEADING_MAX_CHARS
            && !is_list_item(t)
            && !t.ends_with(['.', '!', ',', ';']);
        let (next_at, next) = text_at(i + 1)?;
        let paragraph = text::word_count(next) > HEADING_MAX_WORDS || ends_sentence(next);
        let deliberate = next_at > i + 1 || t.chars().count() + 1 + first_word_chars(next) <= wrap;
        (after_break && short && paragraph && deliberate).then(|| (i, t.to_string()))
    });
    let first = found.next()?;
    found.next().map(|_| first)
}

/// A line of punctuation only (`-----`, `* * *`, `=====`): a visual break, read as a blank.
fn is_separator(line: &str) -> bool {
    line.chars().filter(|c| !c.is_whitespace()).count() >= 2
        && line
            .chars()
            .all(|c| c.is_whitespace() || "-_=*~#+.·•".contains(c))
}

fn flush(
    pending: &mut Vec<&str>,
    sections: &mut [Section],
    standfirst: &mut Option<String>,
    standfirst_open: &mut bool,
) {
    if pending.is_empty() {
        return;
    }
    let text = text::clean_whitespace(&pending.join(" "));
    pending.clear();
    // A byline or dateline is kept as text but is not the standfirst.
    if *standfirst_open && !is_metadata(&text) {
        *standfirst = Some(text.clone());
        *standfirst_open = false;
    }
    push_block(sections, BlockKind::Paragraph, &text);
}

fn push_block(sections: &mut [Section], kind: BlockKind, raw: &str) {
    let text = text::clean_whitespace(raw);
    if text.is_empty() {
        return;
    }
    let links = find_links(&text);
    sections
        .last_mut()
        .expect("there is always a section")
        .blocks
        .push(Block { kind, text, links });
}

/// An estimate of the wrap width of a hard-wrapped file, in characters, that errs low: the
/// 90th percentile of the lengths of lines of several words (most lines of a wrapped file are
/// close to the width; a line of one word, such as a long URL, or a stray unwrapped line says
/// nothing about it). Erring low keeps wrapped lines from passing for deliberate breaks; it
/// can only miss a deliberate break of a line nearly as long as the width, and headings are
/// short.
fn wrap_width(lines: &[Line]) -> usize {
    let mut lens: Vec<usize> = lines
        .iter()
        .filter_map(|l| match l {
            Line::Text(t) if t.contains(char::is_whitespace) => Some(t.chars().count()),
            _ => None,
        })
        .collect();
    if lens.is_empty() {
        return 0;
    }
    lens.sort_unstable();
    lens[(lens.len() * 9 / 10).min(lens.len() - 1)]
}

fn first_word_chars(line: &str) -> usize {
    line.split_whitespace()
        .next()
        .map_or(0, |w| w.chars().count())
}

/// Whether `line` can start a paragraph after a heading: a capital, a digit, an opening quote
/// or bracket, or a list item. A wrapped line's continuation usually starts in lower case.
fn starts_sentence(line: &str) -> bool {
    is_list_item(line)
        || line.chars().next().is_some_and(|c| {
            c.is_uppercase() || c.is_ascii_digit() || "\"'(\u{201c}\u{2018}[$£€".contains(c)
        })
}

fn ends_sentence(line: &str) -> bool {
    let t = line.trim_end_matches(['"', '\'', ')', '\u{201d}', '\u{2019}']);
    t.ends_with(['.', '?', '!', ':'])
}

fn is_heading(line: &str) -> bool {
    let words = text::word_count(line);
    (1..=HEADING_MAX_WORDS).contains(&words)
        && line.chars().count() <= HEADING_MAX_CHARS
        && !line.ends_with(['.', '?', '!', ',', ';', ':'])
        && !is_list_item(line)
        && !is_metadata(line)
}

/// A byline or dateline ("By Ada Lovelace", "Issue 42 · March 2025", "Tools | Reviews"):
/// parts joined by a middle dot or a bar, or "By " and a few names.
fn is_metadata(line: &str) -> bool {
    line.contains(" · ")
        || line.contains(" | ")
        || line.strip_prefix("By ").is_some_and(|names| {
            text::word_count(names) <= 6
                && names.starts_with(char::is_uppercase)
                && !ends_sentence(line)
        })
}

fn followed_by_paragraph(lines: &[Line], i: usize) -> bool {
    let next = lines[i + 1..].iter().find_map(|l| match l {
        Line::Text(t) => Some(*t),
        Line::Blank => None,
    });
    next.is_some_and(|t| is_list_item(t) || !is_heading(t))
}

fn is_list_item(line: &str) -> bool {
    if let Some(rest) = line
        .strip_prefix("- ")
        .or_else(|| line.strip_prefix("* "))
        .or_else(|| line.strip_prefix("• "))
    {
        return !rest.trim().is_empty();
    }
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    digits > 0 && digits < 3 && {
        let rest = &line[digits..];
        rest.starts_with(". ") || rest.starts_with(") ")
    }
}

/// Finds `http://` and `https://` URLs in running text.
pub(super) fn find_links(text: &str) -> Vec<Link> {
    let mut links = Vec::new();
    let mut rest = text;
    let mut base = 0;
    while let Some(pos) = rest
        .find("http://")
        .into_iter()
        .chain(rest.find("https://"))
        .min()
    {
        let start = base + pos;
        let tail = &text[start..];
        let len = tail
            .find(|c: char| c.is_whitespace() || "<>\"'`".contains(c))
            .unwrap_or(tail.len());
        let url = tail[..len].trim_end_matches(['.', ',', ';', ':', ')', ']', '!', '?']);
        if super::check_url(url).is_ok() {
            links.push(Link {
                text: url.to_string(),
                url: url.to_string(),
            });
        }
        let advance = start + len.max(1);
        base = advance;
        rest = &text[advance..];
    }
    links
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &Section) -> Vec<&str> {
        s.blocks.iter().map(|b| b.text.as_str()).collect()
    }

    #[test]
    fn one_paragraph_per_line_with_takeaway_heading() {
        let p = parse(
            "Stablecoins Explained\nWhy pegged tokens matter.\nFirst paragraph here.\n\
             Second paragraph here.\nThe Takeaway for Crypto Innovators\n\
             Build on audited rails, see https://ex.example/audit.\n",
        );
        assert_eq!(p.title.as_deref(), Some("Stablecoins Explained"));
        assert_eq!(p.standfirst.as_deref(), Some("Why pegged tokens matter."));
        assert_eq!(
            texts(&p.sections[0]),
            [
                "Why pegged tokens matter.",
                "First paragraph here.",
                "Second paragraph here."
            ]
        );
        let last = &p.sections[1];
        assert_eq!(
            last.heading.as_deref(),
            Some("The Takeaway for Crypto Innovators")
        );
        assert_eq!(last.blocks.len(), 1);
        assert_eq!(last.blocks[0].links[0].url, "https://ex.example/audit");
    }

    #[test]
    fn blank_line_paragraphs_with_wrapping() {
        let p = parse(
            "Title\n\nA standfirst that\nwraps over lines.\n\nBody text that is\nwrapped too.\n\n\
             Next Steps\n\n- one\n- two\n",
        );
        assert_eq!(
            p.standfirst.as_deref(),
            Some("A standfirst that wraps over lines.")
        );
        assert_eq!(
            texts(&p.sections[0]),
            [
                "A standfirst that wraps over lines.",
                "Body text that is wrapped too."
            ]
        );
        assert_eq!(p.sections[1].heading.as_deref(), Some("Next Steps"));
        assert_eq!(texts(&p.sections[1]), ["one", "two"]);
        assert_eq!(p.sections[1].blocks[0].kind, BlockKind::Item);
    }

    #[test]
    fn short_last_line_is_not_a_heading() {
        let p = parse("Title\nStandfirst.\nBody.\nThe end\n");
        assert_eq!(p.sections.len(), 1);
        assert_eq!(texts(&p.sections[0]), ["Standfirst.", "Body.", "The end"]);
    }

    #[test]
    fn links_in_text() {
        let l = find_links("see (https://a.example/x), and http://b.example.");
        let urls: Vec<_> = l.iter().map(|l| l.url.as_str()).collect();
        assert_eq!(urls, ["https://a.example/x", "http://b.example"]);
    }
}
