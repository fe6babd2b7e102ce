//! The sparse demand × supply kernel: for each demand point (a resident),
//! the facilities within `max_cost` and one value per pair (a decay weight,
//! or a cost), in compressed rows. Pairs beyond `max_cost` are never stored,
//! so the work is proportional to the pairs in reach, not to rows × columns.

use std::sync::Arc;

use bacino_core::{chunk_ranges, in_order, Executor, Then};

/// Rows per chunk of [`Kernel::build_in`].
const BUILD_CHUNK: usize = 8192;

/// Compensated (Neumaier) summation: sums of millions of terms of mixed
/// magnitude keep ~1e-15 relative error, so the identities the indices obey
/// (Σ P·A = Σ S) hold to 1e-12 on real data.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sum {
    s: f64,
    c: f64,
}

impl Sum {
    /// Adds `x`.
    #[inline]
    pub fn add(&mut self, x: f64) {
        let t = self.s + x;
        if self.s.abs() >= x.abs() {
            self.c += (self.s - t) + x;
        } else {
            self.c += (x - t) + self.s;
        }
        self.s = t;
    }

    /// Adds another partial sum.
    pub fn merge(&mut self, o: Sum) {
        self.add(o.s);
        self.add(o.c);
    }

    /// The sum.
    #[inline]
    pub fn value(self) -> f64 {
        self.s + self.c
    }
}

/// Sums an iterator with [`Sum`].
pub fn sum(it: impl IntoIterator<Item = f64>) -> f64 {
    let mut s = Sum::default();
    for x in it {
        s.add(x);
    }
    s.value()
}

/// Compressed rows: row `i` holds `col[start[i]..start[i+1]]` and the
/// matching `value`s. The pattern (`start`, `col`) is shared, not copied,
/// by the kernels [`Kernel::map`] derives (a resident-level kernel holds
/// a hundred million pairs).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Kernel {
    cols: usize,
    start: Arc<Vec<usize>>,
    col: Arc<Vec<u32>>,
    value: Vec<f64>,
}

impl Kernel {
    /// An empty kernel over `cols` supply points.
    pub fn new(cols: usize) -> Kernel {
        Kernel {
            cols,
            start: Arc::new(vec![0]),
            col: Arc::new(Vec::new()),
            value: Vec::new(),
        }
    }

    /// Builds a kernel from rows of `(column, value)`.
    pub fn from_rows<R: IntoIterator<Item = (u32, f64)>>(
        cols: usize,
        rows: impl IntoIterator<Item = R>,
    ) -> Kernel {
        let mut k = Kernel::new(cols);
        for r in rows {
            k.push_row(r);
        }
        k
    }

    /// Appends a row.
    pub fn push_row(&mut self, row: impl IntoIterator<Item = (u32, f64)>) {
        let col = Arc::make_mut(&mut self.col);
        for (j, v) in row {
            debug_assert!((j as usize) < self.cols);
            col.push(j);
            self.value.push(v);
        }
        Arc::make_mut(&mut self.start).push(col.len());
    }

    /// Appends a row from a producer that hands `(column, value)` pairs to
    /// a callback (columns in increasing order).
    #[inline]
    pub fn push_within(&mut self, produce: impl FnOnce(&mut dyn FnMut(u32, f64))) {
        let (col, value) = (Arc::make_mut(&mut self.col), &mut self.value);
        produce(&mut |j, v| {
            col.push(j);
            value.push(v);
        });
        Arc::make_mut(&mut self.start).push(col.len());
    }

    /// Reserves room for `rows` more rows and `pairs` more pairs, exactly.
    pub fn reserve_exact(&mut self, rows: usize, pairs: usize) {
        Arc::make_mut(&mut self.start).reserve_exact(rows);
        Arc::make_mut(&mut self.col).reserve_exact(pairs);
        self.value.reserve_exact(pairs);
    }

    /// Removes every row, keeping the room they took.
    pub fn clear(&mut self) {
        let start = Arc::make_mut(&mut self.start);
        start.clear();
        start.push(0);
        Arc::make_mut(&mut self.col).clear();
        self.value.clear();
    }

    /// Concatenates the rows of `parts` in order, into storage allocated
    /// once.
    pub fn concat(cols: usize, parts: Vec<Kernel>) -> Kernel {
        let nnz = parts.iter().map(|k| k.col.len()).sum();
        let rows: usize = parts.iter().map(Kernel::rows).sum();
        let mut out = Kernel {
            cols,
            start: Arc::new(Vec::with_capacity(rows + 1)),
            col: Arc::new(Vec::with_capacity(nnz)),
            value: Vec::with_capacity(nnz),
        };
        Arc::make_mut(&mut out.start).push(0);
        for k in parts {
            out.append(&k);
        }
        out
    }

    /// The kernel whose row `i` holds the pairs `fill(i, push)` pushes
    /// (columns in increasing order), built by `exec` in fixed chunks of
    /// rows. `fill` runs twice per row, once to count and once to store,
    /// so the pairs are stored once, where they end up, with no copy.
    pub fn build_in<E: Executor>(
        cols: usize,
        rows: usize,
        exec: &E,
        fill: impl Fn(usize, &mut dyn FnMut(u32, f64)) + Sync,
    ) -> Kernel {
        let chunks = chunk_ranges(rows, BUILD_CHUNK);
        let counts = exec.map(chunks.clone(), |r| {
            r.map(|i| {
                let mut n = 0;
                fill(i, &mut |_, _| n += 1);
                n
            })
            .collect::<Vec<usize>>()
        });
        let mut start = Vec::with_capacity(rows + 1);
        start.push(0);
        for n in counts.into_iter().flatten() {
            start.push(start[start.len() - 1] + n);
        }
        let nnz = start[rows];
        let mut col = vec![0u32; nnz];
        let mut value = vec![0.0; nnz];
        let mut parts = Vec::with_capacity(chunks.len());
        let (mut col_rest, mut value_rest) = (col.as_mut_slice(), value.as_mut_slice());
        for r in chunks {
            let len = start[r.end] - start[r.start];
            let (c, cr) = std::mem::take(&mut col_rest).split_at_mut(len);
            let (v, vr) = std::mem::take(&mut value_rest).split_at_mut(len);
            (col_rest, value_rest) = (cr, vr);
            parts.push((r, c, v));
        }
        let stored = exec.map(parts, |(r, c, v)| {
            let mut k = 0;
            for i in r {
                fill(i, &mut |j, x| {
                    debug_assert!((j as usize) < cols);
                    c[k] = j;
                    v[k] = x;
                    k += 1;
                });
            }
            k == c.len()
        });
        assert!(
            stored.into_iter().all(|ok| ok),
            "Kernel::build_in: fill pushed other pairs the second time"
        );
        Kernel {
            cols,
            start: Arc::new(start),
            col: Arc::new(col),
            value,
        }
    }

    /// The kernel of `rows` rows over `cols` columns, filled in chunks of
    /// `chunk` rows (`fill(part, range)` appends the rows of `range` to
    /// `part`) by the executor's threads, each into a buffer of its own
    /// reused from chunk to chunk, and appended in order: the pairs are
    /// written once where they stay (chunks built apart and then
    /// concatenated touched twice the memory, a fresh page costing over a
    /// microsecond), and each row's pairs are made once (where
    /// [`Kernel::build_in`] makes them twice, to count and to store).
    pub fn build_in_order<E: Executor>(
        cols: usize,
        rows: usize,
        chunk: usize,
        exec: &E,
        fill: impl Fn(&mut Kernel, std::ops::Range<usize>) + Sync,
    ) -> Kernel {
        let chunks = chunk_ranges(rows, chunk);
        let blocks = chunks.len();
        in_order(
            exec,
            blocks,
            Kernel::new(cols),
            || Kernel::new(cols),
            |part: &mut Kernel, k| {
                part.clear();
                fill(part, chunks[k].clone());
            },
            |out: &mut Kernel, part: &mut Kernel, k, ()| {
                if k == 0 {
                    // Room for every chunk at the first one's rate, and an
                    // eighth more: pages are touched only once written, and
                    // a kernel that outgrows it moves without a copy
                    // (`mremap`).
                    out.reserve_exact(rows, part.nnz().saturating_mul(blocks) / 8 * 9);
                }
                out.append(part);
                Then::Continue
            },
        )
    }

    /// Appends every row of `other` (same columns).
    pub fn append(&mut self, other: &Kernel) {
        debug_assert_eq!(self.cols, other.cols);
        let base = self.col.len();
        Arc::make_mut(&mut self.col).extend_from_slice(&other.col);
        self.value.extend_from_slice(&other.value);
        Arc::make_mut(&mut self.start).extend(other.start[1..].iter().map(|&s| s + base));
    }

    /// Demand points.
    pub fn rows(&self) -> usize {
        self.start.len() - 1
    }

    /// Supply points.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Stored pairs.
    pub fn nnz(&self) -> usize {
        self.col.len()
    }

    /// Where row `i`'s pairs sit among all pairs (for per-pair arrays
    /// aligned with the kernel).
    #[inline]
    pub fn row_range(&self, i: usize) -> std::ops::Range<usize> {
        self.start[i]..self.start[i + 1]
    }

    /// Row `i`: its columns and values.
    #[inline]
    pub fn row(&self, i: usize) -> (&[u32], &[f64]) {
        let r = self.row_range(i);
        (&self.col[r.clone()], &self.value[r])
    }

    /// The same pattern with every value mapped by `f`.
    pub fn map(&self, f: impl Fn(f64) -> f64) -> Kernel {
        Kernel {
            cols: self.cols,
            start: self.start.clone(),
            col: self.col.clone(),
            value: self.value.iter().map(|&v| f(v)).collect(),
        }
    }

    /// The same pattern with every value mapped by `f`, in place.
    pub fn into_map(mut self, f: impl Fn(f64) -> f64) -> Kernel {
        for v in &mut self.value {
            *v = f(*v);
        }
        self
    }

    /// The same pattern with values `f(row, column, value)`.
    pub fn map_indexed(&self, f: impl Fn(usize, u32, f64) -> f64) -> Kernel {
        let mut value = Vec::with_capacity(self.value.len());
        for i in 0..self.rows() {
            let (c, v) = self.row(i);
            value.extend(c.iter().zip(v).map(|(&j, &x)| f(i, j, x)));
        }
        Kernel {
            cols: self.cols,
            start: self.start.clone(),
            col: self.col.clone(),
            value,
        }
    }

    /// Column sums of `row_factor[i] · value[i, j]`, compensated.
    pub fn col_sums(&self, row_factor: &[f64]) -> Vec<f64> {
        let mut s = vec![Sum::default(); self.cols];
        for (i, &p) in row_factor.iter().enumerate().take(self.rows()) {
            if p == 0.0 {
                continue;
            }
            let (c, v) = self.row(i);
            for (&j, &x) in c.iter().zip(v) {
                s[j as usize].add(p * x);
            }
        }
        s.into_iter().map(Sum::value).collect()
    }

    /// Row sums of `value[i, j] · col_factor[j]`, compensated.
    pub fn row_sums(&self, col_factor: &[f64]) -> Vec<f64> {
        (0..self.rows())
            .map(|i| {
                let (c, v) = self.row(i);
                sum(c.iter().zip(v).map(|(&j, &x)| x * col_factor[j as usize]))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compensated_sums_keep_small_terms() {
        let mut v = vec![1e16];
        v.extend(std::iter::repeat_n(1.0, 1000));
        v.push(-1e16);
        assert_eq!(sum(v.iter().copied()), 1000.0);
    }

    /// Built in chunks, stored once: the kernel row by row pushes give.
    #[test]
    fn built_in_chunks_is_built_row_by_row() {
        // Row i: columns j < 7 with (i + j) % 3 != 0, rows of 0 to 5
        // pairs, across several chunks.
        let rows = 3 * BUILD_CHUNK + 17;
        let pairs = |i: usize| {
            (0..7u32)
                .filter(move |&j| (i + j as usize) % 3 != 0 && i % 11 != 0)
                .map(move |j| (j, (i * 7 + j as usize) as f64 * 0.5))
        };
        let want = Kernel::from_rows(7, (0..rows).map(pairs));
        let got = Kernel::build_in(7, rows, &bacino_core::Sequential, |i, push| {
            for (j, x) in pairs(i) {
                push(j, x);
            }
        });
        assert_eq!(got, want);
        assert_eq!(got.rows(), rows);
        let empty = Kernel::build_in(7, 0, &bacino_core::Sequential, |_, _| {});
        assert_eq!(empty, Kernel::new(7));
    }

    #[test]
    fn rows_and_columns_sum_as_a_dense_matrix_would() {
        let k = Kernel::from_rows(
            3,
            [vec![(0, 1.0), (2, 2.0)], vec![], vec![(1, 4.0), (2, 0.5)]],
        );
        assert_eq!(k.rows(), 3);
        assert_eq!(k.nnz(), 4);
        assert_eq!(k.col_sums(&[1.0, 5.0, 2.0]), vec![1.0, 8.0, 3.0]);
        assert_eq!(k.row_sums(&[1.0, 1.0, 10.0]), vec![21.0, 0.0, 9.0]);
        let mut a = Kernel::from_rows(3, [vec![(0, 1.0), (2, 2.0)]]);
        a.append(&Kernel::from_rows(3, [vec![], vec![(1, 4.0), (2, 0.5)]]));
        assert_eq!(a, k);
    }
}
