//! `bacino serve`: settings from an optional TOML file, overridden by flags,
//! validated before anything is loaded; then the HTTP API on actix-web.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

#[derive(clap::Args)]
pub(crate) struct ServeArgs {
    /// Dataset directories (each with dataset.toml); none: the bundled default.
    dirs: Vec<PathBuf>,
    /// Settings file (TOML): bind, datasets, min_group_size, max_body_bytes, workers.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080]; port 0 picks a free
    /// port (printed on stderr).
    #[arg(long)]
    bind: Option<String>,
    /// Groups with fewer people are suppressed; requests cannot go lower [default: 10].
    #[arg(long)]
    min_group_size: Option<f64>,
    /// Largest accepted request body, bytes [default: 262144].
    #[arg(long)]
    max_body_bytes: Option<usize>,
    /// HTTP worker threads [default: one per core].
    #[arg(long)]
    workers: Option<usize>,
}

/// The settings file. Relative dataset paths resolve against the file's
/// directory.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServeFile {
    bind: Option<String>,
    #[serde(default)]
    datasets: Vec<PathBuf>,
    min_group_size: Option<f64>,
    max_body_bytes: Option<usize>,
    workers: Option<usize>,
}

/// Settings after merging file and flags, validated.
#[derive(Debug)]
struct Settings {
    bind: String,
    datasets: Vec<PathBuf>,
    api: bacino_api::Config,
    workers: Option<usize>,
}

fn settings(args: ServeArgs) -> anyhow::Result<Settings> {
    let file = match &args.config {
        None => ServeFile::default(),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let mut file: ServeFile =
                toml::from_str(&text).with_context(|| format!("{}", path.display()))?;
            let base = path.parent().unwrap_or(Path::new("."));
            for d in &mut file.datasets {
                if d.is_relative() {
                    *d = base.join(&*d);
                }
            }
            file
        }
    };
    let mut datasets = if args.dirs.is_empty() {
        file.datasets
    } else {
        args.dirs
    };
    if datasets.is_empty() {
        datasets.extend(default_datasets());
    }
    let defaults = bacino_api::Config::default();
    let api = bacino_api::Config {
        min_group_size: args
            .min_group_size
            .or(file.min_group_size)
            .unwrap_or(defaults.min_group_size),
        max_body_bytes: args
            .max_body_bytes
            .or(file.max_body_bytes)
            .unwrap_or(defaults.max_body_bytes),
    };
    if !(api.min_group_size >= 1.0 && api.min_group_size.is_finite()) {
        anyhow::bail!(
            "min_group_size must be a number ≥ 1, found {}",
            api.min_group_size
        );
    }
    if api.max_body_bytes < 64 {
        anyhow::bail!(
            "max_body_bytes must be at least 64, found {}",
            api.max_body_bytes
        );
    }
    let workers = args.workers.or(file.workers);
    if workers == Some(0) {
        anyhow::bail!("workers must be at least 1");
    }
    Ok(Settings {
        bind: args
            .bind
            .or(file.bind)
            .unwrap_or_else(|| "127.0.0.1:8080".into()),
        datasets,
        api,
        workers,
    })
}

/// The bundled datasets, `fixtures/bergamo` and `fixtures/monaco` (with its
/// OpenStreetMap road network), of the working directory, else of the
/// source tree this binary was built from.
fn default_datasets() -> Vec<PathBuf> {
    ["fixtures/bergamo", "fixtures/monaco"]
        .into_iter()
        .map(|d| {
            let here = PathBuf::from(d);
            if here.join("dataset.toml").is_file() {
                here
            } else {
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(d)
            }
        })
        .collect()
}

pub(crate) fn serve(args: ServeArgs) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_ansi(std::io::stderr().is_terminal())
        // Closing a request's span logs it once: request id, route, status, time.
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_writer(std::io::stderr)
        .init();
    let s = settings(args)?;
    let mut datasets = Vec::with_capacity(s.datasets.len());
    for dir in &s.datasets {
        let d = crate::load(dir)?;
        tracing::info!(
            dataset = %d.name,
            residents = d.residents().len(),
            facilities = d.facilities().len(),
            "loaded"
        );
        // Road networks are prepared before serving: a bad extract stops
        // the start, and no request waits for a graph to be built.
        if d.network_specs().is_some() {
            let t = std::time::Instant::now();
            let profiles = bacino_core::network::ProfileName::ALL;
            let outcomes = d
                .prepare_networks(&profiles, &bacino_batch::Parallel)
                .with_context(|| format!("cannot prepare the road network of {}", d.name))?;
            for (profile, outcome) in outcomes {
                crate::log_outcome(&d.name, profile, &outcome, t.elapsed());
            }
        }
        datasets.push(d);
    }
    let state = bacino_api::AppState::new(datasets, s.api).map_err(anyhow::Error::msg)?;
    let bind = s.bind;
    actix_web::rt::System::new().block_on(async move {
        let mut server = actix_web::HttpServer::new(move || {
            actix_web::App::new()
                // One span per request, with a request id, method, path,
                // status and latency in every log line of that request.
                .wrap(tracing_actix_web::TracingLogger::default())
                .configure(bacino_api::configure(state.clone()))
        });
        if let Some(w) = s.workers {
            server = server.workers(w);
        }
        let server = server
            .bind(&bind)
            .with_context(|| format!("cannot listen on {bind}"))?;
        for addr in server.addrs() {
            eprintln!("listening on http://{addr}");
        }
        // actix stops gracefully on SIGINT/SIGTERM, finishing open requests.
        server.run().await.context("server failed")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cmd {
        #[command(flatten)]
        args: ServeArgs,
    }

    fn parse(argv: &[&str]) -> ServeArgs {
        Cmd::parse_from(std::iter::once("serve").chain(argv.iter().copied())).args
    }

    #[test]
    fn flags_override_the_file_and_paths_resolve_against_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bacino.toml");
        std::fs::write(
            &file,
            "bind = \"0.0.0.0:9000\"\ndatasets = [\"data/a\"]\nmin_group_size = 20\n",
        )
        .unwrap();
        let f = file.to_str().unwrap();
        let s = settings(parse(&["--config", f])).unwrap();
        assert_eq!(s.bind, "0.0.0.0:9000");
        assert_eq!(s.datasets, vec![dir.path().join("data/a")]);
        assert_eq!(s.api.min_group_size, 20.0);
        let s = settings(parse(&["--config", f, "--bind", "127.0.0.1:1", "x"])).unwrap();
        assert_eq!(s.bind, "127.0.0.1:1");
        assert_eq!(s.datasets, vec![PathBuf::from("x")]);
    }

    #[test]
    fn unknown_keys_and_unsafe_thresholds_are_refused_at_start() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bacino.toml");
        std::fs::write(&file, "bnid = \"0.0.0.0:9000\"\n").unwrap();
        let e = settings(parse(&["--config", file.to_str().unwrap()])).unwrap_err();
        assert!(format!("{e:#}").contains("bnid"), "{e:#}");
        let e = settings(parse(&["--min-group-size", "0.5"])).unwrap_err();
        assert!(e.to_string().contains("min_group_size"));
        assert!(settings(parse(&["--workers", "0"])).is_err());
    }
}
