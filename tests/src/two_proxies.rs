//! One suite, two proxies: the same `oauth-filter` module with the same
//! plugin configuration in real Envoy (a template from `envoy/`) and in
//! `oauth-host`, both in front of the same echo upstream, against the real
//! authorization server ([`crate::peers::AuthServer`]).
//!
//! [`Stack::get`] sends each request through both proxies and returns the
//! [`Outcome`] only when the two agree on status, `WWW-Authenticate`, the
//! `error` of a local reply and the auth headers the upstream saw; a
//! difference panics naming both sides.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::host::{Echo, Host, Pki, TempDir};
use crate::peers::{self, AuthServer, AuthServerOptions, Envoy, HttpResponse};

/// `oauth-host` in-process on a tokio runtime of its own, so blocking test
/// code never starves it.
pub struct HostProxy {
    runtime: tokio::runtime::Runtime,
    host: Option<Host>,
    _dir: TempDir,
}

impl HostProxy {
    /// Starts the host with 2 workers (as Envoy gets 2), one listener routing
    /// everything to cluster `upstream`, cluster `auth_server`, and the
    /// module as plugin `oauth` with `plugin` as its configuration.
    pub fn start(module: &Path, plugin: &Value, upstream_port: u16, as_port: u16) -> HostProxy {
        HostProxy::start_with_env(module, plugin, upstream_port, as_port, &[])
    }

    /// [`HostProxy::start`] with environment variables for the module (as
    /// Envoy's `vm_config.environment_variables`).
    pub fn start_with_env(
        module: &Path,
        plugin: &Value,
        upstream_port: u16,
        as_port: u16,
        env: &[(&str, &str)],
    ) -> HostProxy {
        HostProxy::start_with_listener(
            module,
            plugin,
            upstream_port,
            as_port,
            env,
            "{address: 127.0.0.1:0}",
        )
    }

    /// [`HostProxy::start_with_env`] with `listener` (a YAML flow mapping)
    /// as its one listener, e.g. one with `tls`.
    pub fn start_with_listener(
        module: &Path,
        plugin: &Value,
        upstream_port: u16,
        as_port: u16,
        env: &[(&str, &str)],
        listener: &str,
    ) -> HostProxy {
        HostProxy::start_with_clusters(module, plugin, upstream_port, as_port, env, listener, "")
    }

    /// [`HostProxy::start_with_listener`] with more clusters (YAML list
    /// items, each line starting with `  - `).
    pub fn start_with_clusters(
        module: &Path,
        plugin: &Value,
        upstream_port: u16,
        as_port: u16,
        env: &[(&str, &str)],
        listener: &str,
        extra_clusters: &str,
    ) -> HostProxy {
        let env: Vec<String> = env
            .iter()
            .map(|(k, v)| format!("{k}: {}", peers::yaml_string(v)))
            .collect();
        let yaml = format!(
            "workers: 2\n\
             admin: {{address: 127.0.0.1:0}}\n\
             listeners: [{listener}]\n\
             routes: [{{path_prefix: /, cluster: upstream}}]\n\
             clusters:\n\
             \x20 - {{name: upstream, address: http://127.0.0.1:{upstream_port}}}\n\
             \x20 - {{name: auth_server, address: http://127.0.0.1:{as_port}, connect_timeout: 2s}}\n\
             {extra_clusters}\
             filters:\n\
             \x20 - name: oauth\n\
             \x20   module: {module}\n\
             \x20   root_id: oauth\n\
             \x20   vm_id: oauth\n\
             \x20   configuration: {config}\n\
             \x20   environment: {{{env}}}\n",
            module = peers::yaml_string(&module.display().to_string()),
            config = peers::yaml_string(&plugin.to_string()),
            env = env.join(", "),
        );
        let dir = TempDir::new("e2e-host");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("host runtime");
        let host = runtime.block_on(Host::start(&yaml, dir.path()));
        HostProxy {
            runtime,
            host: Some(host),
            _dir: dir,
        }
    }

    /// Port of its listener.
    pub fn port(&self) -> u16 {
        self.host.as_ref().expect("host running").listener(0).port()
    }
}

impl Drop for HostProxy {
    fn drop(&mut self) {
        if let Some(host) = self.host.take() {
            self.runtime.block_on(host.shutdown());
        }
    }
}

/// Everything one case needs: the AS, the upstream, both proxies.
pub struct Stack {
    // Dropped in this order: the proxies stop before the peers they call.
    /// Envoy.
    pub envoy: Envoy,
    /// oauth-host.
    pub host: HostProxy,
    /// The authorization server.
    pub auth: AuthServer,
    _upstream: Echo,
}

impl Stack {
    /// Starts the AS with `options`, an echo upstream, Envoy with
    /// `envoy/<envoy_template>` and `oauth-host`, both running the
    /// `oauth-filter` module with `plugin(&auth)` as configuration. `None`
    /// (skip the test) unless the end-to-end suites are enabled.
    pub fn start(
        test: &str,
        options: AuthServerOptions,
        envoy_template: &str,
        plugin: impl FnOnce(&AuthServer) -> Value,
    ) -> Option<Stack> {
        Stack::start_with_env(test, options, envoy_template, &[], plugin)
    }

    /// [`Stack::start`], giving `oauth-host`'s module the environment `env`
    /// (the Envoy template sets the same in `vm_config.environment_variables`).
    pub fn start_with_env(
        test: &str,
        options: AuthServerOptions,
        envoy_template: &str,
        env: &[(&str, &str)],
        plugin: impl FnOnce(&AuthServer) -> Value,
    ) -> Option<Stack> {
        if !peers::e2e_enabled(test) {
            return None;
        }
        let module = crate::wasm::module("oauth-filter");
        let auth = AuthServer::start(options);
        let upstream = Echo::start("upstream");
        let plugin = plugin(&auth);
        let upstream_port = upstream.addr.port();
        let config =
            peers::envoy_config(envoy_template, &module, &plugin, upstream_port, auth.port());
        let envoy = Envoy::start(&config, peers::next_base_id());
        let host = HostProxy::start_with_env(&module, &plugin, upstream_port, auth.port(), env);
        Some(Stack {
            envoy,
            host,
            auth,
            _upstream: upstream,
        })
    }

    /// `GET path` with `headers` through both proxies: the outcome, once both
    /// agree (panics naming the difference otherwise).
    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> Outcome {
        let envoy = Outcome::of(
            &peers::http_request(self.envoy.listener_port(), "GET", path, headers, b"")
                .unwrap_or_else(|e| panic!("envoy: GET {path}: {e}")),
        );
        let host = Outcome::of(
            &peers::http_request(self.host.port(), "GET", path, headers, b"")
                .unwrap_or_else(|e| panic!("oauth-host: GET {path}: {e}")),
        );
        assert_eq!(
            envoy, host,
            "Envoy (left) and oauth-host (right) differ on GET {path}"
        );
        envoy
    }

    /// [`Stack::get`] with `Authorization: Bearer <token>`.
    pub fn get_with(&self, path: &str, token: &str) -> Outcome {
        self.get(path, &[("authorization", &format!("Bearer {token}"))])
    }
}

/// What a client and the upstream saw of one request.
#[derive(Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Response status.
    pub status: u16,
    /// The `WWW-Authenticate` response header.
    pub www_authenticate: Option<String>,
    /// For requests that reached the upstream: the `x-auth-*` and
    /// `authorization` headers it received.
    pub upstream: Option<BTreeMap<String, String>>,
    /// For local replies: the `error` member of the JSON body.
    pub error: Option<String>,
}

impl Outcome {
    /// Reads an outcome from a response of the echo upstream or a local reply.
    pub fn of(response: &HttpResponse) -> Outcome {
        let body: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
        let upstream = body
            .get("headers")
            .and_then(Value::as_object)
            .map(|headers| {
                headers
                    .iter()
                    .filter(|(name, _)| name.starts_with("x-auth-") || *name == "authorization")
                    .map(|(name, value)| {
                        (name.clone(), value.as_str().unwrap_or_default().to_string())
                    })
                    .collect()
            });
        Outcome {
            status: response.status,
            www_authenticate: response.header("www-authenticate").map(str::to_string),
            error: body
                .get("error")
                .and_then(Value::as_str)
                .map(str::to_string),
            upstream,
        }
    }

    /// The upstream's view; panics unless the request reached it.
    pub fn upstream(&self) -> &BTreeMap<String, String> {
        self.upstream
            .as_ref()
            .unwrap_or_else(|| panic!("request did not reach the upstream: {self:?}"))
    }

    /// Header `name` as the upstream saw it.
    pub fn upstream_header(&self, name: &str) -> Option<&str> {
        self.upstream().get(name).map(String::as_str)
    }

    /// Panics unless this is a 401 `invalid_token` answered by the proxy
    /// (realm `realm`).
    pub fn assert_invalid_token(&self, realm: &str) {
        assert_eq!(self.status, 401, "{self:?}");
        let challenge = self.www_authenticate.as_deref().unwrap_or_default();
        let expected = format!("Bearer realm=\"{realm}\", error=\"invalid_token\"");
        assert!(challenge.starts_with(&expected), "{challenge}");
        assert_eq!(self.error.as_deref(), Some("invalid_token"));
        assert!(self.upstream.is_none(), "{self:?}");
    }
}

/// Envoy and oauth-host with `plugin`, plain HTTP or (with `pki`) TLS
/// listeners asking for client certificates.
pub struct Proxies {
    /// Envoy.
    pub envoy: Envoy,
    /// oauth-host.
    pub host: HostProxy,
    _upstream: Echo,
}

impl Proxies {
    /// Plain HTTP listeners (`envoy/jwt.yaml`).
    pub fn plain(auth: &AuthServer, plugin: &Value) -> Proxies {
        Proxies::start(auth, plugin, None)
    }

    /// TLS listeners asking for client certificates (`envoy/mtls.yaml`).
    pub fn tls(auth: &AuthServer, plugin: &Value, pki: &Pki) -> Proxies {
        Proxies::start(auth, plugin, Some(pki))
    }

    /// [`Proxies::plain`] with one more cluster in both proxies,
    /// `auth_server_tls`: the AS's HTTPS port, verified against `pki`'s CA,
    /// presenting `pki`'s client certificate (RFC 8705 client
    /// authentication, certificate-bound tokens of the gateway's own).
    pub fn plain_with_tls_cluster(auth: &AuthServer, plugin: &Value, pki: &Pki) -> Proxies {
        let module = crate::wasm::module("oauth-filter");
        let upstream = Echo::start("upstream");
        let port = upstream.addr.port();
        let tls_port = auth.tls_port();
        let envoy_cluster = format!(
            "    - name: auth_server_tls\n\
             \x20     type: STATIC\n\
             \x20     connect_timeout: 2s\n\
             \x20     load_assignment:\n\
             \x20       cluster_name: auth_server_tls\n\
             \x20       endpoints: [{{lb_endpoints: [{{endpoint: {{address: {{socket_address: {{address: 127.0.0.1, port_value: {tls_port}}}}}}}}}]}}]\n\
             \x20     transport_socket:\n\
             \x20       name: envoy.transport_sockets.tls\n\
             \x20       typed_config:\n\
             \x20         \"@type\": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext\n\
             \x20         sni: localhost\n\
             \x20         common_tls_context:\n\
             \x20           tls_certificates: [{{certificate_chain: {{filename: {cert}}}, private_key: {{filename: {key}}}}}]\n\
             \x20           validation_context: {{trusted_ca: {{filename: {ca}}}}}\n",
            cert = peers::yaml_string(&pki.path("client.pem")),
            key = peers::yaml_string(&pki.path("client.key")),
            ca = peers::yaml_string(&pki.path("ca.pem")),
        );
        let host_cluster = format!(
            "\x20 - {{name: auth_server_tls, address: https://127.0.0.1:{tls_port}, connect_timeout: 2s, \
             tls: {{ca: {ca}, sni: localhost, client_certificate: {cert}, client_private_key: {key}}}}}\n",
            cert = peers::yaml_string(&pki.path("client.pem")),
            key = peers::yaml_string(&pki.path("client.key")),
            ca = peers::yaml_string(&pki.path("ca.pem")),
        );
        let mut config = peers::envoy_config("jwt.yaml", &module, plugin, port, auth.port());
        config.push_str(&envoy_cluster);
        let envoy = Envoy::start(&config, peers::next_base_id());
        let host = HostProxy::start_with_clusters(
            &module,
            plugin,
            port,
            auth.port(),
            &[],
            "{address: 127.0.0.1:0}",
            &host_cluster,
        );
        Proxies {
            envoy,
            host,
            _upstream: upstream,
        }
    }

    fn start(auth: &AuthServer, plugin: &Value, pki: Option<&Pki>) -> Proxies {
        let module = crate::wasm::module("oauth-filter");
        let upstream = Echo::start("upstream");
        let port = upstream.addr.port();
        let (template, listener) = match pki {
            None => ("jwt.yaml", "{address: 127.0.0.1:0}".to_owned()),
            Some(pki) => (
                "mtls.yaml",
                format!(
                    "{{address: 127.0.0.1:0, tls: {{certificate: {}, private_key: {}, \
                     client_certificate: optional, client_ca: {}}}}}",
                    peers::yaml_string(&pki.path("server.pem")),
                    peers::yaml_string(&pki.path("server.key")),
                    peers::yaml_string(&pki.path("ca.pem")),
                ),
            ),
        };
        let mut config = peers::envoy_config(template, &module, plugin, port, auth.port());
        if let Some(pki) = pki {
            config = peers::with_tls(&config, pki);
        }
        let envoy = Envoy::start(&config, peers::next_base_id());
        let host =
            HostProxy::start_with_listener(&module, plugin, port, auth.port(), &[], &listener);
        Proxies {
            envoy,
            host,
            _upstream: upstream,
        }
    }

    /// `(name, listener port)` of each proxy.
    pub fn each(&self) -> [(&'static str, u16); 2] {
        [
            ("envoy", self.envoy.listener_port()),
            ("oauth-host", self.host.port()),
        ]
    }
}
