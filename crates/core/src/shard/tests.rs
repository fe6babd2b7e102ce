//! Part files that are internally inconsistent, and merges that must
//! refuse before allocating.

use super::*;

/// A two-row part of a three-resident dataset.
fn part() -> DistancePart {
    DistancePart {
        head: PartHead {
            dataset: "d".into(),
            dataset_version: "v".into(),
            shard: Shard { index: 1, count: 2 },
            shard_by: None,
            residents: 3,
            to: "nearest".into(),
            kind: Some(FacilityKind::Gp),
            metric: MetricName::Table,
            network: None,
            costs: None,
            unreachable: Some(0.0),
            group_by: Some("group".into()),
            min_group_size: f64::NAN,
            cdf_steps: 4,
            labels: vec![("a".into(), None), ("b".into(), Some("B".into()))],
            seconds_only: true,
            unit_weights: false,
            timed: false,
            rows: 2,
            unreachable_rows: 1,
        },
        rows: vec![0, 2],
        codes: vec![1, NONE],
        distance_m: vec![12.5, f64::NAN],
        time_s: None,
        weights: Some(vec![0.5, 2.0]),
        unreachable: vec![1],
    }
}

fn round_trip(p: &DistancePart) -> Result<DistancePart> {
    let mut bytes = Vec::new();
    p.write_to(&mut bytes).unwrap();
    DistancePart::from_bytes(&bytes, Path::new("p"))
}

#[test]
fn a_part_reads_back_whole_even_with_a_nan_threshold() {
    let p = part();
    let back = round_trip(&p).unwrap();
    assert!(back.head.min_group_size.is_nan());
    assert_eq!(back.rows, p.rows);
    assert_eq!(back.codes, p.codes);
    assert_eq!(back.weights, p.weights);
    assert_eq!(back.unreachable, p.unreachable);
    assert_eq!(back.distance_m[0], 12.5);
}

/// Parts with a valid checksum but inconsistent contents (as a part
/// written by hand would be) are refused, not merged.
#[test]
fn inconsistent_parts_are_refused_despite_a_valid_checksum() {
    type Spoil = Box<dyn Fn(&mut DistancePart)>;
    let cases: Vec<(&str, Spoil)> = vec![
        ("beyond the dataset's 3", Box::new(|p| p.rows = vec![0, 3])),
        ("not strictly ascending", Box::new(|p| p.rows = vec![2, 0])),
        ("group code beyond", Box::new(|p| p.codes = vec![2, NONE])),
        (
            "unreachable position beyond",
            Box::new(|p| p.unreachable = vec![2]),
        ),
        ("with a distance", Box::new(|p| p.unreachable = vec![0])),
        ("bad shard", Box::new(|p| p.head.shard.index = 3)),
        ("cdf of", Box::new(|p| p.head.cdf_steps = 1 << 30)),
        (
            "strictly ascending",
            Box::new(|p| {
                p.unreachable = vec![1, 1];
                p.head.unreachable_rows = 2;
            }),
        ),
    ];
    for (want, spoil) in cases {
        let mut p = part();
        spoil(&mut p);
        let e = round_trip(&p).unwrap_err().to_string();
        assert!(e.starts_with("p: ") && e.contains(want), "{want}: {e}");
    }
}

#[test]
fn a_merge_allocates_nothing_for_parts_that_do_not_add_up() {
    // Both parts claim a billion residents between them: refused
    // before anything of that size is allocated.
    let mut a = part();
    a.head.residents = 1 << 30;
    let mut b = a.clone();
    b.head.shard.index = 2;
    b.rows = vec![1];
    b.codes = vec![0];
    b.distance_m = vec![3.0];
    b.weights = Some(vec![1.0]);
    b.unreachable = Vec::new();
    b.head.rows = 1;
    b.head.unreachable_rows = 0;
    let e = merge_distance_parts(vec![a.clone(), b.clone()], &crate::Sequential)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("hold 3 rows for the dataset's 1073741824"),
        "{e}"
    );
    // A head claiming four billion parts names ten missing ones.
    a.head.shard.count = u32::MAX;
    let e = merge_distance_parts(vec![a], &crate::Sequential)
        .unwrap_err()
        .to_string();
    assert!(e.contains("2/4294967295, 3/") && e.contains(" more"), "{e}");
}
