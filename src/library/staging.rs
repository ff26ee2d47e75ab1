//! The index folder's safety: the folder is the bot's own (it writes only into a new or empty
//! folder or one holding its index, and refuses anything else), a build writes into a staging
//! folder beside it, and the finished index is swapped into place whole. Only the entries a
//! build makes are ever removed. An update writes into a staging folder too, made of links to
//! the index's files ([`link_index`]): tantivy never rewrites a segment file, and
//! `articles.bin` is only appended to.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;

use super::persist::{
    ARTICLES, COUNTS, COUNTS_LOG, COUNTS_SPILL, LIBRARY, MANIFEST, TANTIVY, VECTORS,
};

/// The entries of an index folder, all written by [`super::Library`]'s build: nothing else in the
/// folder is ever written or removed. `counts.spill` lives only in a staging folder, but a
/// build that died leaves it there, and the next build must be able to clear that folder.
const OWNED: &[&str] = &[
    MANIFEST,
    LIBRARY,
    VECTORS,
    ARTICLES,
    COUNTS,
    COUNTS_LOG,
    COUNTS_SPILL,
    TANTIVY,
];

/// The file `<folder name><suffix>` beside index folder `dir` (the folder's lock, the
/// embedding layer's vectors): beside it, not in it, since the folder holds only the build's own
/// entries and is replaced whole by a swap. Named from the folder's own name however `dir` is
/// written ("data/index/", "data/index/."): a name pushed onto "data/index/" would put the
/// file inside. `None` for a folder with no name.
pub fn beside_index_folder(dir: &Path, suffix: &str) -> Option<PathBuf> {
    let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.components().collect());
    let name = dir.file_name()?.to_string_lossy().into_owned();
    Some(dir.with_file_name(format!("{name}{suffix}")))
}

/// Why a folder named as the index folder is not written to: it is not the bot's own.
#[derive(Debug, thiserror::Error)]
#[error(
    "index folder {}: {problem}; refusing to write there. Choose an empty or new folder for \
     --index (or index.dir in config.toml)",
    path.display()
)]
pub struct IndexFolderError {
    pub path: PathBuf,
    pub problem: FolderProblem,
}

/// What makes a folder not an index folder.
#[derive(Debug, thiserror::Error)]
pub enum FolderProblem {
    #[error("it is a file, not a folder")]
    NotAFolder,
    #[error("it holds files that are not an articlebot index (e.g. {0})")]
    Foreign(String),
    #[error("its manifest.json is not an articlebot manifest")]
    ForeignManifest,
    #[error("it cannot be read ({0})")]
    Unreadable(std::io::Error),
}

/// Fails unless `dir` is the bot's to write: absent, an empty folder, or a folder holding an
/// articlebot manifest and nothing but the index's own entries ([`OWNED`]). Anything else
/// (an article folder given by mistake, a config file, a folder with the user's notes) would
/// be replaced by the index, so it is refused and left as it is.
pub fn check_index_folder(dir: &Path) -> Result<(), IndexFolderError> {
    let refuse = |problem| IndexFolderError {
        path: dir.to_path_buf(),
        problem,
    };
    match std::fs::metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(refuse(FolderProblem::Unreadable(e))),
        Ok(m) if !m.is_dir() => return Err(refuse(FolderProblem::NotAFolder)),
        Ok(_) => {}
    }
    let entries = std::fs::read_dir(dir).map_err(|e| refuse(FolderProblem::Unreadable(e)))?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| refuse(FolderProblem::Unreadable(e)))?;
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    if names.is_empty() {
        return Ok(());
    }
    names.sort();
    if let Some(foreign) = names.iter().find(|n| !OWNED.contains(&n.as_str())) {
        return Err(refuse(FolderProblem::Foreign(foreign.clone())));
    }
    /// The part of the manifest every format version has.
    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct Head {
        format: u32,
        fingerprint: String,
    }
    let manifest = match std::fs::read(dir.join(MANIFEST)) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(refuse(FolderProblem::Foreign(names[0].clone())));
        }
        Err(e) => return Err(refuse(FolderProblem::Unreadable(e))),
    };
    match serde_json::from_slice::<Head>(&manifest) {
        Ok(_) => Ok(()),
        Err(_) => Err(refuse(FolderProblem::ForeignManifest)),
    }
}

/// Removes the folder `dir` the build made (a staging folder or an index moved aside): the
/// entries it owns ([`OWNED`]), then the folder if nothing else is left in it. A file the
/// build did not make stays where it is, with a warning.
fn remove_owned(dir: &Path) -> std::io::Result<()> {
    for name in OWNED {
        let path = dir.join(name);
        let removed = match std::fs::symlink_metadata(&path) {
            Ok(m) if m.is_dir() => std::fs::remove_dir_all(&path),
            Ok(_) => std::fs::remove_file(&path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        };
        removed?;
    }
    std::fs::remove_dir(dir).map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("it holds files the index build did not make, left in place ({e})"),
        )
    })
}

/// The folder that holds `dir`, and the name prefix of `dir`'s staging folders in it
/// (`.<name>.building-`; the full name adds `<pid>-<n>`, and `.old` for an index moved aside).
fn staging_place(dir: &Path) -> (&Path, String) {
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = dir
        .file_name()
        .map_or("index".into(), |n| n.to_string_lossy().into_owned());
    (parent, format!(".{name}.building-"))
}

/// A fresh, empty directory beside `dir` to build into, named after this process's id (see
/// [`remove_stale_staging`]).
pub(super) fn staging_dir(dir: &Path) -> anyhow::Result<PathBuf> {
    let (parent, prefix) = staging_place(dir);
    std::fs::create_dir_all(parent)
        .with_context(|| format!("cannot create {}", parent.display()))?;
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let staging = parent.join(format!("{prefix}{}-{n}", std::process::id()));
    if staging.exists() {
        remove_owned(&staging)?;
    }
    std::fs::create_dir_all(&staging)
        .with_context(|| format!("cannot create {}", staging.display()))?;
    Ok(staging)
}

/// How long a staging folder whose process is gone must have been left untouched before it
/// is removed. A live build writes into `tantivy/` all the time, so a folder this quiet is not
/// being written, even by a process in another pid namespace sharing the folder (a container
/// whose pids this host cannot see).
const STALE_IDLE: Duration = Duration::from_secs(15 * 60);

/// Where the owner cannot be checked (no `/proc`): a folder untouched this long is left over
/// from a crash. No build comes close to taking this long.
const STALE_AGE: Duration = Duration::from_secs(7 * 24 * 3600);

/// Removes staging folders of `dir` that no build owns any more: left behind when a build
/// crashed (or was killed) before [`swap_into_place`], they would stay forever.
///
/// A staging folder is named `.<name>.building-<pid>-<n>` after the process that builds it
/// (`.old` appended for an index moved aside during the swap). On Linux, a folder is removed
/// when no process with that pid exists (`/proc/<pid>` is absent) and nothing in it changed
/// for [`STALE_IDLE`]: so a build running in another process, this one included, is never
/// touched. A reused pid only keeps a dead folder a little longer, which is harmless.
/// Elsewhere (or without `/proc`), only folders untouched for [`STALE_AGE`] are removed.
/// Pids name processes on one host: an index folder shared between hosts over a network file
/// system relies on the idle time alone. Failures are logged, never returned: a leftover
/// folder costs disk space, not correctness.
pub(super) fn remove_stale_staging(dir: &Path) {
    let (parent, prefix) = staging_place(dir);
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    let can_check_pids = cfg!(target_os = "linux") && Path::new("/proc/self").exists();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(&prefix)) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        let path = entry.path();
        let idle = idle_for(&path);
        let stale = if can_check_pids {
            !Path::new(&format!("/proc/{pid}")).exists() && idle >= STALE_IDLE
        } else {
            idle >= STALE_AGE
        };
        if !stale {
            continue;
        }
        match remove_owned(&path) {
            Ok(()) => tracing::info!(
                path = %path.display(),
                pid,
                idle_s = idle.as_secs(),
                "removed a staging folder left by a build that is no longer running"
            ),
            Err(e) => tracing::warn!(
                "cannot remove the stale staging folder {}: {e}",
                path.display()
            ),
        }
    }
}

/// How long since `path` or its `tantivy/` folder (where a build writes most) last changed;
/// zero when that cannot be told, so that an unreadable folder is never taken for stale.
fn idle_for(path: &Path) -> Duration {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let newest = [modified(path), modified(&path.join(TANTIVY))]
        .into_iter()
        .flatten()
        .max();
    newest
        .and_then(|t| t.elapsed().ok())
        .unwrap_or(Duration::ZERO)
}

/// Fills the empty `staging` folder with links to the index in `dir` that an update changes
/// there: every file of `tantivy/` linked (tantivy's meta files copied, its lock files left
/// out: tantivy replaces the meta files by renaming, but a copy keeps the two folders
/// independent whatever it does), `articles.bin` and `counts.log` linked (an update appends
/// to them) and `counts.bin` linked (an update that writes the counts whole replaces it).
pub(super) fn link_index(dir: &Path, staging: &Path) -> anyhow::Result<()> {
    let from = dir.join(TANTIVY);
    let to = staging.join(TANTIVY);
    std::fs::create_dir_all(&to).with_context(|| format!("cannot create {}", to.display()))?;
    for entry in
        std::fs::read_dir(&from).with_context(|| format!("cannot read {}", from.display()))?
    {
        let entry = entry?;
        let name = entry.file_name();
        let text = name.to_string_lossy();
        if text.ends_with(".lock") || !entry.file_type()?.is_file() {
            continue;
        }
        let (src, dst) = (entry.path(), to.join(&name));
        if text.ends_with(".json") {
            std::fs::copy(&src, &dst).map(|_| ())
        } else {
            std::fs::hard_link(&src, &dst)
        }
        .with_context(|| format!("cannot link {} into {}", src.display(), to.display()))?;
    }
    for name in [ARTICLES, COUNTS, COUNTS_LOG] {
        let (src, dst) = (dir.join(name), staging.join(name));
        std::fs::hard_link(&src, &dst)
            .with_context(|| format!("cannot link {} into {}", src.display(), staging.display()))?;
    }
    Ok(())
}

/// Removes a staging folder an update gave up on (logged, not returned: the folder is
/// removed as stale later otherwise).
pub(super) fn discard(staging: &Path) {
    if let Err(e) = remove_owned(staging) {
        tracing::warn!(
            "cannot remove the staging folder {}: {e}",
            staging.display()
        );
    }
}

/// Moves the finished `staging` directory to `dir`, replacing what was there. Readers that
/// hold the old files open keep reading them (they are unlinked, not overwritten).
pub(super) fn swap_into_place(staging: &Path, dir: &Path) -> anyhow::Result<()> {
    // Checked again: something may have been put there while the index was built.
    if let Err(e) = check_index_folder(dir) {
        let _ = remove_owned(staging);
        return Err(e.into());
    }
    if dir.exists() {
        let mut old = staging.as_os_str().to_owned();
        old.push(".old");
        let old = PathBuf::from(old);
        std::fs::rename(dir, &old)
            .with_context(|| format!("cannot move the old index {} aside", dir.display()))?;
        std::fs::rename(staging, dir)
            .with_context(|| format!("cannot move the new index into {}", dir.display()))?;
        if let Err(e) = remove_owned(&old) {
            tracing::warn!("cannot remove the old index {}: {e}", old.display());
        }
    } else {
        std::fs::rename(staging, dir)
            .with_context(|| format!("cannot move the new index into {}", dir.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_staging_folder_left_by_a_build_that_died_counting_is_removed_whole() {
        // A build killed while it spilled its term counts leaves `counts.spill` beside a part
        // of the index: the next build given the same staging name (a container's pid 1) must
        // be able to clear it, or every start after fails.
        let dir = tempfile::tempdir().unwrap();
        let staging = dir.path().join(".index.building-1-0");
        std::fs::create_dir_all(staging.join(TANTIVY)).unwrap();
        std::fs::write(staging.join(TANTIVY).join("meta.json"), b"{}").unwrap();
        std::fs::write(staging.join(ARTICLES), b"bodies").unwrap();
        std::fs::write(staging.join(COUNTS_SPILL), b"counts").unwrap();
        remove_owned(&staging).unwrap();
        assert!(!staging.exists());

        // A file the build did not make keeps the folder (and says so).
        std::fs::create_dir_all(&staging).unwrap();
        std::fs::write(staging.join(COUNTS_SPILL), b"counts").unwrap();
        std::fs::write(staging.join("notes.txt"), b"mine").unwrap();
        let kept = remove_owned(&staging).unwrap_err();
        assert!(kept.to_string().contains("did not make"), "{kept}");
        assert!(staging.join("notes.txt").exists());
        assert!(!staging.join(COUNTS_SPILL).exists());
    }
}
