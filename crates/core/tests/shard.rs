//! Sharded distances (CONTRACT §12): the merge of every part equals the
//! unsharded document exactly, whatever the split, the order of the parts
//! and the query; bad parts and incomplete sets are refused.

mod common;

use std::path::Path;

use bacino_core::{
    distance_part, distance_report, merge_distance_parts, shard_rows, Dataset, DistancePart,
    DistanceQuery, FacilityKind, GroupBy, MetricName, Shard, Target,
};
use common::Threads;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A random dataset: 1,500 residents in 12 municipalities of 3 regions,
/// some unlisted, 40 GPs (3 ceased) and 6 CdC; weights fractional unless
/// `unit`; a cost table in seconds that misses some pairs.
fn dataset(dir: &Path, unit: bool, seed: u64) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut facilities = String::from("id,kind,lon,lat,status\n");
    for g in 0..40 {
        let status = if g % 13 == 5 { "ceased" } else { "active" };
        facilities += &format!(
            "GP{g:02},gp,{:.6},{:.6},{status}\n",
            9.5 + rng.random::<f64>() * 0.6,
            45.5 + rng.random::<f64>() * 0.4
        );
    }
    for c in 0..6 {
        facilities += &format!(
            "CDC{c},cdc,{:.6},{:.6},active\n",
            9.5 + rng.random::<f64>() * 0.6,
            45.5 + rng.random::<f64>() * 0.4
        );
    }
    let mut residents = String::from("id,lon,lat,weight,municipality,gp_id,group,region\n");
    let mut costs = String::from("origin,dest,cost\n");
    for i in 0..1500 {
        let m = rng.random_range(0..12);
        let w = if unit {
            1.0
        } else {
            f64::from(rng.random_range(1..40)) / 8.0
        };
        let gp = if rng.random_bool(0.1) {
            String::new()
        } else {
            format!("GP{:02}", rng.random_range(0..40))
        };
        let group = if gp.is_empty() { "no_gp" } else { "assigned" };
        residents += &format!(
            "R{i:05},{:.6},{:.6},{w},M{m:02},{gp},{group},REG{}\n",
            9.5 + rng.random::<f64>() * 0.6,
            45.5 + rng.random::<f64>() * 0.4,
            m % 3
        );
        for g in 0..40 {
            if rng.random_bool(0.3) || format!("GP{g:02}") == gp && rng.random_bool(0.9) {
                costs += &format!("R{i:05},GP{g:02},{}\n", rng.random_range(60..5000));
            }
        }
    }
    let manifest = "name = \"shards\"\n[facilities]\npath = \"f.csv\"\n\
                    [residents]\npath = \"r.csv\"\n[costs]\npath = \"c.csv\"\nunit = \"s\"\n";
    for (name, body) in [
        ("dataset.toml", manifest),
        ("f.csv", &facilities),
        ("r.csv", &residents),
        ("c.csv", &costs),
    ] {
        std::fs::write(dir.join(name), body).unwrap();
    }
    Dataset::load_with(dir, &Threads).unwrap()
}

fn query(target: Target, group_by: &str, metric: MetricName, cdf: u32) -> DistanceQuery {
    DistanceQuery {
        target,
        group_by: group_by.parse().unwrap(),
        min_group_size: 10.0,
        metric,
        cdf_steps: cdf,
    }
}

/// Every part written to bytes and read back, merged in a shuffled order.
fn sharded(
    d: &Dataset,
    q: &DistanceQuery,
    count: u32,
    by: &GroupBy,
    rng: &mut ChaCha8Rng,
) -> String {
    let mut parts: Vec<DistancePart> = (1..=count)
        .map(|index| {
            let part = distance_part(d, q, Shard { index, count }, by, &Threads).unwrap();
            let mut bytes = Vec::new();
            part.write_to(&mut bytes).unwrap();
            let back = DistancePart::from_bytes(&bytes, Path::new("part")).unwrap();
            // Read back whole (NaN ≠ NaN, so compared as bytes).
            let mut again = Vec::new();
            back.write_to(&mut again).unwrap();
            assert!(
                again == bytes,
                "part {index}/{count} changed on a round trip"
            );
            back
        })
        .collect();
    for i in (1..parts.len()).rev() {
        parts.swap(i, rng.random_range(0..=i));
    }
    let merged = merge_distance_parts(parts, &Threads).unwrap();
    serde_json::to_string_pretty(&merged).unwrap()
}

#[test]
fn merged_parts_equal_the_unsharded_document_byte_for_byte() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for unit in [false, true] {
        let tmp = tempfile::tempdir().unwrap();
        let d = dataset(tmp.path(), unit, 11 + u64::from(unit));
        let gp = Target::Nearest(FacilityKind::Gp);
        let queries = [
            query(gp, "all", MetricName::Geodesic, 0),
            query(gp, "municipality", MetricName::Geodesic, 10),
            query(Target::Assigned, "group", MetricName::Geodesic, 0),
            query(
                Target::Nearest(FacilityKind::Cdc),
                "facility",
                MetricName::Geodesic,
                4,
            ),
            query(Target::Assigned, "region", MetricName::Table, 0),
            query(gp, "all", MetricName::Table, 5),
        ];
        for q in &queries {
            let want =
                serde_json::to_string_pretty(&distance_report(&d, q, &Threads).unwrap()).unwrap();
            for by in ["all", "region", "municipality", "group"] {
                let by: GroupBy = by.parse().unwrap();
                for count in [1, 2, 3, 7] {
                    let got = sharded(&d, q, count, &by, &mut rng);
                    assert!(
                        got == want,
                        "unit {unit}, {q:?}, {count} parts by {by:?}:\n{got}\n---\n{want}"
                    );
                }
            }
        }
    }
}

#[test]
fn rows_split_into_runs_or_whole_key_values_covering_everyone_once() {
    let tmp = tempfile::tempdir().unwrap();
    let d = dataset(tmp.path(), false, 3);
    let n = d.residents().len();
    let region = d.residents().extra("region").unwrap();
    for count in [1u32, 2, 4, 5] {
        let mut seen = vec![0u32; n];
        let mut regions_of_parts = Vec::new();
        for index in 1..=count {
            let shard = Shard { index, count };
            let runs = shard_rows(&d, shard, &GroupBy::All, &Threads).unwrap();
            // Consecutive rows, lengths within one of each other.
            assert!(runs.windows(2).all(|w| w[1] == w[0] + 1));
            let len = runs.len() as f64;
            assert!((len - n as f64 / f64::from(count)).abs() <= 1.0);
            let by_region = shard_rows(&d, shard, &"region".parse().unwrap(), &Threads).unwrap();
            let mut values: Vec<&str> = by_region
                .iter()
                .map(|&r| region.get(r as usize).unwrap())
                .collect();
            values.sort_unstable();
            values.dedup();
            for &r in &by_region {
                seen[r as usize] += 1;
            }
            regions_of_parts.push(values);
        }
        assert!(seen.iter().all(|&s| s == 1), "every resident in one part");
        // Each region whole in one part: no value in two parts.
        let mut all: Vec<&str> = regions_of_parts.concat();
        let total = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), total, "{regions_of_parts:?}");
        assert_eq!(total, 3);
        // Three regions over ≥ 3 parts: one each, the rest empty.
        if count >= 3 {
            assert!(regions_of_parts.iter().all(|v| v.len() <= 1));
        }
    }
}

#[test]
fn incomplete_mixed_or_damaged_parts_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let d = dataset(tmp.path(), false, 5);
    let q = query(
        Target::Nearest(FacilityKind::Gp),
        "municipality",
        MetricName::Geodesic,
        0,
    );
    let part = |index, count| {
        distance_part(&d, &q, Shard { index, count }, &GroupBy::All, &Threads).unwrap()
    };
    let err = |parts: Vec<DistancePart>| merge_distance_parts(parts, &Threads).unwrap_err();

    let e = err(vec![part(1, 3), part(3, 3)]).to_string();
    assert!(e.contains("missing part(s) 2/3"), "{e}");
    let e = err(vec![part(1, 2), part(1, 2), part(2, 2)]).to_string();
    assert!(e.contains("part 1/2 is given twice"), "{e}");
    let e = err(vec![part(1, 2), part(2, 3)]).to_string();
    assert!(e.contains("not of the same run"), "{e}");
    let other = query(Target::Assigned, "municipality", MetricName::Geodesic, 0);
    let assigned = distance_part(
        &d,
        &other,
        Shard { index: 2, count: 2 },
        &GroupBy::All,
        &Threads,
    )
    .unwrap();
    let e = err(vec![part(1, 2), assigned]).to_string();
    assert!(e.contains("not of the same run"), "{e}");
    let by_region = distance_part(
        &d,
        &q,
        Shard { index: 2, count: 2 },
        &"region".parse().unwrap(),
        &Threads,
    )
    .unwrap();
    let e = err(vec![part(1, 2), by_region]).to_string();
    assert!(e.contains("not of the same run"), "{e}");
    assert!(err(Vec::new()).to_string().contains("no part"));

    // The file: any changed byte, a truncation or another file is refused.
    let mut bytes = Vec::new();
    part(1, 2).write_to(&mut bytes).unwrap();
    let path = Path::new("p1.part");
    for at in [0, 9, 40, bytes.len() / 2, bytes.len() - 1] {
        let mut b = bytes.clone();
        b[at] ^= 0x20;
        let e = DistancePart::from_bytes(&b, path).unwrap_err().to_string();
        assert!(e.starts_with("p1.part: "), "{e}");
    }
    let e = DistancePart::from_bytes(&bytes[..bytes.len() - 3], path)
        .unwrap_err()
        .to_string();
    assert!(e.contains("truncated or altered"), "{e}");
    let e = DistancePart::from_bytes(b"id,lon,lat\nR1,9,45\n", path)
        .unwrap_err()
        .to_string();
    assert!(e.contains("not a bacino distances part"), "{e}");

    for bad in ["0/3", "4/3", "3", "a/b", "1/0", ""] {
        let e = bad.parse::<Shard>().unwrap_err().to_string();
        assert!(e.contains("shard") && e.contains("I/N"), "{bad}: {e}");
    }
    assert_eq!(
        "2/8".parse::<Shard>().unwrap(),
        Shard { index: 2, count: 8 }
    );
    let e = shard_rows(
        &d,
        Shard { index: 1, count: 2 },
        &GroupBy::Facility,
        &Threads,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("shard_by"), "{e}");
}
