//! `git` sources: a repository cloned into the source's folder, then brought to the tip of
//! its branch on every sync.
//!
//! This runs the system `git` rather than linking a git library: git is on every machine
//! that hosts a repository, it already knows the user's credentials helpers, proxies and
//! protocols, and gix (the pure-Rust choice) would add a large dependency tree to build for
//! two commands (clone, fetch). The commands are bounded: no terminal prompt (a private
//! repository fails instead of waiting), a timeout that kills the process, the `ext`
//! transport refused, a shallow history (only the files are wanted).

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

/// What a sync changed, by article file (`.md`, `.markdown`, `.txt`) paths in the repository.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    pub added: usize,
    pub changed: usize,
    pub removed: usize,
    pub unchanged: usize,
}

/// Clones `url` into `dir` (first sync) or brings `dir` to the tip of `branch` (the
/// remote's default branch when `None`). A failure leaves `dir` as it was: a clone is made
/// beside it and renamed into place; a fetch changes nothing until the reset.
pub async fn sync(
    url: &str,
    branch: Option<&str>,
    dir: &Path,
    timeout: Duration,
) -> Result<Changes, String> {
    if dir.join(".git").is_dir() {
        let before = head(dir, timeout).await?;
        let target = branch.unwrap_or("HEAD");
        let d = dir.to_string_lossy().to_string();
        let d = d.as_str();
        run(
            &[
                "-C", d, "fetch", "--quiet", "--depth", "1", "origin", target,
            ],
            timeout,
        )
        .await?;
        run(
            &["-C", d, "reset", "--quiet", "--hard", "FETCH_HEAD"],
            timeout,
        )
        .await?;
        let after = head(dir, timeout).await?;
        if before == after {
            let unchanged = articles(dir, timeout).await?;
            return Ok(Changes {
                unchanged,
                ..Changes::default()
            });
        }
        let diff = run(
            &[
                "-C",
                d,
                "diff",
                "--no-renames",
                "--name-status",
                &before,
                &after,
            ],
            timeout,
        )
        .await;
        let mut changes = Changes::default();
        match diff {
            Ok(listing) => {
                for line in listing.lines() {
                    let Some((status, path)) = line.split_once('\t') else {
                        continue;
                    };
                    if !is_article(path) {
                        continue;
                    }
                    match status.chars().next() {
                        Some('A') => changes.added += 1,
                        Some('D') => changes.removed += 1,
                        _ => changes.changed += 1,
                    }
                }
            }
            // A shallow clone may not hold the old commit any more: report the files.
            Err(_) => changes.changed = articles(dir, timeout).await?,
        }
        let total = articles(dir, timeout).await?;
        changes.unchanged = total.saturating_sub(changes.added + changes.changed);
        return Ok(changes);
    }
    let parent = dir.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)
        .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    let staging = parent.join(format!(
        ".{}.clone-{}",
        dir.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&staging);
    let s = staging.to_string_lossy().to_string();
    let mut args = vec!["clone", "--quiet", "--depth", "1", "--single-branch"];
    if let Some(b) = branch {
        args.extend(["--branch", b]);
    }
    args.extend(["--", url, s.as_str()]);
    if let Err(e) = run(&args, timeout).await {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    // A folder left by an older sync that is not a clone (or a half-made one) is replaced.
    let _ = std::fs::remove_dir_all(dir);
    std::fs::rename(&staging, dir).map_err(|e| format!("cannot move the clone into place: {e}"))?;
    Ok(Changes {
        added: articles(dir, timeout).await?,
        ..Changes::default()
    })
}

fn is_article(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    // Hidden files and folders are not read by the content scan either.
    let hidden = path.split('/').any(|part| part.starts_with('.'));
    !hidden && (lower.ends_with(".md") || lower.ends_with(".markdown") || lower.ends_with(".txt"))
}

async fn head(dir: &Path, timeout: Duration) -> Result<String, String> {
    let d = dir.to_string_lossy().to_string();
    let d = d.as_str();
    Ok(run(&["-C", d, "rev-parse", "HEAD"], timeout)
        .await?
        .trim()
        .to_string())
}

/// Article files in the checkout.
async fn articles(dir: &Path, timeout: Duration) -> Result<usize, String> {
    let d = dir.to_string_lossy().to_string();
    let d = d.as_str();
    let listing = run(&["-C", d, "ls-files"], timeout).await?;
    Ok(listing.lines().filter(|p| is_article(p)).count())
}

/// Runs git with `args`; the error is git's own message (its last line of stderr).
async fn run(args: &[&str], timeout: Duration) -> Result<String, String> {
    let mut command = Command::new("git");
    command
        .args([
            "-c",
            "protocol.ext.allow=never",
            "-c",
            "core.hooksPath=/dev/null",
        ])
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ASKPASS", "true")
        .env("SSH_ASKPASS", "true")
        .env("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = command
        .spawn()
        .map_err(|e| format!("cannot run git: {e} (is git installed?)"))?;
    let output = match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(output) => output.map_err(|e| format!("git: {e}"))?,
        Err(_) => return Err(format!("git timed out after {} s", timeout.as_secs_f32())),
    };
    if output.status.success() {
        return Ok(String::from_utf8_lossy(&output.stdout).to_string());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let why = stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("failed")
        .trim()
        .to_string();
    Err(format!("git: {why}"))
}
