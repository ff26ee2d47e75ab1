//! `articlebot-eval wikiqa`: the measures' arithmetic, the seeded tie-breaking, the JSON
//! schema and the errors, on tiny WikiQA-shaped files written by the tests (never on
//! `../shared`).

use std::path::Path;

// The evaluation lives with its own binary, not in the library: its pure parts are included
// as they are.
#[allow(dead_code)]
#[path = "../src/bin/articlebot-eval/measures.rs"]
mod measures;
#[allow(dead_code)]
#[path = "../src/bin/articlebot-eval/wikiqa.rs"]
mod wikiqa;

use measures::{average_precision, rank_with_random_ties, SplitMix64};
use wikiqa::parse_wikiqa;

use crate::util::Fixture;

/// Runs the `articlebot-eval` binary in `dir`; returns (exit code, stdout, stderr).
fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_articlebot-eval"))
        .env_remove("RUST_LOG")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run articlebot-eval");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const HEADER: &str =
    "QuestionID\tQuestion\tDocumentID\tDocumentTitle\tSentenceID\tSentence\tLabel\n";

/// A question of a test file: (qid, question, did, title, sentences, answer index).
type Row<'a> = (
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    &'a [&'a str],
    Option<usize>,
);

/// One line per (question, sentence).
fn tsv(questions: &[Row<'_>]) -> String {
    let mut out = HEADER.to_string();
    for (qid, q, did, title, sentences, answer) in questions {
        for (i, s) in sentences.iter().enumerate() {
            let label = u8::from(*answer == Some(i));
            out.push_str(&format!(
                "{qid}\t{q}\t{did}\t{title}\t{did}-{i}\t{s}\t{label}\n"
            ));
        }
    }
    out
}

const BRIDGE: &[&str] = &[
    "The Golden Gate Bridge is a suspension bridge spanning the strait in California.",
    "The bridge opened to traffic in May 1937 after four years of construction work.",
    "It is painted in a colour known as international orange.",
];
const EVEREST: &[&str] = &[
    "Mount Everest is the highest mountain above sea level on Earth.",
    "Tenzing Norgay and Edmund Hillary first reached the summit in 1953.",
    "Its summit stands 8,849 metres high.",
];
const KIWI: &[&str] = &[
    "Kiwi are flightless birds native to New Zealand.",
    "They lay very large eggs relative to their body size.",
    "The kiwi is a national symbol of New Zealand.",
];

/// Questions whose answer sentence holds every question word that is not in the title, and
/// no other sentence does.
fn clear_cut() -> String {
    tsv(&[
        (
            "Q1",
            "when did the golden gate bridge open to traffic",
            "D1",
            "Golden Gate Bridge",
            BRIDGE,
            Some(1),
        ),
        (
            "Q2",
            "who first reached the summit of mount everest",
            "D2",
            "Mount Everest",
            EVEREST,
            Some(1),
        ),
        (
            "Q3",
            "what colour is the golden gate bridge painted",
            "D1",
            "Golden Gate Bridge",
            BRIDGE,
            Some(2),
        ),
        // No answer sentence: left out of MAP and MRR.
        ("Q4", "how fast can a kiwi run", "D3", "Kiwi", KIWI, None),
    ])
}

fn eval_json(f: &Fixture, file: &str) -> serde_json::Value {
    let (code, out, err) = run(f.dir.path(), &["wikiqa", file, "--json"]);
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    serde_json::from_str(out.trim()).expect("one JSON object")
}

#[test]
fn json_schema_and_clear_cut_figures() {
    let f = Fixture::new();
    f.write("wikiqa.tsv", &clear_cut());
    let v = eval_json(&f, "content/wikiqa.tsv");
    for key in [
        "questions",
        "map",
        "mrr",
        "doc_acc_at_1",
        "doc_acc_at_5",
        "baselines",
    ] {
        assert!(v.get(key).is_some(), "missing {key}: {v}");
    }
    for b in ["word_count", "idf_word_count"] {
        for m in ["map", "mrr"] {
            let x = v["baselines"][b][m].as_f64().expect("a number");
            assert!((0.0..=1.0).contains(&x), "{b}.{m} = {x}");
        }
    }
    assert_eq!(
        v["questions"], 3,
        "the question without an answer is left out"
    );
    assert_eq!(v["map"], 1.0, "{v}");
    assert_eq!(v["mrr"], 1.0, "{v}");
    // Each answered question names its own document first.
    assert_eq!(v["doc_acc_at_1"], 1.0, "{v}");
    assert_eq!(v["doc_acc_at_5"], 1.0, "{v}");
    // Every question perfect: no resample can move the figures.
    for m in ["map", "mrr", "doc_acc_at_1"] {
        assert_eq!(v["ci95"][m], serde_json::json!([1.0, 1.0]), "{m}: {v}");
    }
}

#[test]
fn baselines_rank_the_answer_second_gives_half() {
    // Word count: the first sentence holds both question words, the answer one, the third
    // none: the answer is ranked second by both baselines, without ties.
    let f = Fixture::new();
    f.write(
        "second.tsv",
        &tsv(&[(
            "Q1",
            "walrus tusks ivory",
            "D1",
            "Arctic animals",
            &[
                "Walrus tusks are long teeth.",
                "Their ivory was traded widely.",
                "Seals swim in cold water.",
            ],
            Some(1),
        )]),
    );
    let v = eval_json(&f, "content/second.tsv");
    assert_eq!(v["questions"], 1);
    for b in ["word_count", "idf_word_count"] {
        assert_eq!(v["baselines"][b]["map"], 0.5, "{b}: {v}");
        assert_eq!(v["baselines"][b]["mrr"], 0.5, "{b}: {v}");
    }
}

#[test]
fn ties_are_broken_at_random_with_a_fixed_seed() {
    // Every sentence ties for both baselines (no question word anywhere): the figures depend
    // on the seeded draw only, so two runs agree exactly.
    let f = Fixture::new();
    let sentences: &[&str] = &[
        "Alpha one is here.",
        "Beta two is there.",
        "Gamma three goes on.",
        "Delta four comes next.",
        "Epsilon five ends it.",
    ];
    let rows: Vec<(String, String)> = (0..8)
        .map(|i| (format!("Q{i}"), format!("zebra{i} question")))
        .collect();
    let qs: Vec<Row<'_>> = rows
        .iter()
        .enumerate()
        .map(|(i, (id, q))| {
            (
                id.as_str(),
                q.as_str(),
                "D1",
                "Letters",
                sentences,
                Some(i % 5),
            )
        })
        .collect();
    f.write("ties.tsv", &tsv(&qs));
    let a = eval_json(&f, "content/ties.tsv");
    let b = eval_json(&f, "content/ties.tsv");
    assert_eq!(a, b);
    // A random order, not the file's order: the answers are not all ranked by position.
    let wc = a["baselines"]["word_count"]["mrr"].as_f64().unwrap();
    let by_position: f64 = (0..8).map(|i| 1.0 / (i % 5 + 1) as f64).sum::<f64>() / 8.0;
    assert!(
        (wc - by_position).abs() > 1e-9,
        "ties kept in file order: {wc}"
    );

    // The library's own tie-breaker: same seed, same order; another seed, another order.
    let scores = [0.0; 12];
    let one = rank_with_random_ties(&scores, &mut SplitMix64::new(42));
    assert_eq!(
        one,
        rank_with_random_ties(&scores, &mut SplitMix64::new(42))
    );
    assert_ne!(
        one,
        rank_with_random_ties(&scores, &mut SplitMix64::new(43))
    );
    let mut sorted = one.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..12).collect::<Vec<_>>(), "a permutation");
}

#[test]
fn measures_arithmetic() {
    // One answer, ranked second: AP = RR = 0.5.
    assert_eq!(
        average_precision(&[2, 0, 1], &[true, false, false]),
        Some((0.5, 0.5))
    );
    // Answers ranked first and third: AP = (1/1 + 2/3) / 2, RR = 1.
    let (ap, rr) = average_precision(&[0, 2, 1], &[true, true, false]).unwrap();
    assert!((ap - 5.0 / 6.0).abs() < 1e-12, "{ap}");
    assert_eq!(rr, 1.0);
    // No answer: not measured.
    assert_eq!(average_precision(&[0, 1], &[false, false]), None);
}

#[test]
fn text_report_names_every_figure() {
    let f = Fixture::new();
    f.write("wikiqa.tsv", &clear_cut());
    let (code, out, err) = run(f.dir.path(), &["wikiqa", "content/wikiqa.tsv"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("3 questions with an answer sentence (4 questions, 3 documents)"),
        "{out}"
    );
    for needle in [
        "MAP",
        "MRR",
        "word count",
        "IDF-weighted word count",
        "@1",
        "@5",
    ] {
        assert!(out.contains(needle), "missing {needle}: {out}");
    }
}

#[test]
fn malformed_files_are_named_with_their_line() {
    let f = Fixture::new();
    let cases: &[(&str, String, &str)] = &[
        (
            "header.tsv",
            "Question\tAnswer\n".to_string(),
            "header.tsv:1: not a WikiQA header",
        ),
        (
            "label.tsv",
            format!("{HEADER}Q1\tq\tD1\tT\tD1-0\tA sentence.\t0\nQ1\tq\tD1\tT\tD1-1\tB.\tyes\n"),
            "label.tsv:3: label must be 0 or 1",
        ),
        (
            "columns.tsv",
            format!("{HEADER}Q1\tq\tD1\tT\tD1-0\tA sentence.\n"),
            "columns.tsv:2: expected 7 tab-separated columns, found 6",
        ),
        (
            "sentence.tsv",
            format!("{HEADER}Q1\tq\tD1\tT\tD7-0\tA sentence.\t1\n"),
            "sentence.tsv:2: SentenceID \"D7-0\"",
        ),
        ("empty.tsv", String::new(), "empty.tsv:1: empty file"),
    ];
    for (name, text, expected) in cases {
        f.write(name, text);
        let (code, out, err) = run(
            f.dir.path(),
            &["wikiqa", &format!("content/{name}"), "--json"],
        );
        assert_eq!(code, 2, "{name}: {out}");
        assert!(err.contains(expected), "{name}: {err}");
    }
    let (code, _, err) = run(f.dir.path(), &["wikiqa", "content/missing.tsv"]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot read content/missing.tsv"), "{err}");
}

#[test]
fn parsed_file_keeps_documents_once_and_labels_per_question() {
    let data = parse_wikiqa(std::path::Path::new("x.tsv"), &clear_cut()).unwrap();
    assert_eq!(data.documents.len(), 3);
    assert_eq!(data.documents[0].sentences, BRIDGE);
    assert_eq!(data.questions.len(), 4);
    assert_eq!(data.questions[2].labels, [false, false, true]);
    assert!(!data.questions[3].answered());
}

/// The similarity sample the repository ships (hand-written: four articles on bees, four on
/// railways, same-subject pairs judged 1, one pair judged twice).
const RELATED_SAMPLE: &str = include_str!("fixtures/eval/related-sample.json");

#[test]
fn related_json_figures_on_the_sample() {
    let f = Fixture::new();
    f.write("related.json", RELATED_SAMPLE);
    let (code, out, err) = run(f.dir.path(), &["related", "content/related.json", "--json"]);
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON object");
    assert_eq!(v["documents"], 8);
    assert_eq!(v["k"], 5);
    let dev = v["development_queries"].as_u64().unwrap();
    let untouched = v["untouched_queries"].as_u64().unwrap();
    assert_eq!(dev + untouched, 8, "every document is a query of one half");
    assert!(dev > 0 && untouched > 0, "{v}");
    assert_eq!(v["short_answers"], 0, "five articles every time: {v}");
    for system in ["articlebot", "tfidf", "random", "difference"] {
        for key in ["development", "untouched", "all"] {
            assert!(v[system][key].is_f64(), "{system}.{key}: {v}");
        }
    }
    // Two clear subjects: `related` and TF-IDF put the three same-subject articles first.
    assert!(v["articlebot"]["all"].as_f64().unwrap() > 0.95, "{v}");
    assert!(v["tfidf"]["all"].as_f64().unwrap() > 0.9, "{v}");
    assert!(
        v["random"]["all"].as_f64().unwrap() < v["articlebot"]["all"].as_f64().unwrap(),
        "{v}"
    );
    assert!(v.get("grid").is_none(), "the grid only when asked for");

    let (code, out, err) = run(f.dir.path(), &["related", "content/related.json", "--grid"]);
    assert_eq!(code, 0, "{err}");
    for needle in [
        "NDCG@5",
        "articlebot (related)",
        "TF-IDF cosine",
        "random order",
        "title  terms",
    ] {
        assert!(out.contains(needle), "missing {needle}: {out}");
    }
}

#[test]
fn malformed_similarity_sets_are_named() {
    let f = Fixture::new();
    let doc =
        |id: &str| format!(r#"{{"id": "{id}", "title": "T {id}", "text": "Words of {id}."}}"#);
    let set = |docs: &[String], judgements: &str| {
        format!(
            r#"{{"documents": [{}], "judgements": [{judgements}]}}"#,
            docs.join(",")
        )
    };
    let two = [doc("a"), doc("b")];
    let cases: &[(&str, String, &str)] = &[
        (
            "unknown.json",
            set(&two, r#"{"a": "a", "b": "zz", "score": 1}"#),
            "judgements[0]: no document has the id \"zz\"",
        ),
        (
            "twice.json",
            set(&[doc("a"), doc("a")], ""),
            "documents[1]: id \"a\" is used twice",
        ),
        (
            "negative.json",
            set(&two, r#"{"a": "a", "b": "b", "score": -1}"#),
            "judgements[0]: score must be a number of 0 or more",
        ),
        (
            "itself.json",
            set(&two, r#"{"a": "b", "b": "b", "score": 1}"#),
            "judgements[0]: a document judged against itself",
        ),
        ("one.json", set(&[doc("a")], ""), "at least two documents"),
        (
            "field.json",
            r#"{"documents": [], "judgement": []}"#.into(),
            "field.json",
        ),
    ];
    for (name, text, expected) in cases {
        f.write(name, text);
        let (code, out, err) = run(f.dir.path(), &["related", &format!("content/{name}")]);
        assert_eq!(code, 2, "{name}: {out}");
        assert!(err.contains(expected), "{name}: {err}");
    }
}

#[test]
fn ndcg_arithmetic() {
    use measures::ndcg_at;
    // The best order scores 1, whatever the gains' scale.
    assert_eq!(ndcg_at(5, &[0, 1, 2], &[3.0, 2.0, 0.0]), Some(1.0));
    // The one relevant candidate second: 1/log2(3).
    let x = ndcg_at(5, &[0, 1], &[0.0, 1.0]).unwrap();
    assert!((x - 1.0 / 3f64.log2()).abs() < 1e-12, "{x}");
    // Beyond the cut-off it counts nothing.
    assert_eq!(ndcg_at(1, &[0, 1], &[0.0, 1.0]), Some(0.0));
    // Nothing relevant: not measured.
    assert_eq!(ndcg_at(5, &[0, 1], &[0.0, 0.0]), None);
}

/// The reading-comprehension sample the repository ships (hand-written, SQuAD format: six
/// short articles of two or three paragraphs, 18 answerable questions and one without an
/// answer).
const READING_SAMPLE: &str = include_str!("fixtures/eval/reading-sample.json");

fn reading_json(f: &Fixture, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["reading", "content/reading.json", "--json"];
    all.extend_from_slice(args);
    let (code, out, err) = run(f.dir.path(), &all);
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    serde_json::from_str(out.trim()).expect("one JSON object")
}

#[test]
fn reading_json_figures_on_the_sample() {
    let f = Fixture::new();
    f.write("reading.json", READING_SAMPLE);
    let v = reading_json(&f, &[]);
    assert_eq!(v["articles"], 6, "{v}");
    assert_eq!(v["unanswerable_skipped"], 1, "{v}");
    let dev = v["development_questions"].as_u64().unwrap();
    let untouched = v["untouched_questions"].as_u64().unwrap();
    assert_eq!(
        dev + untouched,
        18,
        "every answerable question in one half: {v}"
    );
    assert!(dev > 0 && untouched > 0, "both halves hold questions: {v}");
    let systems: Vec<&str> = v["systems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["system"].as_str().unwrap())
        .collect();
    assert_eq!(
        systems,
        [
            "articlebot (ask)",
            "BM25, 1-sentence windows",
            "BM25, 2-sentence windows",
            "BM25, 3-sentence windows",
            "BM25, whole paragraphs"
        ]
    );
    let figure = |system: usize, half: &str, key: &str| {
        v["systems"][system][half][key]
            .as_f64()
            .unwrap_or_else(|| panic!("{system}.{half}.{key}: {v}"))
    };
    for s in 0..5 {
        for half in ["development", "untouched"] {
            let at1 = figure(s, half, "answer_at_1");
            let at3 = figure(s, half, "answer_at_3");
            assert!((0.0..=1.0).contains(&at1) && at1 <= at3, "{s} {half}: {v}");
            let [lo, hi] = [0, 1].map(|i| {
                v["systems"][s][half]["answer_at_1_ci95"][i]
                    .as_f64()
                    .unwrap()
            });
            assert!(lo <= at1 && at1 <= hi, "{s} {half}: {v}");
        }
    }
    // Each question names its article's own rare words: ask finds the article and the answer.
    for half in ["development", "untouched"] {
        assert_eq!(figure(0, half, "article_at_1"), 1.0, "{half}: {v}");
        assert!(figure(0, half, "answer_at_3") >= 0.8, "{half}: {v}");
        let chars = figure(0, half, "mean_chars");
        assert!(chars > 20.0 && chars <= 400.0, "{half}: {chars}");
        // A paragraph is longer than one sentence of it.
        assert!(
            figure(4, half, "mean_chars") > figure(1, half, "mean_chars"),
            "{v}"
        );
    }
    assert!(v["difference"]["baseline"].is_string(), "{v}");
}

#[test]
fn reading_asks_one_half_when_told() {
    let f = Fixture::new();
    f.write("reading.json", READING_SAMPLE);
    let v = reading_json(&f, &["--half", "development"]);
    let dev = v["development_questions"].as_u64().unwrap();
    assert_eq!(v["systems"][0]["development"]["questions"], dev, "{v}");
    assert_eq!(v["systems"][0]["untouched"]["questions"], 0, "{v}");
    let v = reading_json(&f, &["--half", "untouched"]);
    assert_eq!(v["systems"][0]["development"]["questions"], 0, "{v}");

    let (code, out, err) = run(
        f.dir.path(),
        &["reading", "content/reading.json", "--half", "development"],
    );
    assert_eq!(code, 0, "{err}");
    for needle in [
        "answer@1",
        "article@1",
        "BM25, whole paragraphs",
        "untouched: not asked",
    ] {
        assert!(out.contains(needle), "missing {needle}: {out}");
    }
}

#[test]
fn malformed_reading_sets_are_named() {
    let f = Fixture::new();
    let para = |q: &str| {
        format!(
            r#"{{"context": "Bees make honey.", "qas": [{{"id": "1", "question": "{q}", "answers": [{{"text": "honey", "answer_start": 10}}]}}]}}"#
        )
    };
    let set = |articles: &str| format!(r#"{{"version": "1.1", "data": [{articles}]}}"#);
    let cases: &[(&str, String, &str)] = &[
        (
            "shape.json",
            r#"{"articles": []}"#.into(),
            "shape.json: not a SQuAD-format file",
        ),
        ("empty.json", set(""), "empty.json: data: no articles"),
        (
            "twice.json",
            set(&format!(
                r#"{{"title": "Bees", "paragraphs": [{p}]}}, {{"title": "Bees", "paragraphs": [{p}]}}"#,
                p = para("What do bees make?")
            )),
            "data[1]: title \"Bees\" is used twice",
        ),
        (
            "question.json",
            set(&format!(
                r#"{{"title": "Bees", "paragraphs": [{}]}}"#,
                para(" ")
            )),
            "data[0].paragraphs[0].qas[0]: empty question",
        ),
        (
            "unanswerable.json",
            set(
                r#"{"title": "Bees", "paragraphs": [{"context": "Bees make honey.", "qas": [{"id": "1", "question": "Why?", "answers": [], "is_impossible": true}]}]}"#,
            ),
            "no answerable question",
        ),
    ];
    for (name, text, expected) in cases {
        f.write(name, text);
        let (code, out, err) = run(f.dir.path(), &["reading", &format!("content/{name}")]);
        assert_eq!(code, 2, "{name}: {out}");
        assert!(err.contains(expected), "{name}: {err}");
    }
}
