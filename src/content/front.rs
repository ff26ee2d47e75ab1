//! TOML front matter between `+++` lines, shared by both article formats.

use serde::Deserialize;

/// The keys an article may set. Unknown keys are an error naming the key.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FrontMatter {
    pub title: Option<String>,
    pub url: Option<String>,
    pub summary: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub authors: Vec<String>,
    /// A TOML date (`2024-05-01`) or a string, kept as text.
    #[serde(default, deserialize_with = "date_text")]
    pub date: Option<String>,
    #[serde(default)]
    pub aliases: Vec<String>,
    pub slug: Option<String>,
    pub draft: Option<bool>,
    #[serde(default)]
    pub takeaways: Vec<String>,
    /// Values that were dropped, with the line of their key and the reason: the article is
    /// kept without them and `check` reports them.
    #[serde(skip)]
    pub dropped: Vec<(usize, String)>,
}

fn date_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Date {
        Toml(toml::value::Datetime),
        Text(String),
    }
    Ok(Some(match Date::deserialize(d)? {
        Date::Toml(date) => date.to_string(),
        Date::Text(text) => text,
    }))
}

/// Splits `source` into its front matter and body; also returns the 1-based line where the
/// body starts. Errors carry the line in the file and the reason.
pub(super) fn split(source: &str) -> Result<(FrontMatter, &str, usize), (Option<usize>, String)> {
    let first_line_end = source.find('\n').unwrap_or(source.len());
    if source[..first_line_end].trim_end() != "+++" {
        return Ok((FrontMatter::default(), source, 1));
    }
    let rest_start = (first_line_end + 1).min(source.len());
    let rest = &source[rest_start..];
    let mut offset = 0;
    let mut close = None;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == "+++" {
            close = Some((offset, offset + line.len()));
            break;
        }
        offset += line.len();
    }
    let Some((toml_end, body_start)) = close else {
        return Err((
            Some(1),
            "front matter opened with `+++` is never closed".into(),
        ));
    };
    let toml_text = &rest[..toml_end];
    let mut front: FrontMatter = toml::from_str(toml_text).map_err(|e| {
        let line = e.span().map(|s| {
            toml_text[..s.start.min(toml_text.len())]
                .matches('\n')
                .count()
                + 2
        });
        let msg = e.message().trim().to_string();
        (line, format!("broken front matter: {msg}"))
    })?;
    let body = &rest[body_start..];
    let body_line = source[..rest_start + body_start].matches('\n').count() + 1;
    if let Some(url) = &front.url {
        if let Err(reason) = super::check_url(url) {
            front.dropped.push((
                line_of_key(toml_text, "url"),
                format!(
                    "front matter `url` ignored: {reason} ({})",
                    super::quote_start(url)
                ),
            ));
            front.url = None;
        }
    }
    front.tags.retain(|t| !t.trim().is_empty());
    front.aliases.retain(|a| !a.trim().is_empty());
    Ok((front, body, body_line))
}

fn line_of_key(toml_text: &str, key: &str) -> usize {
    toml_text
        .lines()
        .position(|l| {
            l.trim_start()
                .strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map_or(1, |i| i + 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_front_matter() {
        let (f, body, line) = split("# Title\n\ntext").unwrap();
        assert!(f.title.is_none());
        assert_eq!(body, "# Title\n\ntext");
        assert_eq!(line, 1);
    }

    #[test]
    fn front_matter_fields() {
        let src = "+++\ntitle = \"T\"\ndate = 2024-05-01\ntags = [\"a\", \" \"]\n+++\nBody\n";
        let (f, body, line) = split(src).unwrap();
        assert_eq!(f.title.as_deref(), Some("T"));
        assert_eq!(f.date.as_deref(), Some("2024-05-01"));
        assert_eq!(f.tags, ["a"]);
        assert_eq!(body, "Body\n");
        assert_eq!(line, 6);
    }

    #[test]
    fn errors_name_line_and_reason() {
        let (line, reason) = split("+++\ntitle = \"T\"\nbad = = 1\n+++\n").unwrap_err();
        assert_eq!(line, Some(3), "{reason}");
        assert!(reason.starts_with("broken front matter"), "{reason}");
        let (line, reason) = split("+++\ntitle = \"T\"\ncolour = 1\n+++\n").unwrap_err();
        assert!(reason.contains("colour"), "{reason}");
        assert_eq!(line, Some(3));
        let (_, reason) = split("+++\ntitle = \"T\"\n").unwrap_err();
        assert!(reason.contains("never closed"));
    }

    #[test]
    fn a_bad_url_is_dropped_with_its_line() {
        let (f, _, _) = split("+++\ntitle = \"T\"\nurl = \"example\"\n+++\nx").unwrap();
        assert_eq!(f.url, None);
        assert_eq!(
            f.dropped,
            [(
                3,
                "front matter `url` ignored: not an http(s) URL (\"example\")".to_string()
            )]
        );
    }
}
