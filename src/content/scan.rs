//! Finding and reading the article files below the content folder, safely: regular files only,
//! symbolic links followed only within the folder, each file once, every entry that cannot be
//! read reported with its reason, and reads bounded by `content.max_file_bytes`.
//!
//! Nothing here can block or loop on a hostile folder: the walk (walkdir) only lists folders
//! and reads metadata, so a named pipe called `x.md` is reported from its type and never
//! opened; walkdir detects a link back to an ancestor; a link that leaves the folder is pruned
//! before it is descended; and the read opens non-blocking and checks the opened file's type
//! again, so a file swapped for a pipe between the walk and the read cannot block either.

use std::collections::{HashMap, HashSet};
use std::fs::FileType;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use walkdir::WalkDir;

use super::{format_of, SourceFile, Warning};

/// Article files read by one task while the walk goes on: a few folders' files.
const STAT_CHUNK: usize = 1024;

/// Each file of a chunk with its size and modification time, or why it is skipped.
type ChunkRead = Vec<Result<Found, Warning>>;

/// A candidate article file found by the walk.
struct Found {
    file: SourceFile,
    /// Its real path below the content folder, when it was reached through a symbolic link.
    real: Option<PathBuf>,
}

/// An article file the walk found, not yet read (its size and modification time).
struct Candidate {
    rel: PathBuf,
    entry: walkdir::DirEntry,
    /// Reached through a symbolic link (itself one, or in a folder reached through one).
    via_link: bool,
}

impl Candidate {
    /// [`Candidate::read`] of a file of `folder` (its parent, open), by its name there: the
    /// metadata of its path (of the link's target when it was reached as a followed link).
    #[cfg(unix)]
    fn read_in(&self, root: &Path, folder: &std::fs::File) -> Result<Found, Warning> {
        use std::os::unix::ffi::OsStrExt;
        use std::os::unix::io::AsRawFd;
        let Ok(name) = std::ffi::CString::new(self.entry.file_name().as_bytes()) else {
            return self.read(root);
        };
        let flags = if self.entry.path_is_symlink() {
            0
        } else {
            libc::AT_SYMLINK_NOFOLLOW
        };
        let mut stat = std::mem::MaybeUninit::<libc::stat>::uninit();
        // SAFETY: `name` is a NUL-terminated string and `stat` room for one `stat`, which
        // `fstatat` fills when it returns 0.
        let stat = unsafe {
            if libc::fstatat(folder.as_raw_fd(), name.as_ptr(), stat.as_mut_ptr(), flags) != 0 {
                let e = std::io::Error::last_os_error();
                return Err(skipped(self.rel.clone(), format!("cannot read: {e}")));
            }
            stat.assume_init()
        };
        // As `Metadata::modified` since the epoch gives it: none before it.
        let mtime_ns = match (
            u128::try_from(stat.st_mtime),
            u128::try_from(stat.st_mtime_nsec),
        ) {
            (Ok(s), Ok(ns)) => s * 1_000_000_000 + ns,
            _ => 0,
        };
        self.found(root, stat.st_size as u64, mtime_ns)
    }

    /// The file with its size and modification time, or why it is skipped.
    fn read(&self, root: &Path) -> Result<Found, Warning> {
        let meta = self
            .entry
            .metadata()
            .map_err(|e| skipped(self.rel.clone(), format!("cannot read: {}", describe(&e))))?;
        let mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        self.found(root, meta.len(), mtime_ns)
    }

    /// The file found, of `len` bytes modified at `mtime_ns`.
    fn found(&self, root: &Path, len: u64, mtime_ns: u128) -> Result<Found, Warning> {
        let path = self.entry.path();
        let real = if self.via_link {
            Some(link_target(root, path).map_err(|reason| skipped(self.rel.clone(), reason))?)
        } else {
            None
        };
        Ok(Found {
            file: SourceFile {
                rel: self.rel.clone(),
                abs: path.to_path_buf(),
                len,
                mtime_ns,
            },
            real,
        })
    }
}

/// Each of `chunk`'s files with its size and modification time, or why it is skipped, in
/// order. On Unix each folder's files are looked up from the folder, opened once (`fstatat`),
/// instead of the kernel walking each file's whole path again (its folders looked up anew for
/// every one of 100,000 files).
fn read_all(root: &Path, chunk: &[Candidate]) -> ChunkRead {
    #[cfg(unix)]
    {
        let mut folder: Option<(&Path, Option<std::fs::File>)> = None;
        chunk
            .iter()
            .map(|c| {
                let parent = c.entry.path().parent().unwrap_or(Path::new("."));
                if folder.as_ref().is_none_or(|(p, _)| *p != parent) {
                    folder = Some((parent, open_folder(parent)));
                }
                match folder.as_ref().and_then(|(_, f)| f.as_ref()) {
                    Some(f) => c.read_in(root, f),
                    None => c.read(root),
                }
            })
            .collect()
    }
    #[cfg(not(unix))]
    {
        chunk.iter().map(|c| c.read(root)).collect()
    }
}

/// A folder opened for the `fstatat` of its files (`None`: they are read by path).
#[cfg(unix)]
fn open_folder(path: &Path) -> Option<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(path)
        .ok()
}

/// Lists the article files (`*.md`, `*.markdown`, `*.txt`) below `dir`, sorted by path, with a
/// warning for every entry that was skipped for a reason other than its name (hidden files and
/// folders and other extensions are skipped silently). Fails only when `dir` itself cannot be
/// read.
pub fn scan(dir: &Path) -> anyhow::Result<(Vec<SourceFile>, Vec<Warning>)> {
    let meta = std::fs::metadata(dir)
        .map_err(|e| anyhow::anyhow!("content folder {}: {e}", dir.display()))?;
    if !meta.is_dir() {
        anyhow::bail!("content folder {}: not a directory", dir.display());
    }
    let root = std::fs::canonicalize(dir)
        .map_err(|e| anyhow::anyhow!("content folder {}: {e}", dir.display()))?;
    let mut found: Vec<Found> = Vec::new();
    let mut warnings = Vec::new();
    // Links pruned by the filter (it cannot share `warnings` with the loop body).
    let mut pruned: Vec<Warning> = Vec::new();
    // Folders reached through a symbolic link: their files are compared by real path.
    let mut linked: HashSet<PathBuf> = HashSet::new();
    // The walk's warnings before each article file found (their count), in walk order.
    let mut places: Vec<usize> = Vec::new();
    // Each chunk of article files found, with its size and modification time (or why it
    // was skipped), by the chunk's place in walk order.
    let stats: Mutex<Vec<(usize, ChunkRead)>> = Mutex::new(Vec::new());
    // Each folder's entries by name: the walk then yields paths in the order `once_each`
    // sorts them in (a folder's files come before its next sibling, as `Path`'s
    // component-wise order has it), so that sort finds them sorted instead of comparing paths
    // component by component. The entries of one listing share their folder's path, so
    // their whole paths compare as their names do, byte by byte, without `Path::file_name`
    // parsing each path again in every comparison (walkdir's `sort_by_file_name` does: 38%
    // of a scan's instructions at 100,000 files).
    let walk = WalkDir::new(dir)
        .follow_links(true)
        .sort_by(|a, b| a.path().as_os_str().cmp(b.path().as_os_str()))
        .into_iter()
        .filter_entry(|e| {
            if e.depth() == 0 {
                return true;
            }
            if is_hidden(e.file_name()) {
                return false;
            }
            if e.path_is_symlink() && (e.file_type().is_dir() || format_of(e.path()).is_some()) {
                if let Err(reason) = link_target(&root, e.path()) {
                    pruned.push(skipped(rel_path(dir, e.path()), reason));
                    return false;
                }
            }
            true
        });
    // The files found are read a chunk at a time on the other cores while the walk goes on
    // (the walk on one core, then a stat per file on every core, were most of the time to
    // the first answer at 100,000 articles: BENCHMARKS.md, issue 18).
    rayon::scope(|tasks| -> anyhow::Result<()> {
        let mut chunk: Vec<Candidate> = Vec::with_capacity(STAT_CHUNK);
        let mut chunks = 0;
        let mut read = |chunk: Vec<Candidate>| {
            let (k, stats, root) = (chunks, &stats, &root);
            chunks += 1;
            tasks.spawn(move |_| {
                let read = read_all(root, &chunk);
                stats
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push((k, read));
            });
        };
        for entry in walk {
            let entry = match entry {
                Ok(e) => e,
                Err(err) if err.depth() == 0 => {
                    anyhow::bail!("content folder {}: {}", dir.display(), describe(&err))
                }
                Err(err) => {
                    let path = err.path().unwrap_or(dir);
                    if !hidden_below(dir, path) {
                        warnings.push(walk_error(dir, &root, &err));
                    }
                    continue;
                }
            };
            if entry.depth() == 0 {
                continue;
            }
            let path = entry.path();
            let via_link = entry.path_is_symlink()
                || (!linked.is_empty() && path.parent().is_some_and(|p| linked.contains(p)));
            let file_type = entry.file_type();
            if file_type.is_dir() {
                if via_link {
                    linked.insert(path.to_path_buf());
                }
                continue;
            }
            if format_of(path).is_none() {
                continue;
            }
            let rel = rel_path(dir, path);
            if !file_type.is_file() {
                warnings.push(skipped(rel, not_regular(file_type)));
                continue;
            }
            // Read in parallel: a stat per file was half of a scan at 10,000 files, and an
            // update scans every file.
            places.push(warnings.len());
            chunk.push(Candidate {
                rel,
                entry,
                via_link,
            });
            if chunk.len() == STAT_CHUNK {
                read(std::mem::replace(
                    &mut chunk,
                    Vec::with_capacity(STAT_CHUNK),
                ));
            }
        }
        if !chunk.is_empty() {
            read(chunk);
        }
        Ok(())
    })?;
    // The warnings of the files that could not be read put at their place in walk order.
    let mut stats = stats.into_inner().unwrap_or_else(PoisonError::into_inner);
    stats.sort_unstable_by_key(|(k, _)| *k);
    let mut walk_warnings = std::mem::take(&mut warnings).into_iter();
    let mut taken = 0;
    for (&at, r) in places
        .iter()
        .zip(stats.into_iter().flat_map(|(_, read)| read))
    {
        warnings.extend(walk_warnings.by_ref().take(at - taken));
        taken = at;
        match r {
            Ok(f) => found.push(f),
            Err(w) => warnings.push(w),
        }
    }
    warnings.extend(walk_warnings);
    warnings.append(&mut pruned);
    let files = once_each(found, &mut warnings);
    if files.is_empty() {
        warnings.push(Warning {
            path: PathBuf::new(),
            line: None,
            reason: format!(
                "content folder {} holds no .md/.txt articles (files named *.md, *.markdown \
                 or *.txt, in it or its subfolders)",
                dir.display()
            ),
            rejected: false,
        });
    }
    Ok((files, warnings))
}

/// Keeps each real file once: under its own path when the walk reached it directly, else
/// under the first link path in path order. The other paths get a note.
fn once_each(mut found: Vec<Found>, warnings: &mut Vec<Warning>) -> Vec<SourceFile> {
    found.sort_by(|a, b| a.file.rel.cmp(&b.file.rel));
    // Without links every path is its own file: no map of a path per file to fill.
    if found.iter().all(|f| f.real.is_none()) {
        return found.into_iter().map(|f| f.file).collect();
    }
    let mut first: HashMap<PathBuf, PathBuf> = found
        .iter()
        .filter(|f| f.real.is_none())
        .map(|f| (f.file.rel.clone(), f.file.rel.clone()))
        .collect();
    let mut files = Vec::with_capacity(found.len());
    for f in found {
        if let Some(real) = &f.real {
            if let Some(kept) = first.get(real) {
                warnings.push(Warning {
                    path: f.file.rel,
                    line: None,
                    reason: format!(
                        "symbolic link to {}, which is read once, as {}",
                        real.display(),
                        kept.display()
                    ),
                    rejected: false,
                });
                continue;
            }
            first.insert(real.clone(), f.file.rel.clone());
        }
        files.push(f.file);
    }
    files
}

/// The real path of `path` below the (canonical) content folder `root`, or why a link there
/// is not followed.
fn link_target(root: &Path, path: &Path) -> Result<PathBuf, String> {
    let real = std::fs::canonicalize(path)
        .map_err(|e| format!("cannot follow symbolic link: {}", describe(&e)))?;
    match real.strip_prefix(root) {
        Ok(rel) => Ok(rel.to_path_buf()),
        Err(_) => Err("symbolic link to a place outside the content folder, not followed".into()),
    }
}

fn walk_error(dir: &Path, root: &Path, err: &walkdir::Error) -> Warning {
    let path = err.path().unwrap_or(dir);
    let rel = rel_path(dir, path);
    let is_link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    if is_link {
        // A link that leaves the folder is reported as such even when following it failed,
        // or when it leads to a folder above the content folder (a loop as well).
        if let Err(reason) = link_target(root, path) {
            return skipped(rel, reason);
        }
    }
    if let Some(ancestor) = err.loop_ancestor() {
        let target = match rel_path(dir, ancestor) {
            a if a.as_os_str().is_empty() => "the content folder itself".to_string(),
            a => a.display().to_string(),
        };
        return skipped(
            rel,
            format!("symbolic link loop (points back to {target}), not followed"),
        );
    }
    let io = err
        .io_error()
        .map_or_else(|| err.to_string(), |e| describe(e));
    let is_dir = std::fs::metadata(path).is_ok_and(|m| m.is_dir());
    skipped(
        rel,
        if is_dir {
            format!("cannot read folder: {io}")
        } else {
            format!("cannot read: {io}")
        },
    )
}

/// An I/O error's own message, without walkdir's "IO error for operation on `<path>`" prefix
/// (the warning names the path already).
fn describe(e: &dyn std::error::Error) -> String {
    match e.source() {
        Some(inner) if e.to_string().starts_with("IO error") => inner.to_string(),
        _ => e.to_string(),
    }
}

fn skipped(path: PathBuf, reason: impl Into<String>) -> Warning {
    Warning {
        path,
        line: None,
        reason: reason.into(),
        rejected: true,
    }
}

fn is_hidden(name: &std::ffi::OsStr) -> bool {
    name.to_string_lossy().starts_with('.')
}

/// Whether any component of `path` below `dir` is hidden.
fn hidden_below(dir: &Path, path: &Path) -> bool {
    rel_path(dir, path)
        .components()
        .any(|c| is_hidden(c.as_os_str()))
}

pub(super) fn rel_path(base: &Path, path: &Path) -> PathBuf {
    // The walk's paths are `base` joined with names, so its bytes start them: cutting bytes
    // saves parsing both paths into components for every file (9% of a scan's instructions
    // at 100,000 files). Anything else takes `strip_prefix`.
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let (b, p) = (base.as_os_str().as_bytes(), path.as_os_str().as_bytes());
        if let Some(rest) = p.strip_prefix(b) {
            let rest = match rest {
                [b'/', rest @ ..] => rest,
                _ if b.ends_with(b"/") => rest,
                _ => return path.strip_prefix(base).unwrap_or(path).to_path_buf(),
            };
            if !rest.starts_with(b"/")
                && !rest
                    .split(|&c| c == b'/')
                    .any(|c| c == b"." || c.is_empty())
            {
                return PathBuf::from(std::ffi::OsStr::from_bytes(rest));
            }
        }
    }
    path.strip_prefix(base).unwrap_or(path).to_path_buf()
}

/// The reason a non-regular file is skipped, naming its type.
fn not_regular(t: FileType) -> String {
    format!("not a regular file ({}), not read", kind(t))
}

#[cfg(unix)]
fn kind(t: FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_fifo() {
        "a named pipe"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_dir() {
        "a folder"
    } else {
        "an unknown type"
    }
}

#[cfg(not(unix))]
fn kind(t: FileType) -> &'static str {
    if t.is_dir() {
        "a folder"
    } else {
        "an unknown type"
    }
}

/// Reads a file found by [`scan`], at most `max` bytes: the length the scan saw is not
/// trusted (the file may have grown since), and a file that is no longer a regular file is
/// not read. Errors are the warning's reason.
pub(super) fn read_bounded(file: &SourceFile, max: u64) -> Result<Vec<u8>, String> {
    if file.len > max {
        return Err(format!(
            "file is {} bytes, larger than the maximum of {max} (content.max_file_bytes)",
            file.len
        ));
    }
    let handle = open_nonblocking(&file.abs).map_err(|e| format!("cannot read: {e}"))?;
    let meta = handle.metadata().map_err(|e| format!("cannot read: {e}"))?;
    if !meta.is_file() {
        return Err(not_regular(meta.file_type()));
    }
    let mut bytes = Vec::with_capacity(meta.len().min(max) as usize + 1);
    handle
        .take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() as u64 > max {
        return Err(format!(
            "file grew past the maximum of {max} bytes (content.max_file_bytes) while being read"
        ));
    }
    Ok(bytes)
}

/// Opens for reading without blocking: opening a named pipe with no writer would otherwise
/// wait forever (regular files ignore the flag).
#[cfg(unix)]
fn open_nonblocking(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

#[cfg(not(unix))]
fn open_nonblocking(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::File::open(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn source(dir: &Path, name: &str) -> SourceFile {
        let abs = dir.join(name);
        SourceFile {
            rel: PathBuf::from(name),
            len: std::fs::metadata(&abs).unwrap().len(),
            abs,
            mtime_ns: 0,
        }
    }

    /// Every file's size and modification time are its path's metadata, in path order, across
    /// chunks read while the walk goes on; links are read once and noted as before.
    #[cfg(unix)]
    #[test]
    fn each_file_stamp_is_its_metadata_in_walk_order() {
        let dir = tempfile::tempdir().unwrap();
        let content = dir.path().join("content");
        let mut expect = Vec::new();
        for f in 0..5 {
            let folder = content.join(format!("f{f}"));
            std::fs::create_dir_all(&folder).unwrap();
            for i in 0..(STAT_CHUNK / 2 + 7) {
                let name = format!("a{i:04}.md");
                std::fs::write(folder.join(&name), "x".repeat(i % 13)).unwrap();
                expect.push(PathBuf::from(format!("f{f}")).join(name));
            }
        }
        // A link to a file and a folder reached through a link (each file read once, under
        // its own path: the links noted), and a link to nowhere (skipped at its place).
        std::os::unix::fs::symlink("f0/a0003.md", content.join("g-link.md")).unwrap();
        std::os::unix::fs::symlink("f1", content.join("h-linked")).unwrap();
        std::os::unix::fs::symlink("nowhere.md", content.join("z-dangling.md")).unwrap();
        let (files, warnings) = scan(&content).unwrap();
        let rels: Vec<&Path> = files.iter().map(|f| f.rel.as_path()).collect();
        let mut want: Vec<&Path> = expect.iter().map(PathBuf::as_path).collect();
        want.sort();
        assert!(
            rels == want,
            "{} files, {} expected",
            rels.len(),
            want.len()
        );
        for f in &files {
            let meta = std::fs::metadata(content.join(&f.rel)).unwrap();
            let mtime = meta.modified().unwrap();
            let ns = mtime
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos();
            assert_eq!((f.len, f.mtime_ns), (meta.len(), ns), "{}", f.rel.display());
        }
        let noted: Vec<&Path> = warnings.iter().map(|w| w.path.as_path()).collect();
        assert!(noted.contains(&Path::new("g-link.md")));
        assert!(noted.contains(&Path::new("z-dangling.md")));
        let linked = noted.iter().filter(|p| p.starts_with("h-linked")).count();
        assert_eq!(linked, STAT_CHUNK / 2 + 7);
    }

    #[test]
    fn a_relative_path_is_the_one_strip_prefix_gives() {
        let bases = [
            "content",
            "content/",
            "./content",
            ".",
            "/abs/dir",
            "a/./b",
            "a//b",
        ];
        let rests = [
            "x.md",
            "sub/x.md",
            "sub//x.md",
            "sub/./x.md",
            "../x.md",
            "",
            "/x.md",
        ];
        for base in bases {
            for rest in rests {
                for path in [format!("{base}/{rest}"), format!("{base}{rest}")] {
                    let (base, path) = (Path::new(base), Path::new(&path));
                    let slow = path.strip_prefix(base).unwrap_or(path);
                    // The same bytes, not only the same components: the path is shown and
                    // hashed as it is.
                    assert_eq!(
                        rel_path(base, path).as_os_str(),
                        slow.as_os_str(),
                        "{} in {}",
                        path.display(),
                        base.display()
                    );
                }
            }
        }
    }

    #[test]
    fn a_file_that_grows_after_the_scan_is_read_only_up_to_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("grow.txt"), "Title\nBody.\n").unwrap();
        let file = source(dir.path(), "grow.txt");
        assert_eq!(file.len, 12);
        // The file grows between the scan (which saw 12 bytes) and the read.
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&file.abs)
            .unwrap();
        f.write_all(&[b'x'; 100]).unwrap();
        drop(f);
        assert_eq!(
            read_bounded(&file, 50).unwrap_err(),
            "file grew past the maximum of 50 bytes (content.max_file_bytes) while being read"
        );
        // Within the limit the whole grown file is read.
        assert_eq!(read_bounded(&file, 112).unwrap().len(), 112);
    }

    #[test]
    fn a_file_larger_than_the_limit_at_scan_time_is_not_opened() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("big.txt"), [b'a'; 64]).unwrap();
        let mut file = source(dir.path(), "big.txt");
        file.abs = dir.path().join("gone.txt"); // opening it would fail
        assert_eq!(
            read_bounded(&file, 10).unwrap_err(),
            "file is 64 bytes, larger than the maximum of 10 (content.max_file_bytes)"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_file_replaced_by_a_pipe_after_the_scan_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("swap.md"), "# T\n").unwrap();
        let file = source(dir.path(), "swap.md");
        std::fs::remove_file(&file.abs).unwrap();
        let c = std::ffi::CString::new(file.abs.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        assert_eq!(
            read_bounded(&file, 1000).unwrap_err(),
            "not a regular file (a named pipe), not read"
        );
    }
}
