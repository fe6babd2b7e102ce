//! Travel profiles: which OpenStreetMap ways a car or a pedestrian may use,
//! in which direction and how fast.
//!
//! The built-in speeds and rules start from OSRM's profiles
//! (`profiles/car.lua` and `profiles/foot.lua` of osrm-backend 26.10, as
//! shipped in the `osrm-bindings` 26.10.0 wheel), so that bacino and OSRM
//! agree on the same extract. Where bacino differs (no turn penalties, an
//! access leg from the snapped point) the README says so.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The built-in profiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProfileName {
    /// Driving a car.
    Car,
    /// Walking.
    Foot,
}

impl ProfileName {
    /// Both profiles.
    pub const ALL: [ProfileName; 2] = [ProfileName::Car, ProfileName::Foot];

    /// `car` or `foot`.
    pub fn as_str(self) -> &'static str {
        match self {
            ProfileName::Car => "car",
            ProfileName::Foot => "foot",
        }
    }
}

impl fmt::Display for ProfileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ProfileName {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.trim() {
            "car" => Ok(ProfileName::Car),
            "foot" => Ok(ProfileName::Foot),
            other => Err(format!("expected a profile (car or foot), found `{other}`")),
        }
    }
}

/// OSRM car.lua `speeds.highway` (km/h).
const CAR_SPEEDS_KMH: [(&str, f64); 14] = [
    ("motorway", 90.0),
    ("motorway_link", 45.0),
    ("trunk", 85.0),
    ("trunk_link", 40.0),
    ("primary", 65.0),
    ("primary_link", 30.0),
    ("secondary", 55.0),
    ("secondary_link", 25.0),
    ("tertiary", 40.0),
    ("tertiary_link", 20.0),
    ("unclassified", 25.0),
    ("residential", 25.0),
    ("living_street", 10.0),
    ("service", 15.0),
];

/// OSRM foot.lua: every class it admits at `walking_speed` = 5 km/h.
const FOOT_CLASSES: [&str; 17] = [
    "primary",
    "primary_link",
    "secondary",
    "secondary_link",
    "tertiary",
    "tertiary_link",
    "unclassified",
    "residential",
    "living_street",
    "service",
    "track",
    "path",
    "steps",
    "pedestrian",
    "platform",
    "footway",
    "pier",
];

/// OSRM foot.lua `walking_speed`.
const WALKING_SPEED_KMH: f64 = 5.0;

/// Every highway class a profile override may name (the union of the
/// built-in tables): a typo such as `primray` is refused, not ignored.
pub fn known_highway_classes() -> Vec<&'static str> {
    let mut v: Vec<&str> = CAR_SPEEDS_KMH.iter().map(|p| p.0).collect();
    v.extend(FOOT_CLASSES);
    v.extend(["cycleway", "bridleway", "corridor", "elevator"]);
    v.sort_unstable();
    v.dedup();
    v
}

/// How one profile reads OpenStreetMap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// Which profile.
    pub name: ProfileName,
    /// Speed per `highway=*` class, km/h; classes absent are not usable.
    pub speed_kmh: BTreeMap<String, f64>,
    /// Speed of the leg between a point and the road it snaps to, km/h
    /// (car: a driveway at OSRM's `service` speed; foot: walking speed).
    pub access_speed_kmh: f64,
    /// Factor applied to a way's `maxspeed` (OSRM car.lua `speed_reduction`).
    pub maxspeed_factor: f64,
    /// Whether `maxspeed` tags are read at all.
    pub use_maxspeed: bool,
    /// Whether ways obey `oneway` (cars do, pedestrians do not).
    pub obeys_oneway: bool,
    /// Seconds added when passing a `highway=traffic_signals` node (OSRM's
    /// obstacle penalty, 2 s for cars and pedestrians).
    pub traffic_signal_penalty_s: f64,
    /// Ferries (`route=ferry`) are used only when true (off by default).
    pub ferries: bool,
    /// Ferry speed, km/h, when ferries are on and no `duration` is tagged.
    pub ferry_speed_kmh: f64,
}

impl Profile {
    /// The built-in profile.
    pub fn builtin(name: ProfileName) -> Profile {
        match name {
            ProfileName::Car => Profile {
                name,
                speed_kmh: CAR_SPEEDS_KMH
                    .iter()
                    .map(|&(k, v)| (k.to_owned(), v))
                    .collect(),
                access_speed_kmh: 15.0,
                maxspeed_factor: 0.8,
                use_maxspeed: true,
                obeys_oneway: true,
                traffic_signal_penalty_s: 2.0,
                ferries: false,
                ferry_speed_kmh: 5.0,
            },
            ProfileName::Foot => Profile {
                name,
                speed_kmh: FOOT_CLASSES
                    .iter()
                    .map(|&k| (k.to_owned(), WALKING_SPEED_KMH))
                    .collect(),
                access_speed_kmh: WALKING_SPEED_KMH,
                maxspeed_factor: 1.0,
                use_maxspeed: false,
                obeys_oneway: false,
                traffic_signal_penalty_s: 2.0,
                ferries: false,
                ferry_speed_kmh: 5.0,
            },
        }
    }

    /// The built-in profile with `speed_kmh` overrides applied (CONTRACT §5
    /// `[network.car.speed_kmh]`); an unknown class or a speed that is not a
    /// positive finite number is an error naming it.
    pub fn with_overrides(name: ProfileName, overrides: &BTreeMap<String, f64>) -> Result<Profile> {
        let mut p = Profile::builtin(name);
        let known = known_highway_classes();
        for (class, &speed) in overrides {
            if !known.contains(&class.as_str()) {
                return Err(Error::Profile(format!(
                    "[network.{name}.speed_kmh]: unknown highway class `{class}` (expected one of: {})",
                    known.join(", ")
                )));
            }
            if !(speed.is_finite() && speed > 0.0) {
                return Err(Error::Profile(format!(
                    "[network.{name}.speed_kmh]: `{class}` must be a positive speed in km/h, found {speed}"
                )));
            }
            p.speed_kmh.insert(class.clone(), speed);
        }
        Ok(p)
    }

    /// A stable fingerprint of every setting (part of the cache key).
    pub fn fingerprint(&self) -> String {
        serde_json::to_string(self).expect("profile serialises")
    }
}

/// Tags of one element, looked up by key.
pub trait Tags {
    /// The value of `key`, if tagged.
    fn get(&self, key: &str) -> Option<&str>;
}

impl Tags for [(String, String)] {
    fn get(&self, key: &str) -> Option<&str> {
        self.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

impl Tags for Vec<(String, String)> {
    fn get(&self, key: &str) -> Option<&str> {
        Tags::get(self.as_slice(), key)
    }
}

impl Tags for [(&str, &str)] {
    fn get(&self, key: &str) -> Option<&str> {
        self.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }
}

/// What a profile makes of a way: speed in each direction (`None` =
/// not allowed that way), or `None` for an unusable way.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WayRule {
    /// Along the node order, km/h.
    pub forward_kmh: Option<f64>,
    /// Against the node order, km/h.
    pub backward_kmh: Option<f64>,
    /// A ferry with a tagged duration: the whole way takes this long.
    pub duration_s: Option<f64>,
}

/// OSRM's access lists (car.lua 88-134, foot.lua 56-78).
struct AccessLists {
    whitelist: &'static [&'static str],
    blacklist: &'static [&'static str],
    /// Values OSRM keeps routable only to reach a destination there;
    /// bacino leaves them out (see [`Profile::way`]).
    restricted: &'static [&'static str],
}

const CAR_ACCESS: AccessLists = AccessLists {
    whitelist: &[
        "yes",
        "motorcar",
        "motor_vehicle",
        "vehicle",
        "permissive",
        "designated",
        "hov",
    ],
    blacklist: &[
        "no",
        "agricultural",
        "forestry",
        "emergency",
        "psv",
        "taxi",
        "share_taxi",
        "minibus",
        "bus",
        "foot",
        "emergency_vehicle",
        "restricted",
        "military",
        "official",
    ],
    restricted: &[
        "private",
        "delivery",
        "customers",
        "permit",
        "residents",
        "unknown",
    ],
};

const FOOT_ACCESS: AccessLists = AccessLists {
    whitelist: &["yes", "foot", "permissive", "designated"],
    blacklist: &[
        "no",
        "agricultural",
        "forestry",
        "private",
        "delivery",
        "use_sidepath",
    ],
    restricted: &[],
};

/// Whether an access value opens, closes or leaves a way as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Allowed,
    Denied,
    Unspecified,
}

/// The access tags a profile reads, most specific first (OSRM
/// `access_tags_hierarchy`).
fn access_hierarchy(name: ProfileName) -> &'static [&'static str] {
    match name {
        ProfileName::Car => &["motorcar", "motor_vehicle", "vehicle", "access"],
        ProfileName::Foot => &["foot", "access"],
    }
}

fn lists(name: ProfileName) -> &'static AccessLists {
    match name {
        ProfileName::Car => &CAR_ACCESS,
        ProfileName::Foot => &FOOT_ACCESS,
    }
}

/// Resolves one access value; `a;b` lists take their most permissive part
/// (OSRM access.lua 15-39).
fn classify(name: ProfileName, value: &str) -> Access {
    let l = lists(name);
    let parts = value.split(';').map(str::trim);
    if parts.clone().any(|p| l.whitelist.contains(&p)) {
        Access::Allowed
    } else if parts
        .clone()
        .any(|p| l.blacklist.contains(&p) || l.restricted.contains(&p))
    {
        Access::Denied
    } else {
        Access::Unspecified
    }
}

/// The most specific access value tagged for one direction (`:forward` or
/// `:backward` variants first), if any.
fn access_value<'a, T: Tags + ?Sized>(
    tags: &'a T,
    name: ProfileName,
    dir: &str,
) -> Option<&'a str> {
    access_hierarchy(name)
        .iter()
        .find_map(|k| tags.get(&format!("{k}:{dir}")).or_else(|| tags.get(k)))
}

/// OSRM car.lua `maxspeed_table` (country exceptions) then
/// `maxspeed_table_default` (`XX:urban` 50, `:rural` 90, `:trunk` 110,
/// `:motorway` 130); `none` is 140.
const MAXSPEED_TABLE: [(&str, f64); 45] = [
    ("at:rural", 100.0),
    ("at:trunk", 100.0),
    ("ar:urban", 40.0),
    ("ar:rural", 110.0),
    ("be:motorway", 120.0),
    ("be-bru:rural", 70.0),
    ("be-bru:urban", 30.0),
    ("be-vlg:rural", 70.0),
    ("bg:motorway", 140.0),
    ("by:urban", 60.0),
    ("by:motorway", 110.0),
    ("ca-on:rural", 80.0),
    ("ch:rural", 80.0),
    ("ch:trunk", 100.0),
    ("ch:motorway", 120.0),
    ("de:living_street", 7.0),
    ("de:rural", 100.0),
    ("dk:rural", 80.0),
    ("es:trunk", 90.0),
    ("fr:rural", 80.0),
    ("gb:nsl_single", 96.54),
    ("gb:nsl_dual", 112.63),
    ("gb:motorway", 112.63),
    ("uk:nsl_single", 96.54),
    ("uk:nsl_dual", 112.63),
    ("uk:motorway", 112.63),
    ("lv:living_street", 20.0),
    ("nl:rural", 80.0),
    ("nl:trunk", 100.0),
    ("no:rural", 80.0),
    ("no:motorway", 110.0),
    ("ph:urban", 40.0),
    ("ph:rural", 80.0),
    ("ph:motorway", 100.0),
    ("pl:rural", 100.0),
    ("pl:expressway", 120.0),
    ("pl:motorway", 140.0),
    ("ro:trunk", 100.0),
    ("ru:living_street", 20.0),
    ("ru:urban", 60.0),
    ("ru:motorway", 110.0),
    ("za:urban", 60.0),
    ("za:rural", 100.0),
    ("none", 140.0),
    // de:motorway is 0 in OSRM: the highway speed is kept.
    ("de:motorway", 0.0),
];

/// Parses a `maxspeed` value into km/h as OSRM does (measure.lua): the
/// leading number (`50`, `50;70` → 50), `mph` values × 1.609, and zones
/// such as `IT:urban`. `None` for values that say nothing (`signals`,
/// `walk`, unknown zones).
pub fn parse_maxspeed(value: &str) -> Option<f64> {
    let lower = value.trim().to_ascii_lowercase();
    if lower.is_empty() {
        return None;
    }
    let digits: String = lower.chars().take_while(char::is_ascii_digit).collect();
    if !digits.is_empty() {
        let n: f64 = digits.parse().ok()?;
        let kmh = if lower.contains("mph") || lower.contains("mp/h") {
            n * 1.609
        } else {
            n
        };
        return (kmh > 0.0).then_some(kmh);
    }
    if let Some(&(_, v)) = MAXSPEED_TABLE.iter().find(|(k, _)| *k == lower) {
        return (v > 0.0).then_some(v);
    }
    let (country, zone) = lower.split_once(':')?;
    if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    match zone {
        "urban" => Some(50.0),
        "rural" => Some(90.0),
        "trunk" => Some(110.0),
        "motorway" => Some(130.0),
        _ => None,
    }
}

/// The way's maxspeed for one direction, by OSRM's key order.
fn maxspeed<T: Tags + ?Sized>(tags: &T, dir: &str) -> Option<f64> {
    [
        "maxspeed:advisory",
        "maxspeed",
        "source:maxspeed",
        "maxspeed:type",
    ]
    .iter()
    .find_map(|k| tags.get(&format!("{k}:{dir}")).or_else(|| tags.get(k)))
    .and_then(parse_maxspeed)
}

/// OSRM car.lua surface, tracktype and smoothness caps (km/h).
fn car_surface_cap<T: Tags + ?Sized>(tags: &T) -> f64 {
    let mut cap = f64::INFINITY;
    if let Some(s) = tags.get("surface") {
        cap = cap.min(match s {
            "cement" | "compacted" | "fine_gravel" => 80.0,
            "paving_stones" | "metal" | "bricks" => 60.0,
            "grass" | "wood" | "sett" | "grass_paver" | "gravel" | "unpaved" | "ground"
            | "dirt" | "pebblestone" | "tartan" => 40.0,
            "cobblestone" | "clay" => 30.0,
            "earth" | "stone" | "rocky" | "sand" => 20.0,
            "laterite" => 15.0,
            "mud" => 10.0,
            "ice" => 20.0,
            "snow" => 30.0,
            _ => f64::INFINITY,
        });
    }
    if let Some(t) = tags.get("tracktype") {
        cap = cap.min(match t {
            "grade1" => 60.0,
            "grade2" => 40.0,
            "grade3" => 30.0,
            "grade4" => 25.0,
            "grade5" => 20.0,
            _ => f64::INFINITY,
        });
    }
    if let Some(t) = tags.get("smoothness") {
        cap = cap.min(match t {
            "intermediate" => 80.0,
            "bad" => 40.0,
            "very_bad" => 20.0,
            "horrible" => 10.0,
            "very_horrible" => 5.0,
            "impassable" => 0.0,
            _ => f64::INFINITY,
        });
    }
    cap
}

/// OSRM foot.lua surface speeds (km/h).
fn foot_surface_cap<T: Tags + ?Sized>(tags: &T) -> f64 {
    match tags.get("surface") {
        Some("fine_gravel" | "gravel" | "pebblestone") => 3.75,
        Some("mud" | "sand") => 2.5,
        _ => f64::INFINITY,
    }
}

/// OSRM's speed for a way of a class outside the table whose access tag
/// explicitly allows the profile (`default_speed`).
fn default_speed(name: ProfileName) -> f64 {
    match name {
        ProfileName::Car => 10.0,
        ProfileName::Foot => WALKING_SPEED_KMH,
    }
}

/// Parses an OSM `duration` (`HH:MM`, `HH:MM:SS`, or minutes) into
/// seconds, at least 1 (OSRM way_handlers.lua 138-153).
fn parse_duration_s(value: &str) -> Option<f64> {
    let nums: Option<Vec<f64>> = value
        .trim()
        .split(':')
        .map(|p| p.trim().parse::<f64>().ok())
        .collect();
    let s = match nums?.as_slice() {
        [m] => m * 60.0,
        [h, m] => h * 3600.0 + m * 60.0,
        [h, m, s] => h * 3600.0 + m * 60.0 + s,
        _ => return None,
    };
    s.is_finite().then_some(s.max(1.0))
}

impl Profile {
    /// Evaluates a way's tags: `None` when the profile may not use it.
    ///
    /// Follows OSRM's car.lua / foot.lua (see the module docs) with one
    /// deliberate difference: ways OSRM keeps as *restricted* for cars
    /// (`access=private`, `delivery`, `customers`, `permit`, `residents`)
    /// are left out, so no resident is snapped onto a private driveway.
    pub fn way<T: Tags + ?Sized>(&self, tags: &T) -> Option<WayRule> {
        let car = self.name == ProfileName::Car;
        if tags.get("route") == Some("ferry") {
            if !self.ferries {
                return None;
            }
            if access_value(tags, self.name, "forward").map(|a| classify(self.name, a))
                == Some(Access::Denied)
            {
                return None;
            }
            let duration_s = tags.get("duration").and_then(parse_duration_s);
            let s = Some(self.ferry_speed_kmh);
            return Some(WayRule {
                forward_kmh: s,
                backward_kmh: s,
                duration_s,
            });
        }
        let highway = tags.get("highway").or_else(|| {
            // foot.lua also walks on platforms, piers and car parks.
            (!car
                && (tags.get("railway") == Some("platform")
                    || tags.get("man_made") == Some("pier")
                    || matches!(tags.get("amenity"), Some("parking" | "parking_entrance"))))
            .then_some("footway")
        })?;
        // Ways OSRM avoids outright.
        if matches!(tags.get("impassable"), Some("yes"))
            || matches!(tags.get("status"), Some("impassable"))
            || matches!(highway, "proposed" | "construction" | "abandoned" | "razed")
        {
            return None;
        }
        if car {
            if tags.get("area") == Some("yes")
                || tags.get("oneway") == Some("reversible")
                || highway == "steps"
                || tags.get("service") == Some("emergency_access")
                || tags
                    .get("construction")
                    .is_some_and(|c| !matches!(c, "no" | "widening" | "minor"))
            {
                return None;
            }
        } else if tags.get("motorroad") == Some("yes") {
            return None;
        }
        let access = |dir: &str| {
            access_value(tags, self.name, dir)
                .map_or(Access::Unspecified, |a| classify(self.name, a))
        };
        let (acc_f, acc_b) = (access("forward"), access("backward"));
        let base = match self.speed_kmh.get(highway) {
            Some(&s) => s,
            // A class outside the table is usable only when explicitly
            // allowed (OSRM way_handlers.lua 305-325).
            None if acc_f == Access::Allowed || acc_b == Access::Allowed => {
                default_speed(self.name)
            }
            None => return None,
        };
        if !car {
            // foot.lua: a carriageway whose sidewalks are mapped separately
            // is walked on those, unless foot is explicitly allowed.
            let separate = [
                "sidewalk",
                "sidewalk:both",
                "sidewalk:left",
                "sidewalk:right",
            ]
            .iter()
            .any(|k| tags.get(k) == Some("separate"));
            if separate && acc_f != Access::Allowed {
                return None;
            }
        }
        let cap = if car {
            car_surface_cap(tags)
        } else {
            foot_surface_cap(tags)
        };
        let speed = |dir: &str| -> f64 {
            let s = if self.use_maxspeed {
                maxspeed(tags, dir).map_or(base, |m| m * self.maxspeed_factor)
            } else {
                base
            };
            s.min(cap)
        };
        let (mut fwd_ok, mut bwd_ok) = (acc_f != Access::Denied, acc_b != Access::Denied);
        if self.obeys_oneway {
            let oneway = tags
                .get("oneway:motorcar")
                .or_else(|| tags.get("oneway:motor_vehicle"))
                .or_else(|| tags.get("oneway:vehicle"))
                .or_else(|| tags.get("oneway"));
            match oneway {
                Some("yes" | "true" | "1") => bwd_ok = false,
                Some("-1") => fwd_ok = false,
                Some("no") => {}
                _ => {
                    if matches!(tags.get("junction"), Some("roundabout" | "circular"))
                        || highway == "motorway"
                    {
                        bwd_ok = false;
                    }
                }
            }
        } else if let Some(o) = tags.get("oneway:foot") {
            match o {
                "yes" | "true" | "1" => bwd_ok = false,
                "-1" => fwd_ok = false,
                _ => {}
            }
        }
        let f = speed("forward");
        let b = speed("backward");
        let fwd = (fwd_ok && f > 0.0).then_some(f);
        let bwd = (bwd_ok && b > 0.0).then_some(b);
        if fwd.is_none() && bwd.is_none() {
            return None;
        }
        Some(WayRule {
            forward_kmh: fwd,
            backward_kmh: bwd,
            duration_s: None,
        })
    }

    /// True when a node's tags stop the profile from passing it (OSRM
    /// `process_node`): a node with an access tag blocks only when that
    /// value is blacklisted; otherwise a barrier outside the whitelist
    /// blocks.
    pub fn node_blocks<T: Tags + ?Sized>(&self, tags: &T) -> bool {
        if let Some(a) = access_value(tags, self.name, "forward") {
            let l = lists(self.name);
            let parts = || a.split(';').map(str::trim);
            if parts().any(|p| l.whitelist.contains(&p) || l.restricted.contains(&p)) {
                return false;
            }
            return parts().any(|p| l.blacklist.contains(&p));
        }
        let Some(barrier) = tags.get("barrier") else {
            return false;
        };
        let audible_fence =
            barrier == "fence" && matches!(tags.get("sensory"), Some("audible" | "audio"));
        if audible_fence || tags.get("bollard") == Some("rising") {
            return false;
        }
        match self.name {
            // car.lua barrier_whitelist, plus the barriers it lets through
            // with a penalty (gates) and lowered kerbs.
            ProfileName::Car => {
                let passable = matches!(
                    barrier,
                    "cattle_grid"
                        | "border_control"
                        | "toll_booth"
                        | "sally_port"
                        | "gate"
                        | "lift_gate"
                        | "no"
                        | "entrance"
                        | "height_restrictor"
                        | "arch"
                ) || matches!(tags.get("kerb"), Some("lowered" | "flush"))
                    || (barrier == "kerb" && tags.get("highway") == Some("crossing"));
                !passable
            }
            // foot.lua barrier_blacklist.
            ProfileName::Foot => matches!(barrier, "yes" | "wall" | "fence"),
        }
    }

    /// Seconds a node adds to a route passing it: traffic signals (OSRM's
    /// 2 s for both profiles) and, for cars, gates (60 s).
    pub fn node_penalty_s<T: Tags + ?Sized>(&self, tags: &T) -> f64 {
        let mut s = 0.0;
        if tags.get("highway") == Some("traffic_signals") {
            s += self.traffic_signal_penalty_s;
        }
        if self.name == ProfileName::Car
            && matches!(tags.get("barrier"), Some("gate" | "lift_gate"))
        {
            s += 60.0;
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn car() -> Profile {
        Profile::builtin(ProfileName::Car)
    }

    fn foot() -> Profile {
        Profile::builtin(ProfileName::Foot)
    }

    fn way(p: &Profile, tags: &[(&str, &str)]) -> Option<WayRule> {
        p.way(tags)
    }

    #[test]
    fn a_residential_street_is_two_way_at_the_class_speed() {
        let r = way(&car(), &[("highway", "residential")]).unwrap();
        assert_eq!(r.forward_kmh, Some(25.0));
        assert_eq!(r.backward_kmh, Some(25.0));
    }

    #[test]
    fn oneway_yes_minus_one_roundabouts_and_motorways() {
        let c = car();
        let r = way(&c, &[("highway", "primary"), ("oneway", "yes")]).unwrap();
        assert_eq!((r.forward_kmh, r.backward_kmh), (Some(65.0), None));
        let r = way(&c, &[("highway", "primary"), ("oneway", "-1")]).unwrap();
        assert_eq!((r.forward_kmh, r.backward_kmh), (None, Some(65.0)));
        let r = way(&c, &[("highway", "tertiary"), ("junction", "roundabout")]).unwrap();
        assert_eq!(r.backward_kmh, None);
        let r = way(&c, &[("highway", "motorway")]).unwrap();
        assert_eq!(r.backward_kmh, None);
        let r = way(&c, &[("highway", "motorway"), ("oneway", "no")]).unwrap();
        assert_eq!(r.backward_kmh, Some(90.0));
        // Pedestrians ignore oneway.
        let r = way(&foot(), &[("highway", "primary"), ("oneway", "yes")]).unwrap();
        assert_eq!((r.forward_kmh, r.backward_kmh), (Some(5.0), Some(5.0)));
    }

    #[test]
    fn access_tags_follow_the_hierarchy() {
        let c = car();
        assert!(way(&c, &[("highway", "service"), ("access", "private")]).is_none());
        assert!(way(
            &c,
            &[
                ("highway", "service"),
                ("access", "private"),
                ("motor_vehicle", "yes")
            ]
        )
        .is_some());
        assert!(way(&c, &[("highway", "residential"), ("motor_vehicle", "no")]).is_none());
        assert!(way(&c, &[("highway", "residential"), ("access", "destination")]).is_some());
        assert!(way(&foot(), &[("highway", "footway"), ("foot", "no")]).is_none());
        assert!(way(&foot(), &[("highway", "footway"), ("motor_vehicle", "no")]).is_some());
        assert!(way(&c, &[("highway", "footway")]).is_none());
        assert!(way(&foot(), &[("highway", "motorway")]).is_none());
    }

    #[test]
    fn maxspeed_numbers_zones_and_mph() {
        assert_eq!(parse_maxspeed("50"), Some(50.0));
        assert_eq!(parse_maxspeed("IT:urban"), Some(50.0));
        assert_eq!(parse_maxspeed("it:rural"), Some(90.0));
        assert_eq!(parse_maxspeed("IT:motorway"), Some(130.0));
        assert!((parse_maxspeed("30 mph").unwrap() - 48.27).abs() < 1e-9);
        assert_eq!(parse_maxspeed("50;70"), Some(50.0));
        assert_eq!(parse_maxspeed("none"), Some(140.0));
        assert_eq!(parse_maxspeed("DE:rural"), Some(100.0));
        assert_eq!(parse_maxspeed("walk"), None);
        assert_eq!(parse_maxspeed("fast"), None);
        assert_eq!(parse_maxspeed("-5"), None);
        let r = way(&car(), &[("highway", "primary"), ("maxspeed", "50")]).unwrap();
        assert_eq!(r.forward_kmh, Some(40.0));
        let r = way(
            &car(),
            &[
                ("highway", "primary"),
                ("maxspeed:backward", "30"),
                ("maxspeed", "50"),
            ],
        )
        .unwrap();
        assert_eq!((r.forward_kmh, r.backward_kmh), (Some(40.0), Some(24.0)));
    }

    #[test]
    fn ferries_are_off_unless_enabled() {
        let mut c = car();
        let tags = [("route", "ferry"), ("duration", "00:30")];
        assert!(way(&c, &tags).is_none());
        c.ferries = true;
        assert_eq!(way(&c, &tags).unwrap().duration_s, Some(1800.0));
    }

    #[test]
    fn barriers_block_cars_but_gates_do_not() {
        let c = car();
        assert!(c.node_blocks([("barrier", "bollard")].as_slice()));
        assert!(!c.node_blocks([("barrier", "gate")].as_slice()));
        assert!(!c.node_blocks([("barrier", "bollard"), ("motor_vehicle", "yes")].as_slice()));
        assert!(!foot().node_blocks([("barrier", "bollard")].as_slice()));
        assert!(foot().node_blocks([("barrier", "wall")].as_slice()));
        assert!(!c.node_blocks([("highway", "traffic_signals")].as_slice()));
    }

    #[test]
    fn overrides_refuse_unknown_classes_and_bad_speeds() {
        let mut o = BTreeMap::new();
        o.insert("primary".to_owned(), 70.0);
        let p = Profile::with_overrides(ProfileName::Car, &o).unwrap();
        assert_eq!(p.speed_kmh["primary"], 70.0);
        o.insert("primray".to_owned(), 70.0);
        let e = Profile::with_overrides(ProfileName::Car, &o).unwrap_err();
        assert!(
            e.to_string().contains("unknown highway class `primray`"),
            "{e}"
        );
        let mut o = BTreeMap::new();
        o.insert("primary".to_owned(), 0.0);
        let e = Profile::with_overrides(ProfileName::Car, &o).unwrap_err();
        assert!(e.to_string().contains("positive speed"), "{e}");
        o.insert("primary".to_owned(), f64::NAN);
        assert!(Profile::with_overrides(ProfileName::Car, &o).is_err());
    }
}
