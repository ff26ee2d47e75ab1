//! What a new user meets on the command line: several-word `--article`, usage errors and their
//! exit codes, `--help` for every argument, config and key errors in words, logs fit for where
//! they go, one warning per build for a rejected file, an empty content folder named, `--json
//! chat` one document per line, and `chat` in a real terminal (a pty made by `script`).

use std::io::{Read, Write};
use std::process::Stdio;

use crate::util::{bin, chat_json, run, Fixture};

#[test]
fn article_takes_several_words() {
    let f = Fixture::standard();
    f.config("");
    let (code, out, err) = run(
        f.dir.path(),
        &[
            "--json",
            "ask",
            "how",
            "long",
            "it",
            "takes",
            "--article",
            "home",
            "composting",
            "basics",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("one JSON document");
    let results = v["results"].as_array().unwrap();
    assert!(!results.is_empty(), "{out}");
    assert!(
        results.iter().all(|r| r["slug"] == "guides-composting"),
        "only the named article answers: {out}"
    );
}

#[test]
fn search_needs_words_or_a_tag() {
    let f = Fixture::standard();
    f.config("");
    let (code, _, err) = run(f.dir.path(), &["search"]);
    assert_eq!(code, 2, "a usage error: {err}");
    assert!(err.contains("--tag"), "{err}");
    let (code, _, err) = run(f.dir.path(), &["search", "--tag", "garden"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn help_describes_every_argument_and_groups_global_options() {
    let f = Fixture::new();
    for command in [
        "summary",
        "takeaways",
        "article",
        "related",
        "ask",
        "search",
    ] {
        let (code, out, _) = run(f.dir.path(), &[command, "--help"]);
        assert_eq!(code, 0);
        let arguments = out
            .lines()
            .filter(|l| {
                let l = l.trim_start();
                (l.starts_with('<') || l.starts_with('[')) && l.contains("...")
            })
            .collect::<Vec<_>>();
        assert!(!arguments.is_empty(), "{command}: {out}");
        for line in arguments {
            let described = line.split_once("...").map(|(_, d)| d.trim()).unwrap_or("");
            assert!(!described.is_empty(), "{command}: {line:?} has no help");
        }
        let (own, global) = out.split_once("Global options:").expect("a heading");
        assert!(global.contains("--config"), "{command}: {out}");
        assert!(
            !own.contains("--config"),
            "{command}: global options apart: {out}"
        );
    }
    let (_, out, _) = run(f.dir.path(), &["--help"]);
    assert!(out.contains("Exit codes:"), "{out}");
    for code in ["0  answered", "1  nothing found", "2  usage", "3  failure"] {
        assert!(out.contains(code), "{code}: {out}");
    }
}

#[test]
fn config_type_errors_are_in_words() {
    let f = Fixture::standard();
    f.config("threads = \"four\"\n[answer]\n");
    let config = f.dir.path().join("config.toml");
    // Put `threads` under [index]: the fixture's config ends inside [stats].
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("threads = \"four\"\n", "")
        .replace("[index]\n", "[index]\nthreads = \"four\"\n");
    std::fs::write(&config, text).unwrap();
    let (code, _, err) = run(f.dir.path(), &["ask", "sleep"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("index.threads (line 5): expected a whole number, got \"four\""),
        "{err}"
    );
    assert!(!err.contains("usize"), "{err}");
}

#[test]
fn a_key_that_is_not_hexadecimal_says_so() {
    let f = Fixture::standard();
    f.config("");
    let key = format!("{}xyz", "a".repeat(61));
    let (code, _, err) = run(f.dir.path(), &["serve-http", "--public-key", &key]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("not hexadecimal ('x' at character 62)"),
        "{err}"
    );
}

#[test]
fn usage_and_failures_have_their_own_exit_codes() {
    let f = Fixture::standard();
    f.config("");
    let (code, _, err) = run(f.dir.path(), &["--content", "nowhere", "ask", "x"]);
    assert_eq!(
        code, 2,
        "a missing content folder is the user's to fix: {err}"
    );
    assert!(
        err.contains("content folder nowhere does not exist"),
        "{err}"
    );
    // An index folder whose parent is a file is refused: the user's to fix.
    let (code, _, err) = run(
        f.dir.path(),
        &["--index", "config.toml/index", "ask", "sleep"],
    );
    assert_eq!(code, 2, "{err}");
}

/// A folder that cannot be created (under /proc, even for root) fails while running: exit 3,
/// not the usage code.
#[cfg(target_os = "linux")]
#[test]
fn a_failure_while_running_exits_3() {
    let f = Fixture::standard();
    f.config("");
    let (code, _, err) = run(
        f.dir.path(),
        &["--index", "/proc/articlebot-no-such/index", "ask", "sleep"],
    );
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("/proc/articlebot-no-such"), "{err}");
}

#[test]
fn logs_carry_no_colour_when_stderr_is_not_a_terminal() {
    let f = Fixture::standard();
    f.config("");
    f.write("broken.md", "+++\ntitle = \n+++\n");
    let out = bin()
        .current_dir(f.dir.path())
        .env("RUST_LOG", "info")
        .args(["index", "--rebuild"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("broken.md"), "{err}");
    assert!(!err.contains('\x1b'), "no escape codes in a pipe: {err:?}");
}

/// `serve-http` logs at INFO by default; tantivy's per-commit INFO lines stay out unless
/// `RUST_LOG` asks for them.
#[cfg(unix)]
#[test]
fn tantivy_commit_lines_only_when_rust_log_asks() {
    use std::io::BufRead;
    let serve = |rust_log: Option<&str>| {
        let f = Fixture::standard();
        f.config("");
        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]).verifying_key();
        let hex: String = key.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
        let mut cmd = bin();
        cmd.current_dir(f.dir.path())
            .args([
                "serve-http",
                "--listen",
                "127.0.0.1:0",
                "--public-key",
                &hex,
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(level) = rust_log {
            cmd.env("RUST_LOG", level);
        }
        let mut child = cmd.spawn().unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(line.contains("listening"), "{line}");
        let status = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let out = child.wait_with_output().unwrap();
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let quiet = serve(None);
    assert!(quiet.contains("INFO"), "the server's own lines: {quiet}");
    assert!(!quiet.contains("tantivy"), "{quiet}");
    let asked = serve(Some("info"));
    assert!(
        asked.contains("tantivy"),
        "RUST_LOG=info shows them: {asked}"
    );
}

#[test]
fn a_rejected_file_is_listed_once_per_build() {
    let f = Fixture::standard();
    f.config("");
    f.write("broken.md", "+++\ntitle = \n+++\n");
    let (_, _, first) = run(f.dir.path(), &["ask", "sleep"]);
    assert!(first.contains("broken.md"), "the build names it: {first}");
    let (_, _, second) = run(f.dir.path(), &["ask", "sleep"]);
    assert!(!second.contains("broken.md"), "{second}");
    assert!(
        second.contains("1 file(s) rejected: run `articlebot check`"),
        "{second}"
    );
}

#[test]
fn an_empty_content_folder_is_named() {
    let f = Fixture::new();
    f.config("");
    let (code, _, err) = run(f.dir.path(), &["ask", "anything"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("content folder") && err.contains("holds no .md/.txt articles"),
        "{err}"
    );
}

#[test]
fn json_chat_prints_one_document_per_line_whatever_the_line() {
    let f = Fixture::standard();
    f.config("");
    let input = "/help\n/nope now\n\n/discuss sleep\n/discuss\nhow long is a cycle\n";
    let docs = chat_json(f.dir.path(), &[], input);
    assert_eq!(docs.len(), input.lines().count(), "{docs:?}");
    assert!(docs[0]["help"].as_str().unwrap().contains("/discuss"));
    assert_eq!(docs[1]["error"], "unknown_command");
    assert_eq!(docs[1]["command"], "/nope");
    assert_eq!(docs[2]["error"], "empty_line");
    assert_eq!(docs[3]["discussing"], "sleep");
    assert_eq!(docs[3]["slug"], "sleep");
    assert!(docs[3]["takeaways"]["takeaways"].is_array(), "{}", docs[3]);
    assert!(docs[4]["discussing"].is_null());
    assert!(docs[5]["results"].is_array());
    assert_eq!(docs[5]["article"], serde_json::Value::Null, "{}", docs[5]);
}

/// `chat` in a terminal: `script` gives it a pty 60 columns wide. Up-arrow recalls the last
/// question, Ctrl-C drops the line being typed, Ctrl-D ends, answers fit the width.
#[cfg(unix)]
#[test]
fn chat_in_a_terminal_edits_lines_and_wraps_answers() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("`script` (util-linux) is not installed: the pty test cannot run here");
        return;
    }
    let f = Fixture::standard();
    f.config("");
    let binary = env!("CARGO_BIN_EXE_articlebot");
    let mut child = std::process::Command::new("script")
        .current_dir(f.dir.path())
        .env_remove("RUST_LOG")
        .env("TERM", "xterm")
        .args([
            "-qfec",
            &format!("stty rows 24 cols 60; {binary} chat"),
            "/dev/null",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run script");
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    // rustyline turns bracketed paste on at every prompt: one per line read.
    let wait_for_prompt = |n: usize, seen: &mut Vec<u8>| {
        while String::from_utf8_lossy(seen).matches("\x1b[?2004h").count() < n {
            match rx.recv() {
                Ok(chunk) => seen.extend(chunk),
                Err(_) => panic!("chat ended early: {}", String::from_utf8_lossy(seen)),
            }
        }
    };
    let mut stdin = child.stdin.take().unwrap();
    let steps: [&[u8]; 4] = [
        b"how long does composting take\r",
        b"garbage words\x03",
        b"\x1b[A\r",
        b"\x04",
    ];
    for (i, keys) in steps.iter().enumerate() {
        wait_for_prompt(i + 1, &mut seen);
        stdin.write_all(keys).unwrap();
        stdin.flush().unwrap();
    }
    let status = child.wait().unwrap();
    while let Ok(chunk) = rx.recv() {
        seen.extend(chunk);
    }
    assert!(status.success(), "Ctrl-D ends the chat with exit 0");
    let text = String::from_utf8_lossy(&seen).into_owned();
    assert_eq!(
        text.matches("Takeaways from Home Composting Basics")
            .count(),
        2,
        "the question, then the same one recalled with up-arrow: {text}"
    );
    assert!(!text.contains("^[[A"), "{text}");
    assert_eq!(
        text.matches("Takeaways from").count(),
        2,
        "Ctrl-C dropped the line typed: {text}"
    );
    // The answers, escape codes removed, fit the 60 columns.
    let plain = strip_escapes(&text);
    let answer = plain
        .split("How Long It Takes")
        .nth(1)
        .expect("an answer")
        .split("> ")
        .next()
        .unwrap();
    for line in answer.split(['\r', '\n']) {
        assert!(
            line.chars().count() <= 60,
            "{} columns: {line:?}",
            line.chars().count()
        );
    }
}

/// `text` without ANSI escape sequences (`ESC [ … letter`, `ESC [ ? … letter`).
fn strip_escapes(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// ARCHITECTURE.md: the process (arguments, environment, exit codes, runtimes, signals)
/// belongs to `cli`; the adapters never import it, and terminal crates stay in `cli`.
#[test]
fn adapters_never_import_the_command_line() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("src/http.rs"), root.join("src/service.rs")];
    let mut dirs = vec![root.join("src/discord")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    assert!(files.len() > 8, "{files:?}");
    let mut found = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        for (i, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            let named = [
                "crate::cli",
                "super::cli",
                "rustyline",
                "textwrap",
                "console::",
            ]
            .iter()
            .any(|n| code.contains(n));
            if named || code.contains("std::process::exit") || code.contains("Runtime::new") {
                found.push(format!("{}:{}: {}", path.display(), i + 1, code));
            }
        }
    }
    assert!(found.is_empty(), "{found:#?}");
}
