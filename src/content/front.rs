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
    pub date: Option<Date>,
    #[serde(default)]
    pub aliases: Vec<String>,
    pub slug: Option<String>,
    pub draft: Option<bool>,
    #[serde(default)]
    pub takeaways: Vec<String>,
}

/// A date written as a TOML date (`2024-05-01`) or as a string.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum Date {
    Toml(toml::value::Datetime),
    Text(String),
}

impl From<Date> for String {
    fn from(d: Date) -> String {
        match d {
            Date::Toml(d) => d.to_string(),
            Date::Text(s) => s,
        }
    }
}

/// The front matter with `date` turned into text.
#[derive(Debug, Default)]
pub(super) struct Front {
    pub title: Option<String>,
    pub url: Option<String>,
    pub summary: Option<String>,
    pub tags: Vec<String>,
    pub authors: Vec<String>,
    pub date: Option<String>,
    pub aliases: Vec<String>,
    pub slug: Option<String>,
    pub draft: Option<bool>,
    pub takeaways: Vec<String>,
}

/// Splits `source` into its front matter and body; also returns the 1-based line where the
/// body starts. Errors carry the line in the file and the reason.
pub(super) fn split(source: &str) -> Result<(Front, &str, usize), (Option<usize>, String)> {
    let first_line_end = source.find('\n').unwrap_or(source.len());
    if source[..first_line_end].trim_end() != "+++" {
        return Ok((Front::default(), source, 1));
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
    let raw: FrontMatter = toml::from_str(toml_text).map_err(|e| {
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
    if let Some(url) = &raw.url {
        if !url.contains("://") {
            return Err((
                Some(line_of_key(toml_text, "url")),
                format!("front matter `url` {url:?} is not an absolute URL"),
            ));
        }
    }
    let front = Front {
        title: raw.title,
        url: raw.url,
        summary: raw.summary,
        tags: raw
            .tags
            .into_iter()
            .filter(|t| !t.trim().is_empty())
            .collect(),
        authors: raw.authors,
        date: raw.date.map(String::from),
        aliases: raw
            .aliases
            .into_iter()
            .filter(|a| !a.trim().is_empty())
            .collect(),
        slug: raw.slug,
        draft: raw.draft,
        takeaways: raw.takeaways,
    };
    Ok((front, body, body_line))
}

fn line_of_key(toml_text: &str, key: &str) -> usize {
    toml_text
        .lines()
        .position(|l| l.trim_start().starts_with(key))
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
        let (_, reason) = split("+++\nurl = \"example\"\n+++\nx").unwrap_err();
        assert!(reason.contains("absolute URL"));
    }
}
