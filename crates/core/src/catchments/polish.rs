//! Turning computed geometry into RFC 7946 output: coordinates rounded to
//! 7 decimals (about 1 cm), counter-clockwise exteriors, clockwise holes,
//! and valid polygons even after rounding.

use geo::orient::{Direction, Orient};
use geo::{Area, BooleanOps, Coord, LineString, MultiPolygon, Polygon, Validation};

/// Decimal places kept in output coordinates.
pub(crate) const DECIMALS: i32 = 7;

/// Rings whose area (square degrees) is below this are dropped: at 7
/// decimals they are slivers a few centimetres wide left by clipping.
const MIN_RING_AREA_DEG2: f64 = 1e-13;

fn round(x: f64) -> f64 {
    let scale = 10f64.powi(DECIMALS);
    (x * scale).round() / scale
}

/// Rounds a ring's coordinates and removes the repeated and back-tracking
/// vertices that rounding can create. `None` when too little is left.
fn round_ring(ring: &LineString<f64>) -> Option<LineString<f64>> {
    let mut out: Vec<Coord<f64>> = Vec::with_capacity(ring.0.len());
    for c in &ring.0 {
        let c = Coord {
            x: round(c.x),
            y: round(c.y),
        };
        if out.last() == Some(&c) {
            continue;
        }
        // A-B-A spike: drop B and the second A.
        if out.len() >= 2 && out[out.len() - 2] == c {
            out.pop();
            continue;
        }
        out.push(c);
    }
    // The closing vertex may have become a duplicate or a spike tip.
    while out.len() >= 3 && out.first() == out.last() {
        out.pop();
    }
    if out.len() < 3 {
        return None;
    }
    let ring = LineString::new(out);
    let mut closed = ring;
    closed.close();
    let area = Polygon::new(closed.clone(), vec![]).unsigned_area();
    (area >= MIN_RING_AREA_DEG2).then_some(closed)
}

fn round_polygons(mp: &MultiPolygon<f64>) -> MultiPolygon<f64> {
    MultiPolygon::new(
        mp.0.iter()
            .filter_map(|p| {
                let exterior = round_ring(p.exterior())?;
                let interiors = p.interiors().iter().filter_map(round_ring).collect();
                Some(Polygon::new(exterior, interiors))
            })
            .collect(),
    )
}

/// Rounds `mp` to [`DECIMALS`] places, drops slivers, orients rings per
/// RFC 7946 and makes sure the result is valid (OGC simple features): when
/// rounding breaks validity, the rounded shape is rebuilt by a union with
/// itself (which resolves self-touching rings) and rounded again.
pub(crate) fn finish(mp: &MultiPolygon<f64>) -> MultiPolygon<f64> {
    let mut out = round_polygons(mp);
    for _ in 0..3 {
        if out.is_valid() {
            break;
        }
        let rebuilt = out.union(&MultiPolygon::new(vec![]));
        out = round_polygons(&rebuilt);
    }
    out.orient(Direction::Default)
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    #[test]
    fn rounding_keeps_seven_decimals_and_orients_rings() {
        let p = polygon!(
            exterior: [(x: 0.0, y: 0.0), (x: 0.0, y: 1.000_000_04), (x: 1.123_456_789, y: 1.0), (x: 1.0, y: 0.0)],
            interiors: [[(x: 0.2, y: 0.2), (x: 0.4, y: 0.2), (x: 0.4, y: 0.4), (x: 0.2, y: 0.4)]],
        );
        let out = finish(&MultiPolygon::new(vec![p]));
        assert!(out.is_valid());
        let poly = &out.0[0];
        assert!(poly.exterior().0.iter().any(|c| c.x == 1.123_456_8));
        assert!(poly.exterior().0.iter().all(|c| c.y == 0.0 || c.y == 1.0));
        // Counter-clockwise exterior has positive signed area, clockwise hole negative.
        assert!(Polygon::new(poly.exterior().clone(), vec![]).signed_area() > 0.0);
        assert!(Polygon::new(poly.interiors()[0].clone(), vec![]).signed_area() < 0.0);
    }

    #[test]
    fn rounding_that_makes_a_ring_touch_itself_is_repaired() {
        // A notch whose tip comes within 3e-8 degrees of the opposite edge:
        // rounding puts the tip on the edge, a self-touching ring.
        let p = polygon![
            (x: 0.0, y: 0.0), (x: 2.0, y: 0.0), (x: 2.0, y: 1.0),
            (x: 1.0, y: 1.0), (x: 0.5, y: 0.000_000_03), (x: 0.6, y: 1.0), (x: 0.0, y: 1.0)
        ];
        assert!(p.is_valid());
        let naive = round_polygons(&MultiPolygon::new(vec![p.clone()]));
        assert!(!naive.is_valid(), "the fixture must break under rounding");
        let out = finish(&MultiPolygon::new(vec![p.clone()]));
        assert!(out.is_valid(), "{out:?}");
        assert!((out.unsigned_area() - p.unsigned_area()).abs() < 1e-6);
    }

    #[test]
    fn slivers_thinner_than_the_rounding_step_disappear() {
        let sliver = polygon![(x: 0.0, y: 0.0), (x: 1.0, y: 0.0), (x: 1.0, y: 0.000_000_01), (x: 0.0, y: 0.000_000_02)];
        assert!(finish(&MultiPolygon::new(vec![sliver])).0.is_empty());
    }
}
