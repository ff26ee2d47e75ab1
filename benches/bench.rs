//! The performance suite (issue 6): for each collection size, index build throughput beside a
//! raw-tantivy baseline, latency of `ask`, `search` and autocomplete over mixed questions,
//! reload time, process start to first answer with a persisted index, and peak memory.
//!
//! `cargo bench --bench bench -- [--sizes 1000,10000] [--questions 1000] [--seed 42]
//! [--rounds 2] [--dir /tmp]`
//!
//! Each phase runs in a child process (this binary again, with `--phase`) so that its peak
//! RSS (`VmHWM`) is its own: building, serving and reloading do not mask each other.

mod gen;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::time::{Duration, Instant};

use articlebot::answer::question::Question;
use articlebot::answer::{Command, Engine, Scope};
use articlebot::config::{IndexLocation, Settings};
use articlebot::library::{Library, NoProgress, OpenMode};

struct Options {
    sizes: Vec<usize>,
    questions: usize,
    seed: u64,
    rounds: usize,
    dir: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--phase") {
        return phase(&args[1..]);
    }
    let mut opts = Options {
        sizes: vec![1000, 10_000],
        questions: 1000,
        seed: 42,
        rounds: 2,
        dir: None,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().cloned().unwrap_or_default();
        match a.as_str() {
            "--sizes" => {
                opts.sizes = value()
                    .split(',')
                    .map(|s| s.trim().replace('_', "").parse())
                    .collect::<Result<_, _>>()?
            }
            "--questions" => opts.questions = value().parse()?,
            "--seed" => opts.seed = value().parse()?,
            "--rounds" => opts.rounds = value().parse::<usize>()?.max(1),
            "--dir" => opts.dir = Some(value().into()),
            // `cargo bench` passes `--bench`; filters are not used.
            _ => {}
        }
    }
    let tmp = tempfile::Builder::new()
        .prefix("articlebot-bench-")
        .tempdir_in(opts.dir.clone().unwrap_or_else(std::env::temp_dir))?;
    println!("{}", machine());
    let mut rows = Vec::new();
    for &size in &opts.sizes {
        rows.push(run_size(tmp.path(), size, &opts)?);
    }
    println!("\n{}", table(&opts, &rows));
    Ok(())
}

type Figures = HashMap<String, f64>;

fn run_size(tmp: &Path, size: usize, opts: &Options) -> anyhow::Result<(usize, Figures)> {
    let base = tmp.join(format!("n{size}"));
    let content = base.join("content");
    std::fs::create_dir_all(&content)?;
    eprintln!("== {size} articles: generating");
    let t = Instant::now();
    let c = gen::generate(&content, opts.seed, size)?;
    let mut f = Figures::new();
    f.insert("mb".into(), c.bytes as f64 / 1e6);
    f.insert("words".into(), c.words as f64);
    eprintln!(
        "   {:.1} MB, {:.1}M words in {:.1}s",
        c.bytes as f64 / 1e6,
        c.words as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    // The questions go to the serving phase in a file: one `kind<TAB>text` per line.
    let qfile = base.join("questions.tsv");
    std::fs::write(&qfile, questions_tsv(&c, opts.seed, opts.questions))?;
    let index = base.join("index");
    let baseline_dir = base.join("baseline");
    // Page cache warm for both builds: read once untimed.
    for a in &c.articles {
        let _ = std::fs::read(&a.path)?;
    }
    // Ours and the baseline alternate, `--rounds` times (2), and the best of each counts: the
    // machine is shared, so a single run says more about the neighbours than about the code.
    for round in 0..opts.rounds {
        eprintln!("   build round {}", round + 1);
        let _ = std::fs::remove_dir_all(&index);
        let ours = child("build", &content, &index, &[])?;
        let _ = std::fs::remove_dir_all(&baseline_dir);
        std::fs::create_dir_all(&baseline_dir)?;
        let threads = ours["threads"].to_string();
        let theirs = child("baseline", &content, &baseline_dir, &[&threads])?;
        keep_min(&mut f, "build_s", ours["secs"]);
        keep_max(&mut f, "build_peak_mb", ours["peak_kb"] / 1024.0);
        keep_min(&mut f, "base_s", theirs["secs"]);
        keep_max(&mut f, "base_peak_mb", theirs["peak_kb"] / 1024.0);
        f.insert("threads".into(), ours["threads"]);
        f.insert("passages".into(), ours["passages"]);
        f.insert("articles".into(), ours["articles"]);
    }
    eprintln!("   serving {} questions of each kind", opts.questions);
    let serve = child(
        "serve",
        &content,
        &index,
        &[qfile.to_string_lossy().as_ref()],
    )?;
    f.extend(serve);
    // The same questions' words against the baseline's index, right after (same machine load,
    // as near as a shared machine allows): what tantivy alone takes to answer them.
    eprintln!("   the same questions, raw tantivy");
    let raw = child(
        "rawserve",
        &content,
        &baseline_dir,
        &[qfile.to_string_lossy().as_ref()],
    )?;
    for (k, v) in raw {
        if k.starts_with("raw_") {
            f.insert(k, v);
        }
    }
    let _ = std::fs::remove_dir_all(&baseline_dir);
    eprintln!("   reload");
    // Four files in different places of the collection: three incremental reloads in a row,
    // then a full rebuild of the fourth change.
    let changed: Vec<String> = (1..=4)
        .map(|k| {
            c.articles[c.articles.len() * k / 5]
                .path
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let changed: Vec<&str> = changed.iter().map(String::as_str).collect();
    let reload = child("reload", &content, &index, &changed)?;
    f.insert("reload_s".into(), reload["secs"]);
    f.insert("reload_max_s".into(), reload["max_secs"]);
    f.insert("reload_full_s".into(), reload["full_secs"]);
    f.insert("reload_peak_mb".into(), reload["peak_kb"] / 1024.0);
    f.insert(
        "reload_update_peak_mb".into(),
        reload["update_peak_kb"] / 1024.0,
    );
    eprintln!("   start to first answer");
    let question = format!("what is {}", c.articles[0].topic[0]);
    let mut starts = Vec::new();
    for _ in 0..7 {
        starts.push(start_to_answer(&content, &index, &question, tmp)?);
    }
    starts.sort();
    f.insert("start_med_s".into(), starts[starts.len() / 2].as_secs_f64());
    f.insert("start_max_s".into(), starts[starts.len() - 1].as_secs_f64());
    std::fs::remove_dir_all(&base)?;
    Ok((size, f))
}

/// The serving phase's inputs: one `kind<TAB>text` per line, `n` questions and `n` prefixes.
fn questions_tsv(c: &gen::Collection, seed: u64, n: usize) -> String {
    let mut lines = String::new();
    for (kind, q) in gen::questions(c, seed, n) {
        lines.push_str(&format!("{kind:?}\t{q}\n"));
    }
    for p in gen::prefixes(c, seed, n) {
        lines.push_str(&format!("Prefix\t{p}\n"));
    }
    lines
}

fn keep_min(f: &mut Figures, k: &str, v: f64) {
    let e = f.entry(k.into()).or_insert(v);
    *e = e.min(v);
}

fn keep_max(f: &mut Figures, k: &str, v: f64) {
    let e = f.entry(k.into()).or_insert(v);
    *e = e.max(v);
}

/// Runs one phase in a child process and parses its `key value` lines.
fn child(phase: &str, content: &Path, index: &Path, extra: &[&str]) -> anyhow::Result<Figures> {
    let out = Process::new(std::env::current_exe()?)
        .arg("--phase")
        .arg(phase)
        .arg(content)
        .arg(index)
        .args(extra)
        .output()?;
    if !out.status.success() {
        anyhow::bail!(
            "phase {phase} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_string(), v.trim().parse().ok()?))
        })
        .collect())
}

/// Wall time of the real binary answering one question from a persisted, unchanged index.
fn start_to_answer(
    content: &Path,
    index: &Path,
    question: &str,
    cwd: &Path,
) -> anyhow::Result<Duration> {
    let t = Instant::now();
    let status = Process::new(env!("CARGO_BIN_EXE_articlebot"))
        .current_dir(cwd)
        .arg("--content")
        .arg(content)
        .arg("--index")
        .arg(index)
        .arg("ask")
        .arg(question)
        .stdout(std::process::Stdio::null())
        .status()?;
    let took = t.elapsed();
    if status.code().is_none_or(|c| c > 1) {
        anyhow::bail!("articlebot ask failed: {status}");
    }
    Ok(took)
}

fn settings(content: &Path, index: &Path) -> Settings {
    let mut s = Settings::for_content(content);
    s.index = IndexLocation::Dir(index.to_path_buf());
    s
}

/// Peak and current resident set size of this process, in KiB.
fn rss_kb() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

fn phase(args: &[String]) -> anyhow::Result<()> {
    let name = args[0].as_str();
    if name == "generate" {
        // `--phase generate DIR SIZE [SEED [QUESTIONS_FILE]]`: a collection to profile with,
        // and the serving phase's inputs for it (`--phase serve DIR INDEX QUESTIONS_FILE`).
        let size = args[2].parse()?;
        let seed = args.get(3).map_or(Ok(42), |s| s.parse())?;
        let c = gen::generate(Path::new(&args[1]), seed, size)?;
        println!("mb {}", c.bytes as f64 / 1e6);
        if let Some(qfile) = args.get(4) {
            std::fs::write(qfile, questions_tsv(&c, seed, 1000))?;
        }
        return Ok(());
    }
    let content = Path::new(&args[1]);
    let index = Path::new(&args[2]);
    let settings = settings(content, index);
    match name {
        "build" => {
            let t = Instant::now();
            let lib = Library::open(&settings, OpenMode::Rebuild, &NoProgress)?;
            println!("secs {}", t.elapsed().as_secs_f64());
            println!("articles {}", lib.articles.len());
            println!("passages {}", lib.passages.len());
            println!("threads {}", index_threads(lib.passages.len()));
        }
        "baseline" => {
            let t = Instant::now();
            let threads = raw_tantivy(index, &settings, args[3].parse()?)?;
            println!("secs {}", t.elapsed().as_secs_f64());
            println!("threads {threads}");
        }
        "serve" => serve(&settings, Path::new(&args[3]))?,
        "rawserve" => raw_serve(index, &settings, Path::new(&args[3]))?,
        "answers" => answers(&settings, Path::new(&args[3]))?,
        "reload" => {
            // A serving process holds its library while the new one is made beside it: three
            // files changed one after the other, each an incremental reload (`Library::update`,
            // as `reload` calls it) of the library before; then one more file changed and the
            // library built whole (`Library::open`, what a reload did before).
            let change = |path: &str| -> anyhow::Result<()> {
                let mut text = std::fs::read_to_string(path)?;
                text.push_str("\n\nOne more paragraph, added for the reload benchmark.\n");
                Ok(std::fs::write(path, text)?)
            };
            let mut old = Library::open(&settings, OpenMode::Reuse, &NoProgress)?;
            anyhow::ensure!(old.info.reused, "the persisted index was not reused");
            // The peak from here on is the updates' own, not the open's (Linux: writing 5 to
            // clear_refs resets VmHWM to the present RSS).
            std::fs::write("/proc/self/clear_refs", "5")?;
            let mut times = Vec::new();
            for path in &args[3..6] {
                change(path)?;
                let t = Instant::now();
                let new = Library::update(&settings, &old, &NoProgress)?;
                times.push(t.elapsed().as_secs_f64());
                anyhow::ensure!(new.info.updated, "the reload was not incremental");
                old = new;
            }
            times.sort_by(f64::total_cmp);
            println!("secs {}", times[1]);
            println!("max_secs {}", times[2]);
            // The incremental reloads' own peak: the phase's whole peak also holds the full
            // rebuild below, a build's beside the old library.
            println!("update_peak_kb {}", rss_kb().0);
            change(&args[6])?;
            let t = Instant::now();
            let new = Library::open(&settings, OpenMode::Reuse, &NoProgress)?;
            println!("full_secs {}", t.elapsed().as_secs_f64());
            anyhow::ensure!(!new.info.reused, "the changed collection was not rebuilt");
            drop(old);
        }
        other => anyhow::bail!("unknown phase {other}"),
    }
    let (peak, _) = rss_kb();
    println!("peak_kb {peak}");
    Ok(())
}

/// The indexing threads [`articlebot::index::SearchIndex::build`] uses for `passages`.
fn index_threads(passages: usize) -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8)
        .min(1 + passages / 2000)
}

/// The baseline: the same files, read and indexed whole into one `en_stem` text field, with
/// as many threads as ours uses and the same memory budget per thread. Each document also
/// carries its file's number (a fast field), which the query baseline reads its text by.
fn raw_tantivy(index: &Path, settings: &Settings, threads: usize) -> anyhow::Result<usize> {
    use tantivy::schema::{Schema, FAST, TEXT};
    let (files, _) = articlebot::content::scan(&settings.content.dir)?;
    let mut b = Schema::builder();
    let body = b.add_text_field(
        "body",
        TEXT.set_indexing_options(
            tantivy::schema::TextFieldIndexing::default()
                .set_tokenizer("en_stem")
                .set_index_option(tantivy::schema::IndexRecordOption::WithFreqsAndPositions),
        ),
    );
    let file = b.add_u64_field("file", FAST);
    let idx = tantivy::Index::create_in_dir(index, b.build())?;
    let mut writer =
        idx.writer_with_num_threads::<tantivy::TantivyDocument>(threads, 64_000_000 * threads)?;
    for (i, f) in files.iter().enumerate() {
        let text = std::fs::read_to_string(&f.abs)?;
        let mut doc = tantivy::TantivyDocument::new();
        doc.add_text(body, &text);
        doc.add_u64(file, i as u64);
        writer.add_document(doc)?;
    }
    writer.commit()?;
    writer.wait_merging_threads()?;
    Ok(threads)
}

/// The query baseline (issue 18): each question's words (the stems `ask` and `search` search
/// for: [`Question`]'s terms) as a BM25 query of tantivy alone over the baseline's index (one
/// document per article file), the top 10, and a snippet (tantivy's `SnippetGenerator`) of
/// each of the first 3, from the file's text. The same questions, warm-up and timing as
/// [`serve`]; `raw_p50`, `raw_p99`, … and per kind `raw_Long_p99`, ….
fn raw_serve(index: &Path, settings: &Settings, questions: &Path) -> anyhow::Result<()> {
    use tantivy::collector::TopDocs;
    use tantivy::query::{BooleanQuery, Occur, TermQuery};
    use tantivy::schema::IndexRecordOption;
    use tantivy::snippet::SnippetGenerator;
    let (files, _) = articlebot::content::scan(&settings.content.dir)?;
    let idx = tantivy::Index::open_in_dir(index)?;
    let body = idx.schema().get_field("body")?;
    let reader = idx.reader()?;
    let text = std::fs::read_to_string(questions)?;
    let asks: Vec<(&str, &str)> = text
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .filter(|(kind, _)| *kind != "Prefix")
        .collect();
    let run = |q: &str| -> anyhow::Result<usize> {
        let searcher = reader.searcher();
        let words = Question::new(q, |_| 1.0);
        let clauses: Vec<(Occur, Box<dyn tantivy::query::Query>)> = words
            .terms
            .iter()
            .map(|t| {
                let term = tantivy::Term::from_field_text(body, &t.stem);
                let q: Box<dyn tantivy::query::Query> =
                    Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs));
                (Occur::Should, q)
            })
            .collect();
        if clauses.is_empty() {
            return Ok(0);
        }
        // As articlebot's own queries are made (`articlebot::index`): `Should` clauses, at
        // least one of which matches.
        let query = BooleanQuery::new(clauses);
        let top = searcher.search(&query, &TopDocs::with_limit(10))?;
        let snippets = SnippetGenerator::create(&searcher, &query, body)?;
        let mut chars = 0;
        for (_, addr) in top.iter().take(3) {
            let column = searcher
                .segment_reader(addr.segment_ord)
                .fast_fields()
                .u64("file")?;
            let n = column.first(addr.doc_id).unwrap_or(0) as usize;
            let text = std::fs::read_to_string(&files[n].abs)?;
            chars += snippets.snippet(&text).fragment().len();
        }
        Ok(top.len() + chars)
    };
    for (_, q) in asks.iter().take(100) {
        run(q)?;
    }
    let mut all = Vec::new();
    let mut by_kind: HashMap<String, Vec<Duration>> = HashMap::new();
    for (kind, q) in &asks {
        let t = Instant::now();
        std::hint::black_box(run(q)?);
        let d = t.elapsed();
        all.push(d);
        by_kind.entry(kind.to_string()).or_default().push(d);
    }
    report("raw", &mut all);
    for (kind, mut t) in by_kind {
        report(&format!("raw_{kind}"), &mut t);
    }
    Ok(())
}

fn serve(settings: &Settings, questions: &Path) -> anyhow::Result<()> {
    let lib = Library::open(settings, OpenMode::Reuse, &NoProgress)?;
    anyhow::ensure!(lib.info.reused, "the persisted index was not reused");
    let engine = Engine::new(lib, settings.answer.clone());
    let text = std::fs::read_to_string(questions)?;
    let mut asks = Vec::new();
    let mut prefixes = Vec::new();
    for line in text.lines() {
        let (kind, q) = line.split_once('\t').unwrap_or(("", line));
        if kind == "Prefix" {
            prefixes.push(q.to_string());
        } else {
            asks.push((kind.to_string(), q.to_string()));
        }
    }
    // Warm up: the first questions fault the index files into memory.
    for (_, q) in asks.iter().take(100) {
        engine.execute(&ask(q))?;
    }
    let mut found = 0usize;
    let mut ask_t = Vec::new();
    let mut by_kind: HashMap<String, Vec<Duration>> = HashMap::new();
    for (kind, q) in &asks {
        let command = ask(q);
        let t = Instant::now();
        let a = engine.execute(&command)?;
        let d = t.elapsed();
        found += usize::from(a.found());
        ask_t.push(d);
        by_kind.entry(kind.clone()).or_default().push(d);
    }
    let mut search_t = Vec::new();
    for (_, q) in &asks {
        let command = Command::Search {
            query: q.clone(),
            page: 1,
            tag: None,
        };
        let t = Instant::now();
        std::hint::black_box(engine.execute(&command)?);
        search_t.push(t.elapsed());
    }
    let mut auto_t = Vec::new();
    let mut choices = 0usize;
    for p in &prefixes {
        let t = Instant::now();
        let c = engine.autocomplete(p, 25);
        auto_t.push(t.elapsed());
        choices += c.len();
    }
    if std::env::var_os("BENCH_SLOWEST").is_some() {
        slowest("autocomplete", &prefixes, &mut |p| {
            engine.autocomplete(p, 25);
        });
        slowest(
            "ask",
            &asks.iter().map(|a| a.1.clone()).collect::<Vec<_>>(),
            &mut |q| {
                let _ = engine.execute(&ask(q));
            },
        );
        slowest(
            "search",
            &asks.iter().map(|a| a.1.clone()).collect::<Vec<_>>(),
            &mut |q| {
                let _ = engine.execute(&Command::Search {
                    query: q.to_string(),
                    page: 1,
                    tag: None,
                });
            },
        );
    }
    report("ask", &mut ask_t);
    report("search", &mut search_t);
    report("auto", &mut auto_t);
    for (kind, mut t) in by_kind {
        report(&format!("ask_{kind}"), &mut t);
    }
    println!("ask_found {}", found as f64 / asks.len().max(1) as f64);
    println!(
        "auto_choices {}",
        choices as f64 / prefixes.len().max(1) as f64
    );
    let (_, rss) = rss_kb();
    println!("serve_rss_mb {}", rss / 1024.0);
    let (peak, _) = rss_kb();
    println!("serve_peak_mb {}", peak / 1024.0);
    Ok(())
}

/// `--phase answers DIR INDEX QUESTIONS_FILE`: the JSON of every `ask` and `search` answer to
/// the questions, one a line, to show that a change to the answer code keeps the answers.
fn answers(settings: &Settings, questions: &Path) -> anyhow::Result<()> {
    let lib = Library::open(settings, OpenMode::Reuse, &NoProgress)?;
    // Answers are compared between binaries on one index: an index this binary could not
    // reuse (another format, other content) is built again, and its segments move the last
    // bits of scores, which would pass for a change of the code.
    if !lib.info.reused {
        eprintln!("answers: the index was built again, not reused: compare with care");
    }
    let engine = Engine::new(lib, settings.answer.clone());
    let text = std::fs::read_to_string(questions)?;
    for (kind, q) in text.lines().filter_map(|l| l.split_once('\t')) {
        if kind == "Prefix" {
            continue;
        }
        let search = Command::Search {
            query: q.to_string(),
            page: 1,
            tag: None,
        };
        for command in [ask(q), search] {
            println!("{}", serde_json::to_string(&engine.execute(&command)?)?);
        }
    }
    Ok(())
}

/// With `BENCH_SLOWEST` set, the serving phase prints its ten slowest inputs of each kind
/// to stderr: where to look first.
fn slowest(what: &str, inputs: &[String], run: &mut dyn FnMut(&str)) {
    let mut t: Vec<(Duration, &String)> = inputs
        .iter()
        .map(|i| {
            let start = Instant::now();
            run(i);
            (start.elapsed(), i)
        })
        .collect();
    t.sort_by_key(|x| std::cmp::Reverse(x.0));
    for (d, i) in t.iter().take(10) {
        eprintln!("slowest {what}: {:.3} ms {i:?}", d.as_secs_f64() * 1e3);
    }
}

fn ask(q: &str) -> Command {
    Command::Ask {
        question: q.to_string(),
        scope: Scope::Collection,
    }
}

/// Prints `name_p50`, `name_p99`, `name_max` in milliseconds.
fn report(name: &str, t: &mut [Duration]) {
    if t.is_empty() {
        return;
    }
    t.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let at = |p: f64| t[((t.len() as f64 * p).ceil() as usize).clamp(1, t.len()) - 1];
    println!("{name}_p50 {}", ms(at(0.50)));
    println!("{name}_p99 {}", ms(at(0.99)));
    println!("{name}_max {}", ms(t[t.len() - 1]));
    println!("{name}_n {}", t.len());
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map_or("?".into(), |kb| format!("{:.1} GiB", kb / 1024.0 / 1024.0));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!("machine: {cores} cores, {cpu}, {mem} RAM")
}

fn table(opts: &Options, rows: &[(usize, Figures)]) -> String {
    let mut out = String::new();
    let head: Vec<String> = rows.iter().map(|(n, _)| format!("{n} articles")).collect();
    out.push_str(&format!("| figure | {} |\n", head.join(" | ")));
    out.push_str(&format!("|---|{}\n", "---:|".repeat(rows.len())));
    let line = |out: &mut String, label: &str, cell: &dyn Fn(&Figures) -> String| {
        let cells: Vec<String> = rows.iter().map(|(_, f)| cell(f)).collect();
        out.push_str(&format!("| {label} | {} |\n", cells.join(" | ")));
    };
    let g = |f: &Figures, k: &str| f.get(k).copied().unwrap_or(f64::NAN);
    line(&mut out, "content (MB / M words / passages)", &|f| {
        format!(
            "{:.1} / {:.2} / {:.0}",
            g(f, "mb"),
            g(f, "words") / 1e6,
            g(f, "passages")
        )
    });
    line(&mut out, "build: articlebot (s, articles/s, MB/s)", &|f| {
        let s = g(f, "build_s");
        format!(
            "{s:.2} s, {:.0}/s, {:.1} MB/s",
            g(f, "articles") / s,
            g(f, "mb") / s
        )
    });
    line(&mut out, "build: raw tantivy (s, articles/s, MB/s)", &|f| {
        let s = g(f, "base_s");
        format!(
            "{s:.2} s, {:.0}/s, {:.1} MB/s",
            g(f, "articles") / s,
            g(f, "mb") / s
        )
    });
    line(&mut out, "build throughput ratio (ours / raw)", &|f| {
        format!("{:.2}x", g(f, "base_s") / g(f, "build_s"))
    });
    line(&mut out, "indexing threads", &|f| {
        format!("{:.0}", g(f, "threads"))
    });
    for (label, k) in [
        ("ask ms p50 / p99 / max", "ask"),
        ("search ms p50 / p99 / max", "search"),
        ("autocomplete ms p50 / p99 / max", "auto"),
        ("ask (short) p50 / p99", "ask_Short"),
        ("ask (long) p50 / p99", "ask_Long"),
        ("ask (rare) p50 / p99", "ask_Rare"),
        ("ask (common) p50 / p99", "ask_Common"),
        ("ask (typo) p50 / p99", "ask_Typo"),
    ] {
        line(&mut out, label, &|f| {
            let (p50, p99, max) = (
                g(f, &format!("{k}_p50")),
                g(f, &format!("{k}_p99")),
                g(f, &format!("{k}_max")),
            );
            if k.contains('_') {
                format!("{p50:.3} / {p99:.3}")
            } else {
                format!("{p50:.3} / {p99:.3} / {max:.2}")
            }
        });
    }
    line(
        &mut out,
        "raw tantivy query, same words (top 10, 3 snippets) p50 / p99 / max",
        &|f| {
            format!(
                "{:.3} / {:.3} / {:.2}",
                g(f, "raw_p50"),
                g(f, "raw_p99"),
                g(f, "raw_max")
            )
        },
    );
    line(&mut out, "raw (long) / (common) p99", &|f| {
        format!(
            "{:.3} / {:.3}",
            g(f, "raw_Long_p99"),
            g(f, "raw_Common_p99")
        )
    });
    line(&mut out, "p99 ratio to raw: ask / search", &|f| {
        format!(
            "{:.2}x / {:.2}x",
            g(f, "ask_p99") / g(f, "raw_p99"),
            g(f, "search_p99") / g(f, "raw_p99")
        )
    });
    line(&mut out, "ask: share with an answer", &|f| {
        format!("{:.0}%", 100.0 * g(f, "ask_found"))
    });
    line(
        &mut out,
        "reload, one file changed: incremental, median / worst of 3 (s)",
        &|f| format!("{:.3} / {:.3}", g(f, "reload_s"), g(f, "reload_max_s")),
    );
    line(
        &mut out,
        "reload, one file changed: full rebuild (s)",
        &|f| format!("{:.2}", g(f, "reload_full_s")),
    );
    line(
        &mut out,
        "start to first answer (s, median / max of 7)",
        &|f| format!("{:.3} / {:.3}", g(f, "start_med_s"), g(f, "start_max_s")),
    );
    line(&mut out, "RSS serving (MB, after / peak)", &|f| {
        format!("{:.0} / {:.0}", g(f, "serve_rss_mb"), g(f, "serve_peak_mb"))
    });
    line(&mut out, "RSS peak building (MB): articlebot / raw", &|f| {
        format!("{:.0} / {:.0}", g(f, "build_peak_mb"), g(f, "base_peak_mb"))
    });
    line(
        &mut out,
        "RSS peak reloading, old + new (MB): 3 incremental / with the full rebuild",
        &|f| {
            format!(
                "{:.0} / {:.0}",
                g(f, "reload_update_peak_mb"),
                g(f, "reload_peak_mb")
            )
        },
    );
    out.push_str(&format!(
        "\n{} questions per command (ask and search: short, long, rare, common, typo in turn), \
         {} partial names; seed {}.\n",
        opts.questions, opts.questions, opts.seed
    ));
    out
}
