//! The building blocks of the word caches a build looks every word up in (stems, terms, term
//! ids): words held inline as keys ([`InlineWord`]) and a small direct-mapped table of the
//! common words ([`HotWords`]). Kept apart from `text` so that the index's analyzer, which
//! `text` mirrors, can use them too.

/// A word of at most [`InlineWord::MAX_BYTES`] bytes held in the value itself, for the keys
/// (and stems) of word caches. A look-up compares the key where the table holds it; with a
/// `Box<str>` key every look-up also read a heap allocation of its own, a cache miss once the
/// vocabulary outgrows the processor's caches: the build's word caches spent more time on
/// those misses than on anything else of ours (BENCHMARKS.md, issue 18).
/// The default is the empty word.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
#[repr(align(8))]
pub struct InlineWord([u8; 24]);

impl InlineWord {
    /// The longest word held: 23 bytes and their length fill 24, three machine words.
    pub const MAX_BYTES: usize = 23;

    /// `word` held inline, or `None` when it is longer than [`InlineWord::MAX_BYTES`].
    #[inline]
    pub fn new(word: &str) -> Option<InlineWord> {
        let len = word.len();
        if len > Self::MAX_BYTES {
            return None;
        }
        let mut bytes = [0u8; 24];
        bytes[0] = len as u8;
        bytes[1..=len].copy_from_slice(word.as_bytes());
        Some(InlineWord(bytes))
    }

    #[inline]
    pub fn as_str(&self) -> &str {
        let len = usize::from(self.0[0]);
        let bytes = &self.0[1..=len];
        debug_assert!(std::str::from_utf8(bytes).is_ok());
        // SAFETY: the bytes are a `str`'s, copied whole by `new` (or none, the default's); the
        // one value made otherwise, `NO_WORD`, has a length no slice of 24 bytes reaches, so
        // the slicing above panics before. The build reads every word's stem through here,
        // so they are not checked twice.
        unsafe { std::str::from_utf8_unchecked(bytes) }
    }
}

/// A small direct-mapped cache of words in front of a larger word cache: a slot per hash,
/// the last word that hashed there kept. A collection's common words fill it and stay in the
/// processor's own cache (4,096 slots of two inline words take 192 KB), where a look-up in
/// the whole vocabulary's table costs a memory access or two that miss it (BENCHMARKS.md,
/// issue 18: the build's word caches waited on memory more than they computed).
pub struct HotWords<V, const SLOTS: usize = HOT_SLOTS> {
    slots: Box<[(InlineWord, V)]>,
}

/// Slots of a [`HotWords`] unless its type says otherwise (a power of two).
pub const HOT_SLOTS: usize = 4096;

/// A key no word has ([`InlineWord::new`] never makes a length over 23): an empty slot.
const NO_WORD: InlineWord = InlineWord([0xff; 24]);

impl<V: Copy + Default, const SLOTS: usize> Default for HotWords<V, SLOTS> {
    fn default() -> HotWords<V, SLOTS> {
        const { assert!(SLOTS.is_power_of_two() && SLOTS > 1) };
        HotWords {
            slots: vec![(NO_WORD, V::default()); SLOTS].into_boxed_slice(),
        }
    }
}

impl<V: Copy, const SLOTS: usize> HotWords<V, SLOTS> {
    #[inline]
    fn slot(word: &InlineWord) -> usize {
        let part = |i: usize| u64::from_le_bytes(word.0[i..i + 8].try_into().expect("8 bytes"));
        let mixed = (part(0) ^ part(8).rotate_left(21) ^ part(16).rotate_left(42))
            .wrapping_mul(0x9e37_79b9_7f4a_7c15);
        (mixed >> (64 - SLOTS.trailing_zeros())) as usize
    }

    /// The value kept for `word`, if its slot holds it.
    #[inline]
    pub fn get(&self, word: &InlineWord) -> Option<V> {
        let (key, value) = &self.slots[Self::slot(word)];
        (key == word).then_some(*value)
    }

    /// Keeps `value` for `word` in its slot, in place of whatever word was there.
    #[inline]
    pub fn put(&mut self, word: InlineWord, value: V) {
        self.slots[Self::slot(&word)] = (word, value);
    }

    /// Forgets every word.
    pub fn clear(&mut self) {
        self.slots.iter_mut().for_each(|s| s.0 = NO_WORD);
    }
}

impl std::fmt::Debug for InlineWord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.as_str().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_words_hold_words_up_to_their_limit() {
        let longest = "é".repeat(11) + "x";
        assert_eq!(longest.len(), InlineWord::MAX_BYTES);
        for word in ["", "a", "café", "pokemon", longest.as_str()] {
            let inline = InlineWord::new(word).unwrap();
            assert_eq!(inline.as_str(), word);
            assert_eq!(format!("{inline:?}"), format!("{word:?}"));
        }
        assert!(InlineWord::new(&format!("{longest}y")).is_none());
        // Words that are prefixes of each other are different keys.
        assert_ne!(InlineWord::new("run"), InlineWord::new("runs"));
        assert_ne!(InlineWord::new(""), InlineWord::new("a"));
    }

    #[test]
    fn hot_words_keep_the_last_word_of_each_slot() {
        let mut hot: HotWords<u32> = HotWords::default();
        let word = |w: &str| InlineWord::new(w).unwrap();
        assert_eq!(hot.get(&word("")), None);
        assert_eq!(hot.get(&word("run")), None);
        hot.put(word("run"), 7);
        assert_eq!(hot.get(&word("run")), Some(7));
        assert_eq!(hot.get(&word("runs")), None);
        // Many words: each one read back is the last value put for it, or nothing.
        let words: Vec<String> = (0..3 * HOT_SLOTS).map(|i| format!("w{i}")).collect();
        for (i, w) in words.iter().enumerate() {
            hot.put(word(w), i as u32);
        }
        let kept = words
            .iter()
            .enumerate()
            .filter(|(i, w)| match hot.get(&word(w)) {
                Some(v) => {
                    assert_eq!(v, *i as u32);
                    true
                }
                None => false,
            })
            .count();
        assert!(kept > HOT_SLOTS / 2 && kept <= HOT_SLOTS, "{kept}");
        hot.clear();
        assert!(words.iter().all(|w| hot.get(&word(w)).is_none()));
    }
}
