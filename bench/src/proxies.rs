//! The proxies of the bench: their configurations and how they start.

use std::path::Path;

use anyhow::{Context, Result};
use serde_json::{json, Value};

use crate::procs::{free_port, Group};
use crate::{root, tokens, Options, WORKERS};

pub fn filter_jwt_config(jwks: &Value) -> Value {
    json!({
        "realm": "bench",
        "require_https": false, "providers": [{
            "name": "bench",
            "issuer": tokens::ISSUER,
            "audiences": [tokens::AUDIENCE],
            "algorithms": ["RS256", "ES256"],
            "jwks": { "inline": jwks },
        }],
    })
}

pub fn filter_introspection_config(upstream_port: u16) -> Value {
    json!({
        "realm": "bench",
        "require_https": false, "providers": [{
            "name": "bench",
            "issuer": tokens::ISSUER,
            "audiences": [tokens::AUDIENCE],
            "resolver": "introspection",
            "introspection": {
                "uri": format!("http://127.0.0.1:{upstream_port}/introspect"),
                "cluster": "upstream",
                "client_auth": {
                    "method": "client_secret_basic",
                    "client_id": "bench",
                    "client_secret": "bench-secret",
                },
                "timeout_ms": 2000,
            },
        }],
        "introspection_cache": { "max_ttl_s": 3600, "default_ttl_s": 3600 },
    })
}

pub fn introspection_answer() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    json!({
        "active": true,
        "iss": tokens::ISSUER,
        "aud": tokens::AUDIENCE,
        "sub": "bench-user",
        "client_id": "bench-client",
        "scope": "read",
        "token_type": "Bearer",
        "iat": now,
        "exp": now + 4 * 3600,
    })
    .to_string()
}

/// The filter configuration of the scale cases: `providers` providers
/// (the token's issuer is the last), `keys` keys in each set (the tokens'
/// RSA key is the last; the others are P-256 keys that sign nothing),
/// `rules` scope rules (the request, `GET /`, matches the last only); the
/// audit line off.
pub fn scale_config(
    rsa_jwk: &Value,
    fillers: &[Value],
    providers: usize,
    keys: usize,
    rules: usize,
) -> Value {
    let mut set: Vec<Value> = fillers
        .iter()
        .take(keys.saturating_sub(1))
        .cloned()
        .collect();
    set.push(rsa_jwk.clone());
    let jwks = json!({ "keys": set });
    let mut all: Vec<Value> = (1..providers)
        .map(|i| {
            json!({
                "name": format!("other-{i}"),
                "issuer": format!("https://issuer-{i}.bench.test"),
                "audiences": [tokens::AUDIENCE],
                "algorithms": ["RS256", "ES256"],
                "jwks": { "inline": jwks },
            })
        })
        .collect();
    all.push(json!({
        "name": "bench",
        "issuer": tokens::ISSUER,
        "audiences": [tokens::AUDIENCE],
        "algorithms": ["RS256", "ES256"],
        "jwks": { "inline": jwks },
    }));
    let mut scope_rules: Vec<Value> = (1..rules)
        .map(|i| json!({ "path_prefix": format!("/area-{i}/"), "required": ["write"] }))
        .collect();
    scope_rules.push(json!({ "path_prefix": "/", "required": ["read"] }));
    json!({
        "realm": "bench",
        "require_https": false,
        "providers": all,
        "scopes": { "rules": scope_rules },
        "audit": { "enabled": false },
    })
}

/// Starts oauth-host with `module` (a module and its configuration) or
/// none.
pub fn start_host(
    o: &Options,
    dir: &Path,
    name: &str,
    upstream_port: u16,
    module: Option<(&Path, &Value)>,
) -> Result<(Group, u16)> {
    let port = free_port()?;
    let mut config = json!({
        "workers": WORKERS,
        "listeners": [{ "address": format!("127.0.0.1:{port}") }],
        "routes": [{ "path_prefix": "/", "cluster": "upstream" }],
        "clusters": [{ "name": "upstream", "address": format!("http://127.0.0.1:{upstream_port}") }],
    });
    if let Some((module, f)) = module {
        config["filters"] = json!([{
            "name": "oauth",
            "module": module.display().to_string(),
            "root_id": "oauth",
            "vm_id": "oauth",
            "configuration": f,
        }]);
    }
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, serde_json::to_string_pretty(&config)?)?;
    let group = Group::spawn(
        name,
        &o.host,
        &[
            "--config".into(),
            path.display().to_string(),
            "--log-level".into(),
            // The module's log (target `wasm`) at info: the audit line,
            // when on, is written as it would be in a deployment.
            if o.keep_logs {
                "info"
            } else {
                "warn,wasm=info"
            }
            .into(),
        ],
        dir.join(format!("{name}.log")),
    )?;
    Ok((group, port))
}

fn render(template: &str, vars: &[(&str, String)]) -> Result<String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find("}}").context("unclosed {{ in template")?;
        let name = after[..end].trim();
        let value = vars
            .iter()
            .find(|(k, _)| *k == name)
            .with_context(|| format!("no value for {{{{{name}}}}}"))?;
        out.push_str(&value.1);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Starts Envoy with these HTTP filters before the router.
pub fn start_envoy(
    o: &Options,
    dir: &Path,
    name: &str,
    base_id: u32,
    upstream_port: u16,
    filters: Vec<Value>,
) -> Result<(Group, u16)> {
    let port = free_port()?;
    let admin = free_port()?;
    let mut all = filters;
    all.push(json!({
        "name": "envoy.filters.http.router",
        "typed_config": { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" },
    }));
    let template = std::fs::read_to_string(root().join("bench/envoy/bench.yaml"))
        .context("reading bench/envoy/bench.yaml")?;
    let rendered = render(
        &template,
        &[
            ("ADMIN_PORT", admin.to_string()),
            ("LISTENER_PORT", port.to_string()),
            ("UPSTREAM_PORT", upstream_port.to_string()),
            ("HTTP_FILTERS", Value::Array(all).to_string()),
        ],
    )?;
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, rendered)?;
    let group = Group::spawn(
        name,
        &o.envoy,
        &[
            "-c".into(),
            path.display().to_string(),
            "--concurrency".into(),
            WORKERS.to_string(),
            "--base-id".into(),
            base_id.to_string(),
            "--disable-hot-restart".into(),
            "-l".into(),
            if o.keep_logs { "info" } else { "warning" }.into(),
            // The module's log at info: the audit line, when on, is
            // written as it would be in a deployment.
            "--component-log-level".into(),
            "wasm:info".into(),
        ],
        dir.join(format!("{name}.log")),
    )?;
    Ok((group, port))
}

pub fn wasm_filter(module: &Path, vm_id: &str, config: &Value) -> Value {
    json!({
        "name": "envoy.filters.http.wasm",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
            "config": {
                "name": vm_id,
                "root_id": "oauth",
                "vm_config": {
                    "vm_id": vm_id,
                    "runtime": "envoy.wasm.runtime.v8",
                    "code": { "local": { "filename": module.display().to_string() } },
                },
                "configuration": {
                    "@type": "type.googleapis.com/google.protobuf.StringValue",
                    "value": config.to_string(),
                },
                "failure_policy": "FAIL_CLOSED",
            },
        },
    })
}

pub fn jwt_authn_filter(jwks: &Value) -> Value {
    json!({
        "name": "envoy.filters.http.jwt_authn",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
            "providers": {
                "bench": {
                    "issuer": tokens::ISSUER,
                    "audiences": [tokens::AUDIENCE],
                    "local_jwks": { "inline_string": jwks.to_string() },
                    // As a user would run it: the verified-token cache on
                    // (its default size, 100).
                    "jwt_cache_config": { "jwt_cache_size": 100 },
                },
            },
            "rules": [{ "match": { "prefix": "/" }, "requires": { "provider_name": "bench" } }],
        },
    })
}
