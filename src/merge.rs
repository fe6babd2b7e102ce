//! `bacino merge`: the parts of a sharded `stats` or `batch` run combined
//! into the unsharded output (CONTRACT §12).

use std::io::{Read, Write};
use std::path::PathBuf;

use anyhow::Context;
use bacino_batch::Parallel;
use bacino_core::DistancePart;

use crate::Format;

#[derive(clap::Args)]
pub(crate) struct MergeArgs {
    /// Every part of one run: the files `bacino stats --shard I/N --out
    /// PART` wrote, or the `index.part-I-of-N.json` of `bacino batch
    /// --shard I/N`; in any order.
    #[arg(required = true)]
    parts: Vec<PathBuf>,
    /// Write here instead of stdout (for a batch: its `OUTDIR/index.json`).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Output format of a merged `stats` run.
    #[arg(long, value_enum, default_value = "json")]
    format: Format,
}

/// The first bytes of a `stats` part.
const STATS_MAGIC: &[u8] = b"BACINOPT";

pub(crate) fn merge(args: MergeArgs) -> anyhow::Result<()> {
    let mut stats = 0;
    for p in &args.parts {
        let mut head = [0u8; 8];
        let mut f =
            std::fs::File::open(p).with_context(|| format!("cannot read {}", p.display()))?;
        let n = f
            .read(&mut head)
            .with_context(|| format!("cannot read {}", p.display()))?;
        if &head[..n] == STATS_MAGIC {
            stats += 1;
        }
    }
    let body = if stats == args.parts.len() {
        let parts = args
            .parts
            .iter()
            .map(|p| {
                let bytes =
                    std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?;
                Ok(DistancePart::from_bytes(&bytes, p)?)
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let report = bacino_core::merge_distance_parts(parts, &Parallel)?;
        let mut body = Vec::new();
        match args.format {
            Format::Json => {
                serde_json::to_writer_pretty(&mut body, &report)?;
                writeln!(body)?;
            }
            Format::Table => crate::write_table(&mut body, &report)?,
        }
        body
    } else if stats == 0 {
        if matches!(args.format, Format::Table) {
            anyhow::bail!("--format table is for merged `stats` parts; a batch index is JSON");
        }
        let parts = args
            .parts
            .iter()
            .map(|p| {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("cannot read {}", p.display()))?;
                Ok((p.clone(), text))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        bacino_batch::merge_index_parts(&parts)?.into_bytes()
    } else {
        anyhow::bail!("the parts mix `stats` parts and other files: give every part of one run");
    };
    match &args.out {
        Some(path) => crate::write_atomic(path, &body)?,
        None => std::io::stdout().lock().write_all(&body)?,
    }
    Ok(())
}
