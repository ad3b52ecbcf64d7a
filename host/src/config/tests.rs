use std::path::PathBuf;

use super::*;
use crate::runtime::LogLevel;

/// A directory with the files configs refer to, removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("oauth-host-config-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for file in ["filter.wasm", "cert.pem", "key.pem", "ca.pem", "conf.json"] {
            std::fs::write(dir.join(file), b"x").unwrap();
        }
        Dir(dir)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const BASE: &str = r#"
listeners:
  - address: 127.0.0.1:0
routes:
  - cluster: backend
clusters:
  - name: backend
    address: http://127.0.0.1:3000
"#;

fn parse(dir: &Dir, text: &str) -> Result<Config, String> {
    Config::parse(text, &dir.0).map_err(|e| e.to_string())
}

fn err(dir: &Dir, text: &str) -> String {
    match parse(dir, text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e,
    }
}

#[test]
fn minimal_config_gets_defaults() {
    let dir = Dir::new("minimal");
    let config = parse(&dir, BASE).unwrap();
    assert!(config.workers >= 1);
    assert_eq!(config.drain_timeout, Duration::from_secs(30));
    assert_eq!(config.listeners[0].name, "listener_0");
    assert_eq!(config.routes[0].host, "*");
    assert_eq!(config.routes[0].path_prefix, "/");
    let cluster = &config.clusters[0];
    assert_eq!(cluster.connect_timeout, Duration::from_secs(5));
    assert_eq!(cluster.request_timeout, Duration::from_secs(15));
    assert_eq!(
        cluster.address,
        ClusterAddress {
            tls: false,
            host: "127.0.0.1".into(),
            port: 3000
        }
    );
    assert!(config.filters.is_empty());
    assert!(config.admin.is_none());
}

#[test]
fn full_config_and_relative_paths() {
    let dir = Dir::new("full");
    let text = r#"
workers: 3
drain_timeout: 250ms
admin: { address: "127.0.0.1:9901" }
listeners:
  - name: public
    address: "[::1]:8443"
    tls:
      certificate: cert.pem
      private_key: key.pem
      client_certificate: optional
      client_ca: ca.pem
routes:
  - host: "*.example.com"
    path_prefix: /api
    cluster: secure
clusters:
  - name: secure
    address: https://backend.internal:9443
    connect_timeout: 0.5s
    request_timeout: 2m
    tls: { ca: ca.pem, sni: backend.internal }
filters:
  - name: oauth
    module: filter.wasm
    root_id: root
    vm_id: vm
    configuration: { audience: api, scopes: [read, write] }
    vm_configuration: plain text
    danger_fail_open: true
    environment: { A: "1" }
    limits: { callback_cpu: 100ms, max_memory: 16MiB, max_shared_data: 1MiB, max_queue_items: 7 }
    log_level: debug
  - name: second
    module: filter.wasm
    configuration_file: conf.json
"#;
    let config = parse(&dir, text).unwrap();
    assert_eq!(config.workers, 3);
    assert_eq!(config.drain_timeout, Duration::from_millis(250));
    let tls = config.listeners[0].tls.as_ref().unwrap();
    assert_eq!(tls.certificate, dir.0.join("cert.pem"));
    assert_eq!(tls.client_certificate, ClientCertificateMode::Optional);
    assert_eq!(
        config.clusters[0].connect_timeout,
        Duration::from_millis(500)
    );
    assert_eq!(config.clusters[0].request_timeout, Duration::from_secs(120));
    assert_eq!(config.clusters[0].address.port, 9443);
    let specs = config.plugin_specs().unwrap();
    assert_eq!(specs[0].module_path, dir.0.join("filter.wasm"));
    let conf: serde_json::Value = serde_json::from_slice(&specs[0].configuration).unwrap();
    assert_eq!(
        conf,
        serde_json::json!({"audience": "api", "scopes": ["read", "write"]})
    );
    assert_eq!(&specs[0].vm_configuration[..], b"plain text");
    assert_eq!(
        specs[0].environment,
        vec![("A".to_string(), "1".to_string())]
    );
    assert_eq!(specs[0].callback_cpu_limit, Duration::from_millis(100));
    assert_eq!(specs[0].max_memory_bytes, 16 << 20);
    assert_eq!(specs[0].max_shared_data_bytes, 1 << 20);
    assert_eq!(specs[0].max_queue_items, 7);
    assert_eq!(specs[1].max_shared_data_bytes, 64 << 20);
    assert_eq!(specs[1].max_queue_items, 10_000);
    assert_eq!(specs[0].log_level, LogLevel::Debug);
    assert!(specs[0].fail_open);
    assert_eq!(specs[0].vm_id, "vm");
    assert_eq!(
        specs[1].vm_id, "second",
        "vm_id defaults to the plugin name"
    );
    assert!(!specs[1].fail_open);
    assert_eq!(&specs[1].configuration[..], b"x");
    assert_eq!(specs[1].log_level, LogLevel::Info);
    assert!(specs[1].vm_configuration.is_empty());
}

#[test]
fn json_is_accepted() {
    let dir = Dir::new("json");
    let text = r#"{"listeners":[{"address":"127.0.0.1:0"}],
        "routes":[{"cluster":"b"}],
        "clusters":[{"name":"b","address":"http://localhost"}]}"#;
    let config = parse(&dir, text).unwrap();
    assert_eq!(config.clusters[0].address.port, 80);
}

#[test]
fn errors_name_the_field() {
    let dir = Dir::new("errors");
    let cases: &[(&str, &str)] = &[
        (
            "listeners: [{address: 127.0.0.1:0}]\nroutes: []\nclusters:\n  - {name: a, address: http://x:1}\n  - {name: b, address: ftp://x}\n",
            "clusters[1].address: must start with http:// or https://",
        ),
        (
            "listeners: [{address: 127.0.0.1:0}]\nroutes: []\nclusters: [{name: a, address: 'http://x:1', connect_timeout: 5}]\n",
            "clusters[0].connect_timeout: ",
        ),
        (
            "listeners: [{address: 127.0.0.1:0}]\nroutes: []\nclusters: [{name: a, address: 'http://x:1', request_timeout: 5sec}]\n",
            "clusters[0].request_timeout: `5sec` is not a duration",
        ),
        (
            "listeners: [{address: 127.0.0.1:0}]\nroutes: []\nclusters: [{name: a, adress: 'http://x:1'}]\n",
            "clusters[0].adress: unknown field `adress`",
        ),
        (
            "listeners: [{address: 127.0.0.1:0}]\nroutes: []\nclusters: [{name: a}]\n",
            "clusters[0]: missing field `address`",
        ),
        (
            "listeners: [{address: nowhere}]\nroutes: []\nclusters: []\n",
            "listeners[0].address: ",
        ),
        ("listeners: []\nroutes: []\nclusters: []\n", "listeners: at least one listener"),
        (
            "listeners: [{address: 127.0.0.1:0}]\nroutes: [{cluster: nope}]\nclusters: []\n",
            "routes[0].cluster: unknown cluster `nope`",
        ),
        (
            "listeners: [{address: 127.0.0.1:0}]\nroutes: []\nclusters: []\nfilters: [{name: f, module: filter.wasm, limits: {max_queue_items: 0}}]\n",
            "filters[0].limits.max_queue_items: must be at least 1",
        ),
        (
            "listeners: [{address: 127.0.0.1:0}]\nroutes: [{cluster: a, path_prefix: api}]\nclusters: [{name: a, address: 'http://x'}]\n",
            "routes[0].path_prefix: must start with `/`",
        ),
        (
            "listeners: [{address: 127.0.0.1:0}]\nroutes: []\nclusters: [{name: a, address: 'http://x'}, {name: a, address: 'http://y'}]\n",
            "clusters[1].name: duplicate cluster name `a`",
        ),
        (
            "listeners: [{address: 127.0.0.1:0}]\nroutes: []\nclusters: [{name: a, address: 'https://x'}]\n",
            "clusters[0].tls: an https:// address needs tls.ca",
        ),
        (
            "listeners: [{address: 127.0.0.1:0}]\nroutes: []\nclusters: [{name: a, address: 'https://x', tls: {sni: x}}]\n",
            "clusters[0].tls.ca: required",
        ),
        (
            "listeners: [{address: 127.0.0.1:0}]\nroutes: []\nclusters: [{name: a, address: 'https://x', tls: {ca: missing.pem}}]\n",
            "clusters[0].tls.ca: cannot read ",
        ),
        (
            "listeners: [{address: 127.0.0.1:0}]\nroutes: []\nclusters: [{name: a, address: 'https://x', tls: {ca: ca.pem, insecure: true}}]\n",
            "clusters[0].tls.insecure: unknown field `insecure`",
        ),
        (
            "listeners: [{address: 127.0.0.1:0, tls: {certificate: cert.pem, private_key: key.pem, client_certificate: always}}]\nroutes: []\nclusters: []\n",
            "listeners[0].tls.client_certificate: unknown variant `always`",
        ),
        (
            "listeners: [{address: 127.0.0.1:0, tls: {certificate: cert.pem, private_key: key.pem, client_certificate: required}}]\nroutes: []\nclusters: []\n",
            "listeners[0].tls.client_ca: required",
        ),
        (
            "listeners: [{address: 127.0.0.1:0, tls: {certificate: nope.pem, private_key: key.pem}}]\nroutes: []\nclusters: []\n",
            "listeners[0].tls.certificate: cannot read ",
        ),
        (
            "listeners: [{address: 127.0.0.1:0}]\nroutes: []\nclusters: []\nfilters: [{name: f, module: missing.wasm}]\n",
            "filters[0].module: cannot read ",
        ),
        (
            "listeners: [{address: 127.0.0.1:0}]\nroutes: []\nclusters: []\nfilters: [{name: f, module: filter.wasm, configuration: {}, configuration_file: conf.json}]\n",
            "filters[0].configuration_file: set either",
        ),
        (
            "listeners: [{address: 127.0.0.1:0}]\nroutes: []\nclusters: []\nfilters: [{name: f, module: filter.wasm, limits: {max_memory: 12TB}}]\n",
            "filters[0].limits.max_memory: ",
        ),
        (
            "listeners: [{address: 127.0.0.1:0}]\nroutes: []\nclusters: []\nfilters: [{name: f, module: filter.wasm, log_level: loud}]\n",
            "filters[0].log_level: unknown log level `loud`",
        ),
        (
            "listeners: [{address: 127.0.0.1:0}]\nroutes: []\nclusters: []\nworkers: 0\n",
            "workers: must be at least 1",
        ),
        ("listeners: [", ""),
    ];
    let mut failures = Vec::new();
    for (text, expected) in cases {
        let message = err(&dir, text);
        if !message.starts_with(expected) || message.contains('\n') {
            failures.push(format!("expected `{expected}…`, got {message:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn cluster_addresses() {
    let parse = ClusterAddress::parse;
    assert_eq!(
        parse("https://[::1]:8443").unwrap(),
        ClusterAddress {
            tls: true,
            host: "::1".into(),
            port: 8443
        }
    );
    assert_eq!(parse("https://[::1]").unwrap().authority(), "[::1]:443");
    assert_eq!(parse("http://a.b/").unwrap().authority(), "a.b:80");
    for bad in [
        "a.b:80",
        "http://",
        "http://a/b",
        "http://a:x",
        "http://[::1",
        "http://u@h",
    ] {
        assert!(parse(bad).is_err(), "{bad} accepted");
    }
}

#[test]
fn route_matching() {
    let route = |host: &str, prefix: &str| RouteConfig {
        host: host.into(),
        path_prefix: prefix.into(),
        cluster: "c".into(),
    };
    assert!(route("*", "/").matches("anything:8080", "/x"));
    assert!(route("api.example.com", "/v1").matches("API.example.com:443", "/v1/users"));
    assert!(!route("api.example.com", "/v1").matches("api.example.com", "/v2"));
    assert!(!route("api.example.com", "/").matches("other.example.com", "/"));
    assert!(route("*.example.com", "/").matches("a.example.com", "/"));
    assert!(!route("*.example.com", "/").matches("example.com", "/"));
    assert!(!route("*.example.com", "/").matches("aexample.com", "/"));
    assert!(
        route("::1", "/").matches("[::1]:80", "/") || route("[::1]", "/").matches("[::1]:80", "/")
    );
}

#[test]
fn documented_example_parses() {
    let doc = include_str!("../../../docs/host-config.md");
    let start = doc.find("```yaml\n").expect("yaml block") + "```yaml\n".len();
    let yaml = &doc[start..start + doc[start..].find("```").expect("end of block")];
    let dir = Dir::new("doc");
    std::fs::create_dir_all(dir.0.join("certs")).unwrap();
    for file in [
        "certs/server.pem",
        "certs/server.key",
        "certs/clients-ca.pem",
        "certs/internal-ca.pem",
        "certs/proxy.pem",
        "certs/proxy.key",
        "certs/public-ca.pem",
        "oauth_filter.wasm",
    ] {
        std::fs::write(dir.0.join(file), b"x").unwrap();
    }
    let config = parse(&dir, yaml).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.workers, 2);
    assert_eq!(config.listeners.len(), 2);
    assert_eq!(config.listeners[1].name, "listener_1");
    assert_eq!(config.clusters.len(), 3);
    assert_eq!(config.clusters[2].address.port, 443);
    let specs = config.plugin_specs().unwrap();
    assert_eq!(&specs[0].configuration[..], br#"{"realm":"orders-api"}"#);
    assert_eq!(
        specs[0].environment,
        vec![("RUST_BACKTRACE".into(), "0".into())]
    );
}

#[test]
fn fail_open_is_renamed_and_debug_redacts_secrets() {
    let dir = Dir::new("renamed");
    let text =
        format!("{BASE}filters:\n  - name: a\n    module: filter.wasm\n    fail_open: true\n");
    let error = parse(&dir, &text).unwrap_err();
    assert!(error.starts_with("filters[0].fail_open: "), "{error}");
    assert!(error.contains("danger_fail_open"), "{error}");
    let text = format!(
        "{BASE}filters:\n  - name: a\n    module: filter.wasm\n    \
         environment: {{ CLIENT_SECRET: s3cr3t-value }}\n    vm_configuration: hush-hush\n"
    );
    let config = parse(&dir, &text).unwrap();
    let specs = config.plugin_specs().unwrap();
    assert_eq!(specs[0].vm_id, "a");
    for debug in [format!("{config:?}"), format!("{:?}", specs[0])] {
        assert!(debug.contains("CLIENT_SECRET"), "{debug}");
        assert!(!debug.contains("s3cr3t-value"), "{debug}");
        assert!(!debug.contains("hush-hush"), "{debug}");
    }
}
