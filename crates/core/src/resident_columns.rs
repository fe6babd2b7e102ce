//! Which of the residents' columns a load keeps.
//!
//! Every field of a residents file is parsed and checked whatever is kept:
//! an unknown GP id, a bad coordinate or a duplicate id is an error all the
//! same. A column that no analysis of the process reads need not be
//! stored, though: `bacino stats --to nearest` without a grouping reads
//! locations and weights only, and nationally the GP column and the four
//! categorical ones are 1 GB of the 2.7 GB a load holds. Locations, weights
//! and ids are always kept (the ids are checked for duplicates, and a cost
//! table is keyed by them).
//!
//! Only the parallel CSV path leaves columns out; other loaders, and a
//! prepared file, keep everything. [`crate::Residents::kept`] says what a
//! load kept, and reading a column it did not keep panics: a caller that
//! asked for too little is a programming error, never a wrong figure.

/// The residents' columns a load keeps, beyond locations, weights and ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResidentColumns {
    gp: bool,
    municipality: bool,
    group: bool,
    /// The extra columns kept, by name; `None`: every one.
    extra: Option<Vec<String>>,
}

impl Default for ResidentColumns {
    fn default() -> Self {
        Self::all()
    }
}

impl ResidentColumns {
    /// Every column.
    pub fn all() -> Self {
        ResidentColumns {
            gp: true,
            municipality: true,
            group: true,
            extra: None,
        }
    }

    /// Locations, weights and ids only.
    pub fn minimal() -> Self {
        ResidentColumns {
            gp: false,
            municipality: false,
            group: false,
            extra: Some(Vec::new()),
        }
    }

    /// These columns and `column`: `gp_id`, `municipality`, `group`, or
    /// the name of an extra column (a name that no column has adds
    /// nothing a load could keep).
    pub fn with(mut self, column: &str) -> Self {
        match column {
            "gp_id" => self.gp = true,
            "municipality" => self.municipality = true,
            "group" => self.group = true,
            name => {
                if let Some(extra) = &mut self.extra {
                    if !extra.iter().any(|e| e == name) {
                        extra.push(name.to_owned());
                    }
                }
            }
        }
        self
    }

    /// True when every column is kept.
    pub fn is_all(&self) -> bool {
        *self == Self::all()
    }

    /// Whether the listed GP (`gp_id`) is kept.
    pub fn keeps_gp(&self) -> bool {
        self.gp
    }

    /// Whether the `municipality` column is kept.
    pub fn keeps_municipality(&self) -> bool {
        self.municipality
    }

    /// Whether the `group` column is kept.
    pub fn keeps_group(&self) -> bool {
        self.group
    }

    /// Whether the extra column `name` is kept.
    pub fn keeps_extra(&self, name: &str) -> bool {
        self.extra
            .as_ref()
            .is_none_or(|e| e.iter().any(|x| x == name))
    }

    /// Whether the categorical column `k` of a load is kept: 0 is the
    /// municipality, 1 the group, `2 + j` the extra column `names[j]`.
    pub(crate) fn keeps_categorical(&self, k: usize, names: &[&str]) -> bool {
        match k {
            0 => self.municipality,
            1 => self.group,
            _ => self.keeps_extra(names[k - 2]),
        }
    }

    /// Panics, naming the column, unless `kept`.
    #[track_caller]
    pub(crate) fn expect(kept: bool, column: &str) {
        assert!(
            kept,
            "the residents' `{column}` column was not kept by their load \
             (see ResidentColumns): the caller asked for too few columns"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_added_by_name() {
        let c = ResidentColumns::minimal();
        assert!(!c.keeps_gp() && !c.keeps_municipality() && !c.keeps_group());
        assert!(!c.keeps_extra("region"));
        let c = c.with("gp_id").with("region").with("region");
        assert!(c.keeps_gp() && c.keeps_extra("region") && !c.keeps_extra("province"));
        assert!(!c.keeps_municipality() && !c.keeps_group() && !c.is_all());
        assert!(c.keeps_categorical(2, &["region"]));
        assert!(!c.keeps_categorical(2, &["province"]) && !c.keeps_categorical(0, &[]));
        let c = c.with("municipality").with("group");
        assert!(c.keeps_categorical(0, &[]) && c.keeps_categorical(1, &[]));
        // A list of extra columns is never all of them.
        assert!(!c.is_all());
        let all = ResidentColumns::all();
        assert!(all.is_all() && all.keeps_extra("anything"));
        assert_eq!(all.clone().with("gp_id").with("x"), all);
        assert_eq!(ResidentColumns::default(), all);
    }
}
