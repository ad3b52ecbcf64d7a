//! `oauth-host`: serve (`--config FILE`) or validate (`check --config FILE`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use oauth_host::config::{Config, ConfigError};
use oauth_host::server::{self, Server};
use tracing::info;

/// Examples printed after `oauth-host --help`.
const EXAMPLES: &str = "\
Examples:
  oauth-host check --config host.yaml     validate the config, load its files, compile and
                                          configure every module, then exit
  oauth-host --config host.yaml           serve until SIGINT/SIGTERM (then drain)
  oauth-host --config host.yaml --log-level oauth_host=debug

A minimal host.yaml: the oauth filter in front of one upstream
  listeners: [{address: 127.0.0.1:8080}]
  routes: [{cluster: api}]
  clusters: [{name: api, address: 'http://127.0.0.1:3000'}]
  filters:
    - name: oauth
      module: target/wasm/opt/oauth_filter.wasm   # from `cargo xtask build`
      configuration_file: filter.json                            # docs/filter-config.md

Relative paths resolve against the config file's directory. All settings:
docs/host-config.md. To see it working first: `cargo xtask demo`.";

/// Examples printed after `oauth-host check --help`.
const CHECK_EXAMPLES: &str = "\
Examples:
  oauth-host check --config host.yaml     prints `config ok: ...` and exits 0, or one line
                                          `config error: <field>: <what>` and exits 1

The check reads every file the config names (modules, TLS certificates, plugin configuration
files), compiles and instantiates each module and runs its configuration callbacks, so a
plugin that refuses its configuration fails here. Settings: docs/host-config.md.";

/// Standalone proxy-wasm host: runs proxy-wasm modules in front of an upstream.
#[derive(Parser)]
#[command(name = "oauth-host", version, after_help = EXAMPLES)]
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
    #[command(after_help = CHECK_EXAMPLES)]
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
        .fmt_fields(oauth_host::log_fields::HostFields)
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();

    match (cli.command, cli.config) {
        (Some(Command::Check { config }), _) => check(&config),
        (None, Some(config)) => serve(&config),
        (None, None) => {
            eprintln!(
                "error: --config FILE is required: `oauth-host --config host.yaml` serves, \
                 `oauth-host check --config host.yaml` validates (format: docs/host-config.md; \
                 examples: oauth-host --help)"
            );
            ExitCode::from(2)
        }
    }
}

fn load(path: &Path) -> Result<Config, ExitCode> {
    Config::from_file(path).map_err(|e| {
        match hint(&e) {
            Some(hint) => eprintln!("config error: {e} ({hint})"),
            None => eprintln!("config error: {e}"),
        }
        ExitCode::FAILURE
    })
}

/// The usual fix for a common config error, appended to its one line.
fn hint(e: &ConfigError) -> Option<&'static str> {
    let unreadable = e.message.starts_with("cannot read ");
    if e.field.is_empty() && e.message.starts_with("cannot read config file ") {
        return Some(
            "pass --config FILE with an existing YAML or JSON file; \
             see docs/host-config.md and `oauth-host --help`",
        );
    }
    let field = e.field.as_str();
    if field.starts_with("filters[") && field.ends_with("].module") && unreadable {
        return Some(
            "build the filter with `cargo xtask build`: it writes \
             target/wasm/opt/oauth_filter.wasm; \
             relative paths resolve against the config file's directory",
        );
    }
    if unreadable {
        return Some("relative paths resolve against the config file's directory");
    }
    None
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
