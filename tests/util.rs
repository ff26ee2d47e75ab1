//! Fixtures shared by the integration tests: a temporary content folder, libraries built
//! from it, and the compiled `articlebot` binary.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use articlebot::answer::{Answer, Command, Engine, Scope};
use articlebot::config::{IndexLocation, Settings};
use articlebot::library::{Library, NoProgress, OpenMode};

/// A temporary folder with a `content/` inside, removed on drop.
pub struct Fixture {
    pub dir: tempfile::TempDir,
}

impl Fixture {
    pub fn new() -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("content")).unwrap();
        Fixture { dir }
    }

    /// A fixture holding the small standard collection below.
    pub fn standard() -> Fixture {
        let f = Fixture::new();
        for (path, text) in STANDARD {
            f.write(path, text);
        }
        f
    }

    pub fn content(&self) -> PathBuf {
        self.dir.path().join("content")
    }

    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        self.write_bytes(rel, text.as_bytes())
    }

    pub fn write_bytes(&self, rel: &str, bytes: &[u8]) -> PathBuf {
        let path = self.content().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// Settings for this fixture: in-memory index, a base URL for links.
    pub fn settings(&self) -> Settings {
        let mut s = Settings::for_content(self.content());
        s.content.base_url = "https://site.example/a".into();
        s
    }

    /// Settings that persist the index in the fixture's `index/`.
    pub fn persisted(&self) -> Settings {
        let mut s = self.settings();
        s.index = IndexLocation::Dir(self.dir.path().join("index"));
        s
    }

    pub fn library(&self) -> Library {
        Library::open(&self.settings(), OpenMode::Reuse, &NoProgress).expect("library")
    }

    pub fn engine(&self) -> Engine {
        let s = self.settings();
        Engine::new(self.library(), s.answer)
    }

    /// Writes a config file pointing at this fixture and returns its path.
    pub fn config(&self, extra: &str) -> PathBuf {
        let path = self.dir.path().join("config.toml");
        std::fs::write(
            &path,
            format!(
                "[content]\ndir = \"content\"\nbase_url = \"https://site.example/a\"\n\
                 [index]\ndir = \"index\"\n[stats]\ndb = \"memory\"\n{extra}"
            ),
        )
        .unwrap();
        path
    }
}

pub fn ask(engine: &Engine, question: &str) -> articlebot::answer::AskAnswer {
    match engine
        .execute(&Command::Ask {
            question: question.into(),
            scope: Scope::Collection,
        })
        .unwrap()
    {
        Answer::Ask(a) => a,
        other => panic!("expected an ask answer, got {other:?}"),
    }
}

/// The compiled binary.
pub fn bin() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_articlebot"));
    cmd.env_remove("RUST_LOG")
        .env_remove("DISCORD_TOKEN")
        .env_remove("DATABASE_URL")
        .env_remove("ARTICLEBOT_LOG_FORMAT");
    cmd
}

/// Runs the binary in `dir` and returns (exit code, stdout, stderr).
pub fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = bin()
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run articlebot");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A small collection in both formats with takeaway sections and links.
pub const STANDARD: &[(&str, &str)] = &[
    (
        "stablecoins.txt",
        "Stablecoins and Their Pegs\n\
         How dollar-pegged tokens hold their value.\n\
         A stablecoin is a token that tracks the value of a reference asset such as the US dollar.\n\
         Most issuers hold reserves of cash and short-term treasury bills to back every token.\n\
         How Pegs Break\n\
         A peg breaks when holders doubt the reserves and redeem faster than the issuer can pay.\n\
         In March 2023 one large stablecoin fell to 88 cents after its bank failed.\n\
         The Takeaway for Crypto Innovators\n\
         Publish monthly reserve attestations from an independent auditor, as https://example.org/audits explains.\n\
         Design redemptions so that a bank run cannot drain the reserves in a day.\n",
    ),
    (
        "guides/composting.md",
        "+++\ntitle = \"Home Composting Basics\"\ntags = [\"garden\", \"Soil\"]\n\
         aliases = [\"compost guide\"]\nauthors = [\"Ada\"]\ndate = 2024-04-02\n\
         summary = \"Turn kitchen scraps into soil in a few months.\"\n+++\n\n\
         Composting turns kitchen scraps and garden waste into dark, crumbly soil.\n\n\
         ## Greens and Browns\n\n\
         Mix one part green material, such as vegetable peelings, with three parts brown material, such as dry leaves.\n\n\
         - Keep the pile as damp as a wrung-out sponge.\n\
         - Turn the pile every two weeks to let air in.\n\n\
         ## How Long It Takes\n\n\
         A well-tended hot pile becomes finished compost in two to three months, while a cold pile can take a year.\n\n\
         ## Key Takeaways\n\n\
         - Balance greens and browns; see the [ratio chart](https://example.org/ratios).\n\
         - Turn the pile for faster compost.\n",
    ),
    (
        "sleep.md",
        "# Why Sleep Matters\n\n\
         Adults need seven to nine hours of sleep each night to stay healthy.\n\n\
         ## The Sleep Cycle\n\n\
         Each night the brain moves through four or five cycles of light, deep and REM sleep, each lasting about ninety minutes.\n\
         Deep sleep repairs muscles, while REM sleep consolidates memories.\n\n\
         ## Caffeine and Screens\n\n\
         Caffeine has a half-life of about five hours, so an afternoon coffee still lingers at bedtime.\n\n\
         ## Bottom Line\n\n\
         Keep a regular schedule and a dark, cool bedroom.\n",
    ),
    (
        "cycling.md",
        "+++\ntitle = \"Urban Cycling Safety\"\ntags = [\"transport\"]\n+++\n\n\
         Cycling in a city is safe when riders are visible and predictable.\n\n\
         ## Lights and Visibility\n\n\
         Use a white front light and a red rear light after dark, and wear bright clothing.\n\n\
         ## Lessons Learned\n\n\
         Ride in a straight line and signal every turn.\n",
    ),
];

/// Runs `articlebot ARGS --json chat` in `dir` with `input` on stdin; asserts it exits 0 and
/// returns one JSON document per line of its stdout.
pub fn chat_json(dir: &Path, args: &[&str], input: &str) -> Vec<serde_json::Value> {
    use std::io::Write as _;
    use std::process::Stdio;
    let mut child = bin()
        .current_dir(dir)
        .args(args)
        .args(["--json", "chat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "chat exited with {:?}", out.status);
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// The stdout of a child process, line by line.
pub type StdoutLines = tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>;

/// The first line a started server prints on stdout (its banner, which holds its address) and
/// the rest of its stdout, waiting at most `patience`. A server that exits without a line fails
/// the test, with the text of `stderr` when it was written to a file.
pub async fn banner(
    child: &mut tokio::process::Child,
    patience: std::time::Duration,
    stderr: Option<&Path>,
) -> (String, StdoutLines) {
    use tokio::io::AsyncBufReadExt;
    let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("stdout piped")).lines();
    let first = tokio::time::timeout(patience, lines.next_line())
        .await
        .expect("the server starts")
        .expect("stdout readable")
        .unwrap_or_else(|| {
            let said = stderr.map(|p| std::fs::read_to_string(p).unwrap_or_default());
            panic!("no banner on stdout; stderr: {}", said.unwrap_or_default())
        });
    (first, lines)
}

/// The `http://…` address in a `serve-http` banner
/// ("articlebot serve-http: listening on http://127.0.0.1:PORT (N articles)").
pub fn banner_url(banner: &str) -> String {
    banner
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {banner:?}"))
        .to_string()
}
