//! WikiQA files: the TSV format (QuestionID, Question, DocumentID, DocumentTitle,
//! SentenceID, Sentence, Label) parsed into documents and questions, with errors that name the
//! file and line.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use anyhow::{bail, Context};

/// Header of a WikiQA file.
const HEADER: [&str; 7] = [
    "QuestionID",
    "Question",
    "DocumentID",
    "DocumentTitle",
    "SentenceID",
    "Sentence",
    "Label",
];

/// A WikiQA document: its title and sentences in paragraph order.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub id: String,
    pub title: String,
    pub sentences: Vec<String>,
}

/// A WikiQA question: its document and, per sentence of the document, whether it answers.
#[derive(Debug, Clone, PartialEq)]
pub struct Question {
    pub id: String,
    pub text: String,
    /// Index into [`Dataset::documents`].
    pub document: usize,
    /// `labels[i]`: sentence `i` of the document answers the question.
    pub labels: Vec<bool>,
}

impl Question {
    pub fn answered(&self) -> bool {
        self.labels.iter().any(|&l| l)
    }
}

/// A parsed WikiQA file.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    pub documents: Vec<Document>,
    pub questions: Vec<Question>,
}

/// Parses a WikiQA TSV. `path` only names the file in error messages (`FILE:LINE: reason`).
pub fn parse_wikiqa(path: &Path, source: &str) -> anyhow::Result<Dataset> {
    let at = |line: usize| format!("{}:{line}", path.display());
    let mut lines = source.lines().enumerate().map(|(i, l)| (i + 1, l));
    let Some((_, header)) = lines.next() else {
        bail!("{}: empty file (expected a WikiQA header row)", at(1));
    };
    let header: Vec<&str> = header.trim_start_matches('\u{feff}').split('\t').collect();
    if header != HEADER {
        bail!(
            "{}: not a WikiQA header: expected the columns {}",
            at(1),
            HEADER.join(", ")
        );
    }
    let mut documents: Vec<Document> = Vec::new();
    let mut doc_index: HashMap<String, usize> = HashMap::new();
    let mut questions: Vec<Question> = Vec::new();
    let mut seen_questions: HashSet<String> = HashSet::new();
    for (n, line) in lines {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() != 7 {
            bail!(
                "{}: expected 7 tab-separated columns, found {}",
                at(n),
                cols.len()
            );
        }
        let [qid, question, did, title, sid, sentence, label] =
            [0, 1, 2, 3, 4, 5, 6].map(|i| cols[i].trim());
        let label = match label {
            "0" => false,
            "1" => true,
            other => bail!("{}: label must be 0 or 1, found {other:?}", at(n)),
        };
        if qid.is_empty() || did.is_empty() {
            bail!("{}: empty QuestionID or DocumentID", at(n));
        }
        let index: usize = sid
            .strip_prefix(did)
            .and_then(|r| r.strip_prefix('-'))
            .and_then(|i| i.parse().ok())
            .with_context(|| {
                format!(
                    "{}: SentenceID {sid:?} is not `{did}-<number>` (DocumentID-index)",
                    at(n)
                )
            })?;
        let d = *doc_index.entry(did.to_string()).or_insert_with(|| {
            documents.push(Document {
                id: did.to_string(),
                title: title.to_string(),
                sentences: Vec::new(),
            });
            documents.len() - 1
        });
        let doc = &mut documents[d];
        match index.cmp(&doc.sentences.len()) {
            std::cmp::Ordering::Less => {}
            std::cmp::Ordering::Equal => doc.sentences.push(sentence.to_string()),
            std::cmp::Ordering::Greater => bail!(
                "{}: sentence {sid} comes before sentence {did}-{} of its document",
                at(n),
                doc.sentences.len()
            ),
        }
        let new_question = questions.last().is_none_or(|q| q.id != qid);
        if new_question {
            if !seen_questions.insert(qid.to_string()) {
                bail!(
                    "{}: rows of question {qid} are not contiguous (seen before)",
                    at(n)
                );
            }
            questions.push(Question {
                id: qid.to_string(),
                text: question.to_string(),
                document: d,
                labels: Vec::new(),
            });
        }
        let q = questions.last_mut().expect("pushed above");
        if q.document != d {
            bail!("{}: question {qid} names a second document ({did})", at(n));
        }
        if index != q.labels.len() {
            bail!(
                "{}: sentence {sid} out of order for question {qid} (expected {did}-{})",
                at(n),
                q.labels.len()
            );
        }
        q.labels.push(label);
    }
    if questions.is_empty() {
        bail!("{}: no question rows after the header", at(1));
    }
    Ok(Dataset {
        documents,
        questions,
    })
}
