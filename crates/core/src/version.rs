//! The version of a dataset: a 128-bit hash (XXH3) of the bytes of its
//! manifest and of every source file it names (facilities, residents,
//! areas, cost table, agendas, road extract), each tagged with its role and
//! length. Files are hashed in blocks of [`BLOCK`] bytes, in parallel, and
//! the blocks' hashes hashed in order. A residents CSV is read in pieces
//! of the same size, so its blocks are hashed as its first pass reads them
//! ([`FileDigests`]), not read a third time. Two loads of the same bytes
//! have the same version; any change to a byte gives another. It keys
//! cached answers and entity tags across a reload, and records which data
//! a stored result was computed on.
//!
//! A file replaced while it is being loaded would give a version that
//! matches neither the old nor the new bytes: [`Stamps`] (size and
//! modification time of each file) taken before the load and after the
//! hash catch that, and the load fails rather than mislabel its data.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use xxhash_rust::xxh3::Xxh3;

use crate::error::{Error, Location, Result};
use crate::exec::Executor;
use crate::manifest::{Input, ResolvedManifest};

/// The files a manifest reads, with their roles, the manifest first
/// (PostGIS tables are versioned by the digest of the rows read).
fn files_of(m: &ResolvedManifest) -> Vec<(&'static str, PathBuf)> {
    let mut out = vec![("manifest", m.path.clone())];
    if let Input::File(p) = &m.facilities {
        out.push(("facilities", p.clone()));
    }
    if let Input::File(p) = &m.residents {
        out.push(("residents", p.clone()));
    }
    if let Some((Input::File(p), _, _)) = &m.areas {
        out.push(("areas", p.clone()));
    }
    if let Some((p, _)) = &m.costs {
        out.push(("costs", p.clone()));
    }
    if let Some(p) = &m.agendas {
        out.push(("agendas", p.clone()));
    }
    if let Some(specs) = &m.network {
        if let Some(s) = specs.first() {
            out.push(("network", s.path.clone()));
        }
    }
    out
}

/// Size and modification time of every source file (`None` for a file
/// missing: the loader then reports it with its own located error).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Stamps(Vec<(PathBuf, Option<Stamp>)>);

/// A file's size and modification time.
type Stamp = (u64, Option<SystemTime>);

fn io(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl Stamps {
    pub fn of(m: &ResolvedManifest) -> Stamps {
        Stamps(
            files_of(m)
                .into_iter()
                .map(|(_, p)| {
                    let stamp = std::fs::metadata(&p)
                        .ok()
                        .map(|meta| (meta.len(), meta.modified().ok()));
                    (p, stamp)
                })
                .collect(),
        )
    }

    /// Fails, naming the file, when a file changed since `self`.
    pub fn unchanged_since(&self, before: &Stamps) -> Result<()> {
        for (a, b) in before.0.iter().zip(&self.0) {
            if a != b {
                return Err(Error::input(
                    Location::file(&a.0),
                    "the file changed while the dataset was being loaded: load it again \
                     once it is written whole",
                ));
            }
        }
        Ok(())
    }
}

/// Bytes per block of a file hashed on its own.
pub(crate) const BLOCK: u64 = 2 << 20;

/// The digests of a file's blocks ([`BlockDigest`] of bytes `[k·BLOCK,
/// (k+1)·BLOCK)`, the last block shorter), taken while a loader read it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FileDigests {
    pub(crate) path: PathBuf,
    /// The file's length when read.
    pub(crate) len: u64,
    pub(crate) blocks: Vec<u128>,
}

/// The digest of one block, taken as its bytes are read, part by part.
pub(crate) struct BlockDigest(Xxh3);

impl BlockDigest {
    pub(crate) fn new() -> Self {
        BlockDigest(Xxh3::new())
    }

    /// The block's next bytes.
    pub(crate) fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    pub(crate) fn finish(&self) -> u128 {
        self.0.digest128()
    }
}

/// The version of the files `m` names and of the PostGIS tables it reads
/// (`tables`: role and digest of the rows read): 32 hex digits.
/// `known`: block digests a loader took of a file as it read it, used in
/// place of reading it again when the file's length is still theirs (a
/// file changed since is caught by [`Stamps`]).
pub(crate) fn version_of<E: Executor>(
    m: &ResolvedManifest,
    tables: &[(&str, String)],
    known: &[FileDigests],
    exec: &E,
) -> Result<String> {
    let mut h = Xxh3::new();
    let mut blocks = Vec::new();
    let mut files = Vec::new();
    for (role, path) in files_of(m) {
        let len = std::fs::metadata(&path).map_err(|e| io(&path, e))?.len();
        let digests = known.iter().find(|k| {
            k.path == path && k.len == len && k.blocks.len() as u64 == len.div_ceil(BLOCK)
        });
        if digests.is_none() {
            blocks.extend((0..len.div_ceil(BLOCK)).map(|b| (files.len(), b * BLOCK)));
        }
        files.push((role, path, len, digests));
    }
    let digests = exec.map(blocks, |(f, at)| -> Result<u128> {
        use std::io::{Read, Seek, SeekFrom};
        let path: &Path = &files[f].1;
        let mut file = std::fs::File::open(path).map_err(|e| io(path, e))?;
        file.seek(SeekFrom::Start(at)).map_err(|e| io(path, e))?;
        // Read through a buffer that stays in cache.
        let mut block = file.take(BLOCK);
        let mut buf = vec![0u8; 128 << 10];
        let mut h = BlockDigest::new();
        loop {
            let n = block.read(&mut buf).map_err(|e| io(path, e))?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
        Ok(h.finish())
    });
    let mut digests = digests.into_iter();
    for (role, _, len, known) in &files {
        h.update(role.as_bytes());
        h.update(&len.to_le_bytes());
        match known {
            Some(k) => {
                for d in &k.blocks {
                    h.update(&d.to_le_bytes());
                }
            }
            None => {
                for d in digests.by_ref().take(len.div_ceil(BLOCK) as usize) {
                    h.update(&d?.to_le_bytes());
                }
            }
        }
    }
    for (role, digest) in tables {
        h.update(role.as_bytes());
        h.update(&(digest.len() as u64).to_le_bytes());
        h.update(digest.as_bytes());
    }
    Ok(format!("{:032x}", h.digest128()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dataset(dir: &Path, residents: &str) {
        std::fs::write(
            dir.join("dataset.toml"),
            "name = \"t\"\n[facilities]\npath = \"f.csv\"\n[residents]\npath = \"r.csv\"\n",
        )
        .unwrap();
        std::fs::write(dir.join("f.csv"), "id,kind,lon,lat\nGP1,gp,9.6,45.6\n").unwrap();
        std::fs::write(dir.join("r.csv"), residents).unwrap();
    }

    #[test]
    fn the_version_follows_every_byte_and_only_the_bytes() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        dataset(a.path(), "id,lon,lat\nR1,9.61,45.61\n");
        dataset(b.path(), "id,lon,lat\nR1,9.61,45.61\n");
        let va = crate::Dataset::load(a.path()).unwrap().version().to_owned();
        let vb = crate::Dataset::load(b.path()).unwrap().version().to_owned();
        assert_eq!(va.len(), 32);
        assert_eq!(va, vb, "same bytes elsewhere, same version");
        // One digit of one coordinate.
        dataset(b.path(), "id,lon,lat\nR1,9.61,45.62\n");
        let vc = crate::Dataset::load(b.path()).unwrap().version().to_owned();
        assert_ne!(va, vc);
        // The manifest counts too (a title changes the answers' text).
        let mut toml = std::fs::read_to_string(a.path().join("dataset.toml")).unwrap();
        toml.insert_str(0, "title = \"T\"\n");
        std::fs::write(a.path().join("dataset.toml"), toml).unwrap();
        let vd = crate::Dataset::load(a.path()).unwrap().version().to_owned();
        assert_ne!(va, vd);
        // A load's version is the version of its files.
        let m = ResolvedManifest::read(b.path()).unwrap();
        assert_eq!(
            version_of(&m, &[], &[], &crate::exec::Sequential).unwrap(),
            vc
        );
    }

    #[test]
    fn every_block_of_a_large_file_counts() {
        let a = tempfile::tempdir().unwrap();
        // Three blocks and a bit: the last byte changed in each of them.
        let row = "R0000001,9.61,45.61\n";
        let mut csv = String::from("id,lon,lat\n");
        let mut k = 0;
        while (csv.len() as u64) < 3 * BLOCK + 100 {
            csv.push_str(&row.replace("0000001", &format!("{k:07}")));
            k += 1;
        }
        dataset(a.path(), &csv);
        let m = ResolvedManifest::read(a.path()).unwrap();
        let v0 = version_of(&m, &[], &[], &crate::exec::Sequential).unwrap();
        let mut seen = vec![v0.clone()];
        for block in 0..4 {
            let at = (block * BLOCK as usize + 12_345).min(csv.len() - 5);
            let mut bytes = csv.clone().into_bytes();
            // A digit of a coordinate or of an id, one more.
            let i = (at..)
                .find(|&i| bytes[i].is_ascii_digit() && bytes[i] < b'9')
                .unwrap();
            bytes[i] += 1;
            std::fs::write(a.path().join("r.csv"), &bytes).unwrap();
            let v = version_of(&m, &[], &[], &crate::exec::Sequential).unwrap();
            assert!(!seen.contains(&v), "block {block}: the change went unseen");
            seen.push(v);
        }
        std::fs::write(a.path().join("r.csv"), &csv).unwrap();
        assert_eq!(
            version_of(&m, &[], &[], &crate::exec::Sequential).unwrap(),
            v0
        );
    }

    /// The residents CSV is hashed by the pieces its first pass reads: a
    /// load's version is the version of its files read again block by
    /// block, for rows split among pieces and for a file read whole (a
    /// quote), with a last line feed or without.
    #[test]
    fn a_load_hashes_the_residents_as_it_reads_them() {
        let a = tempfile::tempdir().unwrap();
        let mut csv = String::from("id,lon,lat\n");
        let mut k = 0;
        while (csv.len() as u64) < 3 * BLOCK + 100 {
            csv.push_str(&format!("R{k:07},9.61,45.61\n"));
            k += 1;
        }
        for (quote, last_feed) in [(false, true), (false, false), (true, true)] {
            let mut text = if quote {
                csv.replacen("id", "\"id\"", 1)
            } else {
                csv.clone()
            };
            if !last_feed {
                text.pop();
            }
            dataset(a.path(), &text);
            let loaded = crate::Dataset::load(a.path()).unwrap();
            assert_eq!(loaded.residents().len(), k);
            let m = ResolvedManifest::read(a.path()).unwrap();
            let again = version_of(&m, &[], &[], &crate::exec::Sequential).unwrap();
            assert_eq!(
                loaded.version(),
                again,
                "quote {quote}, last feed {last_feed}"
            );
        }
    }

    #[test]
    fn a_file_changed_during_the_load_is_caught_by_its_stamp() {
        let a = tempfile::tempdir().unwrap();
        dataset(a.path(), "id,lon,lat\nR1,9.61,45.61\n");
        let m = ResolvedManifest::read(a.path()).unwrap();
        let before = Stamps::of(&m);
        assert!(Stamps::of(&m).unchanged_since(&before).is_ok());
        std::fs::write(
            a.path().join("r.csv"),
            "id,lon,lat\nR1,9.61,45.61\nR2,9.6,45.6\n",
        )
        .unwrap();
        let e = Stamps::of(&m).unchanged_since(&before).unwrap_err();
        assert!(e.to_string().contains("r.csv"), "{e}");
        assert!(e.to_string().contains("changed while"), "{e}");
    }
}
