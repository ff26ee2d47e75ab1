//! One writer at a time per index folder, across processes: a build, a reuse check or an update
//! of a folder holds an exclusive lock on a file beside it (`<folder>.lock`) from the moment it
//! looks at the folder until the new one is in place.
//!
//! Why: an update appends to `articles.bin` and `counts.log` through links shared with the
//! folder in service, at the offsets the files' lengths give when it starts; two processes
//! updating one folder at once (the bot reloading while `articlebot index` runs on the same
//! `index.dir`) would each record offsets the other's bytes took, and the library swapped in
//! last would read the other's records as its own. With the lock the second waits, then finds
//! the folder the first left (usually already current). Readers take no lock: a library reads
//! the files it opened, which a swap renames but never rewrites.
//!
//! The file lies beside the folder, not in it: the folder holds only the build's own entries and
//! is replaced whole by a swap. It is never removed (removing it could let two processes lock
//! two different files of one name).

use std::path::{Path, PathBuf};

use anyhow::Context;

/// The held lock: released when dropped (or when the process ends, however it ends). Holds no
/// file where none could be made beside the folder (see [`lock`]).
#[derive(Debug)]
pub(super) struct FolderLock {
    _file: Option<std::fs::File>,
}

/// The lock file of index folder `dir`: `<dir>.lock` beside it.
pub(super) fn lock_path(dir: &Path) -> anyhow::Result<PathBuf> {
    super::staging::beside_index_folder(dir, ".lock")
        .with_context(|| format!("the index folder {} has no name", dir.display()))
}

/// Takes the lock of index folder `dir`, waiting while another process (or another library in
/// this one) holds it; says so in the log when it has to wait.
pub(super) fn lock(dir: &Path) -> anyhow::Result<FolderLock> {
    let path = lock_path(dir)?;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot make the folder of {}", path.display()))?;
    }
    let opened = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path);
    let file = match opened {
        Ok(f) => f,
        // A folder beside which nothing can be written (a read-only volume holding an index
        // made elsewhere) cannot be written either: a process can only read it, which needs no
        // lock. If the folder turns out to need writing, that write fails with its own error.
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
            ) =>
        {
            tracing::debug!(
                "no lock beside {} ({e}): opening it unlocked",
                dir.display()
            );
            return Ok(FolderLock { _file: None });
        }
        Err(e) => {
            return Err(e)
                .with_context(|| format!("cannot open the index folder's lock {}", path.display()))
        }
    };
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            tracing::info!(
                "another articlebot process is writing {}: waiting for it",
                dir.display()
            );
            file.lock()
                .with_context(|| format!("cannot lock {}", path.display()))?;
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("cannot lock {}", path.display()));
        }
    }
    Ok(FolderLock { _file: Some(file) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn the_lock_file_lies_beside_the_folder_however_it_is_written() {
        let tmp = tempfile::tempdir().unwrap();
        let want = tmp.path().join("index.lock");
        for written in ["index", "index/", "index/."] {
            assert_eq!(
                lock_path(&tmp.path().join(written)).unwrap(),
                want,
                "{written}"
            );
        }
    }

    #[test]
    fn a_second_writer_waits_for_the_first() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("index");
        let first = lock(&dir).unwrap();
        let (tx, rx) = mpsc::channel();
        let waiter = {
            let dir = dir.clone();
            std::thread::spawn(move || {
                let second = lock(&dir).unwrap();
                tx.send(()).unwrap();
                drop(second);
            })
        };
        // Held: the second has not got it (it would have said so at once).
        assert!(rx.recv_timeout(Duration::from_millis(300)).is_err());
        drop(first);
        rx.recv_timeout(Duration::from_secs(60))
            .expect("the second writer gets the lock once the first lets go");
        waiter.join().unwrap();
        // And the lock file stays, empty, beside the folder (never inside it).
        assert!(lock_path(&dir).unwrap().is_file());
        assert!(!dir.exists());
    }
}
