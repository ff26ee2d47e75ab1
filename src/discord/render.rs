//! Answers as Discord messages: embeds that fit every Discord limit, Discord Markdown escaped,
//! matched terms in bold, and nothing that can ping anyone.
//!
//! Rendering goes through a plain [`Card`] (our own embed) so that the limits can be checked
//! and enforced before the serenity builder, whose fields are private, is made.

use std::fmt::Write;

use serenity::builder::{
    CreateAllowedMentions, CreateEmbed, CreateEmbedFooter, CreateInteractionResponseMessage,
};

use crate::answer::{
    Answer, ArticleCard, ArticleRef, AskAnswer, AskResult, Highlight, NotFound, RelatedAnswer,
    SearchAnswer, SummaryAnswer, SummarySource, TakeawayItem, TakeawaysAnswer,
};
use crate::conversation::{Intent, Response, Turn};
use crate::render::{mark, Style};

/// Discord's limits, in characters.
pub mod limits {
    pub const CONTENT: usize = 2000;
    pub const TITLE: usize = 256;
    pub const DESCRIPTION: usize = 4096;
    pub const FIELD_NAME: usize = 256;
    pub const FIELD_VALUE: usize = 1024;
    pub const FIELDS: usize = 25;
    pub const FOOTER: usize = 2048;
    pub const EMBED_TOTAL: usize = 6000;
    pub const EMBEDS: usize = 10;
    /// An autocomplete choice's name and value, and the number of choices.
    pub const CHOICE: usize = 100;
    pub const CHOICES: usize = 25;
}

const ACCENT: u32 = 0x5865F2;
const MUTED: u32 = 0x99AAB5;
/// Curated answers' colour (Discord's green).
const PINNED: u32 = 0x57F287;

/// No pings at all: `{"parse": []}` and no user or role lists. Put on every message.
pub fn no_pings() -> CreateAllowedMentions {
    CreateAllowedMentions::new()
}

/// The one ping an answer pointed at a member (`target`) may carry: that member, nobody else
/// (no `@everyone`, roles, or the replied-to user). The embeds below it still cannot ping.
pub fn point_to(user: u64) -> CreateAllowedMentions {
    CreateAllowedMentions::new().users([serenity::model::id::UserId::new(user)])
}

/// The line above an answer pointed at a member.
pub fn pointer(user: u64) -> String {
    format!("<@{user}>, this may help")
}

/// An embed as plain data.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Card {
    pub title: String,
    pub url: Option<String>,
    pub description: String,
    /// (name, value, inline)
    pub fields: Vec<(String, String, bool)>,
    pub footer: Option<String>,
    pub color: u32,
}

impl Card {
    /// Characters Discord counts towards the 6000 total.
    pub fn total_chars(&self) -> usize {
        chars(&self.title)
            + chars(&self.description)
            + self
                .fields
                .iter()
                .map(|(n, v, _)| chars(n) + chars(v))
                .sum::<usize>()
            + self.footer.as_deref().map_or(0, chars)
    }

    /// The serenity builder.
    pub fn to_embed(&self) -> CreateEmbed {
        let mut e = CreateEmbed::new().colour(self.color);
        if !self.title.is_empty() {
            e = e.title(self.title.clone());
        }
        if let Some(u) = &self.url {
            e = e.url(u.clone());
        }
        if !self.description.is_empty() {
            e = e.description(self.description.clone());
        }
        for (n, v, inline) in &self.fields {
            e = e.field(n.clone(), v.clone(), *inline);
        }
        if let Some(f) = &self.footer {
            e = e.footer(CreateEmbedFooter::new(f.clone()));
        }
        e
    }

    /// Cuts every part to its own limit (a safety net: the renderers already stay inside).
    fn clamp(&mut self) {
        self.title = cut_plain(&self.title, limits::TITLE);
        self.description = cut_plain(&self.description, limits::DESCRIPTION);
        self.fields.truncate(limits::FIELDS);
        for (n, v, _) in &mut self.fields {
            *n = cut_plain(n, limits::FIELD_NAME);
            *v = cut_plain(v, limits::FIELD_VALUE);
        }
        self.fields
            .retain(|(n, v, _)| !n.is_empty() && !v.is_empty());
        if let Some(f) = &mut self.footer {
            *f = cut_plain(f, limits::FOOTER);
        }
    }
}

/// A rendered answer: embeds that fit together in one message.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rendered {
    pub cards: Vec<Card>,
}

impl Rendered {
    fn one(card: Card) -> Rendered {
        Rendered::new(vec![card])
    }

    /// Enforces the per-part limits, at most 10 embeds and 6000 characters in total (the
    /// descriptions, then the fields, give way).
    pub fn new(mut cards: Vec<Card>) -> Rendered {
        cards.truncate(limits::EMBEDS);
        for c in &mut cards {
            c.clamp();
        }
        let total = |cards: &[Card]| cards.iter().map(Card::total_chars).sum::<usize>();
        while total(&cards) > limits::EMBED_TOTAL {
            let over = total(&cards) - limits::EMBED_TOTAL;
            // Shrink the longest description, or drop the last field of the longest card.
            let Some(i) = (0..cards.len()).max_by_key(|&i| cards[i].total_chars()) else {
                break;
            };
            let c = &mut cards[i];
            let d = chars(&c.description);
            if d > 200 {
                c.description = cut_plain(&c.description, d.saturating_sub(over).max(200));
            } else if !c.fields.is_empty() {
                c.fields.pop();
            } else {
                c.description = cut_plain(&c.description, d.saturating_sub(over));
                c.footer = None;
                if total(&cards) > limits::EMBED_TOTAL {
                    cards.pop();
                }
            }
        }
        Rendered { cards }
    }

    pub fn embeds(&self) -> Vec<CreateEmbed> {
        self.cards.iter().map(Card::to_embed).collect()
    }

    /// An interaction-response message with these embeds and no pings.
    pub fn message(&self) -> CreateInteractionResponseMessage {
        CreateInteractionResponseMessage::new()
            .embeds(self.embeds())
            .allowed_mentions(no_pings())
    }
}

/// Characters as Discord counts them.
pub fn chars(s: &str) -> usize {
    s.chars().count()
}

/// Cuts already-rendered text to `max` characters at a word boundary, with "…". Used as a
/// safety net and for text without structure (titles, names, footers).
pub fn cut_plain(s: &str, max: usize) -> String {
    if chars(s) <= max {
        return s.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let cut = crate::text::truncate(s, max);
    if chars(&cut) <= max {
        return close_marks(cut);
    }
    let end: String = s.chars().take(max.saturating_sub(1)).collect();
    close_marks(format!("{end}…"))
}

/// A cut in the middle of `**bold**` would leave a dangling mark: drop the last unpaired one.
fn close_marks(s: String) -> String {
    if s.matches("**").count() % 2 == 1 {
        if let Some(i) = s.rfind("**") {
            let mut t = s;
            t.replace_range(i..i + 2, "");
            return t;
        }
    }
    s
}

/// Renders text that came from an article or a user so it shows exactly as written and can
/// never ping: Discord Markdown is escaped and mentions are broken with a zero-width space.
pub fn inert(text: &str) -> String {
    escape(text, &[]).0
}

/// Breaks `@everyone`, `@here`, `<@user>`, `<@&role>` and `<#channel>` with a zero-width space
/// after the `@` or `#`, so Discord shows them as text.
pub fn defuse(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, c) in text.char_indices() {
        out.push(c);
        if breaks_mention(text, i, c) {
            out.push('\u{200B}');
        }
    }
    out
}

/// Whether the character `c` at byte `i` of `text` starts a mention that needs breaking.
fn breaks_mention(text: &str, i: usize, c: char) -> bool {
    let prev_lt = text[..i].ends_with('<');
    let rest = &text[i + c.len_utf8()..];
    match c {
        '@' => {
            prev_lt
                || starts_with_ignore_case(rest, "everyone")
                || starts_with_ignore_case(rest, "here")
        }
        '#' => prev_lt,
        _ => false,
    }
}

fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len()
        && s.is_char_boundary(prefix.len())
        && s[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// Escapes Discord Markdown in `text` and moves `highlights` along with it.
fn escape(text: &str, highlights: &[Highlight]) -> (String, Vec<Highlight>) {
    let mut out = String::with_capacity(text.len() + 8);
    // new_pos[old byte] for every char boundary (and the end).
    let mut new_pos = vec![0usize; text.len() + 1];
    // `>` (quote) and `#` (heading) only mean something at the start of a line.
    let mut line_start = true;
    for (i, c) in text.char_indices() {
        new_pos[i] = out.len();
        let special = match c {
            '\\' | '*' | '_' | '~' | '`' | '|' | '[' | ']' => true,
            '>' | '#' => line_start,
            _ => false,
        };
        if special {
            out.push('\\');
        }
        out.push(c);
        if breaks_mention(text, i, c) {
            out.push('\u{200B}');
        }
        if c == '\n' {
            line_start = true;
        } else if !c.is_whitespace() {
            line_start = false;
        }
    }
    new_pos[text.len()] = out.len();
    let moved = highlights
        .iter()
        .filter(|&&(s, e)| {
            s < e && e <= text.len() && text.is_char_boundary(s) && text.is_char_boundary(e)
        })
        .map(|&(s, e)| (new_pos[s], new_pos[e]))
        .collect();
    (out, moved)
}

/// Article text as Discord Markdown: escaped, matched terms in bold, mentions inert.
pub fn marked(text: &str, highlights: &[Highlight]) -> String {
    let (escaped, moved) = escape(text, highlights);
    mark(&escaped, &moved, Style::Markdown)
}

/// Article text within `max` characters: cut at a sentence or word boundary with "…" and, when
/// cut and there is room, a link to the full article.
pub fn fit(text: &str, highlights: &[Highlight], max: usize, link: Option<&str>) -> String {
    let more = link
        .filter(|u| !u.contains(')') && !u.contains(' '))
        .map(|u| format!(" [Read more]({u})"))
        .filter(|m| chars(m) * 3 <= max)
        .unwrap_or_default();
    let full = marked(text, highlights);
    if chars(&full) <= max {
        // Already cut upstream (an excerpt, a summary): still point to the whole article.
        if text.ends_with('…') && chars(&full) + chars(&more) <= max {
            return full + &more;
        }
        return full;
    }
    let room = max - chars(&more);
    let mut budget = chars(text).min(room);
    while budget > 1 {
        let cut = crate::text::truncate(text, budget);
        let prefix = cut.strip_suffix('…').unwrap_or(&cut);
        let hl: Vec<Highlight> = if text.starts_with(prefix) {
            highlights
                .iter()
                .copied()
                .filter(|&(_, e)| e <= prefix.len())
                .collect()
        } else {
            Vec::new()
        };
        let body = marked(prefix, &hl);
        let body = format!("{}…", body.trim_end());
        let over = chars(&body).saturating_sub(room);
        if over == 0 {
            return body + &more;
        }
        budget = budget.saturating_sub(over.max(1));
    }
    "…".to_string() + &more
}

/// `[title](url)` with the title inert, or just the title.
fn link(title: &str, url: Option<&str>) -> String {
    let t = inert(title);
    match url {
        Some(u) if !u.contains(')') && !u.contains(' ') => format!("[{t}]({u})"),
        _ => t,
    }
}

fn refs(items: &[ArticleRef], max: usize) -> String {
    let mut out = String::new();
    for r in items {
        let line = format!("• {}\n", link(&r.title, r.url.as_deref()));
        if chars(&out) + chars(&line) > max {
            break;
        }
        out.push_str(&line);
    }
    out.trim_end().to_string()
}

/// The embeds for an answer.
pub fn answer(answer: &Answer) -> Rendered {
    match answer {
        Answer::Ask(a) => ask(a),
        Answer::Search(s) => search(s),
        Answer::Summary(s) => summary(s),
        Answer::Takeaways(t) => Rendered::one(takeaways(t)),
        Answer::Article(c) => card(c),
        Answer::Related(r) => related(r),
        Answer::NotFound(nf) => not_found(nf),
    }
}

fn ask(a: &AskAnswer) -> Rendered {
    let mut c = Card {
        color: ACCENT,
        footer: Some(cut_plain(
            &defuse(&format!("Asked: {}", a.question)),
            limits::FOOTER,
        )),
        ..Card::default()
    };
    let mut desc = String::new();
    if let Some(note) = &a.note {
        let _ = writeln!(desc, "*{}*\n", inert(note));
    }
    if a.results.is_empty() {
        c.title = "No answer in the articles".into();
        c.color = MUTED;
        if a.note.is_none() {
            desc.push_str("Nothing in the articles answers that.\n");
        }
        if !a.suggestions.is_empty() {
            desc.push_str("\nTry one of these articles:\n");
            desc.push_str(&refs(&a.suggestions, 1500));
        }
        c.description = desc;
        return Rendered::one(c);
    }
    let top = &a.results[0];
    c.title = cut_plain(&inert(&top.title), limits::TITLE);
    c.url = top.url.clone();
    // Share the description between the excerpts.
    let heads: Vec<String> = a
        .results
        .iter()
        .enumerate()
        .map(|(i, r)| {
            // Passages of the top article (the embed's title) name just their section.
            let name = match &r.section {
                Some(s) if r.slug == top.slug => s.clone(),
                Some(s) => format!("{} › {}", r.title, s),
                None => r.title.clone(),
            };
            format!("**{}.** {}\n", i + 1, link(&name, r.url.as_deref()))
        })
        .collect();
    let fixed = chars(&desc) + heads.iter().map(|h| chars(h) + 2).sum::<usize>();
    let share = (limits::DESCRIPTION.min(3000).saturating_sub(fixed)) / a.results.len().max(1);
    for (r, head) in a.results.iter().zip(&heads) {
        desc.push_str(head);
        let full = r.article_url.as_deref().or(r.url.as_deref());
        desc.push_str(&fit(&r.excerpt, &r.highlights, share.max(40), full));
        desc.push_str("\n\n");
    }
    c.description = desc.trim_end().to_string();
    if let Some(t) = &a.takeaways {
        if !t.takeaways.is_empty() {
            c.fields.push((
                cut_plain(
                    &format!("Takeaways: {}", inert(&t.title)),
                    limits::FIELD_NAME,
                ),
                takeaway_list(&t.takeaways, limits::FIELD_VALUE, t.url.as_deref()),
                false,
            ));
        }
    }
    let mut others: Vec<ArticleRef> = Vec::new();
    for r in &a.results[1..] {
        if r.slug != top.slug && !others.iter().any(|o| o.slug == r.slug) {
            others.push(ArticleRef {
                slug: r.slug.clone(),
                title: r.title.clone(),
                url: r.article_url.clone().or(r.url.clone()),
            });
        }
    }
    for s in &a.suggestions {
        if s.slug != top.slug && !others.iter().any(|o| o.slug == s.slug) {
            others.push(s.clone());
        }
    }
    if !others.is_empty() {
        c.fields.push((
            "Other matching articles".into(),
            refs(&others, limits::FIELD_VALUE),
            false,
        ));
    }
    Rendered::one(c)
}

fn takeaway_list(items: &[TakeawayItem], max: usize, url: Option<&str>) -> String {
    let more = url
        .filter(|u| !u.contains(')') && !u.contains(' '))
        .map(|u| format!("[More in the article]({u})"))
        .filter(|m| chars(m) * 3 <= max);
    let room = max - more.as_deref().map_or(0, |m| chars(m) + 1);
    let mut out = String::new();
    let mut cut = false;
    for item in items {
        let mut line = format!("• {}", inert(&item.text));
        for l in &item.links {
            if !l.url.contains(')') && !l.url.contains(' ') {
                let _ = write!(line, " ([{}]({}))", inert(&l.text), l.url);
            }
        }
        line.push('\n');
        if chars(&out) + chars(&line) > room {
            let left = room.saturating_sub(chars(&out));
            if left > 60 {
                out.push_str(&fit(&item.text, &[], left - 3, None));
                out.push('\n');
            }
            cut = true;
            break;
        }
        out.push_str(&line);
    }
    if cut {
        if let Some(m) = more {
            out.push_str(&m);
        }
    }
    out.trim_end().to_string()
}

fn search(s: &SearchAnswer) -> Rendered {
    let tag = s
        .tag
        .as_deref()
        .map(|t| format!(" [tag: {}]", inert(t)))
        .unwrap_or_default();
    let mut c = Card {
        title: cut_plain(&format!("Search: {}{tag}", inert(&s.query)), limits::TITLE),
        color: ACCENT,
        ..Card::default()
    };
    let mut desc = String::new();
    if let Some(note) = &s.note {
        let _ = writeln!(desc, "*{}*\n", inert(note));
    }
    if s.results.is_empty() && s.note.is_none() {
        desc.push_str("No article matches.");
    }
    let share = 3500 / s.results.len().max(1);
    for (i, h) in s.results.iter().enumerate() {
        let n = (s.page.max(1) - 1) * s.per_page + i + 1;
        let head = format!("**{n}.** {}\n", link(&h.title, h.url.as_deref()));
        let budget = share.saturating_sub(chars(&head) + 2).max(40);
        desc.push_str(&head);
        desc.push_str(&fit(&h.snippet, &h.highlights, budget, h.url.as_deref()));
        desc.push_str("\n\n");
    }
    c.description = desc.trim_end().to_string();
    if s.total > 0 && s.page <= s.pages {
        c.footer = Some(format!(
            "Page {} of {} · {} article(s)",
            s.page, s.pages, s.total
        ));
    } else if s.total > 0 {
        c.footer = Some(format!("{} article(s)", s.total));
    }
    Rendered::one(c)
}

fn summary(s: &SummaryAnswer) -> Rendered {
    let source = match s.source {
        SummarySource::FrontMatter => "Summary from the article",
        SummarySource::Standfirst => "Summary: the article's opening",
        SummarySource::Extractive => "Summary: key sentences of the article",
    };
    Rendered::one(Card {
        title: cut_plain(&inert(&s.title), limits::TITLE),
        url: s.url.clone(),
        description: fit(&s.summary, &[], limits::DESCRIPTION, s.url.as_deref()),
        footer: Some(source.into()),
        color: ACCENT,
        ..Card::default()
    })
}

fn takeaways(t: &TakeawaysAnswer) -> Card {
    let description = if t.takeaways.is_empty() {
        "This article has no takeaway section.".to_string()
    } else {
        takeaway_list(&t.takeaways, limits::DESCRIPTION, t.url.as_deref())
    };
    Card {
        title: cut_plain(&inert(&format!("Takeaways: {}", t.title)), limits::TITLE),
        url: t.url.clone(),
        description,
        color: ACCENT,
        ..Card::default()
    }
}

fn card(c: &ArticleCard) -> Rendered {
    let mut card = Card {
        title: cut_plain(&inert(&c.title), limits::TITLE),
        url: c.url.clone(),
        description: fit(&c.summary, &[], 2000, c.url.as_deref()),
        color: ACCENT,
        ..Card::default()
    };
    let list = |items: &[String]| {
        cut_plain(
            &items
                .iter()
                .map(|s| inert(s))
                .collect::<Vec<_>>()
                .join(", "),
            limits::FIELD_VALUE,
        )
    };
    if !c.tags.is_empty() {
        card.fields.push(("Tags".into(), list(&c.tags), true));
    }
    if let Some(d) = &c.date {
        card.fields.push(("Date".into(), inert(d), true));
    }
    if !c.authors.is_empty() {
        card.fields.push(("By".into(), list(&c.authors), true));
    }
    card.fields
        .push(("Length".into(), format!("{} words", c.words), true));
    if !c.sections.is_empty() {
        card.fields
            .push(("Sections".into(), list(&c.sections), false));
    }
    if !c.related.is_empty() {
        card.fields.push((
            "Related articles".into(),
            refs(&c.related, limits::FIELD_VALUE),
            false,
        ));
    }
    let mut footer = format!("slug: {}", c.slug);
    if let Some(m) = &c.matched {
        let _ = write!(footer, " · {m}");
    }
    card.footer = Some(defuse(&footer));
    Rendered::one(card)
}

fn related(r: &RelatedAnswer) -> Rendered {
    let items: Vec<ArticleRef> = r
        .related
        .iter()
        .map(|i| ArticleRef {
            slug: i.slug.clone(),
            title: i.title.clone(),
            url: i.url.clone(),
        })
        .collect();
    let description = if items.is_empty() {
        "Nothing similar in the collection.".to_string()
    } else {
        refs(&items, limits::DESCRIPTION)
    };
    Rendered::one(Card {
        title: cut_plain(&inert(&format!("Related to {}", r.title)), limits::TITLE),
        url: r.url.clone(),
        description,
        color: ACCENT,
        ..Card::default()
    })
}

fn not_found(nf: &NotFound) -> Rendered {
    let mut description = String::new();
    if nf.suggestions.is_empty() {
        description.push_str("Try `/search` to find it.");
    } else {
        description.push_str("Did you mean:\n");
        description.push_str(&refs(&nf.suggestions, 3000));
    }
    Rendered::one(Card {
        title: cut_plain(
            &inert(&format!("No article called “{}”", nf.query)),
            limits::TITLE,
        ),
        description,
        color: MUTED,
        ..Card::default()
    })
}

/// The passage a server's moderators pinned to questions like the one asked (`/curate`): its
/// own card, put before the engine's answer, saying who chose it.
pub fn curated(passage: &AskResult, note: Option<&str>) -> Card {
    let name = match &passage.section {
        Some(s) => format!("{} › {}", passage.title, s),
        None => passage.title.clone(),
    };
    let full = passage.article_url.as_deref().or(passage.url.as_deref());
    let footer = match note {
        Some(n) => format!("Chosen by the moderators · {n}"),
        None => "Chosen by the moderators for questions like this one".into(),
    };
    Card {
        title: cut_plain(
            &format!("Chosen by the moderators: {}", inert(&name)),
            limits::TITLE,
        ),
        url: passage.url.clone(),
        description: fit(&passage.excerpt, &passage.highlights, 1500, full),
        footer: Some(cut_plain(&defuse(&footer), limits::FOOTER)),
        color: PINNED,
        ..Card::default()
    }
}

/// The summary and the takeaways of an article together (what `/discuss` posts).
pub fn discussion(summary: &SummaryAnswer, t: Option<&TakeawaysAnswer>) -> Rendered {
    let mut cards = self::summary(summary).cards;
    if let Some(t) = t {
        cards.push(takeaways(t));
    }
    Rendered::new(cards)
}

/// A conversation turn: the command layer's answers as [`answer`] renders them, the answers
/// made by the conversation layer (facts, lists, short replies) as one card.
pub fn turn(turn: &Turn) -> Rendered {
    let muted = |description: String| Card {
        description,
        color: MUTED,
        ..Card::default()
    };
    match &turn.response {
        Response::Answer(Answer::Ask(a))
            if matches!(turn.intent, Intent::More | Intent::Section) =>
        {
            if a.results.is_empty() {
                return Rendered::one(muted(inert(a.note.as_deref().unwrap_or_default())));
            }
            let mut r = ask(a);
            if let Some(c) = r.cards.first_mut() {
                c.footer = Some("Say \u{201c}tell me more\u{201d} for the next passage.".into());
            }
            r
        }
        Response::Answer(a) => answer(a),
        Response::Facts(f) => {
            let description = match (&f.url, f.fact) {
                (Some(u), "link") => link(&f.title, Some(u)),
                _ => inert(&f.text),
            };
            Rendered::one(Card {
                title: cut_plain(&inert(&f.title), limits::TITLE),
                url: f.url.clone(),
                description,
                color: ACCENT,
                ..Card::default()
            })
        }
        Response::List(l) => {
            let heading = l.plain().lines().next().unwrap_or_default().to_string();
            if l.items.is_empty() {
                return Rendered::one(muted(inert(&heading)));
            }
            let mut description = String::new();
            for (i, it) in l.items.iter().enumerate() {
                let mut line = format!("**{}.** {}", i + 1, link(&it.title, it.url.as_deref()));
                let about: Vec<String> = it
                    .date
                    .iter()
                    .cloned()
                    .chain((!it.authors.is_empty()).then(|| it.authors.join(", ")))
                    .collect();
                if !about.is_empty() {
                    let _ = write!(line, " ({})", inert(&about.join(", ")));
                }
                line.push('\n');
                if chars(&description) + chars(&line) > limits::DESCRIPTION {
                    break;
                }
                description.push_str(&line);
            }
            Rendered::one(Card {
                title: cut_plain(&inert(&heading), limits::TITLE),
                description: description.trim_end().to_string(),
                footer: (l.total > l.items.len())
                    .then(|| format!("The first {} of {}", l.items.len(), l.total)),
                color: ACCENT,
                ..Card::default()
            })
        }
        Response::Reply(r) => {
            let mut text = inert(&r.text);
            if !r.suggestions.is_empty() {
                text.push_str("\n\n");
                text.push_str(&refs(&r.suggestions, 1000));
            }
            Rendered::one(muted(text))
        }
    }
}

/// A short plain notice (errors, refusals, cooldowns, reports) within the content limit.
pub fn notice(text: &str) -> String {
    cut_plain(&defuse(text), limits::CONTENT)
}

/// A report (reload, check, stats) within the content limit: a bold title, then the report's
/// lines with Markdown escaped and mentions inert (Discord timestamps `<t:…>` still render).
pub fn report(title: &str, body: &str) -> String {
    let head = format!("**{}**\n", inert(title));
    let body = inert(body.trim_end());
    let room = limits::CONTENT - chars(&head);
    if chars(&body) <= room {
        return head + &body;
    }
    // Keep whole lines, and say how many were left out.
    let mut out = head;
    let lines: Vec<&str> = body.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let tail = format!("\n… and {} more line(s)", lines.len() - i);
        if chars(&out) + chars(line) + 1 + chars(&tail) > limits::CONTENT {
            out.push_str(tail.trim_start());
            return cut_plain(&out, limits::CONTENT);
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_are_inert() {
        let out = inert("hi @everyone and @here, <@123> <@&45> <#67> @Here");
        assert!(!out.contains("@everyone"));
        assert!(!out.contains("@here"));
        assert!(!out.contains("@Here"));
        assert!(!out.contains("<@1"));
        assert!(!out.contains("<@&"));
        assert!(!out.contains("<#6"));
        assert!(out.contains("@\u{200B}everyone"));
        assert_eq!(defuse("mail a@b.org"), "mail a@b.org");
    }

    #[test]
    fn markdown_is_escaped_and_terms_bold() {
        assert_eq!(
            marked("a *b* c_d", &[(0, 1), (6, 8)]),
            "**a** \\*b\\* **c\\_**d"
        );
        assert_eq!(marked("x", &[(0, 5)]), "x");
        // A matched term right after `@` cannot make a mention out of the bold marks.
        assert_eq!(
            marked("to @everyone now", &[(4, 12)]),
            "to @\u{200B}**everyone** now"
        );
    }

    #[test]
    fn fit_cuts_at_words_with_link() {
        let text = "One sentence here. ".repeat(200);
        let out = fit(&text, &[(0, 3)], 300, Some("https://x.example/a"));
        assert!(chars(&out) <= 300, "{}", chars(&out));
        assert!(out.ends_with("… [Read more](https://x.example/a)"), "{out}");
        assert!(out.starts_with("**One**"));
        assert_eq!(out.matches("**").count() % 2, 0);
    }

    #[test]
    fn totals_are_enforced() {
        let big = Card {
            title: "t".repeat(400),
            description: "word ".repeat(2000),
            fields: (0..30)
                .map(|i| (format!("f{i}"), "v ".repeat(800), false))
                .collect(),
            footer: Some("f".repeat(3000)),
            ..Card::default()
        };
        within_limits(&Rendered::new(vec![big.clone(), big]));
    }

    #[test]
    fn absurd_links_are_dropped_not_a_panic() {
        let url = format!("https://x.example/{}", "a".repeat(3000));
        let items = vec![
            TakeawayItem {
                text: "word ".repeat(300),
                links: vec![],
            };
            10
        ];
        let out = takeaway_list(&items, limits::FIELD_VALUE, Some(&url));
        assert!(chars(&out) <= limits::FIELD_VALUE);
        assert!(!out.contains(&url));
        let out = fit(&"word ".repeat(2000), &[], 500, Some(&url));
        assert!(chars(&out) <= 500);
    }

    /// Every limit of one message, as the local Discord checks it.
    fn within_limits(r: &Rendered) {
        assert!(r.cards.len() <= limits::EMBEDS);
        let total: usize = r.cards.iter().map(Card::total_chars).sum();
        assert!(total <= limits::EMBED_TOTAL, "{total}");
        for c in &r.cards {
            assert!(chars(&c.title) <= limits::TITLE);
            assert!(chars(&c.description) <= limits::DESCRIPTION);
            assert!(c.fields.len() <= limits::FIELDS);
            for (n, v, _) in &c.fields {
                assert!((1..=limits::FIELD_NAME).contains(&chars(n)));
                assert!((1..=limits::FIELD_VALUE).contains(&chars(v)));
            }
            assert!(c.footer.as_deref().map_or(0, chars) <= limits::FOOTER);
        }
    }

    #[test]
    fn pathological_answers_fit_and_never_panic() {
        use crate::answer::*;
        let long = "Ünïcødé @everyone *x* <@1> — ".repeat(400);
        let title = "Tïtle ".repeat(100);
        let url = Some("https://x.example/a".to_string());
        // Highlights at every byte offset pair, most of them not on char boundaries.
        let highlights: Vec<Highlight> = (0..200).map(|i| (i * 7, i * 7 + 5)).collect();
        let refs: Vec<ArticleRef> = (0..50)
            .map(|i| ArticleRef {
                slug: format!("s{i}"),
                title: title.clone(),
                url: url.clone(),
            })
            .collect();
        let items: Vec<TakeawayItem> = (0..80)
            .map(|_| TakeawayItem {
                text: long[..200].to_string(),
                links: vec![crate::content::Link {
                    text: title.clone(),
                    url: "https://l.example".into(),
                }],
            })
            .collect();
        let takeaways = TakeawaysAnswer {
            slug: "t".into(),
            title: title.clone(),
            url: url.clone(),
            takeaways: items,
        };
        let answers = vec![
            Answer::Ask(AskAnswer {
                question: long.clone(),
                article: None,
                results: (0..10)
                    .map(|i| AskResult {
                        slug: format!("s{}", i % 3),
                        title: title.clone(),
                        url: url.clone(),
                        article_url: url.clone(),
                        section: Some(title.clone()),
                        excerpt: long.clone(),
                        highlights: highlights.clone(),
                        score: 1.0,
                    })
                    .collect(),
                takeaways: Some(takeaways.clone()),
                suggestions: refs.clone(),
                note: Some(long.clone()),
            }),
            Answer::Search(SearchAnswer {
                query: long.clone(),
                tag: Some(title.clone()),
                total: 99,
                page: 2,
                pages: 20,
                per_page: 10,
                results: (0..10)
                    .map(|i| SearchHit {
                        slug: format!("s{i}"),
                        title: title.clone(),
                        url: url.clone(),
                        snippet: long.clone(),
                        highlights: highlights.clone(),
                        tags: vec![],
                        score: 1.0,
                    })
                    .collect(),
                note: Some(long.clone()),
            }),
            Answer::Takeaways(takeaways),
            Answer::Article(ArticleCard {
                slug: long.clone(),
                title: title.clone(),
                url: url.clone(),
                summary: long.clone(),
                tags: vec![title.clone(); 100],
                authors: vec![title.clone(); 50],
                date: Some(title.clone()),
                aliases: vec![],
                sections: vec![title.clone(); 100],
                words: 1,
                related: refs.clone(),
                matched: Some(long.clone()),
            }),
            Answer::NotFound(NotFound {
                error: "not_found",
                query: long.clone(),
                suggestions: refs,
            }),
        ];
        for a in &answers {
            let r = answer(a);
            within_limits(&r);
            let json = serde_json::to_string(&r.embeds()).unwrap();
            assert!(
                !json.contains("@everyone") && !json.contains("<@1"),
                "{json}"
            );
        }
    }

    #[test]
    fn report_fits_content() {
        let r = report("Reload", &"a_line\n".repeat(1000));
        assert!(chars(&r) <= limits::CONTENT);
        assert!(r.starts_with("**Reload**\na\\_line\n"), "{r}");
        assert!(r.ends_with("more line(s)"), "{r}");
        assert!(report("Stats", "last: <t:5:R> by x").ends_with("<t:5:R> by x"));
    }
}
