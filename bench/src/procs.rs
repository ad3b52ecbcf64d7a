//! Child processes of the bench (oauth-host, Envoy): each leads a session of
//! its own (`setsid`) with a watchdog that kills the whole group when the
//! bench process disappears; dropping a [`Group`] kills the group.

use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result};

/// Shell prologue for `setsid sh -c`: a watchdog kills the process group
/// (`kill 0`) once the bench process (`$1`) is gone, then `exec`s the
/// program (`$2 ...`), which keeps the group leader's pid.
const WATCHDOG: &str = r#"p=$1; shift
( while kill -0 "$p" 2>/dev/null; do sleep 1; done; kill -KILL 0 ) </dev/null >/dev/null 2>&1 &
exec "$@""#;

/// A process group led by a child; output goes to `log`.
pub struct Group {
    name: String,
    child: Child,
    log: PathBuf,
}

impl Group {
    /// Starts `program args` in its own session, output to `log` (opened
    /// for appending, so [`Group::truncate_log`] can empty it while the
    /// program writes).
    pub fn spawn(name: &str, program: &Path, args: &[String], log: PathBuf) -> Result<Group> {
        let out = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(&log)
            .with_context(|| format!("create {}", log.display()))?;
        // O_APPEND on a fresh handle: the child's writes always go to the
        // end, also after the file was emptied.
        drop(out);
        let out = OpenOptions::new()
            .append(true)
            .open(&log)
            .with_context(|| format!("open {}", log.display()))?;
        let err = out.try_clone()?;
        let child = Command::new("setsid")
            .arg("sh")
            .arg("-c")
            .arg(WATCHDOG)
            .arg("sh")
            .arg(std::process::id().to_string())
            .arg(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .with_context(|| format!("spawn {}", program.display()))?;
        Ok(Group {
            name: name.to_string(),
            child,
            log,
        })
    }

    /// Empties the log once it is over `limit` bytes: the proxies with the
    /// audit line on write one line per request, which would otherwise fill
    /// the temporary directory over a full run.
    pub fn truncate_log(&self, limit: u64) {
        let big = std::fs::metadata(&self.log).is_ok_and(|m| m.len() > limit);
        if big {
            if let Ok(f) = OpenOptions::new().write(true).open(&self.log) {
                let _ = f.set_len(0);
            }
        }
    }

    /// CPU time the process has used so far (user + system, every thread),
    /// from `/proc/<pid>/stat`; None where that cannot be read.
    pub fn cpu_time(&self) -> Option<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).ok()?;
        // Fields after the command name (which may hold spaces), from field 3.
        let rest = &stat[stat.rfind(')')? + 2..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks = |i: usize| fields.get(i)?.parse::<u64>().ok();
        // utime and stime are fields 14 and 15 (index 11 and 12 here), in
        // clock ticks of 1/100 s (USER_HZ on Linux).
        let total = ticks(11)? + ticks(12)?;
        Some(Duration::from_millis(total * 10))
    }

    /// The name and the last lines of the log.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        format!(
            "{}:\n{}",
            self.name,
            lines[lines.len().saturating_sub(30)..].join("\n")
        )
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", self.child.id())])
                .stderr(Stdio::null())
                .status();
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// A port free a moment ago on 127.0.0.1.
pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// One `GET path` on a fresh connection; the status code.
pub fn get(port: u16, path: &str, headers: &[(&str, &str)]) -> Result<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut head = format!("GET {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("no HTTP status line")?;
    Ok(status)
}
