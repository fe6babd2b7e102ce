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
/// ends.
#[derive(Debug, Clone, Default)]
pub(crate) struct IdBlock {
    bytes: Vec<u8>,
    ends: Vec<u32>,
}

impl IdBlock {
    /// A block with room for `rows` ids of `bytes` bytes in all.
    pub(crate) fn with_capacity(rows: usize, bytes: usize) -> IdBlock {
        IdBlock {
            bytes: Vec::with_capacity(bytes),
            ends: Vec::with_capacity(rows),
        }
    }

    /// Appends an id, or returns false (appending nothing) when the block
    /// cannot address more bytes.
    #[inline]
    pub(crate) fn push(&mut self, id: &[u8]) -> bool {
        let Ok(end) = u32::try_from(self.bytes.len() + id.len()) else {
            return false;
        };
        self.bytes.extend_from_slice(id);
        self.ends.push(end);
        true
    }

    /// A block of `bytes` and the end of each id in them; `None` unless
    /// the ends never decrease and the last is the length of `bytes`.
    pub(crate) fn from_parts(bytes: Vec<u8>, ends: Vec<u32>) -> Option<IdBlock> {
        let ordered = ends.windows(2).all(|w| w[0] <= w[1]);
        let last = ends.last().map_or(0, |&e| e as usize);
        (ordered && last == bytes.len()).then_some(IdBlock { bytes, ends })
    }

    /// The ids' bytes, one after another.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Where each id ends in [`bytes`](Self::bytes).
    pub(crate) fn ends(&self) -> &[u32] {
        &self.ends
    }

    /// Number of ids.
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// The `i`-th id.
    #[inline]
    pub(crate) fn get(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.bytes[start..self.ends[i] as usize]
    }

    /// Gives back the room reserved and not used.
    pub(crate) fn shrink_to_fit(&mut self) {
        self.bytes.shrink_to_fit();
        self.ends.shrink_to_fit();
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
            let mut b = IdBlock::with_capacity(size, 0);
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
}
