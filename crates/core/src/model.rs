//! The data model: facilities (public), residents (private), areas.

use rustc_hash::FxHashMap as HashMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A longitude/latitude pair in degrees on WGS84 (EPSG:4326).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LonLat {
    /// Longitude, degrees east, in [-180, 180].
    pub lon: f64,
    /// Latitude, degrees north, in [-90, 90].
    pub lat: f64,
}

impl LonLat {
    /// A point from longitude and latitude in degrees.
    pub const fn new(lon: f64, lat: f64) -> Self {
        LonLat { lon, lat }
    }

    /// True when both coordinates are finite and in range.
    pub fn is_valid(&self) -> bool {
        self.lon.is_finite()
            && self.lat.is_finite()
            && (-180.0..=180.0).contains(&self.lon)
            && (-90.0..=90.0).contains(&self.lat)
    }
}

/// The kind of a health facility (CONTRACT §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FacilityKind {
    /// GP surgery (medico di medicina generale, MMG).
    Gp,
    /// Paediatrician of free choice (PLS).
    Pediatrician,
    /// Casa di Comunità.
    Cdc,
    /// Ospedale di Comunità.
    Odc,
    /// Centrale Operativa Territoriale.
    Cot,
    /// Pharmacy.
    Pharmacy,
    /// Ambulatorio Diffuso.
    Ad,
}

impl FacilityKind {
    /// Every kind, in contract order.
    pub const ALL: [FacilityKind; 7] = [
        FacilityKind::Gp,
        FacilityKind::Pediatrician,
        FacilityKind::Cdc,
        FacilityKind::Odc,
        FacilityKind::Cot,
        FacilityKind::Pharmacy,
        FacilityKind::Ad,
    ];

    /// The contract spelling (`gp`, `cdc`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            FacilityKind::Gp => "gp",
            FacilityKind::Pediatrician => "pediatrician",
            FacilityKind::Cdc => "cdc",
            FacilityKind::Odc => "odc",
            FacilityKind::Cot => "cot",
            FacilityKind::Pharmacy => "pharmacy",
            FacilityKind::Ad => "ad",
        }
    }
}

impl fmt::Display for FacilityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FacilityKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        FacilityKind::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                format!(
                    "expected a facility kind (one of {}), found `{s}`",
                    FacilityKind::ALL.map(FacilityKind::as_str).join(", ")
                )
            })
    }
}

/// Whether a facility still takes patients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FacilityStatus {
    /// Open (the default).
    #[default]
    Active,
    /// Closed or retired; never a "nearest" target.
    Ceased,
}

/// A facility's public identifier.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FacilityId(pub String);

impl fmt::Display for FacilityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Position of a facility in [`Facilities`]; cheap to copy and compare.
pub type FacilityIdx = u32;

/// One facility. Facility locations are public.
#[derive(Debug, Clone, PartialEq)]
pub struct Facility {
    /// Unique id.
    pub id: FacilityId,
    /// Kind.
    pub kind: FacilityKind,
    /// Free-text name.
    pub name: Option<String>,
    /// Location on WGS84.
    pub location: LonLat,
    /// Maximum number of patients (GP massimale); `None` = unbounded.
    pub capacity: Option<u32>,
    /// Patients on the list as declared in the input; see
    /// [`Dataset::list_size`](crate::Dataset::list_size) for the effective value.
    pub list_size: Option<u32>,
    /// Active or ceased.
    pub status: FacilityStatus,
    /// ISTAT municipality code.
    pub municipality: Option<String>,
    /// Takes part in Ambulatori Diffusi.
    pub ad: bool,
    /// The AFT (aggregazione funzionale territoriale) of a GP, when given.
    pub aft: Option<String>,
    /// Probability (0..=1) that the GP retires in the horizon a random
    /// cessation wave models, when given (`retire_p` column).
    pub retire_p: Option<f64>,
    /// The input's columns that none of the fields above read, as
    /// (header, text) in the file's order: for orders and labels the
    /// schema does not know (e.g. AccessMod's processing order by a
    /// column of the facility table).
    pub other: Vec<(String, String)>,
}

impl Facility {
    /// An active facility of `kind` at `location`, with none of the
    /// optional columns.
    pub fn new(id: impl Into<String>, kind: FacilityKind, location: LonLat) -> Facility {
        Facility {
            id: FacilityId(id.into()),
            kind,
            name: None,
            location,
            capacity: None,
            list_size: None,
            status: FacilityStatus::Active,
            municipality: None,
            ad: false,
            aft: None,
            retire_p: None,
            other: Vec::new(),
        }
    }

    /// True when the facility is active.
    pub fn is_active(&self) -> bool {
        self.status == FacilityStatus::Active
    }

    /// The text of the input column `name` that no field reads, if the
    /// facility has it.
    pub fn other(&self, name: &str) -> Option<&str> {
        self.other
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// All facilities of a dataset, with lookup by id.
#[derive(Debug, Clone, Default)]
pub struct Facilities {
    items: Vec<Facility>,
    by_id: HashMap<String, FacilityIdx>,
}

impl Facilities {
    /// Builds the collection; fails on a duplicate id with the index of the
    /// second occurrence.
    pub fn new(items: Vec<Facility>) -> Result<Self, (usize, String)> {
        let mut by_id = HashMap::default();
        by_id.reserve(items.len());
        for (i, f) in items.iter().enumerate() {
            if by_id.insert(f.id.0.clone(), i as FacilityIdx).is_some() {
                return Err((i, f.id.0.clone()));
            }
        }
        Ok(Facilities { items, by_id })
    }

    /// Number of facilities.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The facility at `idx`.
    pub fn get(&self, idx: FacilityIdx) -> &Facility {
        &self.items[idx as usize]
    }

    /// Index of the facility with this id.
    pub fn index_of(&self, id: &str) -> Option<FacilityIdx> {
        self.by_id.get(id).copied()
    }

    /// All facilities in input order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &Facility> + '_ {
        self.items.iter()
    }

    /// All facilities as a slice.
    pub fn as_slice(&self) -> &[Facility] {
        &self.items
    }

    /// Indices of the active facilities of `kind`.
    pub fn active_of_kind(&self, kind: FacilityKind) -> Vec<FacilityIdx> {
        (0..self.items.len() as FacilityIdx)
            .filter(|&i| {
                let f = self.get(i);
                f.kind == kind && f.is_active()
            })
            .collect()
    }
}

/// Marker for "no value" in a [`Categorical`] column or a facility reference.
pub const NONE: u32 = u32::MAX;

/// A column of repeated string values stored as codes into a dictionary.
#[derive(Debug, Clone, Default)]
pub struct Categorical {
    codes: Vec<u32>,
    values: Vec<String>,
    lookup: HashMap<String, u32>,
    /// The last value pushed: input is often sorted by municipality or group.
    last: Option<(String, u32)>,
}

impl Categorical {
    /// An empty column.
    pub fn new() -> Self {
        Self::default()
    }

    /// A column of `codes` into the dictionary `values` (distinct, as a
    /// column builds it); `None` when a code is neither an index into
    /// `values` nor [`NONE`], or a value repeats.
    pub(crate) fn from_parts(codes: Vec<u32>, values: Vec<String>) -> Option<Self> {
        let lookup: HashMap<String, u32> = values
            .iter()
            .enumerate()
            .map(|(i, v)| (v.clone(), i as u32))
            .collect();
        let n = values.len();
        (lookup.len() == n && codes.iter().all(|&c| c == NONE || (c as usize) < n)).then_some(
            Categorical {
                codes,
                values,
                lookup,
                last: None,
            },
        )
    }

    /// Appends a value (`None` or empty string = missing).
    pub fn push(&mut self, value: Option<&str>) {
        let code = match value {
            None | Some("") => NONE,
            Some(v) => match &self.last {
                Some((last, c)) if last == v => *c,
                _ => {
                    let c = self.code_for(v);
                    self.last = Some((v.to_owned(), c));
                    c
                }
            },
        };
        self.codes.push(code);
    }

    /// The code of `v`, adding it to the dictionary when new.
    pub fn code_for(&mut self, v: &str) -> u32 {
        if let Some(&c) = self.lookup.get(v) {
            return c;
        }
        let c = self.values.len() as u32;
        self.values.push(v.to_owned());
        self.lookup.insert(v.to_owned(), c);
        c
    }

    /// Pushes an already-known code (or [`NONE`]).
    pub fn push_code(&mut self, code: u32) {
        debug_assert!(code == NONE || (code as usize) < self.values.len());
        self.codes.push(code);
    }

    /// Replaces every row's code at once; each must index [`values`](Self::values)
    /// or be [`NONE`].
    pub(crate) fn set_codes(&mut self, codes: Vec<u32>) {
        debug_assert!(codes
            .iter()
            .all(|&c| c == NONE || (c as usize) < self.values.len()));
        self.codes = codes;
    }

    /// Replaces the code of row `row`.
    pub fn set_code(&mut self, row: usize, code: u32) {
        self.codes[row] = code;
    }

    /// Code per row ([`NONE`] = missing).
    pub fn codes(&self) -> &[u32] {
        &self.codes
    }

    /// The dictionary: `values()[code]`.
    pub fn values(&self) -> &[String] {
        &self.values
    }

    /// Value of row `row`.
    pub fn get(&self, row: usize) -> Option<&str> {
        match self.codes[row] {
            NONE => None,
            c => Some(&self.values[c as usize]),
        }
    }

    /// Appends every row of `other`, re-coding its values into this dictionary.
    pub fn extend_from(&mut self, other: &Categorical) {
        let map: Vec<u32> = other.values.iter().map(|v| self.code_for(v)).collect();
        self.codes.extend(
            other
                .codes
                .iter()
                .map(|&c| if c == NONE { NONE } else { map[c as usize] }),
        );
    }

    /// True when no row has a value.
    pub fn is_all_missing(&self) -> bool {
        self.codes.iter().all(|&c| c == NONE)
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// Reserves room for `n` more rows.
    pub fn reserve(&mut self, n: usize) {
        self.codes.reserve(n);
    }
}

/// Residents (patients), stored column-wise. Individual rows never leave the
/// process: the API only ever sees aggregates built from them.
#[derive(Debug, Clone, Default)]
pub struct Residents {
    pub(crate) location: Vec<LonLat>,
    /// People at each point; empty when every weight is 1 (`unit_weights`)
    /// and a loader left it so, then made by [`Residents::weights`] if
    /// asked for (`ones`).
    pub(crate) weight: Vec<f64>,
    pub(crate) ones: std::sync::OnceLock<Vec<f64>>,
    pub(crate) ids: crate::resident_ids::Ids,
    pub(crate) municipality: Categorical,
    pub(crate) group: Categorical,
    /// Facility index of `gp_id`, or [`NONE`].
    pub(crate) gp: Vec<u32>,
    pub(crate) extra: Vec<(String, Categorical)>,
    pub(crate) unit_weights: bool,
    /// The columns the load kept: those it did not are empty.
    pub(crate) kept: crate::ResidentColumns,
}

impl Residents {
    /// Number of resident rows (points).
    pub fn len(&self) -> usize {
        self.location.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.location.is_empty()
    }

    /// Residence locations.
    pub fn locations(&self) -> &[LonLat] {
        &self.location
    }

    /// People at each point.
    pub fn weights(&self) -> &[f64] {
        if self.weight.len() == self.len() {
            &self.weight
        } else {
            self.ones.get_or_init(|| vec![1.0; self.len()])
        }
    }

    /// True when every weight is 1.
    pub fn has_unit_weights(&self) -> bool {
        self.unit_weights
    }

    /// Total people.
    pub fn total_weight(&self) -> f64 {
        self.weights().iter().sum()
    }

    /// Pseudonymous id of row `row`.
    pub fn id(&self, row: usize) -> &str {
        // Ids are validated UTF-8 when loaded.
        std::str::from_utf8(self.ids.get(row)).unwrap_or_default()
    }

    /// The id of `row` as bytes (no UTF-8 check: for hashing).
    pub(crate) fn id_bytes(&self, row: usize) -> &[u8] {
        self.ids.get(row)
    }

    /// The columns the load kept (panics below when one not kept is
    /// read).
    pub fn kept(&self) -> &crate::ResidentColumns {
        &self.kept
    }

    /// ISTAT municipality column.
    #[track_caller]
    pub fn municipality(&self) -> &Categorical {
        crate::ResidentColumns::expect(self.kept.keeps_municipality(), "municipality");
        &self.municipality
    }

    /// `group` column.
    #[track_caller]
    pub fn group(&self) -> &Categorical {
        crate::ResidentColumns::expect(self.kept.keeps_group(), "group");
        &self.group
    }

    /// Listed GP (facility index) per row, [`NONE`] when absent.
    #[track_caller]
    pub fn gp(&self) -> &[u32] {
        crate::ResidentColumns::expect(self.kept.keeps_gp(), "gp_id");
        &self.gp
    }

    /// The code of value `v` in the `group` column (e.g. `ad_user`), if
    /// any resident has it.
    #[track_caller]
    pub fn group_code(&self, v: &str) -> Option<u32> {
        self.group()
            .values()
            .iter()
            .position(|x| x == v)
            .map(|c| c as u32)
    }

    /// Extra columns kept from the input, by name.
    #[track_caller]
    pub fn extra(&self, name: &str) -> Option<&Categorical> {
        let (n, c) = self.extra.iter().find(|(n, _)| n == name)?;
        crate::ResidentColumns::expect(self.kept.keeps_extra(n), n);
        Some(c)
    }

    /// Names of the extra columns.
    pub fn extra_names(&self) -> impl Iterator<Item = &str> {
        self.extra.iter().map(|(n, _)| n.as_str())
    }
}
