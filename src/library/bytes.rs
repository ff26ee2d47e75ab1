//! Reading the index folder's own fixed-width files (`counts.bin`, `counts.log`,
//! `vectors.bin`) front to back: little-endian numbers and length-prefixed stems, every length
//! checked against the bytes that are there, so a damaged file is an error naming it, never a
//! panic or an allocation sized by a bad count.

use anyhow::Context;

/// A position in the bytes of one file; `what` names the file in errors.
pub(super) struct ByteReader<'a> {
    bytes: &'a [u8],
    pub at: usize,
    what: &'static str,
}

impl<'a> ByteReader<'a> {
    /// Reads `bytes` (of the file `what` names) from `at`.
    pub fn new(bytes: &'a [u8], at: usize, what: &'static str) -> ByteReader<'a> {
        ByteReader { bytes, at, what }
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> anyhow::Result<&'a [u8]> {
        let s = self
            .bytes
            .get(self.at..self.at.saturating_add(n))
            .with_context(|| format!("{} is cut short", self.what))?;
        self.at += n;
        Ok(s)
    }

    /// The next little-endian `u32`.
    pub fn u32(&mut self) -> anyhow::Result<u32> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }

    /// The next `n` little-endian `u32`s.
    pub fn u32s(&mut self, n: usize) -> anyhow::Result<Vec<u32>> {
        Ok(self
            .take(n.saturating_mul(4))?
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes")))
            .collect())
    }

    /// A stem: its length (`u32`), then its UTF-8 bytes.
    pub fn string(&mut self) -> anyhow::Result<String> {
        let n = self.u32()? as usize;
        let s = std::str::from_utf8(self.take(n)?)
            .with_context(|| format!("{}: a stem is not UTF-8", self.what))?;
        Ok(s.to_string())
    }

    /// Whether every byte has been read.
    pub fn at_end(&self) -> bool {
        self.at == self.bytes.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_past_the_end_are_errors_naming_the_file() {
        let bytes = [3, 0, 0, 0, b'a', b'b', 2, 0, 0, 0, 0xff, 0xfe, 9, 0, 0, 0];
        let mut r = ByteReader::new(&bytes, 0, "x.bin");
        assert_eq!(r.u32().unwrap(), 3);
        let e = r.take(100).unwrap_err();
        assert_eq!(e.to_string(), "x.bin is cut short");
        let mut r = ByteReader::new(&bytes, 0, "x.bin");
        assert_eq!(r.string().unwrap(), "ab\u{2}");
        let mut r = ByteReader::new(&bytes, 12, "x.bin");
        assert!(r.string().is_err(), "9 bytes asked, none there");
        let mut r = ByteReader::new(&bytes, 6, "x.bin");
        assert!(r
            .string()
            .unwrap_err()
            .to_string()
            .contains("x.bin: a stem is not UTF-8"));
        let mut r = ByteReader::new(&bytes, 12, "x.bin");
        assert_eq!(r.u32s(1).unwrap(), [9]);
        assert!(r.at_end());
        assert!(r.u32s(usize::MAX).is_err());
    }
}
