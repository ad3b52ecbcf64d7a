//! `oauth-host`: serve (`--config FILE`) or validate (`check --config FILE`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use oauth_host::config::Config;
use oauth_host::server::{self, Server};
use tracing::info;

/// Standalone proxy-wasm host: runs proxy-wasm modules in front of an upstream.
#[derive(Parser)]
#[command(name = "oauth-host", version)]
struct Cli {
    /// Config file (YAML or JSON) to serve.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Log filter: trace, debug, info, warn, error, or a tracing directive
    /// such as `oauth_host=debug`.
    #[arg(long, global = true, default_value = "info", value_name = "LEVEL")]
    log_level: String,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Validate the config and instantiate its modules without serving.
    Check {
        /// Config file (YAML or JSON).
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = match tracing_subscriber::EnvFilter::try_new(&cli.log_level) {
        Ok(filter) => filter,
        Err(e) => {
            eprintln!("error: --log-level `{}`: {e}", cli.log_level);
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();

    match (cli.command, cli.config) {
        (Some(Command::Check { config }), _) => check(&config),
        (None, Some(config)) => serve(&config),
        (None, None) => {
            eprintln!("error: --config FILE is required (see --help)");
            ExitCode::from(2)
        }
    }
}

fn load(path: &Path) -> Result<Config, ExitCode> {
    Config::from_file(path).map_err(|e| {
        eprintln!("config error: {e}");
        ExitCode::FAILURE
    })
}

fn check(path: &Path) -> ExitCode {
    let config = match load(path) {
        Ok(config) => config,
        Err(code) => return code,
    };
    match server::check(&config) {
        Ok(()) => {
            println!(
                "config ok: {} listener(s), {} route(s), {} cluster(s), {} plugin(s)",
                config.listeners.len(),
                config.routes.len(),
                config.clusters.len(),
                config.filters.len()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{}", one_line(&e.to_string()));
            ExitCode::FAILURE
        }
    }
}

fn serve(path: &Path) -> ExitCode {
    let config = match load(path) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let handle = match Server::start(config).await {
            Ok(handle) => handle,
            Err(e) => {
                eprintln!("{}", one_line(&e.to_string()));
                return ExitCode::FAILURE;
            }
        };
        let signal = wait_for_signal().await;
        info!("{signal}: draining");
        handle.shutdown().await;
        info!("stopped");
        ExitCode::SUCCESS
    })
}

async fn wait_for_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            return tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = tokio::signal::ctrl_c() => "SIGINT",
            };
        }
    }
    let _ = tokio::signal::ctrl_c().await;
    "SIGINT"
}

/// Errors are reported on one line (module errors may carry newlines).
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
