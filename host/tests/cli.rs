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
