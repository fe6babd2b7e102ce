//! The prepared-graph cache: one file per extract, profile and format
//! version, checked whole (SHA-256 of its content) before it is trusted.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::graph::{Cost, Graph, Segment};
use crate::osm::sha256_hex;

/// Bumped whenever the graph or its file layout changes meaning.
pub const FORMAT_VERSION: u32 = 1;

const MAGIC: &[u8; 8] = b"BACINOG\x01";
const NONE: u64 = u64::MAX;

/// What a cache file is for; all of it must match for the file to be used.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CacheKey {
    /// SHA-256 of the extract.
    pub extract_sha256: String,
    /// The profile's fingerprint ([`crate::Profile::fingerprint`]).
    pub profile: String,
    /// Extract timestamp, carried for reports.
    pub timestamp: Option<String>,
}

impl CacheKey {
    /// The file name in the cache directory.
    pub fn file_name(&self, profile_name: &str) -> String {
        let p = sha256_hex(self.profile.as_bytes());
        format!(
            "{}-{profile_name}-{}-v{FORMAT_VERSION}.graph",
            &self.extract_sha256[..16.min(self.extract_sha256.len())],
            &p[..12]
        )
    }
}

/// The default cache directory: `$BACINO_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/bacino`, else `~/.cache/bacino`.
pub fn default_cache_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("BACINO_CACHE_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(d));
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(d).join("bacino"));
    }
    std::env::var_os("HOME")
        .filter(|d| !d.is_empty())
        .map(|h| PathBuf::from(h).join(".cache").join("bacino"))
}

fn put_u32(out: &mut Vec<u8>, x: u32) {
    out.extend_from_slice(&x.to_le_bytes());
}

fn put_u64(out: &mut Vec<u8>, x: u64) {
    out.extend_from_slice(&x.to_le_bytes());
}

/// Serialises a graph with its key.
pub fn encode(key: &CacheKey, graph: &Graph) -> Vec<u8> {
    let header = serde_json::to_vec(key).expect("key serialises");
    let mut out = Vec::with_capacity(64 + graph.coords.len() * 24 + graph.segments.len() * 24);
    out.extend_from_slice(MAGIC);
    put_u32(&mut out, FORMAT_VERSION);
    put_u32(&mut out, header.len() as u32);
    out.extend_from_slice(&header);
    put_u64(&mut out, graph.coords.len() as u64);
    for c in &graph.coords {
        put_u64(&mut out, c[0].to_bits());
        put_u64(&mut out, c[1].to_bits());
    }
    for p in &graph.penalty {
        put_u64(&mut out, p.0);
    }
    put_u64(&mut out, graph.segments.len() as u64);
    for s in &graph.segments {
        put_u32(&mut out, s.a);
        put_u32(&mut out, s.b);
        put_u64(&mut out, s.ab.map_or(NONE, |c| c.0));
        put_u64(&mut out, s.ba.map_or(NONE, |c| c.0));
    }
    let digest = Sha256::digest(&out);
    out.extend_from_slice(&digest);
    out
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> std::result::Result<&[u8], String> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or("truncated")?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u32(&mut self) -> std::result::Result<u32, String> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }

    fn u64(&mut self) -> std::result::Result<u64, String> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }
}

/// Reads a cache file's content, checking its digest, version and key;
/// `Err` says why it cannot be used.
pub fn decode(bytes: &[u8], expected: &CacheKey) -> std::result::Result<Graph, String> {
    if bytes.len() < MAGIC.len() + 8 + 32 {
        return Err("too short".into());
    }
    let (body, digest) = bytes.split_at(bytes.len() - 32);
    if Sha256::digest(body)[..] != digest[..] {
        return Err("checksum mismatch (corrupt)".into());
    }
    let mut r = Reader {
        bytes: body,
        pos: 0,
    };
    if r.take(MAGIC.len())? != MAGIC {
        return Err("not a bacino graph cache".into());
    }
    let version = r.u32()?;
    if version != FORMAT_VERSION {
        return Err(format!(
            "format version {version}, expected {FORMAT_VERSION}"
        ));
    }
    let hlen = r.u32()? as usize;
    let key: CacheKey =
        serde_json::from_slice(r.take(hlen)?).map_err(|e| format!("bad header: {e}"))?;
    if key.extract_sha256 != expected.extract_sha256 {
        return Err("built from another extract (stale)".into());
    }
    if key.profile != expected.profile {
        return Err("built with other profile settings".into());
    }
    let n = r.u64()? as usize;
    if n > body.len() / 24 {
        return Err("node count out of range".into());
    }
    let mut coords = Vec::with_capacity(n);
    for _ in 0..n {
        coords.push([f64::from_bits(r.u64()?), f64::from_bits(r.u64()?)]);
    }
    let mut penalty = Vec::with_capacity(n);
    for _ in 0..n {
        penalty.push(Cost(r.u64()?));
    }
    let m = r.u64()? as usize;
    if m > body.len() / 24 {
        return Err("segment count out of range".into());
    }
    let mut segments = Vec::with_capacity(m);
    for _ in 0..m {
        let (a, b) = (r.u32()?, r.u32()?);
        let (ab, ba) = (r.u64()?, r.u64()?);
        if a as usize >= n || b as usize >= n {
            return Err("segment names a node out of range".into());
        }
        let c = |x: u64| (x != NONE).then_some(Cost(x));
        segments.push(Segment {
            a,
            b,
            ab: c(ab),
            ba: c(ba),
        });
    }
    if r.pos != body.len() {
        return Err("trailing bytes".into());
    }
    Ok(Graph::from_parts(coords, penalty, segments))
}

/// Writes a cache file atomically (temporary file, then rename).
pub fn store(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf> {
    let io = |path: &Path, source| Error::Io {
        path: path.to_path_buf(),
        what: "cannot write the graph cache",
        source,
    };
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let path = dir.join(name);
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut f = std::fs::File::create(&tmp).map_err(|e| io(&tmp, e))?;
    f.write_all(bytes).map_err(|e| io(&tmp, e))?;
    f.sync_all().map_err(|e| io(&tmp, e))?;
    drop(f);
    std::fs::rename(&tmp, &path).map_err(|e| io(&path, e))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph() -> Graph {
        Graph::from_parts(
            vec![[7.42, 43.73], [7.43, 43.74]],
            vec![Cost::ZERO, Cost::new(2000, 0)],
            vec![Segment {
                a: 0,
                b: 1,
                ab: Some(Cost::new(5, 6)),
                ba: None,
            }],
        )
    }

    fn key() -> CacheKey {
        CacheKey {
            extract_sha256: "ab".repeat(32),
            profile: "{\"name\":\"car\"}".into(),
            timestamp: None,
        }
    }

    #[test]
    fn a_graph_round_trips() {
        let bytes = encode(&key(), &graph());
        assert_eq!(decode(&bytes, &key()).unwrap(), graph());
    }

    #[test]
    fn any_flipped_byte_or_cut_is_refused() {
        let bytes = encode(&key(), &graph());
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x40;
            assert!(decode(&b, &key()).is_err(), "byte {i}");
        }
        for n in 0..bytes.len() {
            assert!(decode(&bytes[..n], &key()).is_err(), "cut at {n}");
        }
    }

    #[test]
    fn another_extract_or_profile_is_stale() {
        let bytes = encode(&key(), &graph());
        let mut k = key();
        k.extract_sha256 = "cd".repeat(32);
        assert!(decode(&bytes, &k).unwrap_err().contains("stale"));
        let mut k = key();
        k.profile = "{}".into();
        assert!(decode(&bytes, &k).unwrap_err().contains("profile"));
    }
}
