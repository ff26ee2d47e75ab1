//! A channel's tag filter (`discord.channel_tags`): an answer to a question keeps only the
//! passages and suggestions of articles carrying one of the channel's tags.

use crate::answer::{Answer, AskAnswer};
use crate::library::Library;

/// Whether the article `slug` carries one of `tags` (lower case).
pub(super) fn tagged(lib: &Library, slug: &str, tags: &[String]) -> bool {
    lib.by_slug(slug).is_some_and(|id| {
        lib.article(id)
            .tags
            .iter()
            .any(|t| tags.iter().any(|w| w.eq_ignore_ascii_case(t)))
    })
}

/// Limits `answer` (an answer to a question; others are left alone) to articles with one of
/// `tags`; no tags: unchanged. The engine ranked the whole collection, so this keeps the best
/// of its results that belong here; when none does, the answer says so.
pub(super) fn limit(lib: &Library, answer: &mut Answer, tags: &[String]) {
    let Answer::Ask(a) = answer else { return };
    if tags.is_empty() {
        return;
    }
    limit_ask(lib, a, tags);
}

fn limit_ask(lib: &Library, a: &mut AskAnswer, tags: &[String]) {
    let before = a.results.len();
    a.results.retain(|r| tagged(lib, &r.slug, tags));
    a.suggestions.retain(|s| tagged(lib, &s.slug, tags));
    let top = a.results.first().map(|r| r.slug.clone());
    if a.takeaways.as_ref().map(|t| &t.slug) != top.as_ref() {
        a.takeaways = None;
    }
    if a.results.is_empty() && before > 0 {
        a.note = Some(format!(
            "nothing in this channel's articles (tagged {}) matched the question",
            tags.join(", ")
        ));
    }
}
