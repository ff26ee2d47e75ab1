//! [`Lazy`]: a part of an article (a section's blocks, its takeaways) that a persisted library
//! reads from `articles.bin` the first time it is used, not when the library opens.
//!
//! An article just parsed holds its parts in memory. An article of a persisted library holds
//! where each part lies in the file ([`Stored`]); the first use of a part reads and decodes
//! that record and keeps it. Opening an unchanged collection then decodes no article body
//! (most of the time to the first answer), and a serving process holds only the bodies its
//! questions touched. A part reads as the same value either way: the records are the values'
//! own postcard encoding.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A value held in memory, or read on first use from a record of a [`BodyFile`].
pub struct Lazy<T> {
    cell: OnceLock<T>,
    stored: Option<Stored>,
}

/// Where a part lies in the file of article bodies.
#[derive(Debug, Clone)]
pub struct Stored {
    pub offset: u64,
    pub len: u32,
    /// Set by [`Lazy::attach`] once the file is open; a part read before has nothing to read.
    file: Option<Arc<BodyFile>>,
}

/// The open file of article bodies (`articles.bin`), read at offsets from any thread.
#[derive(Debug)]
pub struct BodyFile {
    path: PathBuf,
    file: std::fs::File,
    len: u64,
}

impl BodyFile {
    pub fn open(path: &Path) -> std::io::Result<BodyFile> {
        let file = std::fs::File::open(path)?;
        let len = file.metadata()?.len();
        Ok(BodyFile {
            path: path.to_path_buf(),
            file,
            len,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's length when it was opened.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether `path` is this very file (the same device and inode): an update's folder links
    /// `articles.bin` and appends to it, so the file a library opened is its updates' too.
    #[cfg(unix)]
    pub fn is_file_at(&self, path: &Path) -> std::io::Result<bool> {
        use std::os::unix::fs::MetadataExt;
        let (mine, there) = (self.file.metadata()?, std::fs::metadata(path)?);
        Ok(mine.dev() == there.dev() && mine.ino() == there.ino())
    }

    #[cfg(not(unix))]
    pub fn is_file_at(&self, _path: &Path) -> std::io::Result<bool> {
        Ok(false)
    }

    /// The file's length now (it grows by appends after it was opened).
    pub fn current_len(&self) -> std::io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }

    /// The `len` bytes at `offset`.
    pub fn read(&self, offset: u64, len: u32) -> std::io::Result<Vec<u8>> {
        let mut buf = vec![0; len as usize];
        read_at(&self.file, &mut buf, offset)?;
        Ok(buf)
    }
}

#[cfg(unix)]
fn read_at(file: &std::fs::File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(windows)]
fn read_at(file: &std::fs::File, mut buf: &mut [u8], mut offset: u64) -> std::io::Result<()> {
    while !buf.is_empty() {
        match std::os::windows::fs::FileExt::seek_read(file, buf, offset)? {
            0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            n => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
        }
    }
    Ok(())
}

impl<T> Lazy<T> {
    /// A value held in memory.
    pub fn loaded(value: T) -> Lazy<T> {
        Lazy {
            cell: OnceLock::from(value),
            stored: None,
        }
    }

    /// A value to read on first use from `len` bytes at `offset`, once [`Lazy::attach`]ed to
    /// its file.
    pub fn stored(offset: u64, len: u32) -> Lazy<T> {
        Lazy {
            cell: OnceLock::new(),
            stored: Some(Stored {
                offset,
                len,
                file: None,
            }),
        }
    }

    /// Where the value lies in its file, when it is stored.
    pub fn position(&self) -> Option<(u64, u32)> {
        self.stored.as_ref().map(|s| (s.offset, s.len))
    }

    /// Gives a stored value its file.
    pub fn attach(&mut self, file: &Arc<BodyFile>) {
        if let Some(s) = &mut self.stored {
            s.file = Some(file.clone());
        }
    }

    /// The file a stored value is read from, once attached.
    pub fn file(&self) -> Option<&Arc<BodyFile>> {
        self.stored.as_ref().and_then(|s| s.file.as_ref())
    }

    /// Whether the value is in memory (read already, or never stored).
    pub fn is_loaded(&self) -> bool {
        self.cell.get().is_some()
    }

    /// Drops a value read from its file, which the next use reads again; a value held in
    /// memory only (never stored, or with no file to read it from) stays.
    pub fn unload(&mut self) {
        if self.stored.as_ref().is_some_and(|s| s.file.is_some()) {
            self.cell.take();
        }
    }
}

impl<T: DeserializeOwned + Default> Lazy<T> {
    /// The value, read from its file on first use.
    ///
    /// A record that cannot be read or decoded (the file was changed in place behind the
    /// library's back: the library checks its length when it opens) reads as empty, with an
    /// error logged: the rest of the library keeps answering.
    pub fn value(&self) -> &T {
        self.cell.get_or_init(|| {
            let Some(stored) = &self.stored else {
                return T::default();
            };
            match stored.read() {
                Ok(bytes) => postcard::from_bytes(&bytes).unwrap_or_else(|e| {
                    tracing::error!("{}: bad record: {e}", stored.describe());
                    T::default()
                }),
                Err(e) => {
                    tracing::error!("{}: cannot read: {e}", stored.describe());
                    T::default()
                }
            }
        })
    }
}

impl Stored {
    fn read(&self) -> std::io::Result<Vec<u8>> {
        match &self.file {
            Some(f) => f.read(self.offset, self.len),
            None => Err(std::io::Error::other(
                "the file of article bodies is not open",
            )),
        }
    }

    fn describe(&self) -> String {
        let path = self
            .file
            .as_ref()
            .map_or("articles.bin".into(), |f| f.path.display().to_string());
        format!("{path} at {} ({} bytes)", self.offset, self.len)
    }
}

impl<T: DeserializeOwned + Default> std::ops::Deref for Lazy<T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.value()
    }
}

/// Changing a value makes it a value in memory: its record no longer describes it.
impl<T: DeserializeOwned + Default> std::ops::DerefMut for Lazy<T> {
    fn deref_mut(&mut self) -> &mut T {
        self.value();
        self.stored = None;
        self.cell.get_mut().expect("read just above")
    }
}

impl<'a, T: DeserializeOwned> IntoIterator for &'a Lazy<Vec<T>> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.value().iter()
    }
}

impl<T: DeserializeOwned + Default + Clone> Clone for Lazy<T> {
    fn clone(&self) -> Lazy<T> {
        match (self.cell.get(), &self.stored) {
            (None, Some(s)) => Lazy {
                cell: OnceLock::new(),
                stored: Some(s.clone()),
            },
            _ => Lazy::loaded(self.value().clone()),
        }
    }
}

/// Two values are equal when they read the same. A stored record not yet read is compared
/// by its bytes, without decoding it (equal values have equal encodings): comparing an old
/// library with a new one (a reload's list of changed articles) leaves the new one's bodies
/// unread.
impl<T: Serialize + DeserializeOwned + Default + PartialEq> PartialEq for Lazy<T> {
    fn eq(&self, other: &Lazy<T>) -> bool {
        let unread = |l: &Lazy<T>| match (&l.stored, l.is_loaded()) {
            (Some(s), false) => s.read().ok(),
            _ => None,
        };
        match (unread(self), unread(other)) {
            (Some(x), Some(y)) => x == y,
            (Some(x), None) => postcard::to_stdvec(other.value()).is_ok_and(|y| x == y),
            (None, Some(y)) => postcard::to_stdvec(self.value()).is_ok_and(|x| x == y),
            (None, None) => self.value() == other.value(),
        }
    }
}

impl<T: DeserializeOwned + Default + Clone> Lazy<T> {
    /// A copy that reads the value from its record again, on its first use (a value with no
    /// record to read is copied).
    pub fn unread(&self) -> Lazy<T> {
        match &self.stored {
            Some(s) if s.file.is_some() => Lazy {
                cell: OnceLock::new(),
                stored: Some(s.clone()),
            },
            _ => self.clone(),
        }
    }
}

impl<T: DeserializeOwned + Default + PartialEq> PartialEq<T> for Lazy<T> {
    fn eq(&self, other: &T) -> bool {
        self.value() == other
    }
}

impl<T: fmt::Debug> fmt::Debug for Lazy<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.cell.get(), &self.stored) {
            (Some(v), _) => v.fmt(f),
            (None, Some(s)) => write!(f, "<stored at {} ({} bytes)>", s.offset, s.len),
            (None, None) => f.write_str("<empty>"),
        }
    }
}

/// The persisted form: where the record lies, or the value itself when it has no record.
#[derive(Serialize, Deserialize)]
enum Form<T> {
    Stored { offset: u64, len: u32 },
    Loaded(T),
}

impl<T: Serialize + DeserializeOwned + Default> Serialize for Lazy<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.stored {
            Some(st) => Form::<&T>::Stored {
                offset: st.offset,
                len: st.len,
            }
            .serialize(s),
            None => Form::Loaded(self.value()).serialize(s),
        }
    }
}

impl<'de, T: DeserializeOwned + Default> Deserialize<'de> for Lazy<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Lazy<T>, D::Error> {
        Ok(match Form::<T>::deserialize(d)? {
            Form::Stored { offset, len } => Lazy::stored(offset, len),
            Form::Loaded(v) => Lazy::loaded(v),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_value_reads_back_on_first_use_and_compares_by_its_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bodies.bin");
        let a = postcard::to_stdvec(&vec!["one".to_string(), "two".into()]).unwrap();
        let b = postcard::to_stdvec(&vec!["three".to_string()]).unwrap();
        std::fs::write(&path, [a.clone(), b.clone(), a.clone()].concat()).unwrap();
        let file = Arc::new(BodyFile::open(&path).unwrap());
        let at = |offset: usize, bytes: &Vec<u8>| {
            let mut l: Lazy<Vec<String>> = Lazy::stored(offset as u64, bytes.len() as u32);
            l.attach(&file);
            l
        };
        let first = at(0, &a);
        let second = at(a.len(), &b);
        let third = at(a.len() + b.len(), &a);
        assert!(!first.is_loaded());
        assert!(first == third, "same bytes");
        assert!(first != second);
        assert!(!first.is_loaded(), "compared without decoding");
        let one_two = Lazy::loaded(vec!["one".to_string(), "two".into()]);
        assert!(one_two == first, "a value read equals a record unread");
        assert!(first == one_two, "and the other way round");
        assert!(one_two != second);
        assert!(!first.is_loaded() && !second.is_loaded());
        assert_eq!(*first, vec!["one".to_string(), "two".into()]);
        assert!(first.is_loaded());
        assert_eq!(
            second.iter().map(String::as_str).collect::<Vec<_>>(),
            ["three"]
        );
        assert!(second == Lazy::loaded(vec!["three".to_string()]));
        // The persisted form keeps the position, not the value.
        let bytes = postcard::to_stdvec(&second).unwrap();
        let mut back: Lazy<Vec<String>> = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back.position(), Some((a.len() as u64, b.len() as u32)));
        back.attach(&file);
        assert_eq!(back.len(), 1);
        // A record past the end reads as empty.
        let beyond = at(10_000, &a);
        assert!(beyond.is_empty());
    }
}
