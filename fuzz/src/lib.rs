//! Shared by the fuzz targets: a scratch dataset whose files the targets
//! overwrite (on a RAM disk when there is one), and the HTTP service
//! in-process with an oracle for its answers.

use std::path::{Path, PathBuf};

use bacino_core::{Dataset, Error};

/// Facilities of the scratch dataset: GPs with capacities and list sizes,
/// a Casa di Comunità, pharmacies, an Ambulatorio Diffuso.
pub const FACILITIES: &str = "\
id,kind,name,lon,lat,capacity,list_size,status,municipality,ad
GP01,gp,Ambulatorio 1,9.600,45.600,40,30,active,016001,true
GP02,gp,Ambulatorio 2,9.640,45.610,40,35,active,016001,false
GP03,gp,Ambulatorio 3,9.700,45.620,30,20,active,016002,false
GP04,gp,Ambulatorio 4,9.720,45.580,30,28,ceased,016002,false
PED1,pediatrician,Pediatra 1,9.650,45.600,20,10,active,016001,false
CDC1,cdc,Casa di Comunità,9.660,45.605,,,active,016001,false
PH01,pharmacy,Farmacia 1,9.610,45.600,,,active,016001,false
PH02,pharmacy,Farmacia 2,9.710,45.615,,,active,016002,false
";

/// Every resident id starts with this: no answer may contain it.
pub const RESIDENT_PREFIX: &str = "RESIDENT";

/// 120 residents in two municipalities, listed with the GPs.
pub fn residents() -> String {
    let mut s = String::from("id,lon,lat,weight,municipality,gp_id,group\n");
    let gps = ["GP01", "GP02", "GP03", "GP04", ""];
    for i in 0..120u32 {
        let lon = 9.59 + 0.0011 * f64::from(i % 120);
        let lat = 45.57 + 0.0006 * f64::from((i * 37) % 100);
        let (muni, group) = if lon < 9.66 {
            ("016001", "assigned")
        } else {
            ("016002", "assigned")
        };
        let gp = gps[(i % 5) as usize];
        let group = if gp.is_empty() { "no_gp" } else { group };
        s += &format!(
            "{RESIDENT_PREFIX}{i:04},{lon:.5},{lat:.5},{},{muni},{gp},{group}\n",
            1 + i % 3
        );
    }
    s
}

/// Two municipalities covering the residents.
pub const AREAS: &str = r#"{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"code":"016001","name":"Uno"},"geometry":{"type":"Polygon","coordinates":[[[9.55,45.55],[9.66,45.55],[9.66,45.65],[9.55,45.65],[9.55,45.55]]]}},
{"type":"Feature","properties":{"code":"016002","name":"Due"},"geometry":{"type":"Polygon","coordinates":[[[9.66,45.55],[9.78,45.55],[9.78,45.65],[9.66,45.65],[9.66,45.55]]]}}
]}"#;

/// The scratch dataset's manifest.
pub const MANIFEST: &str = "\
name = \"fuzz\"
title = \"Fuzz\"
[facilities]
path = \"facilities.csv\"
[residents]
path = \"residents.csv\"
[areas]
path = \"areas.geojson\"
id_property = \"code\"
name_property = \"name\"
";

/// A dataset directory whose files the targets overwrite.
pub struct Scratch {
    dir: tempfile::TempDir,
}

impl Default for Scratch {
    fn default() -> Self {
        Self::new()
    }
}

impl Scratch {
    /// Writes the scratch dataset, on `/dev/shm` when it exists.
    pub fn new() -> Scratch {
        let shm = Path::new("/dev/shm");
        let dir = if shm.is_dir() {
            tempfile::tempdir_in(shm)
        } else {
            tempfile::tempdir()
        }
        .expect("a scratch directory");
        for (name, text) in [
            ("dataset.toml", MANIFEST.to_owned()),
            ("facilities.csv", FACILITIES.to_owned()),
            ("residents.csv", residents()),
            ("areas.geojson", AREAS.to_owned()),
        ] {
            std::fs::write(dir.path().join(name), text).expect("write scratch file");
        }
        Scratch { dir }
    }

    /// The scratch dataset with its residents read from `file` (a
    /// `.parquet` or `.gpkg` the target writes) instead of the CSV.
    pub fn with_residents(file: &str) -> Scratch {
        let s = Scratch::new();
        std::fs::write(
            s.path().join("dataset.toml"),
            MANIFEST.replace("path = \"residents.csv\"", &format!("path = \"{file}\"")),
        )
        .expect("write scratch manifest");
        s
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Overwrites `file` with `bytes` and loads the dataset. Checks the
    /// loader's contract on the way: an error is one of the loading kinds
    /// and names its file (an input error starts with file:line:column).
    pub fn load_with(&self, file: &str, bytes: &[u8]) -> Result<Dataset, Error> {
        let path: PathBuf = self.dir.path().join(file);
        std::fs::write(&path, bytes).expect("write fuzz input");
        let out = Dataset::load(self.dir.path());
        if let Err(e) = &out {
            let text = e.to_string();
            assert!(!text.is_empty());
            match e {
                // The file it concerns is named (a manifest may point
                // anywhere: the path given, not necessarily the scratch
                // directory).
                Error::Io { path, .. } => assert!(
                    !path.as_os_str().is_empty() && text.contains(&*path.to_string_lossy()),
                    "an I/O error names the file: {text}"
                ),
                Error::Input { location, .. } => assert!(
                    !location.path.as_os_str().is_empty(),
                    "an input error names its file: {text}"
                ),
                Error::Crs { .. } | Error::Network(_) => {}
                other => panic!("not a loading error: {other:?}"),
            }
        }
        out
    }
}

/// The HTTP service on the scratch dataset, in-process: `call(method,
/// uri, body)` gives the status and body. Built once per process.
pub struct Service {
    call: Box<dyn Fn(&str, &str, Option<Vec<u8>>) -> (u16, Vec<u8>)>,
    _scratch: Scratch,
}

impl Default for Service {
    fn default() -> Self {
        Self::new()
    }
}

impl Service {
    /// Loads the scratch dataset and starts the service.
    pub fn new() -> Service {
        use actix_web::test;
        let scratch = Scratch::new();
        let dataset = Dataset::load(scratch.path()).expect("the scratch dataset loads");
        let config = bacino_api::Config {
            pool: bacino_api::PoolConfig {
                workers: 1,
                queue: 4,
                deadline: std::time::Duration::from_secs(600),
            },
            ..bacino_api::Config::default()
        };
        let state = bacino_api::AppState::new(vec![dataset], config).expect("state");
        let rt: &'static actix_rt::SystemRunner = Box::leak(Box::new(actix_rt::System::new()));
        let app = rt.block_on(test::init_service(
            actix_web::App::new().configure(bacino_api::configure(state)),
        ));
        let app = Box::leak(Box::new(app));
        let call = move |method: &str, uri: &str, body: Option<Vec<u8>>| {
            let method = actix_web::http::Method::from_bytes(method.as_bytes()).expect("method");
            let mut req = test::TestRequest::default().method(method).uri(uri);
            if let Some(b) = body {
                req = req
                    .insert_header(("content-type", "application/json"))
                    .set_payload(b);
            }
            rt.block_on(async {
                let resp = test::call_service(&*app, req.to_request()).await;
                let status = resp.status().as_u16();
                (status, test::read_body(resp).await.to_vec())
            })
        };
        Service {
            call: Box::new(call),
            _scratch: scratch,
        }
    }

    /// One request; checks the service's contract on its answer: bad input
    /// is never a 5xx, an error is a problem document, and no answer names
    /// a resident.
    pub fn check(&self, method: &str, uri: &str, body: Option<Vec<u8>>) -> u16 {
        let (status, body) = (self.call)(method, uri, body);
        let text = String::from_utf8_lossy(&body);
        assert!(status < 500, "{method} {uri} → {status}: {text}");
        assert!(
            !text.contains(RESIDENT_PREFIX),
            "{method} {uri} → {status} names a resident"
        );
        if status >= 400 {
            let p: serde_json::Value = serde_json::from_slice(&body)
                .unwrap_or_else(|e| panic!("{uri} → {status}: not JSON ({e}): {text}"));
            assert_eq!(p["status"], status, "{text}");
        }
        status
    }
}

/// Percent-encodes what a URI may not hold, keeping `%` (so that broken
/// escapes reach the server) and the query's own separators.
pub fn uri_safe(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-._~=&,:;!$'()*+/?@%".contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

/// Lets a panic raised inside the parquet or arrow crates unwind instead of
/// aborting at once. The GeoParquet loader catches those (the decoders
/// still assert on some corrupt pages: `decoder_guard` in bacino-formats)
/// and reports the file as corrupt, which `Scratch::load_with` then checks
/// like any loading error. Every other panic still goes to libFuzzer's
/// hook, which aborts; a decoder panic that escapes the loader reaches
/// libFuzzer's catch around the target, which aborts too.
pub fn let_decoder_panics_unwind() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let fuzzer = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let in_decoder = info.location().is_some_and(|l| {
                let file = l.file();
                file.contains("/parquet-") || file.contains("/arrow-")
            });
            if !in_decoder {
                fuzzer(info);
            }
        }));
    });
}
