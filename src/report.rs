//! `bacino report`: the self-contained HTML report of a dataset.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;

/// Arguments of `bacino report`.
#[derive(clap::Args)]
pub(crate) struct ReportArgs {
    /// Dataset directory (with dataset.toml) or manifest file.
    dir: PathBuf,
    /// The HTML file to write (replaced whole, or left untouched on error).
    #[arg(long)]
    out: PathBuf,
    /// Language: it (default) or en.
    #[arg(long, default_value = "it")]
    lang: String,
    /// Groups with fewer people are suppressed.
    #[arg(long, default_value_t = bacino_core::DEFAULT_MIN_GROUP_SIZE)]
    min_group_size: f64,
}

pub(crate) fn report(args: ReportArgs) -> anyhow::Result<()> {
    let lang: bacino_report::Lang = args
        .lang
        .parse()
        .map_err(|e: String| anyhow::anyhow!("--lang: {e}"))?;
    anyhow::ensure!(
        args.min_group_size.is_finite() && args.min_group_size >= 1.0,
        "--min-group-size: expected a number ≥ 1, found {}",
        args.min_group_size
    );
    let dataset = crate::load(&args.dir)?;
    let options = bacino_report::ReportOptions {
        lang,
        min_group_size: args.min_group_size,
        ..Default::default()
    };
    let html = bacino_report::render(&dataset, &options, &bacino_batch::Parallel)?;
    // Written beside the target and renamed over it: a reader never sees
    // half a report, and a failure leaves the old one.
    let dir = match args.out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(&dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    tmp.write_all(html.as_bytes())
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    // A temporary file is private (0600); a report is meant to be shared.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .with_context(|| format!("cannot write {}", args.out.display()))?;
    }
    tmp.persist(&args.out)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    eprintln!("wrote {} ({} bytes)", args.out.display(), html.len());
    Ok(())
}
