//! `cargo xtask demo [envoy]`: the filter in front of a bundled echo
//! upstream, with a freshly generated ES256 key (inline JWKS) standing in
//! for the authorization server, so no other service is needed. Prints what
//! it started and curl commands, and serves until Ctrl-C (or SIGTERM).
//!
//! `--proxy oauth-host` (the default) runs the host in this process;
//! `--proxy envoy` runs real Envoy (`$OAUTH_ENVOY_BIN`, else
//! `target/peers/bin/envoy`, installed by `cargo xtask peers`) with
//! `envoy/jwt.yaml` rendered by the test harness: the same module, filter
//! configuration, upstream, tokens and curl commands. Envoy runs in a
//! process group of its own, killed when the demo stops (or dies).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use oauth_tests::host::{closed_port, Echo, Host, TempDir};
use oauth_tests::jwt::{access_claims, jwks, SigningKey};
use oauth_tests::peers::{self, Envoy};
use serde_json::{json, Value};

const USAGE: &str = "usage: demo [--proxy oauth-host|envoy] [--module oauth_filter.wasm] [--login]";

const ISSUER: &str = "https://demo-issuer.example";
const AUDIENCE: &str = "demo-api";
const USER: &str = "alice";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Proxy {
    OauthHost,
    Envoy,
}

/// `--proxy` (default oauth-host), `--module` (default: built here) and
/// `--login` (the browser-login demo).
fn parse_args() -> (Proxy, Option<PathBuf>, bool) {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut proxy = Proxy::OauthHost;
    let mut module = None;
    let mut login = false;
    let mut it = args.iter();
    let usage = |arg: &str| -> ! {
        eprintln!("demo: unexpected argument `{arg}`\n{USAGE}");
        std::process::exit(2);
    };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--proxy" => {
                proxy = match it.next().map(String::as_str) {
                    Some("oauth-host") => Proxy::OauthHost,
                    Some("envoy") => Proxy::Envoy,
                    _ => usage(arg),
                }
            }
            "--module" => match it.next() {
                Some(path) => module = Some(PathBuf::from(path)),
                None => usage(arg),
            },
            "--login" => login = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => usage(other),
        }
    }
    (proxy, module, login)
}

/// The filter configuration both proxies run (docs/filter-config.md).
fn filter_config(key: &SigningKey) -> Value {
    json!({
        "realm": "demo",
        "require_https": false,
        "providers": [{
            "name": "demo",
            "issuer": ISSUER,
            "audiences": [AUDIENCE],
            "algorithms": ["ES256"],
            "jwks": { "inline": jwks(&[key]) },
            "require_at_jwt_typ": true
        }],
        "scopes": { "required": ["read"] },
        "upstream": {
            "claim_headers": [
                { "claim": "sub", "header": "x-auth-sub" },
                { "claim": "client_id", "header": "x-auth-client-id" },
                { "claim": "scope", "header": "x-auth-scope" },
                { "claim": "roles", "header": "x-auth-roles" }
            ],
            "remove_authorization": true
        }
    })
}

/// `preferred` on 127.0.0.1 when it is free, else 0 (any free port).
fn port_or_any(preferred: u16) -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", preferred))
        .map(|_| preferred)
        .unwrap_or(0)
}

/// What is running: kept alive until the demo stops.
enum Running {
    Host(Host),
    Envoy(Box<Envoy>),
}

async fn start_host(
    module: &Path,
    filter: &Value,
    echo: &Echo,
    dir: &TempDir,
    as_port: u16,
) -> Running {
    let port = port_or_any(8080);
    let yaml = format!(
        "workers: 2\nadmin: {{address: 127.0.0.1:0}}\nlisteners: [{{address: 127.0.0.1:{port}}}]\n\
         routes: [{{cluster: echo}}]\n\
         clusters: [{{name: echo, address: '{}', connect_timeout: 1s, request_timeout: 5s}}, \
         {{name: auth_server, address: 'http://127.0.0.1:{as_port}', connect_timeout: 1s, \
         request_timeout: 10s}}]\n\
         filters:\n  - name: oauth\n    module: '{}'\n    vm_id: oauth\n    configuration: '{}'\n",
        echo.url(),
        module.display(),
        filter.to_string().replace('\'', "''"),
    );
    Running::Host(Host::start(&yaml, dir.path()).await)
}

async fn start_envoy(
    module: &Path,
    filter: &Value,
    echo: &Echo,
    template: &str,
    as_port: u16,
) -> Running {
    let bin = peers::envoy_bin();
    if !bin.is_file() {
        eprintln!(
            "demo: {} is missing: run `cargo xtask demo envoy` (installs Envoy on the way) \
             or `cargo xtask peers`",
            bin.display()
        );
        std::process::exit(1);
    }
    // envoy/<template>, rendered as the end-to-end tests do. Without an
    // authorization server the `auth_server` cluster points at a closed port
    // (the keys are inline).
    let config = peers::envoy_config(template, module, filter, echo.addr.port(), as_port);
    let listener = port_or_any(10000).to_string();
    let config = peers::render(
        &config,
        &[
            ("LISTENER_PORT", &listener),
            ("ADMIN_PORT", "{{ADMIN_PORT}}"),
        ],
    );
    eprintln!(
        "demo: starting Envoy ({}) with envoy/{template}",
        bin.display()
    );
    // Envoy::start blocks while it polls Envoy's admin API.
    let envoy = tokio::task::spawn_blocking(move || Envoy::start(&config, peers::next_base_id()))
        .await
        .unwrap_or_else(|e| {
            eprintln!("demo: Envoy did not start: {e}");
            std::process::exit(1);
        });
    Running::Envoy(Box::new(envoy))
}

#[tokio::main]
async fn main() {
    let (proxy, module, login) = parse_args();
    let module = module.unwrap_or_else(|| {
        eprintln!("demo: building the filter module (wasm32-wasip1)");
        oauth_tests::wasm::module("oauth-filter")
    });
    if login {
        return login_demo(proxy, &module).await;
    }
    let key = SigningKey::es256("demo-key-1");
    let filter = filter_config(&key);
    let echo = Echo::start("echo");
    let dir = TempDir::new("demo");
    let running = match proxy {
        Proxy::OauthHost => start_host(&module, &filter, &echo, &dir, closed_port()).await,
        Proxy::Envoy => start_envoy(&module, &filter, &echo, "jwt.yaml", closed_port()).await,
    };
    let (name, addr, admin) = describe(&running);

    let mut claims = access_claims(ISSUER, AUDIENCE, USER, "read write", 3600);
    claims["roles"] = json!(["admin", "ops"]);
    let token = key.sign(&claims);
    let mut no_read = access_claims(ISSUER, AUDIENCE, USER, "write", 3600);
    no_read["roles"] = json!(["admin", "ops"]);
    let no_read = key.sign(&no_read);
    let client = claims["client_id"].as_str().unwrap_or("demo-client");

    println!();
    println!("started:");
    println!("  proxy     {name}: http://{addr}");
    println!("            the oauth filter: {}", module.display());
    println!(
        "  upstream  echo at {} (answers with the request it saw, as JSON)",
        echo.url()
    );
    println!(
        "  issuer    {ISSUER}: an ES256 key made for this run (kid demo-key-1, inline JWKS; \
         no authorization server to run)"
    );
    println!("  policy    audience {AUDIENCE}, scope `read` required, claims to x-auth-* headers");
    println!("  admin     {admin}");
    println!(
        "  tokens    user (sub) {USER}, client_id {client}, roles admin,ops, valid 1 hour; \
         TOKEN has scope \"read write\", TOKEN_NO_READ \"write\""
    );
    println!();
    println!("TOKEN='{token}'");
    println!("TOKEN_NO_READ='{no_read}'");
    println!();
    println!("# 1. a valid token: 200, the upstream sees the claims as x-auth-* headers");
    println!("curl -i -H \"Authorization: Bearer $TOKEN\" http://{addr}/orders/42");
    println!();
    println!("# 2. no token: 401 with WWW-Authenticate");
    println!("curl -i http://{addr}/orders/42");
    println!();
    println!("# 3. a token without the read scope: 403, error=\"insufficient_scope\"");
    println!("curl -i -H \"Authorization: Bearer $TOKEN_NO_READ\" http://{addr}/orders/42");
    println!();
    serve_until_signal(running).await;
    drop(echo);
}

/// Prints how to stop, waits for Ctrl-C (or SIGTERM), stops the proxy.
async fn serve_until_signal(running: Running) {
    println!("Ctrl-C to stop.");
    let signal = wait_for_signal().await;
    eprintln!("demo: {signal}: stopping");
    match running {
        Running::Host(host) => host.shutdown().await,
        // Dropping it kills Envoy's process group.
        Running::Envoy(envoy) => drop(envoy),
    }
}

/// The proxy's name, listener and admin URL.
fn describe(running: &Running) -> (String, SocketAddr, String) {
    match running {
        Running::Host(host) => (
            "oauth-host (in this process)".to_string(),
            host.listener(0),
            format!("http://{}/metrics", host.admin()),
        ),
        Running::Envoy(envoy) => (
            format!("Envoy ({})", peers::envoy_bin().display()),
            SocketAddr::from(([127, 0, 0, 1], envoy.listener_port())),
            format!("http://127.0.0.1:{}/stats?filter=wasm", envoy.admin_port()),
        ),
    }
}

/// The browser-login demo: the real authorization server (oidc-provider,
/// `tests/as`, its development login page), the echo upstream behind
/// `/app`, and the proxy logging browsers in (envoy/login.yaml's shape).
async fn login_demo(proxy: Proxy, module: &Path) {
    eprintln!("demo: starting the authorization server (oidc-provider on Node)");
    let auth = tokio::task::spawn_blocking(|| {
        peers::AuthServer::start(peers::AuthServerOptions::default())
    })
    .await
    .unwrap_or_else(|e| {
        eprintln!("demo: the authorization server did not start: {e}");
        std::process::exit(1);
    });
    let issuer = auth.issuer();
    let filter = json!({
        "login": {
            "registrations": [{
                "name": "demo",
                "issuer": issuer,
                "client_auth": {"method": "client_secret_basic", "client_id": "gateway-web",
                                "client_secret": "gateway-web-secret"},
                "authorization_endpoint": format!("{issuer}/auth"),
                "token_endpoint": {"uri": format!("{issuer}/token"), "cluster": "auth_server"},
                "revocation_endpoint": {"uri": format!("{issuer}/token/revocation"),
                                        "cluster": "auth_server"},
                "end_session_endpoint": format!("{issuer}/session/end"),
                "jwks": {"discovery": {"cluster": "auth_server"}},
                "scopes": ["email", "profile"],
            }],
            "routes": [{"path_prefix": "/app"}],
            "session": {
                // A demo key: in production {"env": "NAME"}, the same key on
                // every proxy of a fleet.
                "keys": ["demo-session-key-0123456789abcdef0123456789"],
                "danger_insecure_cookies": true,
            },
            "upstream": {"claim_headers": {"x-user-sub": "sub", "x-user-email": "email"}},
        },
        "tick_ms": 100,
    });
    let echo = Echo::start("echo");
    let dir = TempDir::new("demo");
    let running = match proxy {
        Proxy::OauthHost => start_host(module, &filter, &echo, &dir, auth.port()).await,
        Proxy::Envoy => start_envoy(module, &filter, &echo, "login.yaml", auth.port()).await,
    };
    let (name, addr, _) = describe(&running);
    println!();
    println!("started:");
    println!("  proxy     {name}: http://{addr}");
    println!("  AS        oidc-provider at {issuer} (its development login page)");
    println!(
        "  upstream  echo at {} behind /app (answers with the request it saw)",
        echo.url()
    );
    println!();
    println!("Open in a browser:  http://{addr}/app/hello");
    println!("  log in with any user name (e.g. alice) and any password, then Continue;");
    println!("  the page shows what the upstream got: the access token, x-user-sub, x-user-email.");
    println!("Log out:            http://{addr}/oauth2/logout?goto=/app/hello");
    println!();
    serve_until_signal(running).await;
    drop(echo);
    drop(auth);
}

async fn wait_for_signal() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = tokio::signal::ctrl_c() => "SIGINT",
        },
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            "SIGINT"
        }
    }
}
