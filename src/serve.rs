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
    /// Settings file (TOML): bind, datasets, min_group_size, max_body_bytes,
    /// workers, result_cache_bytes, compute_threads, queue, deadline_s,
    /// store, open, [[tokens]].
    #[arg(long)]
    config: Option<PathBuf>,
    /// Serve without tokens on a non-loopback address (without
    /// `[[tokens]]` the server otherwise listens on loopback only).
    #[arg(long)]
    open: bool,
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
    /// Bytes the result cache may hold, all datasets together; least
    /// recently used answers go first [default: 268435456].
    #[arg(long)]
    result_cache_bytes: Option<usize>,
    /// Threads for heavy work (uncached answers, scenarios, siting)
    /// [default: one per core].
    #[arg(long)]
    compute_threads: Option<usize>,
    /// Heavy requests that may wait for a thread; beyond, 503 with
    /// Retry-After [default: 16].
    #[arg(long)]
    queue: Option<usize>,
    /// Seconds after which a heavy request is abandoned (503)
    /// [default: 120].
    #[arg(long)]
    deadline_s: Option<f64>,
    /// Where posted scenarios are kept: `sqlite:PATH`, `memory` (forgotten
    /// at exit) or `postgres://USER@HOST:PORT/DB` [default:
    /// sqlite:$XDG_STATE_HOME/bacino/store.sqlite, i.e.
    /// ~/.local/state/bacino/store.sqlite].
    #[arg(long)]
    store: Option<String>,
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
    result_cache_bytes: Option<usize>,
    compute_threads: Option<usize>,
    queue: Option<usize>,
    deadline_s: Option<f64>,
    store: Option<String>,
    open: Option<bool>,
    #[serde(default)]
    tokens: Vec<TokenEntry>,
}

/// One `[[tokens]]` entry (CONTRACT §11): the token's SHA-256 (`bacino
/// token` prints one), its role and an optional id for the audit log.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenEntry {
    sha256: String,
    role: String,
    id: Option<String>,
}

/// Settings after merging file and flags, validated.
#[derive(Debug)]
struct Settings {
    bind: String,
    datasets: Vec<PathBuf>,
    api: bacino_api::Config,
    workers: Option<usize>,
    store: bacino_store::StoreUrl,
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
    let mut tokens = Vec::with_capacity(file.tokens.len());
    for (k, t) in file.tokens.iter().enumerate() {
        let role: bacino_api::Role = t
            .role
            .parse()
            .map_err(|e| anyhow::anyhow!("tokens[{k}].role: {e}"))?;
        let rule = bacino_api::TokenRule::new(&t.sha256, role, t.id.clone())
            .map_err(|e| anyhow::anyhow!("tokens[{k}].{e}"))?;
        if tokens
            .iter()
            .any(|r: &bacino_api::TokenRule| r.id == rule.id)
        {
            anyhow::bail!("tokens[{k}]: the id `{}` is used twice", rule.id);
        }
        tokens.push(rule);
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
        tokens,
        result_cache_bytes: args
            .result_cache_bytes
            .or(file.result_cache_bytes)
            .unwrap_or(defaults.result_cache_bytes),
        pool: bacino_api::PoolConfig {
            workers: args
                .compute_threads
                .or(file.compute_threads)
                .unwrap_or(defaults.pool.workers),
            queue: args.queue.or(file.queue).unwrap_or(defaults.pool.queue),
            deadline: match args.deadline_s.or(file.deadline_s) {
                None => defaults.pool.deadline,
                Some(s) if s.is_finite() && s > 0.0 && s <= 86_400.0 => {
                    std::time::Duration::from_secs_f64(s)
                }
                Some(s) => anyhow::bail!("deadline_s must be seconds in (0, 86400], found {s}"),
            },
        },
    };
    if api.pool.workers == 0 {
        anyhow::bail!("compute_threads must be at least 1");
    }
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
    let bind = args
        .bind
        .or(file.bind)
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let store = match args.store.or(file.store) {
        Some(url) => url.parse()?,
        None => bacino_store::StoreUrl::Sqlite(default_store_path()),
    };
    let open = args.open || file.open.unwrap_or(false);
    if api.tokens.is_empty() && !open && !loopback_only(&bind) {
        anyhow::bail!(
            "refusing to serve {bind} without access control: only a loopback address may be served without tokens. Add [[tokens]] to the settings file (`bacino token` makes one), or pass --open to serve it open"
        );
    }
    Ok(Settings {
        bind,
        datasets,
        api,
        workers,
        store,
    })
}

/// The default store: `$XDG_STATE_HOME/bacino/store.sqlite`, else
/// `~/.local/state/bacino/store.sqlite` (the XDG base directory
/// specification's place for state that outlives a restart), else
/// `bacino-store.sqlite` in the working directory.
fn default_store_path() -> PathBuf {
    let state = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".local/state"))
        });
    match state {
        Some(dir) => dir.join("bacino").join("store.sqlite"),
        None => PathBuf::from("bacino-store.sqlite"),
    }
}

/// Opens the store (creating the default one's directory), before any
/// dataset is loaded: a store that cannot be opened stops the start.
fn open_store(
    url: &bacino_store::StoreUrl,
) -> anyhow::Result<std::sync::Arc<dyn bacino_store::Store>> {
    if let bacino_store::StoreUrl::Sqlite(path) = url {
        if *path == default_store_path() {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
            }
        }
    }
    let store = bacino_store::open(url)?;
    tracing::info!(store = %store.location(), "scenario store open");
    Ok(store)
}

/// True when every address `bind` resolves to is a loopback one (an
/// address that does not resolve is left to the listener's own error).
fn loopback_only(bind: &str) -> bool {
    use std::net::ToSocketAddrs;
    match bind.to_socket_addrs() {
        Ok(addrs) => addrs.into_iter().all(|a| a.ip().is_loopback()),
        Err(_) => true,
    }
}

/// `bacino token`: a new random token and the settings entry of its hash.
#[derive(clap::Args)]
pub(crate) struct TokenArgs {
    /// The role of the entry printed: reader, planner or admin.
    #[arg(long, default_value = "reader")]
    role: String,
    /// An id for the audit log (default: the hash's first 12 digits).
    #[arg(long)]
    id: Option<String>,
}

/// Prints a new token (256 random bits from the operating system) on the
/// first line and the `[[tokens]]` entry for the settings file after it.
/// Only the hash goes in the file; the token is shown once.
pub(crate) fn token(args: TokenArgs) -> anyhow::Result<()> {
    let role: bacino_api::Role = args.role.parse().map_err(anyhow::Error::msg)?;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let token: String = std::iter::once("bacino_".to_owned())
        .chain(bytes.iter().map(|b| format!("{b:02x}")))
        .collect();
    let hash = bacino_api::auth::sha256_hex(&token);
    println!("{token}");
    println!();
    println!("[[tokens]]");
    println!("sha256 = \"{hash}\"");
    println!("role   = \"{role}\"");
    if let Some(id) = args.id {
        println!("id     = {}", toml::Value::String(id));
    }
    Ok(())
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
    let store = open_store(&s.store)?;
    let datasets = load_all(&s.datasets)?;
    if s.api.tokens.is_empty() {
        tracing::info!("access control: none (no [[tokens]]): every request is allowed");
    } else {
        tracing::info!(tokens = s.api.tokens.len(), "access control: bearer tokens");
    }
    let dirs = s.datasets.clone();
    let state = bacino_api::AppState::new(datasets, s.api)
        .map_err(anyhow::Error::msg)?
        .with_loader(move || load_all(&dirs).map_err(|e| format!("{e:#}")))
        .with_store(store);
    let bind = s.bind;
    actix_web::rt::System::new().block_on(async move {
        #[cfg(unix)]
        reload_on_hangup(state.clone())?;
        let mut server = actix_web::HttpServer::new(move || {
            actix_web::App::new()
                // One span per request, with a request id, method, path,
                // status and latency in every log line of that request.
                .wrap(tracing_actix_web::TracingLogger::default())
                // gzip or Brotli when the client's Accept-Encoding asks.
                .wrap(actix_web::middleware::Compress::default())
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

/// Loads the datasets and prepares their road networks: at start and for
/// every reload (a bad extract fails the load; no request waits for a
/// graph to be built).
fn load_all(dirs: &[PathBuf]) -> anyhow::Result<Vec<bacino_core::Dataset>> {
    let mut datasets = Vec::with_capacity(dirs.len());
    for dir in dirs {
        let d = crate::load(dir)?;
        tracing::info!(
            dataset = %d.name,
            version = d.version(),
            residents = d.residents().len(),
            facilities = d.facilities().len(),
            "loaded"
        );
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
    Ok(datasets)
}

/// `SIGHUP` reloads every dataset, as `POST /v1/admin/reload` does; the
/// outcome goes to the log.
#[cfg(unix)]
fn reload_on_hangup(state: bacino_api::AppState) -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hangups = signal(SignalKind::hangup()).context("cannot listen for SIGHUP")?;
    actix_web::rt::spawn(async move {
        while hangups.recv().await.is_some() {
            tracing::info!("SIGHUP: reloading the datasets");
            let st = state.clone();
            match actix_web::rt::task::spawn_blocking(move || st.reload()).await {
                Ok(Ok(report)) => {
                    for r in report {
                        tracing::info!(dataset = %r.name, version = %r.version, changed = r.changed, "reload");
                    }
                }
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "reload failed: the datasets loaded before stay served")
                }
                Err(e) => tracing::error!(error = %e, "reload stopped"),
            }
        }
    });
    Ok(())
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
            "bind = \"0.0.0.0:9000\"\nopen = true\ndatasets = [\"data/a\"]\nmin_group_size = 20\n",
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
        assert!(settings(parse(&["--compute-threads", "0"])).is_err());
        for bad in ["0", "-1", "NaN", "1e9"] {
            let e = settings(parse(&[&format!("--deadline-s={bad}")])).unwrap_err();
            assert!(e.to_string().contains("deadline_s"), "{bad}: {e}");
        }
    }

    #[test]
    fn the_pool_takes_its_sizes_from_the_file_and_the_flags() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bacino.toml");
        std::fs::write(
            &file,
            "compute_threads = 3
queue = 5
deadline_s = 2.5
",
        )
        .unwrap();
        let f = file.to_str().unwrap();
        let p = settings(parse(&["--config", f])).unwrap().api.pool;
        assert_eq!((p.workers, p.queue), (3, 5));
        assert_eq!(p.deadline, std::time::Duration::from_millis(2500));
        let p = settings(parse(&[
            "--config",
            f,
            "--queue",
            "0",
            "--compute-threads",
            "1",
        ]))
        .unwrap()
        .api
        .pool;
        assert_eq!((p.workers, p.queue), (1, 0));
        let d = settings(parse(&[])).unwrap().api.pool;
        assert_eq!(d.queue, bacino_api::DEFAULT_QUEUE);
        assert_eq!(d.deadline.as_secs(), bacino_api::DEFAULT_DEADLINE_S);
    }

    #[test]
    fn the_store_comes_from_the_flag_the_file_or_the_state_directory() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bacino.toml");
        std::fs::write(&file, "store = \"sqlite:/srv/bacino/store.sqlite\"\n").unwrap();
        let f = file.to_str().unwrap();
        assert_eq!(
            settings(parse(&["--config", f])).unwrap().store,
            bacino_store::StoreUrl::Sqlite("/srv/bacino/store.sqlite".into())
        );
        assert_eq!(
            settings(parse(&["--config", f, "--store", "memory"]))
                .unwrap()
                .store,
            bacino_store::StoreUrl::Memory
        );
        let d = settings(parse(&[])).unwrap().store;
        assert_eq!(d, bacino_store::StoreUrl::Sqlite(default_store_path()));
        assert!(default_store_path().ends_with("bacino/store.sqlite"));
        let e = settings(parse(&["--store", "/tmp/x.sqlite"])).unwrap_err();
        assert!(e.to_string().contains("sqlite:PATH"), "{e}");
    }

    #[test]
    fn without_tokens_only_loopback_is_served_unless_open() {
        let e = settings(parse(&["--bind", "0.0.0.0:8080"])).unwrap_err();
        assert!(e.to_string().contains("--open"), "{e}");
        assert!(settings(parse(&["--bind", "0.0.0.0:8080", "--open"])).is_ok());
        assert!(settings(parse(&["--bind", "127.0.0.1:8080"])).is_ok());
        assert!(settings(parse(&["--bind", "[::1]:8080"])).is_ok());
        assert!(settings(parse(&["--bind", "localhost:8080"])).is_ok());
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bacino.toml");
        let hash = bacino_api::auth::sha256_hex("secret");
        std::fs::write(
            &file,
            format!(
                "bind = \"0.0.0.0:9000\"\n[[tokens]]\nsha256 = \"{hash}\"\nrole = \"planner\"\n"
            ),
        )
        .unwrap();
        let s = settings(parse(&["--config", file.to_str().unwrap()])).unwrap();
        assert_eq!(s.api.tokens.len(), 1);
        assert_eq!(s.api.tokens[0].role, bacino_api::Role::Planner);
    }

    #[test]
    fn bad_token_entries_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bacino.toml");
        let hash = bacino_api::auth::sha256_hex("secret");
        for (entry, want) in [
            (
                format!("sha256 = \"{hash}\"\nrole = \"root\""),
                "tokens[0].role",
            ),
            (
                "sha256 = \"abc\"\nrole = \"reader\"".to_owned(),
                "tokens[0].sha256",
            ),
            (
                format!("sha256 = \"{hash}\"\nrole = \"reader\"\ntoken = \"x\""),
                "token",
            ),
        ] {
            std::fs::write(&file, format!("[[tokens]]\n{entry}\n")).unwrap();
            let e = settings(parse(&["--config", file.to_str().unwrap()])).unwrap_err();
            assert!(format!("{e:#}").contains(want), "{entry}: {e:#}");
        }
        std::fs::write(
            &file,
            format!("[[tokens]]\nsha256 = \"{hash}\"\nrole = \"reader\"\nid = \"a\"\n[[tokens]]\nsha256 = \"{hash}\"\nrole = \"admin\"\nid = \"a\"\n"),
        )
        .unwrap();
        let e = settings(parse(&["--config", file.to_str().unwrap()])).unwrap_err();
        assert!(e.to_string().contains("used twice"), "{e}");
    }
}
