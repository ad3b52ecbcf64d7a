//! The `oauth-host` binary: bad configs give one line naming the field and
//! a non-zero exit; `check` passes a good plain-proxy config.

use std::process::Command;

struct Dir(std::path::PathBuf);

impl Dir {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("oauth-host-cli-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Dir(dir)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_oauth-host"))
        .args(args)
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

const GOOD: &str = "listeners: [{address: 127.0.0.1:0}]\nroutes: [{cluster: b}]\nclusters: [{name: b, address: 'http://127.0.0.1:1'}]\n";

#[test]
fn bad_config_is_one_line_naming_the_field() {
    let dir = Dir::new("bad");
    let bad = GOOD.replace("http://127.0.0.1:1", "127.0.0.1:1");
    let path = dir.0.join("bad.yaml");
    std::fs::write(&path, bad).unwrap();
    for args in [
        vec!["--config", path.to_str().unwrap()],
        vec!["check", "--config", path.to_str().unwrap()],
    ] {
        let (code, stdout, stderr) = run(&args);
        assert_ne!(code, 0, "{args:?} succeeded");
        assert!(stdout.is_empty(), "{stdout}");
        assert_eq!(stderr.lines().count(), 1, "not one line: {stderr:?}");
        assert!(
            stderr.starts_with(
                "config error: clusters[0].address: must start with http:// or https://"
            ),
            "{stderr}"
        );
    }
}

#[test]
fn missing_config_file() {
    let (code, _, stderr) = run(&["check", "--config", "/nonexistent/oauth-host.yaml"]);
    assert_ne!(code, 0);
    assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
    assert!(
        stderr.starts_with("config error: cannot read config file /nonexistent/oauth-host.yaml"),
        "{stderr}"
    );
    assert!(
        stderr.contains("pass --config FILE") && stderr.contains("docs/host-config.md"),
        "no hint: {stderr}"
    );
}

#[test]
fn no_config_names_both_commands() {
    let (code, stdout, stderr) = run(&[]);
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
    assert!(
        stderr.starts_with("error: --config FILE is required")
            && stderr.contains("oauth-host check --config host.yaml"),
        "{stderr}"
    );
}

/// `--help` ends with examples, among them a minimal host.yaml; that
/// example is a valid config up to its module, which is missing here: the
/// error names the module's path and how to build it.
#[test]
fn help_has_examples_and_the_example_config_checks() {
    let (code, help, _) = run(&["--help"]);
    assert_eq!(code, 0);
    assert!(help.contains("Examples:"), "{help}");
    assert!(
        help.contains("oauth-host check --config host.yaml"),
        "{help}"
    );
    assert!(help.contains("docs/host-config.md"), "{help}");
    let (code, check_help, _) = run(&["check", "--help"]);
    assert_eq!(code, 0);
    assert!(check_help.contains("Examples:"), "{check_help}");
    assert!(
        check_help.contains("oauth-host check --config host.yaml"),
        "{check_help}"
    );

    let yaml: String = help
        .lines()
        .skip_while(|l| !l.starts_with("A minimal host.yaml"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .map(|l| format!("{}\n", l.strip_prefix("  ").unwrap_or(l)))
        .collect();
    assert!(yaml.contains("filters:"), "no example config in:\n{help}");
    let dir = Dir::new("help-example");
    let path = dir.0.join("host.yaml");
    std::fs::write(&path, &yaml).unwrap();
    let (code, stdout, stderr) = run(&["check", "--config", path.to_str().unwrap()]);
    assert_ne!(code, 0, "{stdout}");
    assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
    let module = dir.0.join("target/wasm/opt/oauth_filter.wasm");
    assert!(
        stderr.starts_with(&format!(
            "config error: filters[0].module: cannot read {}",
            module.display()
        )),
        "{stderr}\n{yaml}"
    );
    assert!(stderr.contains("cargo xtask build"), "no hint: {stderr}");
}

#[test]
fn check_accepts_a_good_config() {
    let dir = Dir::new("good");
    let path = dir.0.join("good.yaml");
    std::fs::write(&path, GOOD).unwrap();
    let (code, stdout, stderr) = run(&["check", "--config", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.starts_with("config ok: 1 listener(s), 1 route(s), 1 cluster(s), 0 plugin(s)"),
        "{stdout}"
    );
}

/// SIGTERM drains: a request in flight when the signal arrives completes,
/// then the process exits 0.
#[test]
fn sigterm_drains_in_flight_request_then_exits_zero() {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::time::Duration;

    // A slow upstream: answers each request after 600 ms.
    let upstream = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let upstream_addr = upstream.local_addr().unwrap();
    let (arrived_tx, arrived) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        for stream in upstream.incoming() {
            let Ok(mut stream) = stream else { return };
            let arrived_tx = arrived_tx.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                let _ = arrived_tx.send(());
                std::thread::sleep(Duration::from_millis(600));
                let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nslow");
            });
        }
    });

    let dir = Dir::new("sigterm");
    let path = dir.0.join("serve.yaml");
    std::fs::write(
        &path,
        format!(
            "workers: 1\nlisteners: [{{address: 127.0.0.1:0}}]\nroutes: [{{cluster: b}}]\n\
             clusters: [{{name: b, address: 'http://{upstream_addr}'}}]\n"
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_oauth-host"))
        .args(["--config", path.to_str().unwrap(), "--log-level", "info"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Never hang the test run: kill the child if the test has not ended it.
    let pid = child.id();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if done_rx.recv_timeout(Duration::from_secs(30)).is_err() {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
    });
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let listener = loop {
        line.clear();
        if stderr.read_line(&mut line).unwrap() == 0 {
            let _ = child.kill();
            panic!("oauth-host exited before serving");
        }
        if let Some(start) = line.find("listeners=[") {
            let rest = &line[start + "listeners=[".len()..];
            break rest[..rest.find(']').unwrap()].to_string();
        }
    };
    let mut client = std::net::TcpStream::connect(&listener).unwrap();
    client
        .write_all(b"GET /slow HTTP/1.1\r\nhost: x\r\n\r\n")
        .unwrap();
    // Signal only once the request is in flight at the upstream.
    arrived.recv_timeout(Duration::from_secs(10)).unwrap();
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    client
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut response = String::new();
    let _ = client.read_to_string(&mut response);
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response:?}");
    assert!(response.ends_with("slow"), "{response:?}");
    let status = child.wait().unwrap();
    let _ = done_tx.send(());
    let _ = watchdog.join();
    assert_eq!(status.code(), Some(0));
    let mut rest = String::new();
    let _ = stderr.read_to_string(&mut rest);
    assert!(rest.contains("SIGTERM: draining"), "{rest}");
}
