pub(crate) type MatchId = u32;

pub(crate) struct MatchInfo {
    pub match_id: MatchId,
    pub with_content: bool,
}

#[derive(Eq, Debug, Clone, PartialEq)]
pub(crate) enum DenseHashSet {
    Inline(u32),
    Heap(Box<[u32]>),
}

impl DenseHashSet {
    pub fn new() -> Self {
        Self::Inline(0)
    }

    /// True when no id is in the set (fork patch 5, PATCHES.md).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.slice().iter().all(|&w| w == 0)
    }

    pub fn insert(&mut self, value: MatchId) {
        let int_idx = (value / 32) as usize;
        let bit_idx = (value & 31) as u8;
        let b = if let Some(b) = self.slice_mut().get_mut(int_idx) {
            b
        } else if let Some(b) = self.resize(int_idx * 2).get_mut(int_idx) {
            b
        } else {
            debug_assert!(false);
            return;
        };
        *b |= 1 << bit_idx;
    }

    pub fn union(&mut self, other: &Self) {
        let mut bits = self.slice_mut();
        let other = other.slice();
        if bits.len() < other.len() {
            bits = self.resize(other.len());
        }
        for (a, b) in bits.iter_mut().zip(other) {
            *a |= *b;
        }
    }

    /// The set's ids in ascending order (fork patch 3, PATCHES.md: a plain
    /// bit walk instead of a flattened iterator chain; the VM calls this for
    /// every element, usually on an empty set).
    pub fn iter(&self) -> impl Iterator<Item = MatchId> + '_ {
        let words = self.slice();
        DenseIter {
            current: words.first().copied().unwrap_or(0),
            words,
            word_idx: 0,
        }
    }

    fn slice_mut(&mut self) -> &mut [u32] {
        match self {
            Self::Heap(v) => v,
            Self::Inline(v) => std::slice::from_mut(v),
        }
    }

    fn slice(&self) -> &[u32] {
        match self {
            Self::Heap(v) => v,
            Self::Inline(v) => std::slice::from_ref(v),
        }
    }

    #[cold]
    fn resize(&mut self, new_len: usize) -> &mut [u32] {
        let bits = self.slice_mut();
        let mut new = Vec::with_capacity(new_len);
        new.extend_from_slice(bits);
        let cap = new.capacity();
        new.resize(cap, 0);
        *self = Self::Heap(new.into_boxed_slice());
        self.slice_mut()
    }

    #[cfg(test)]
    pub fn from(values: impl IntoIterator<Item = MatchId>) -> Self {
        let mut new = Self::new();
        for v in values {
            new.insert(v);
        }
        new
    }
}

/// [`DenseHashSet::iter`]'s walk over the set bits, word by word.
struct DenseIter<'a> {
    words: &'a [u32],
    word_idx: usize,
    /// The bits of `words[word_idx]` not yet yielded.
    current: u32,
}

impl Iterator for DenseIter<'_> {
    type Item = MatchId;

    #[inline]
    fn next(&mut self) -> Option<MatchId> {
        while self.current == 0 {
            self.word_idx += 1;
            self.current = *self.words.get(self.word_idx)?;
        }
        let bit = self.current.trailing_zeros();
        self.current &= self.current - 1;
        Some(32 * self.word_idx as MatchId + bit)
    }
}

#[test]
fn iter_yields_the_inserted_ids_in_order() {
    for ids in [
        &[][..],
        &[0],
        &[31],
        &[0, 5, 31],
        &[32],
        &[1, 33, 64, 95, 200],
        &[3, 300],
    ] {
        let set = DenseHashSet::from(ids.iter().copied());
        assert_eq!(set.iter().collect::<Vec<_>>(), ids);
    }
}

#[test]
fn size() {
    assert_eq!(16, size_of::<DenseHashSet>());
}
