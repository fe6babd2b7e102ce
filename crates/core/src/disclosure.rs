//! Disclosure control across the cells of one partition (secondary, or
//! complementary, suppression).
//!
//! Primary suppression hides every cell under `min_group_size` people. A
//! partition with exactly one hidden cell gives it back by subtraction:
//! its people are the published total (the dataset's residents, a
//! report's `patients`, `unmeasured`) minus the cells shown, and its mean
//! follows from the means likewise. So when exactly one cell of a
//! partition is hidden, the shown cell with the fewest people is hidden
//! too: subtraction then yields only the sum of two cells, one of them at
//! least `min_group_size`. With two or more hidden cells nothing more is
//! needed within the partition.
//!
//! Residual risk, which this does not remove: two *different* partitions
//! of the same people (by municipality, then by area; before and after a
//! plan; two thresholds) can be differenced against each other when their
//! cells nest, and repeated requests with slightly different parameters
//! can isolate small groups. bacino limits the parameters that invite
//! this (band edges on a 500 m grid, minimum thresholds, no grouping by a
//! column with nearly one value per person), but it keeps no memory of
//! what a client has already seen: the README says so.

/// Given the cells of one partition — `Some(people)` for a shown cell,
/// `None` for a hidden one — the shown cell to hide as well: the one with
/// the fewest people but some (the first of equals), when exactly one cell is
/// hidden and some cell is shown; otherwise none. (A partition of one
/// hidden cell is its total: the caller must not publish that total.)
pub fn complementary_cell(cells: impl IntoIterator<Item = Option<f64>>) -> Option<usize> {
    let mut hidden = 0usize;
    let mut smallest: Option<(usize, f64)> = None;
    for (i, c) in cells.into_iter().enumerate() {
        match c {
            None => hidden += 1,
            // Hiding an empty cell would protect nothing.
            Some(n) if n > 0.0 => {
                if smallest.is_none_or(|(_, m)| n < m) {
                    smallest = Some((i, n));
                }
            }
            Some(_) => {}
        }
    }
    if hidden == 1 {
        smallest.map(|(i, _)| i)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_lone_hidden_cell_draws_a_second_one() {
        // Nothing hidden, or nothing shown: nothing to do.
        assert_eq!(complementary_cell([Some(12.0), Some(30.0)]), None);
        assert_eq!(complementary_cell([None]), None);
        assert_eq!(complementary_cell(Vec::<Option<f64>>::new()), None);
        // One hidden: the smallest shown goes too, the first of equals.
        assert_eq!(
            complementary_cell([Some(40.0), None, Some(11.0), Some(25.0)]),
            Some(2)
        );
        assert_eq!(complementary_cell([Some(11.0), None, Some(11.0)]), Some(0));
        // An empty cell protects nothing: the next one goes.
        assert_eq!(complementary_cell([Some(0.0), None, Some(15.0)]), Some(2));
        // Two hidden: their sum is all subtraction gives.
        assert_eq!(complementary_cell([None, Some(11.0), None]), None);
    }

    #[test]
    fn after_it_no_hidden_cell_is_recovered_by_subtraction() {
        // Brute force over small partitions: with the total known, a hidden
        // cell is recoverable exactly when it is the only hidden one.
        let min = 10.0;
        let mut rng = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = |n: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % n
        };
        for _ in 0..2000 {
            let len = 1 + next(6) as usize;
            let people: Vec<f64> = (0..len).map(|_| next(40) as f64).collect();
            let mut shown: Vec<Option<f64>> =
                people.iter().map(|&p| (p >= min).then_some(p)).collect();
            if let Some(i) = complementary_cell(shown.iter().copied()) {
                assert!(shown[i].is_some());
                shown[i] = None;
            }
            let hidden: Vec<usize> = (0..len).filter(|&i| shown[i].is_none()).collect();
            // What subtraction from the total yields: the hidden sum, of
            // two cells or more (a partition of one cell is the total
            // itself: the caller withholds it).
            assert!(hidden.len() != 1 || len == 1, "{people:?} → {shown:?}");
            // Every primary-suppressed cell is still hidden.
            for (p, s) in people.iter().zip(&shown) {
                if *p < min {
                    assert!(s.is_none());
                }
            }
        }
    }
}
