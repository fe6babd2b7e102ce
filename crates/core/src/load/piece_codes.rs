//! The codes of one piece's categorical column, found without the
//! dictionary for the values seen last.

use super::*;

/// A categorical column of one piece: codes into a dictionary local to
/// the piece (remapped to the file's dictionary afterwards).
pub(super) struct PieceCodes<'a> {
    pub(super) codes: &'a mut [u32],
    pub(super) dict: Categorical,
    /// The last value without a key and its code: input is often sorted
    /// by it.
    pub(super) last: Option<(String, u32)>,
    /// The values with a key seen last and their codes, the latest first:
    /// a column of a few values (a group) or sorted by one (a
    /// municipality) rarely needs its dictionary.
    pub(super) recent: [(ShortKey, u32); RECENT_KEYS],
}

/// Values with a key [`PieceCodes`] remembers.
pub(super) const RECENT_KEYS: usize = 4;

impl PieceCodes<'_> {
    /// A column writing its codes into `codes` (empty for a column not
    /// kept: then nothing is done).
    pub(super) fn new(codes: &mut [u32]) -> PieceCodes<'_> {
        PieceCodes {
            codes,
            dict: Categorical::new(),
            last: None,
            // No value has the key NONE, so these are never found.
            recent: [(ShortKey::NONE, NONE); RECENT_KEYS],
        }
    }

    /// Sets the code of `row` to that of `value`, whose key is `key` (or
    /// [`ShortKey::NONE`]): a value with a key is looked for among the
    /// recent ones by its key, one without by comparing it with the last.
    #[inline(always)]
    pub(super) fn set(&mut self, row: usize, value: Option<&str>, key: ShortKey) {
        if row >= self.codes.len() {
            return;
        }
        self.codes[row] = match value {
            None | Some("") => NONE,
            Some(v) if key != ShortKey::NONE => {
                if key == self.recent[0].0 {
                    self.recent[0].1
                } else {
                    self.code_of_key(v, key)
                }
            }
            Some(v) => match &self.last {
                Some((last, c)) if last == v => *c,
                _ => {
                    let c = self.dict.code_for(v);
                    self.last = Some((v.to_owned(), c));
                    c
                }
            },
        };
    }

    /// The code of `v`, whose key is `key`, now the most recent.
    fn code_of_key(&mut self, v: &str, key: ShortKey) -> u32 {
        let found = self.recent.iter().position(|r| r.0 == key);
        let entry = match found {
            Some(k) => self.recent[k],
            None => (key, self.dict.code_for(v)),
        };
        let k = found.unwrap_or(RECENT_KEYS - 1);
        self.recent.copy_within(0..k, 1);
        self.recent[0] = entry;
        entry.1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Random values, some with a key (up to 8 bytes) and some without,
    /// from more distinct values than are remembered: every code stands
    /// for its row's value, as the dictionary's own `push` would have it.
    #[test]
    fn codes_name_the_values_whatever_is_remembered() {
        let values = [
            "assigned",
            "no_gp",
            "ad_user",
            "016024",
            "Bergamo",
            "Cantù",
            "x",
            "longer than eight",
            "another long value",
            "",
        ];
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut rows = Vec::new();
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // Runs of one value, as in sorted input, and single changes.
            let v = values[(state % values.len() as u64) as usize];
            let run = 1 + (state >> 40) % 5;
            rows.extend(std::iter::repeat_n(v, run as usize));
        }
        let mut codes = vec![0u32; rows.len()];
        let mut column = PieceCodes::new(&mut codes);
        for (row, v) in rows.iter().enumerate() {
            let key = if v.len() <= 8 {
                let mut word = [0u8; 8];
                word[..v.len()].copy_from_slice(v.as_bytes());
                ShortKey {
                    word: u64::from_le_bytes(word),
                    len: v.len() as u8,
                }
            } else {
                ShortKey::NONE
            };
            // The general path gives no keys: half the rows go that way.
            let key = if row % 2 == 0 { key } else { ShortKey::NONE };
            column.set(row, Some(v), key);
        }
        let dict = column.dict;
        let mut seen = std::collections::HashMap::new();
        for (row, v) in rows.iter().enumerate() {
            if v.is_empty() {
                assert_eq!(codes[row], NONE);
                continue;
            }
            assert_eq!(dict.values()[codes[row] as usize], *v, "row {row}");
            // One code per value.
            assert_eq!(*seen.entry(*v).or_insert(codes[row]), codes[row], "{v}");
        }
        assert_eq!(seen.len(), values.len() - 1);
    }
}
