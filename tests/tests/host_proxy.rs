//! `oauth-host` as a plain proxy (empty filter chain) over real sockets:
//! HTTP/1.1, h2c, TLS with ALPN, mTLS, header hygiene, routing, upstream
//! errors, admin listener and graceful shutdown.

use std::time::Duration;

use bytes::Bytes;
use oauth_tests::host::{closed_port, get, within, Alpn, Conn, Echo, Host, Pki, TempDir};

fn plain_config(upstream: &str) -> String {
    format!(
        "workers: 2\nadmin: {{address: 127.0.0.1:0}}\nlisteners: [{{address: 127.0.0.1:0}}]\n\
         routes: [{{cluster: backend}}]\n\
         clusters: [{{name: backend, address: '{upstream}', connect_timeout: 1s, request_timeout: 300ms}}]\n"
    )
}

#[tokio::test]
async fn http1_proxy_sets_forwarding_headers_and_drops_hop_by_hop() {
    let echo = Echo::start("backend");
    let dir = TempDir::new("h1");
    let host = Host::start(&plain_config(&echo.url()), dir.path()).await;
    let mut conn = Conn::http1(host.listener(0)).await;
    let reply = within(conn.send(
        "POST",
        "/some/path?q=1",
        &[
            ("connection", "keep-alive, x-private"),
            ("x-private", "secret"),
            ("x-forwarded-for", "192.0.2.7"),
            ("x-custom", "kept"),
        ],
        Bytes::from_static(b"hello"),
    ))
    .await
    .unwrap();
    assert_eq!(reply.status, 200);
    let seen = reply.json();
    assert_eq!(seen["method"], "POST");
    assert_eq!(seen["path"], "/some/path?q=1");
    assert_eq!(seen["body"], "hello");
    assert_eq!(reply.upstream_header("x-custom").as_deref(), Some("kept"));
    assert_eq!(
        reply.upstream_header("x-private"),
        None,
        "connection-named header forwarded"
    );
    assert_eq!(
        reply.upstream_header("x-forwarded-for").as_deref(),
        Some("192.0.2.7, 127.0.0.1")
    );
    assert_eq!(
        reply.upstream_header("x-forwarded-proto").as_deref(),
        Some("http")
    );
    let host_header = format!("{}", host.listener(0));
    assert_eq!(reply.upstream_header("host"), Some(host_header));
    let id = reply
        .upstream_header("x-request-id")
        .expect("x-request-id generated");
    assert_eq!(id.len(), 36, "{id}");
    assert_eq!(reply.header("x-echo-name"), Some("backend"));
    assert_eq!(
        reply.header("keep-alive"),
        None,
        "hop-by-hop response header passed"
    );

    // Keep-alive: a second request on the same connection, with its own id kept.
    let reply = within(conn.get("/again", &[("x-request-id", "given-id")]))
        .await
        .unwrap();
    assert_eq!(
        reply.upstream_header("x-request-id").as_deref(),
        Some("given-id")
    );
    host.shutdown().await;
}

#[tokio::test]
async fn h2c_prior_knowledge() {
    let echo = Echo::start("backend");
    let dir = TempDir::new("h2c");
    let host = Host::start(&plain_config(&echo.url()), dir.path()).await;
    let mut conn = Conn::h2c(host.listener(0)).await;
    let reply = within(conn.get("/h2c", &[("x-custom", "1")]))
        .await
        .unwrap();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.version, http::Version::HTTP_2);
    let seen = reply.json();
    assert_eq!(seen["path"], "/h2c");
    // The upstream leg is HTTP/1.1 with an explicit host header.
    assert_eq!(seen["version"], "HTTP/1.1");
    assert_eq!(
        reply.upstream_header("host"),
        Some(host.listener(0).to_string())
    );
    assert_eq!(reply.upstream_header("x-custom").as_deref(), Some("1"));
    host.shutdown().await;
}

fn tls_config(pki: &Pki, upstream: &str, mode: &str) -> String {
    let client = match mode {
        "none" => String::new(),
        mode => format!(
            ", client_certificate: {mode}, client_ca: '{}'",
            pki.path("ca.pem")
        ),
    };
    format!(
        "workers: 1\nlisteners:\n  - address: 127.0.0.1:0\n    tls: {{certificate: '{}', private_key: '{}'{client}}}\n\
         routes: [{{cluster: backend}}]\nclusters: [{{name: backend, address: '{upstream}'}}]\n",
        pki.path("server.pem"),
        pki.path("server.key"),
    )
}

#[tokio::test]
async fn tls_with_alpn_h2_and_http1() {
    let echo = Echo::start("backend");
    let pki = Pki::new();
    let host = Host::start(&tls_config(&pki, &echo.url(), "none"), pki.dir.path()).await;
    for alpn in [Alpn::H2, Alpn::Http1] {
        let mut conn = within(Conn::tls(host.listener(0), &pki, alpn, false))
            .await
            .unwrap();
        let reply = within(conn.get("/tls", &[])).await.unwrap();
        assert_eq!(reply.status, 200);
        let expected = if alpn == Alpn::H2 {
            http::Version::HTTP_2
        } else {
            http::Version::HTTP_11
        };
        assert_eq!(reply.version, expected);
        assert_eq!(
            reply.upstream_header("x-forwarded-proto").as_deref(),
            Some("https")
        );
    }
    host.shutdown().await;
}

#[tokio::test]
async fn mtls_required_refuses_clients_without_certificate() {
    let echo = Echo::start("backend");
    let pki = Pki::new();
    let host = Host::start(&tls_config(&pki, &echo.url(), "required"), pki.dir.path()).await;
    let mut conn = within(Conn::tls(host.listener(0), &pki, Alpn::H2, true))
        .await
        .unwrap();
    assert_eq!(within(conn.get("/", &[])).await.unwrap().status, 200);
    // TLS 1.3: the server's refusal may only surface on the first request.
    let refused = match within(Conn::tls(host.listener(0), &pki, Alpn::Http1, false)).await {
        Err(_) => true,
        Ok(mut conn) => within(conn.get("/", &[])).await.is_err(),
    };
    assert!(refused, "a client without certificate was served");
    host.shutdown().await;
}

#[tokio::test]
async fn mtls_optional_serves_both() {
    let echo = Echo::start("backend");
    let pki = Pki::new();
    let host = Host::start(&tls_config(&pki, &echo.url(), "optional"), pki.dir.path()).await;
    for cert in [true, false] {
        let mut conn = within(Conn::tls(host.listener(0), &pki, Alpn::Http1, cert))
            .await
            .unwrap();
        assert_eq!(within(conn.get("/", &[])).await.unwrap().status, 200);
    }
    host.shutdown().await;
}

#[tokio::test]
async fn routes_by_host_and_prefix_first_match_wins() {
    let api = Echo::start("api");
    let admin = Echo::start("admin-backend");
    let fallback = Echo::start("fallback");
    let dir = TempDir::new("routes");
    let yaml = format!(
        "workers: 1\nlisteners: [{{address: 127.0.0.1:0}}]\nroutes:\n\
         - {{host: api.test, path_prefix: /admin, cluster: admin}}\n\
         - {{host: api.test, cluster: api}}\n\
         - {{host: '*.wild.test', cluster: fallback}}\n\
         clusters:\n\
         - {{name: api, address: '{}'}}\n- {{name: admin, address: '{}'}}\n- {{name: fallback, address: '{}'}}\n",
        api.url(),
        admin.url(),
        fallback.url()
    );
    let host = Host::start(&yaml, dir.path()).await;
    let mut conn = Conn::http1(host.listener(0)).await;
    let cases = [
        ("api.test", "/admin/x", Some("admin-backend")),
        ("API.test:8080", "/users", Some("api")),
        ("a.wild.test", "/", Some("fallback")),
        ("other.test", "/", None),
    ];
    for (authority, path, expected) in cases {
        let reply = within(conn.get(path, &[("host", authority)]))
            .await
            .unwrap();
        match expected {
            Some(name) => {
                assert_eq!(reply.status, 200, "{authority}{path}");
                assert_eq!(reply.header("x-echo-name"), Some(name), "{authority}{path}");
            }
            None => {
                assert_eq!(reply.status, 404, "{authority}{path}");
                assert_eq!(reply.text(), "no route matches this request\n");
            }
        }
    }
    let reply = within(conn.get("/", &[("host", "api.test"), ("host", "a.wild.test")]))
        .await
        .unwrap();
    assert_eq!(reply.status, 400, "two host headers accepted");
    host.shutdown().await;
}

/// One path for routes and the upstream: oauth-host normalises the path
/// (the filter's own policy) before routing, so `//admin` and `/%61dmin`
/// reach the `/admin` route with `/admin…`, and ambiguous paths get 400.
#[tokio::test]
async fn routes_and_upstream_see_the_normalised_path() {
    let admin = Echo::start("admin-backend");
    let public = Echo::start("public");
    let dir = TempDir::new("paths");
    let yaml = format!(
        "workers: 1\nlisteners: [{{address: 127.0.0.1:0}}]\nroutes:\n\
         - {{path_prefix: /admin, cluster: admin}}\n- {{cluster: public}}\n\
         clusters:\n- {{name: admin, address: '{}'}}\n- {{name: public, address: '{}'}}\n",
        admin.url(),
        public.url()
    );
    let host = Host::start(&yaml, dir.path()).await;
    let mut conn = Conn::http1(host.listener(0)).await;
    for (raw, name, seen) in [
        (
            "//admin//users?q=//x",
            "admin-backend",
            "/admin/users?q=//x",
        ),
        ("/%61dmin/users", "admin-backend", "/admin/users"),
        ("/a%3fb", "public", "/a%3Fb"),
        ("/public/", "public", "/public/"),
    ] {
        let reply = within(conn.get(raw, &[])).await.unwrap();
        assert_eq!(reply.status, 200, "{raw}");
        assert_eq!(reply.header("x-echo-name"), Some(name), "{raw}");
        assert_eq!(reply.json()["path"], seen, "{raw}");
    }
    for raw in [
        "/public/../admin",
        "/public/%2e%2e/admin",
        "/admin%2Fx",
        "/x/..;/admin",
    ] {
        let mut conn = Conn::http1(host.listener(0)).await;
        let reply = within(conn.get(raw, &[])).await.unwrap();
        assert_eq!(reply.status, 400, "{raw}");
    }
    assert_eq!(admin.received.load(std::sync::atomic::Ordering::SeqCst), 2);
    host.shutdown().await;
}

#[tokio::test]
async fn upstream_down_is_503() {
    let dir = TempDir::new("down");
    let host = Host::start(
        &plain_config(&format!("http://127.0.0.1:{}", closed_port())),
        dir.path(),
    )
    .await;
    let reply = within(async { get(host.listener(0), "/").await }).await;
    assert_eq!(reply.status, 503);
    assert_eq!(reply.text(), "upstream unavailable\n");
    host.shutdown().await;
}

#[tokio::test]
async fn upstream_timeout_is_504() {
    let echo = Echo::start("slow");
    let dir = TempDir::new("timeout");
    let host = Host::start(&plain_config(&echo.url()), dir.path()).await;
    let reply = within(async { get(host.listener(0), "/?delay_ms=2000").await }).await;
    assert_eq!(reply.status, 504);
    assert_eq!(reply.text(), "upstream request timeout\n");
    // A quick request on the same cluster still works.
    assert_eq!(
        within(async { get(host.listener(0), "/").await })
            .await
            .status,
        200
    );
    host.shutdown().await;
}

#[tokio::test]
async fn upstream_garbage_is_502() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let garbage = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut buf = [0u8; 1024];
            let _ = stream.read(&mut buf).await;
            let _ = stream.write_all(b"this is not HTTP\r\n\r\n").await;
        }
    });
    let dir = TempDir::new("garbage");
    let host = Host::start(&plain_config(&format!("http://{addr}")), dir.path()).await;
    let reply = within(async { get(host.listener(0), "/").await }).await;
    assert_eq!(reply.status, 502);
    assert_eq!(
        reply.text(),
        "bad gateway: invalid response from upstream\n"
    );
    host.shutdown().await;
    garbage.abort();
}

#[tokio::test]
async fn admin_ready_and_metrics() {
    let echo = Echo::start("backend");
    let dir = TempDir::new("admin");
    let host = Host::start(&plain_config(&echo.url()), dir.path()).await;
    let ready = within(async { get(host.admin(), "/ready").await }).await;
    assert_eq!(ready.status, 200);
    assert_eq!(
        within(async { get(host.listener(0), "/").await })
            .await
            .status,
        200
    );
    let _ = within(async { get(host.listener(0), "/?delay_ms=1000").await }).await; // 504
    let metrics = within(async { get(host.admin(), "/metrics").await }).await;
    assert_eq!(metrics.status, 200);
    assert_eq!(
        metrics.header("content-type"),
        Some("text/plain; version=0.0.4")
    );
    let text = metrics.text();
    assert!(
        text.lines()
            .any(|l| l.starts_with("oauth_host_requests_total{code_class=\"2xx\"}")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("oauth_host_upstream_errors_total{") && l.contains("timeout")),
        "{text}"
    );
    let count = text
        .lines()
        .find_map(|l| l.strip_prefix("oauth_host_request_duration_ms_count "))
        .and_then(|v| v.trim().parse::<u64>().ok());
    assert_eq!(count, Some(2), "{text}");
    assert_eq!(
        within(async { get(host.admin(), "/nope").await })
            .await
            .status,
        404
    );
    host.shutdown().await;
}

#[tokio::test]
async fn graceful_shutdown_drains_in_flight_request() {
    let echo = Echo::start("slow");
    let dir = TempDir::new("drain");
    let yaml = plain_config(&echo.url()).replace("request_timeout: 300ms", "request_timeout: 5s");
    let host = Host::start(&yaml, dir.path()).await;
    let addr = host.listener(0);
    let admin = host.admin();
    let mut conn = Conn::http1(addr).await;
    let in_flight = tokio::spawn(async move { conn.get("/?delay_ms=1500", &[]).await });
    // Shut down only once the request is in flight at the upstream.
    within(async {
        while echo.received.load(std::sync::atomic::Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    let shutdown = tokio::spawn(host.shutdown());
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Draining: not ready any more, and no new connections.
    let ready = within(async { Conn::http1(admin).await.get("/ready", &[]).await })
        .await
        .unwrap();
    assert_eq!(ready.status, 503);
    // The listener closes as soon as the acceptor sees the signal.
    let mut refused = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(refused, "still accepting while draining");
    assert!(
        !in_flight.is_finished(),
        "request ended before the drain was checked"
    );
    let reply = within(in_flight)
        .await
        .unwrap()
        .expect("in-flight request failed");
    assert_eq!(reply.status, 200);
    within(shutdown).await.unwrap();
}

#[tokio::test]
async fn https_upstream_is_verified_against_the_cluster_ca() {
    let pki = Pki::new();
    let stranger = Pki::new();
    let echo = Echo::start_tls("secure", &pki);
    let config = |ca: &str, tls_extra: &str| {
        // `http2` only means prior knowledge for http://; over TLS it is
        // negotiated either way.
        let http2 = tls_extra.is_empty();
        format!(
            "workers: 1\nlisteners: [{{address: 127.0.0.1:0}}]\nroutes: [{{cluster: backend}}]\n\
             clusters: [{{name: backend, address: '{}', http2: {http2}, tls: {{ca: '{ca}'{tls_extra}}}}}]\n",
            echo.https_url()
        )
    };
    let cases = [
        (pki.path("ca.pem"), ", sni: localhost", 200),
        // The certificate names localhost and 127.0.0.1: the address's host verifies.
        (pki.path("ca.pem"), "", 200),
        (pki.path("ca.pem"), ", sni: other.test", 503),
        (stranger.path("ca.pem"), ", sni: localhost", 503),
        (
            stranger.path("ca.pem"),
            ", danger_accept_invalid_certificates: true",
            200,
        ),
    ];
    for (ca, extra, status) in cases {
        let host = Host::start(&config(&ca, extra), pki.dir.path()).await;
        let reply = within(async { get(host.listener(0), "/secure").await }).await;
        assert_eq!(reply.status, status, "{extra}: {}", reply.text());
        if status == 200 {
            assert_eq!(reply.header("x-echo-name"), Some("secure"));
            // ALPN offered h2 to the upstream, which accepted it.
            assert_eq!(reply.json()["version"], "HTTP/2.0");
        }
        host.shutdown().await;
    }
}

#[tokio::test]
async fn h2c_upstream_with_prior_knowledge() {
    let echo = Echo::start("backend");
    let dir = TempDir::new("h2c-up");
    let yaml = plain_config(&echo.url()).replace("request_timeout: 300ms", "http2: true");
    let host = Host::start(&yaml, dir.path()).await;
    let reply = within(async { get(host.listener(0), "/x").await }).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["version"], "HTTP/2.0");
    host.shutdown().await;
}

#[tokio::test]
async fn large_bodies_stream_both_ways_over_http1_and_h2c() {
    let echo = Echo::start("backend");
    let dir = TempDir::new("large");
    let yaml = plain_config(&echo.url()).replace("request_timeout: 300ms", "request_timeout: 10s");
    let host = Host::start(&yaml, dir.path()).await;
    let body: String = (0..3 * 1024 * 1024)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    for mut conn in [
        Conn::http1(host.listener(0)).await,
        Conn::h2c(host.listener(0)).await,
    ] {
        let reply = within(conn.send("PUT", "/big", &[], Bytes::from(body.clone())))
            .await
            .unwrap();
        assert_eq!(reply.status, 200);
        assert_eq!(
            reply.json()["body"].as_str().map(str::len),
            Some(body.len())
        );
        assert!(reply.json()["body"] == body.as_str());
    }
    host.shutdown().await;
}
