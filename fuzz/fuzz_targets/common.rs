//! What the article targets share: the settings and the checks on a parsed article.

// Each target uses what it needs of this file.
#![allow(dead_code)]

use std::path::Path;
use std::sync::OnceLock;

use articlebot::config::{ContentSettings, Settings};
use articlebot::content::{self, Format};

/// The default content settings, with a base URL so that article links are made.
pub fn settings() -> &'static ContentSettings {
    static SETTINGS: OnceLock<ContentSettings> = OnceLock::new();
    SETTINGS.get_or_init(|| {
        let mut s = Settings::for_content("content").content;
        s.base_url = "https://site.example/a".into();
        s
    })
}

/// Parses `text` as the file `rel` and checks what every article promises its readers.
pub fn article(rel: &Path, format: Format, text: &str) {
    match content::parse_with_notes(settings(), rel, format, text) {
        Ok((article, notes)) => {
            assert!(!article.title.trim().is_empty(), "an article has a title");
            assert!(!article.slug.is_empty(), "an article has a slug");
            for section in &article.sections {
                for block in &section.blocks {
                    assert!(!block.text.is_empty(), "blocks hold text");
                    for link in &block.links {
                        assert!(content::check_url(&link.url).is_ok(), "{:?}", link.url);
                    }
                }
            }
            for (i, _) in article.sections.iter().enumerate() {
                let _ = article.section_url(i);
            }
            let _ = article.word_count();
            for note in notes {
                assert!(!note.rejected);
                let _ = note.to_string();
            }
        }
        Err(warning) => {
            assert!(!warning.reason.is_empty(), "a warning says why");
            let _ = warning.to_string();
        }
    }
}
