//! The content walk against hostile folders: pipes, sockets, link loops, links out of the
//! folder, links within it, entries that cannot be read, oversized files, an empty folder; and
//! that a pipe in the folder cannot hang the binary.

use std::path::Path;
use std::time::{Duration, Instant};

use articlebot::content;

use crate::util::{bin, Fixture};

/// Every warning of a load as `(path, reason, rejected)`, in the load's order.
fn warnings(loaded: &content::Loaded) -> Vec<(String, String, bool)> {
    loaded
        .warnings
        .iter()
        .map(|w| (w.path.display().to_string(), w.reason.clone(), w.rejected))
        .collect()
}

fn slugs(loaded: &content::Loaded) -> Vec<&str> {
    loaded.articles.iter().map(|a| a.slug.as_str()).collect()
}

fn load(f: &Fixture) -> content::Loaded {
    content::load(&f.settings().content).unwrap()
}

const STANDARD_SLUGS: [&str; 4] = ["cycling", "guides-composting", "sleep", "stablecoins"];

fn w(path: &str, reason: &str, rejected: bool) -> (String, String, bool) {
    (path.into(), reason.into(), rejected)
}

#[cfg(unix)]
fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    let rc = unsafe { libc::mkfifo(c.as_ptr(), 0o644) };
    assert_eq!(rc, 0, "mkfifo {}", path.display());
}

#[cfg(unix)]
fn symlink(target: impl AsRef<Path>, link: &Path) {
    std::fs::create_dir_all(link.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(target, link).unwrap();
}

#[cfg(unix)]
#[test]
fn a_named_pipe_is_reported_with_its_type_and_never_opened() {
    let f = Fixture::standard();
    mkfifo(&f.content().join("pipe.md"));
    std::fs::create_dir_all(f.content().join("sub")).unwrap();
    mkfifo(&f.content().join("sub/other.txt"));
    // A pipe with another extension is not an article: not reported.
    mkfifo(&f.content().join("fifo.log"));
    let loaded = load(&f);
    assert_eq!(slugs(&loaded), STANDARD_SLUGS);
    assert_eq!(
        warnings(&loaded),
        [
            w(
                "pipe.md",
                "not a regular file (a named pipe), not read",
                true
            ),
            w(
                "sub/other.txt",
                "not a regular file (a named pipe), not read",
                true
            ),
        ]
    );
}

#[cfg(unix)]
#[test]
fn a_socket_is_reported_with_its_type() {
    let f = Fixture::standard();
    let _listener = std::os::unix::net::UnixListener::bind(f.content().join("sock.md")).unwrap();
    let loaded = load(&f);
    assert_eq!(slugs(&loaded), STANDARD_SLUGS);
    assert_eq!(
        warnings(&loaded),
        [w(
            "sock.md",
            "not a regular file (a socket), not read",
            true
        )]
    );
}

#[cfg(unix)]
#[test]
fn a_link_loop_is_reported_and_not_followed() {
    let f = Fixture::standard();
    f.write("sub/deep.md", "# Deep\n\nA file below the loop.\n");
    symlink("..", &f.content().join("sub/loop"));
    symlink(".", &f.content().join("sub/self"));
    let loaded = load(&f);
    // Each real file once: no "sub-loop-sub-deep" and the like.
    assert_eq!(
        slugs(&loaded),
        [
            "cycling",
            "guides-composting",
            "sleep",
            "stablecoins",
            "sub-deep"
        ]
    );
    assert_eq!(
        warnings(&loaded),
        [
            w(
                "sub/loop",
                "symbolic link loop (points back to the content folder itself), not followed",
                true
            ),
            w(
                "sub/self",
                "symbolic link loop (points back to sub), not followed",
                true
            ),
        ]
    );
}

#[cfg(unix)]
#[test]
fn links_that_leave_the_folder_are_reported_and_not_followed() {
    let f = Fixture::standard();
    let outside = f.dir.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("secret.md"), "# Secret\n\nNot for the bot.\n").unwrap();
    symlink(&outside, &f.content().join("elsewhere"));
    symlink(outside.join("secret.md"), &f.content().join("leak.md"));
    symlink(
        "../../outside/secret.md",
        &f.content().join("guides/relative.md"),
    );
    // The root's parent: a loop as well, reported as leaving the folder.
    symlink("../..", &f.content().join("guides/up"));
    let loaded = load(&f);
    assert_eq!(slugs(&loaded), STANDARD_SLUGS);
    let out = "symbolic link to a place outside the content folder, not followed";
    assert_eq!(
        warnings(&loaded),
        [
            w("elsewhere", out, true),
            w("guides/relative.md", out, true),
            w("guides/up", out, true),
            w("leak.md", out, true),
        ]
    );
}

#[cfg(unix)]
#[test]
fn a_link_within_the_folder_is_followed_and_each_file_read_once() {
    let f = Fixture::standard();
    // A file link and a folder link to articles that are read under their own paths.
    symlink("guides/composting.md", &f.content().join("compost.md"));
    symlink("guides", &f.content().join("mirror"));
    // A link to a hidden file: the only path to it, so it is read under the link's path.
    f.write(
        ".drafts/hidden.md",
        "# Hidden\n\nReached only through a link.\n",
    );
    symlink(".drafts/hidden.md", &f.content().join("shown.md"));
    let loaded = load(&f);
    assert_eq!(
        slugs(&loaded),
        [
            "cycling",
            "guides-composting",
            "shown",
            "sleep",
            "stablecoins"
        ]
    );
    assert_eq!(
        warnings(&loaded),
        [
            w(
                "compost.md",
                "symbolic link to guides/composting.md, which is read once, as guides/composting.md",
                false
            ),
            w(
                "mirror/composting.md",
                "symbolic link to guides/composting.md, which is read once, as guides/composting.md",
                false
            ),
        ]
    );
}

#[cfg(unix)]
#[test]
fn entries_that_cannot_be_read_are_reported_with_the_reason() {
    // Root reads anything chmod 000 protects, so these fail for every user: a link to
    // nothing, and a path through a file.
    let f = Fixture::standard();
    symlink("missing.md", &f.content().join("dangling.md"));
    symlink("sleep.md/inner", &f.content().join("through-a-file.md"));
    symlink("nowhere", &f.content().join("gone-folder"));
    let loaded = load(&f);
    assert_eq!(slugs(&loaded), STANDARD_SLUGS);
    assert_eq!(
        warnings(&loaded),
        [
            w(
                "dangling.md",
                "cannot follow symbolic link: No such file or directory (os error 2)",
                true
            ),
            w(
                "gone-folder",
                "cannot follow symbolic link: No such file or directory (os error 2)",
                true
            ),
            w(
                "through-a-file.md",
                "cannot follow symbolic link: Not a directory (os error 20)",
                true
            ),
        ]
    );
}

#[test]
fn a_file_larger_than_the_limit_is_skipped_unread() {
    let f = Fixture::standard();
    f.write("big.txt", &"Title\nA line of text.\n".repeat(100));
    let mut s = f.settings().content;
    s.max_file_bytes = 1000;
    let loaded = content::load(&s).unwrap();
    assert_eq!(slugs(&loaded), STANDARD_SLUGS);
    assert_eq!(
        warnings(&loaded),
        [w(
            "big.txt",
            "file is 2200 bytes, larger than the maximum of 1000 (content.max_file_bytes)",
            true
        )]
    );
}

#[test]
fn an_empty_content_folder_is_named() {
    let f = Fixture::new();
    f.write("notes.csv", "not,an,article\n");
    let loaded = load(&f);
    assert!(loaded.articles.is_empty());
    let expected = format!(
        "content folder {} holds no .md/.txt articles (files named *.md, *.markdown or *.txt, \
         in it or its subfolders)",
        f.content().display()
    );
    assert_eq!(warnings(&loaded), [w("", &expected, false)]);
    assert_eq!(loaded.warnings[0].to_string(), format!("note: {expected}"));
}

#[test]
fn check_names_an_empty_content_folder() {
    let f = Fixture::new();
    f.config("");
    let (code, out, err) = crate::util::run(f.dir.path(), &["check"]);
    // The folder as configured (relative to the config file's folder).
    let line = out.lines().find(|l| l.starts_with("note: content folder "));
    assert!(
        line.is_some_and(|l| l.contains("content holds no .md/.txt articles")),
        "exit {code}\n{out}\n{err}"
    );
}

/// Waits for `child` to exit; kills it and fails after `limit`. A guard against a hang (the
/// limit is generous, not a speed target).
fn wait_or_kill(mut child: std::process::Child, limit: Duration) -> std::process::Output {
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "articlebot did not exit within {limit:?} (it hangs):\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[cfg(unix)]
#[test]
fn a_named_pipe_does_not_hang_check_or_index() {
    let f = Fixture::standard();
    mkfifo(&f.content().join("pipe.md"));
    f.config("");
    for args in [&["check"][..], &["index", "--rebuild"][..]] {
        let child = bin()
            .current_dir(f.dir.path())
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let out = wait_or_kill(child, Duration::from_secs(120));
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            all.contains("pipe.md: skipped: not a regular file (a named pipe), not read"),
            "{args:?}: {all}"
        );
    }
}
