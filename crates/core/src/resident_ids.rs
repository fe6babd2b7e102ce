//! [`Ids`]: the residents' id column, kept in the blocks it was parsed in.
//!
//! A file read in parallel pieces leaves each piece's ids in a buffer of
//! its own. Appending them to one buffer cost a copy of every id byte and
//! a rewrite of every offset (0.6 s for 50 million residents); the
//! buffers are kept as they are instead, and a row's block is found by a
//! binary search over the blocks' first rows (a few hundred to a few
//! thousand blocks). Offsets within a block are `u32`: half the memory of
//! one `u64` per row.

/// Ids of consecutive rows: their bytes one after another, and where each
/// ends — or, while every id has the same length (as files' ids nearly
/// always do), that length alone: 4 bytes a row less (200 MB for 50
/// million residents).
#[derive(Debug, Clone, Default)]
pub(crate) struct IdBlock {
    bytes: Vec<u8>,
    /// Where each id ends in `bytes`; empty while every id is `width`
    /// bytes long (then id `i` is `bytes[i * width..(i + 1) * width]`).
    ends: Vec<u32>,
    width: usize,
    len: usize,
}

impl IdBlock {
    /// A block with room for ids of `bytes` bytes in all.
    pub(crate) fn with_capacity(bytes: usize) -> IdBlock {
        IdBlock {
            bytes: Vec::with_capacity(bytes),
            ..IdBlock::default()
        }
    }

    /// Appends an id, or returns false (appending nothing) when the block
    /// cannot address more bytes.
    #[inline(always)]
    pub(crate) fn push(&mut self, id: &[u8]) -> bool {
        let Ok(end) = u32::try_from(self.bytes.len() + id.len()) else {
            return false;
        };
        if self.ends.is_empty() {
            if self.len == 0 {
                self.width = id.len();
            }
            if id.len() == self.width {
                self.bytes.extend_from_slice(id);
                self.len += 1;
                return true;
            }
            // The first id of another length: ends from now on.
            self.ends = self.fixed_ends();
        }
        self.bytes.extend_from_slice(id);
        self.ends.push(end);
        self.len += 1;
        true
    }

    /// The ends of the ids of a block whose ids all have one length.
    fn fixed_ends(&self) -> Vec<u32> {
        // Each end is at most the bytes' length, which fits (`push`).
        (1..=self.len).map(|i| (i * self.width) as u32).collect()
    }

    /// A block of `bytes` and the end of each id in them; `None` unless
    /// the ends never decrease and the last is the length of `bytes`.
    /// Ends of ids of one length are not kept.
    pub(crate) fn from_parts(bytes: Vec<u8>, ends: Vec<u32>) -> Option<IdBlock> {
        let ordered = ends.windows(2).all(|w| w[0] <= w[1]);
        let last = ends.last().map_or(0, |&e| e as usize);
        if !(ordered && last == bytes.len()) {
            return None;
        }
        let width = ends.first().map_or(0, |&e| e as usize);
        let one_width = (1..=ends.len())
            .zip(&ends)
            .all(|(i, &e)| e as usize == i * width);
        Some(IdBlock {
            len: ends.len(),
            bytes,
            ends: if one_width { Vec::new() } else { ends },
            width,
        })
    }

    /// The ids' bytes, one after another.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Where each id ends in [`bytes`](Self::bytes).
    pub(crate) fn ends(&self) -> std::borrow::Cow<'_, [u32]> {
        if self.ends.is_empty() {
            std::borrow::Cow::Owned(self.fixed_ends())
        } else {
            std::borrow::Cow::Borrowed(&self.ends)
        }
    }

    /// Number of ids.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Where the `i`-th id starts and ends in the bytes.
    #[inline]
    fn span(&self, i: usize) -> (usize, usize) {
        debug_assert!(i < self.len);
        if self.ends.is_empty() {
            (i * self.width, (i + 1) * self.width)
        } else {
            let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
            (start, self.ends[i] as usize)
        }
    }

    /// The `i`-th id.
    #[inline]
    pub(crate) fn get(&self, i: usize) -> &[u8] {
        let (start, end) = self.span(i);
        &self.bytes[start..end]
    }

    /// The `i`-th id's first 16 bytes as a big-endian number (zeros past
    /// its end), and its length: see [`IdKey`].
    #[inline]
    pub(crate) fn key(&self, i: usize) -> IdKey {
        let (start, end) = self.span(i);
        let len = end - start;
        // Sixteen bytes from the id's start (the next ids' bytes after it,
        // masked off below), or what is left of the block.
        let word = match self.bytes[start..].first_chunk::<16>() {
            Some(w) => u128::from_be_bytes(*w),
            None => {
                let mut w = [0u8; 16];
                w[..self.bytes.len() - start].copy_from_slice(&self.bytes[start..]);
                u128::from_be_bytes(w)
            }
        };
        let kept = if len >= 16 {
            u128::MAX
        } else {
            !(u128::MAX >> (8 * len))
        };
        IdKey {
            word: word & kept,
            len,
        }
    }

    /// Gives back the room reserved and not used.
    pub(crate) fn shrink_to_fit(&mut self) {
        self.bytes.shrink_to_fit();
        self.ends.shrink_to_fit();
    }
}

/// An id's first 16 bytes as a big-endian number, zeros past its end, and
/// its length. Comparing two keys' words, then (when equal) their lengths,
/// or their bytes past the 16th when both are longer, orders ids as their
/// bytes do ([`IdKey::cmp_ids`]): a word comparison instead of a call to
/// `memcmp` for the ids of up to 16 bytes that files nearly always hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IdKey {
    pub(crate) word: u128,
    pub(crate) len: usize,
}

impl IdKey {
    /// The order of the ids `a` and `b` (whose keys `self` and `other`
    /// are) by their bytes.
    ///
    /// Equal words: the ids agree on their first 16 bytes, reading zeros
    /// past the end of the shorter. If one is at most 16 bytes long it is
    /// then the other's first bytes (perhaps followed by zeros), so the
    /// shorter comes first; otherwise the bytes past the 16th decide.
    #[inline]
    pub(crate) fn cmp_ids(self, other: IdKey, a: &[u8], b: &[u8]) -> std::cmp::Ordering {
        self.word.cmp(&other.word).then_with(|| {
            if self.len > 16 && other.len > 16 {
                a[16..].cmp(&b[16..])
            } else {
                self.len.cmp(&other.len)
            }
        })
    }
}

/// The id of every row, in blocks of consecutive rows.
#[derive(Debug, Clone, Default)]
pub(crate) struct Ids {
    /// The blocks, none empty.
    blocks: Vec<IdBlock>,
    /// The first row of each block.
    first_row: Vec<usize>,
    len: usize,
}

impl Ids {
    /// Bytes the ids hold on the heap.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.blocks
            .iter()
            .map(|b| b.bytes.capacity() + 4 * b.ends.capacity())
            .sum::<usize>()
            + 8 * self.first_row.capacity()
    }

    /// The ids of `blocks`, in order.
    pub(crate) fn from_blocks(blocks: impl IntoIterator<Item = IdBlock>) -> Ids {
        let mut ids = Ids::default();
        for b in blocks {
            ids.push_block(b);
        }
        ids
    }

    /// Appends the rows of `block`.
    pub(crate) fn push_block(&mut self, block: IdBlock) {
        if block.len() > 0 {
            self.first_row.push(self.len);
            self.len += block.len();
            self.blocks.push(block);
        }
    }

    /// Appends one row's id.
    pub(crate) fn push(&mut self, id: &[u8]) {
        if let Some(last) = self.blocks.last_mut() {
            if last.push(id) {
                self.len += 1;
                return;
            }
        }
        let mut block = IdBlock::default();
        // An id longer than a block can hold is not a resident id anyone
        // has; it is refused by the loaders long before (ids are one CSV
        // field).
        assert!(block.push(id), "an id of more than 4 GiB");
        self.push_block(block);
    }

    /// Number of rows.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The id of `row`.
    #[inline]
    pub(crate) fn get(&self, row: usize) -> &[u8] {
        let b = self.first_row.partition_point(|&f| f <= row) - 1;
        self.blocks[b].get(row - self.first_row[b])
    }

    /// The id of `row`, with its key.
    pub(crate) fn keyed(&self, row: usize) -> (IdKey, &[u8]) {
        let b = self.first_row.partition_point(|&f| f <= row) - 1;
        let i = row - self.first_row[b];
        (self.blocks[b].key(i), self.blocks[b].get(i))
    }

    /// The blocks, each with its first row.
    pub(crate) fn blocks(&self) -> impl Iterator<Item = (usize, &IdBlock)> {
        self.first_row.iter().copied().zip(&self.blocks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_found_across_blocks() {
        let all: Vec<String> = (0..50).map(|i| format!("id{}", i * 7 % 13)).collect();
        // Blocks of varying sizes (some empty), then single pushes.
        let mut ids = Ids::default();
        let mut at = 0;
        for size in [0, 1, 5, 0, 12, 2] {
            let mut b = IdBlock::with_capacity(0);
            for id in &all[at..at + size] {
                assert!(b.push(id.as_bytes()));
            }
            ids.push_block(b);
            at += size;
        }
        for id in &all[at..] {
            ids.push(id.as_bytes());
        }
        assert_eq!(ids.len(), all.len());
        for (row, id) in all.iter().enumerate() {
            assert_eq!(ids.get(row), id.as_bytes(), "row {row}");
        }
        let firsts: Vec<usize> = ids.blocks().map(|(f, _)| f).collect();
        // The single pushes went into the last block.
        assert_eq!(firsts, [0, 1, 6, 18]);
    }

    #[test]
    fn blocks_of_one_width_keep_no_ends_until_another_width_comes() {
        // Nine ids of 3 bytes, one of them (or none: 9) of 7 bytes or of 0.
        for other in [b"long-id".as_slice(), b""] {
            for at in [0usize, 1, 5, 8, 9] {
                let ids: Vec<Vec<u8>> = (0..9)
                    .map(|i| match i == at {
                        true => other.to_vec(),
                        false => format!("R{i:02}").into_bytes(),
                    })
                    .collect();
                let mut block = IdBlock::with_capacity(0);
                for (i, id) in ids.iter().enumerate() {
                    assert!(block.push(id));
                    // Ends are kept from the first id of another width on.
                    let fixed = i < at || (at == 0 && i == 0);
                    assert_eq!(block.ends.is_empty(), fixed, "{at} {i}");
                }
                let mut end = 0;
                let ends: Vec<u32> = ids
                    .iter()
                    .map(|id| {
                        end += id.len() as u32;
                        end
                    })
                    .collect();
                assert_eq!(block.len(), 9);
                assert_eq!(&block.ends()[..], &ends[..], "{at}");
                let parts = IdBlock::from_parts(block.bytes().to_vec(), ends).unwrap();
                // Read back, the ends of one width are not kept either.
                assert_eq!(parts.ends.is_empty(), at == 9, "{at}");
                for (i, id) in ids.iter().enumerate() {
                    assert_eq!(block.get(i), &id[..], "{at} {i}");
                    assert_eq!(parts.get(i), &id[..], "{at} {i}");
                    assert_eq!(block.key(i), parts.key(i), "{at} {i}");
                    assert_eq!(block.key(i).len, id.len());
                }
            }
        }
    }

    #[test]
    fn keys_order_ids_as_their_bytes() {
        // Every id of up to 3 bytes over {0, 1, 'a'}, with prefixes of 14
        // to 17 bytes (so lengths around the word's 16), in one block: every
        // pair is compared as by its bytes, whatever the bytes after it.
        let alphabet = [0u8, 1, b'a'];
        let mut ids: Vec<Vec<u8>> = Vec::new();
        for prefix in [0usize, 14, 15, 16, 17] {
            for len in 0..=3u32 {
                for mut code in 0..3usize.pow(len) {
                    let mut id = vec![b'a'; prefix];
                    for _ in 0..len {
                        id.push(alphabet[code % 3]);
                        code /= 3;
                    }
                    ids.push(id);
                }
            }
        }
        let mut block = IdBlock::with_capacity(0);
        for id in &ids {
            assert!(block.push(id));
        }
        for (i, a) in ids.iter().enumerate() {
            assert_eq!(block.key(i).len, a.len());
            for (j, b) in ids.iter().enumerate() {
                let got = block.key(i).cmp_ids(block.key(j), a, b);
                assert_eq!(got, a.cmp(b), "{a:?} against {b:?}");
            }
        }
    }
}
