//! Rendering of answers for a terminal (plain, or with ANSI bold for matched terms), and the
//! text of the reports the core gives as data (the content check, a reload, the statistics),
//! shared by the
//! command line and the moderators' Discord commands. Discord's own rendering of answers lives
//! with the Discord adapter; JSON is the answer types' own `Serialize`.

use std::fmt::Write;

use crate::answer::{Answer, AskAnswer, Highlight, TakeawaysAnswer};
use crate::library::CheckReport;
use crate::reload::{Outcome, ReloadReport};
use crate::stats::StatsReport;

/// How matched terms are marked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// No marks at all.
    Plain,
    /// ANSI bold (a terminal).
    Ansi,
    /// `**bold**` (Discord and other Markdown).
    Markdown,
}

/// Wraps the highlighted ranges of `text` in the style's marks.
pub fn mark(text: &str, highlights: &[Highlight], style: Style) -> String {
    let (open, close) = match style {
        Style::Plain => return text.to_string(),
        Style::Ansi => ("\x1b[1m", "\x1b[0m"),
        Style::Markdown => ("**", "**"),
    };
    let mut out = String::with_capacity(text.len() + highlights.len() * 8);
    let mut at = 0;
    for &(s, e) in highlights {
        if s < at || e > text.len() || !text.is_char_boundary(s) || !text.is_char_boundary(e) {
            continue;
        }
        out.push_str(&text[at..s]);
        out.push_str(open);
        out.push_str(&text[s..e]);
        out.push_str(close);
        at = e;
    }
    out.push_str(&text[at..]);
    out
}

/// The answer as terminal text.
pub fn text(answer: &Answer, style: Style) -> String {
    let mut out = String::new();
    match answer {
        Answer::Ask(a) => ask(&mut out, a, style),
        Answer::Search(s) => {
            let tag = s
                .tag
                .as_deref()
                .map(|t| format!(" [tag: {t}]"))
                .unwrap_or_default();
            if s.total > 0 && s.page <= s.pages {
                let _ = writeln!(
                    out,
                    "{} article(s) match {:?}{tag} — page {} of {}",
                    s.total, s.query, s.page, s.pages
                );
            } else if s.total > 0 {
                // Past the last page: the note says how many pages there are.
                let _ = writeln!(out, "{} article(s) match {:?}{tag}", s.total, s.query);
            }
            for (i, h) in s.results.iter().enumerate() {
                let n = (s.page - 1) * s.per_page + i + 1;
                let _ = writeln!(out, "\n{n}. {} ({})", h.title, h.slug);
                let _ = writeln!(out, "   {}", mark(&h.snippet, &h.highlights, style));
                if let Some(u) = &h.url {
                    let _ = writeln!(out, "   {u}");
                }
            }
            if let Some(note) = &s.note {
                let _ = writeln!(out, "{note}");
            }
        }
        Answer::Summary(s) => {
            let _ = writeln!(out, "{}\n", s.title);
            let _ = writeln!(out, "{}", s.summary);
            if let Some(u) = &s.url {
                let _ = writeln!(out, "\n{u}");
            }
        }
        Answer::Takeaways(t) => takeaways(&mut out, t),
        Answer::Article(c) => {
            let _ = writeln!(out, "{} ({})", c.title, c.slug);
            if let Some(m) = &c.matched {
                let _ = writeln!(out, "({m})");
            }
            if let Some(u) = &c.url {
                let _ = writeln!(out, "{u}");
            }
            let mut meta = Vec::new();
            if let Some(d) = &c.date {
                meta.push(d.clone());
            }
            if !c.authors.is_empty() {
                meta.push(format!("by {}", c.authors.join(", ")));
            }
            meta.push(format!("{} words", c.words));
            let _ = writeln!(out, "{}", meta.join(" · "));
            if !c.tags.is_empty() {
                let _ = writeln!(out, "tags: {}", c.tags.join(", "));
            }
            let _ = writeln!(out, "\n{}", c.summary);
            if !c.sections.is_empty() {
                let _ = writeln!(out, "\nSections: {}", c.sections.join(" · "));
            }
            if !c.related.is_empty() {
                let _ = writeln!(out, "\nRelated:");
                for r in &c.related {
                    let _ = writeln!(out, "  - {} ({})", r.title, r.slug);
                }
            }
        }
        Answer::Related(r) => {
            let _ = writeln!(out, "Related to {} ({}):", r.title, r.slug);
            if r.related.is_empty() {
                let _ = writeln!(out, "  nothing similar in the collection");
            }
            for i in &r.related {
                let _ = writeln!(out, "  - {} ({})", i.title, i.slug);
            }
        }
        Answer::NotFound(nf) => {
            let _ = writeln!(out, "No article called {:?}.", nf.query);
            if !nf.suggestions.is_empty() {
                let _ = writeln!(out, "Did you mean:");
                for s in &nf.suggestions {
                    let _ = writeln!(out, "  - {} ({})", s.title, s.slug);
                }
            }
        }
    }
    out
}

fn ask(out: &mut String, a: &AskAnswer, style: Style) {
    if let Some(note) = &a.note {
        let _ = writeln!(out, "({note})");
    }
    for (i, r) in a.results.iter().enumerate() {
        let section = r
            .section
            .as_deref()
            .map(|s| format!(" › {s}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{}{}. {}{section}",
            if i > 0 { "\n" } else { "" },
            i + 1,
            r.title
        );
        let _ = writeln!(out, "   {}", mark(&r.excerpt, &r.highlights, style));
        if let Some(u) = &r.url {
            let _ = writeln!(out, "   {u}");
        }
    }
    if let Some(t) = &a.takeaways {
        let _ = writeln!(out);
        takeaways(out, t);
    }
    if !a.suggestions.is_empty() {
        let _ = writeln!(out, "Try one of these articles:");
        for s in &a.suggestions {
            let _ = writeln!(out, "  - {} ({})", s.title, s.slug);
        }
    }
}

fn takeaways(out: &mut String, t: &TakeawaysAnswer) {
    let _ = writeln!(out, "Takeaways from {}:", t.title);
    if t.takeaways.is_empty() {
        let _ = writeln!(out, "  (this article has no takeaway section)");
    }
    for item in &t.takeaways {
        let _ = writeln!(out, "  - {}", item.text);
        for l in &item.links {
            if l.text != l.url {
                let _ = writeln!(out, "    {}: {}", l.text, l.url);
            } else {
                let _ = writeln!(out, "    {}", l.url);
            }
        }
    }
    if let Some(u) = &t.url {
        let _ = writeln!(out, "Read it: {u}");
    }
}

/// The content check's report: one line per warning, then a count. Shared by `articlebot
/// check` and the moderators' `/check`.
pub fn check_report(report: &CheckReport) -> String {
    let mut out = String::new();
    for w in &report.warnings {
        let _ = writeln!(out, "{w}");
    }
    let rejected = report.rejected();
    let _ = writeln!(
        out,
        "{} article(s) indexed, {rejected} file(s) rejected, {} note(s)",
        report.articles,
        report.warnings.len() - rejected
    );
    out
}

/// A reload's report: outcome, changes by slug, every warning, time taken.
pub fn reload_report(r: &ReloadReport) -> String {
    let mut out = String::new();
    match &r.outcome {
        Outcome::Swapped => {
            let _ = writeln!(
                out,
                "Reloaded: {} article(s) in service ({} ms).",
                r.articles,
                r.took.as_millis()
            );
        }
        Outcome::KeptOld(reason) => {
            let _ = writeln!(
                out,
                "Reload failed, the previous content stays in service: {reason} ({} ms).",
                r.took.as_millis()
            );
        }
    }
    for (label, list) in [
        ("added", &r.added),
        ("removed", &r.removed),
        ("changed", &r.changed),
    ] {
        if !list.is_empty() {
            let _ = writeln!(out, "{label} ({}): {}", list.len(), list.join(", "));
        }
    }
    if r.added.is_empty() && r.removed.is_empty() && r.changed.is_empty() {
        let _ = writeln!(out, "no article changed");
    }
    for source in &r.sources {
        if let Some(why) = &source.error {
            let _ = writeln!(
                out,
                "source {} failed, its last good articles stay: {why}",
                source.name
            );
        }
    }
    for w in &r.warnings {
        let _ = writeln!(out, "{w}");
    }
    out
}

/// The text of a sync report (`articlebot sync`): a line per source.
pub fn sync_report(r: &crate::sources::SyncReport) -> String {
    let mut out = String::new();
    for s in &r.sources {
        let _ = match &s.error {
            None if s.deferred > 0 => writeln!(
                out,
                "{}: {} added, {} changed, {} removed, {} unchanged ({} request(s)); {} page(s) \
                 left for the next sync (time budget spent)",
                s.name, s.added, s.changed, s.removed, s.unchanged, s.requests, s.deferred
            ),
            None => writeln!(
                out,
                "{}: {} added, {} changed, {} removed, {} unchanged ({} request(s))",
                s.name, s.added, s.changed, s.removed, s.unchanged, s.requests
            ),
            Some(why) if s.added + s.changed + s.removed > 0 => writeln!(
                out,
                "{}: partly failed ({} added, {} changed, {} removed); the rest keeps its last \
                 good version: {why}",
                s.name, s.added, s.changed, s.removed
            ),
            Some(why) => writeln!(
                out,
                "{}: failed, its last good articles stay: {why}",
                s.name
            ),
        };
    }
    out
}

/// The statistics report (`/stats`) as text.
pub fn stats_report(r: &StatsReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} articles, {} passages, index {:.1} MB, up {}",
        r.articles,
        r.passages,
        r.index_bytes as f64 / 1e6,
        human_duration(r.uptime_secs)
    );
    match &r.last_reload {
        Some(reload) => {
            let _ = writeln!(
                out,
                "last reload: <t:{}:R> by {}: {}",
                reload.at, reload.by, reload.outcome
            );
        }
        None => {
            let _ = writeln!(out, "last reload: none since the statistics began");
        }
    }
    let _ = writeln!(
        out,
        "last {} days: {} questions from {} people",
        r.window_days, r.questions, r.distinct_askers
    );
    if !r.keep_questions {
        let _ = writeln!(
            out,
            "(question text is not kept: stats.keep_questions = false)"
        );
    }
    for (heading, asked) in [
        ("most asked:", &r.top_questions),
        ("not answered well (gaps):", &r.gaps),
    ] {
        if !asked.is_empty() {
            let _ = writeln!(out, "{heading}");
            for a in asked {
                let _ = writeln!(out, "  {}× {}", a.count, a.question);
            }
        }
    }
    out
}

/// An uptime as its two largest units ("3d 4h", "2h 5m", "4m 10s").
fn human_duration(secs: u64) -> String {
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else {
        format!("{m}m {}s", secs % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks() {
        assert_eq!(mark("a bc d", &[(2, 4)], Style::Markdown), "a **bc** d");
        assert_eq!(
            mark("a bc d", &[(2, 4)], Style::Ansi),
            "a \x1b[1mbc\x1b[0m d"
        );
        assert_eq!(mark("a bc d", &[(2, 4)], Style::Plain), "a bc d");
        // Out-of-range or overlapping ranges are skipped, never a panic.
        assert_eq!(mark("é", &[(1, 2), (0, 9)], Style::Markdown), "é");
    }
}
