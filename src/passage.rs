//! A [`Passage`]: a window of consecutive blocks inside one section of an article, the unit
//! the index retrieves and an answer cites, and how articles are cut into passages.

use std::ops::Range;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::content::Article;
use crate::text;

/// A window of consecutive blocks inside one section: the unit of retrieval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Passage {
    pub article: u32,
    pub section: u32,
    /// Block indices inside the section.
    pub blocks: Range<u32>,
}

/// Cuts each section into windows of consecutive blocks of about `target_words` words. A block
/// is never split; a long block is a passage of its own. Articles are cut in parallel (counting
/// words is a pass over the whole text), the passages come out in article order.
pub fn cut_passages(articles: &[Article], target_words: usize) -> Vec<Passage> {
    let per_article: Vec<Vec<Passage>> = articles
        .par_iter()
        .enumerate()
        .map(|(ai, a)| cut_article(ai as u32, a, target_words))
        .collect();
    per_article.concat()
}

fn cut_article(article: u32, a: &Article, target_words: usize) -> Vec<Passage> {
    let mut out = Vec::new();
    for (si, s) in a.sections.iter().enumerate() {
        let mut start = 0usize;
        let mut words = 0usize;
        for (bi, b) in s.blocks.iter().enumerate() {
            let w = text::word_count(&b.text);
            if words > 0 && words + w > target_words {
                out.push(Passage {
                    article,
                    section: si as u32,
                    blocks: start as u32..bi as u32,
                });
                start = bi;
                words = 0;
            }
            words += w;
        }
        if start < s.blocks.len() {
            out.push(Passage {
                article,
                section: si as u32,
                blocks: start as u32..s.blocks.len() as u32,
            });
        }
    }
    out
}
