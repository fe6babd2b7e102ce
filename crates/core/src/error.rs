//! The one error type of `bacino-core`.

use std::fmt;
use std::path::PathBuf;

/// Where in an input file a problem was found.
///
/// Rendered like a compiler diagnostic, `residents.csv:1234: column 3 (lat)`,
/// so that editors and terminals can jump to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file, as given in (or resolved from) the manifest.
    pub path: PathBuf,
    /// 1-based physical line, when the format has lines.
    pub line: Option<u64>,
    /// 1-based column (field) number, when known.
    pub column: Option<usize>,
    /// Field or property name, when known.
    pub field: Option<String>,
    /// Feature number (0-based) for GeoJSON input.
    pub feature: Option<usize>,
    /// The record in a table format, e.g. ``layer `residents`, fid 17``
    /// (GeoPackage) or `row 5` (GeoParquet).
    pub record: Option<String>,
}

impl Location {
    /// A location naming only a file.
    pub fn file(path: impl Into<PathBuf>) -> Self {
        Location {
            path: path.into(),
            line: None,
            column: None,
            field: None,
            feature: None,
            record: None,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(record) = &self.record {
            write!(f, ": {record}")?;
        } else if let Some(feature) = self.feature {
            write!(f, ": feature #{feature}")?;
        }
        match (self.column, &self.field) {
            (Some(c), Some(name)) => write!(f, ": column {c} ({name})"),
            (Some(c), None) => write!(f, ": column {c}"),
            (None, Some(name)) => write!(f, ": field `{name}`"),
            (None, None) => Ok(()),
        }
    }
}

/// Everything that can go wrong in `bacino-core`.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Input data is malformed; `location` says where and `expected` what.
    #[error("{location}: {message}")]
    Input {
        /// Where.
        location: Box<Location>,
        /// What was expected and what was found.
        message: String,
    },
    /// A coordinate reference system is unknown or a transformation failed.
    #[error("CRS {crs}: {message}")]
    Crs {
        /// The CRS as written, e.g. `EPSG:3003`.
        crs: String,
        /// What went wrong.
        message: String,
    },
    /// A request parameter is invalid (names the parameter).
    #[error("invalid `{name}`: {message}")]
    InvalidParameter {
        /// Parameter name as the user wrote it.
        name: String,
        /// What was expected.
        message: String,
    },
    /// A facility id names no facility of the dataset.
    #[error("unknown facility id `{0}`")]
    UnknownFacility(String),
    /// A computation needs facilities that the dataset does not have.
    #[error("{0}")]
    Unavailable(String),
    /// The road network could not be built or queried.
    #[error(transparent)]
    Network(#[from] bacino_network::Error),
}

impl Error {
    /// An input error at `location`.
    pub fn input(location: Location, message: impl Into<String>) -> Self {
        Error::Input {
            location: Box::new(location),
            message: message.into(),
        }
    }

    /// An invalid-parameter error.
    pub fn param(name: impl Into<String>, message: impl Into<String>) -> Self {
        Error::InvalidParameter {
            name: name.into(),
            message: message.into(),
        }
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
