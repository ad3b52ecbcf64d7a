//! The imports of a wasm module (its import section, read by hand: a few
//! LEB128 numbers and names), to check that the filter asks its host for
//! the proxy-wasm ABI and WASI only.

use anyhow::{bail, Context, Result};

/// `(module, name)` of every function, table, memory or global import.
pub fn imports(wasm: &[u8]) -> Result<Vec<(String, String)>> {
    if wasm.len() < 8 || &wasm[..4] != b"\0asm" {
        bail!("not a wasm module");
    }
    let mut r = Reader { b: wasm, at: 8 };
    let mut out = Vec::new();
    while r.at < r.b.len() {
        let id = r.byte()?;
        let size = r.leb()? as usize;
        let end = r.at.checked_add(size).context("section size")?;
        if end > r.b.len() {
            bail!("section past the end of the module");
        }
        if id == 2 {
            let count = r.leb()?;
            for _ in 0..count {
                let module = r.name()?;
                let name = r.name()?;
                match r.byte()? {
                    0 => {
                        r.leb()?; // type index
                    }
                    1 => {
                        r.byte()?; // reference type
                        limits(&mut r)?;
                    }
                    2 => limits(&mut r)?,
                    3 => {
                        r.byte()?; // value type
                        r.byte()?; // mutability
                    }
                    4 => {
                        r.byte()?; // tag attribute
                        r.leb()?; // type index
                    }
                    k => bail!("unknown import kind {k}"),
                }
                out.push((module, name));
            }
        }
        r.at = end;
    }
    Ok(out)
}

/// Imports that are neither the proxy-wasm ABI (`env.proxy_*`) nor WASI
/// (`wasi_snapshot_preview1`).
pub fn foreign(imports: &[(String, String)]) -> Vec<String> {
    imports
        .iter()
        .filter(|(m, n)| {
            !(m == "wasi_snapshot_preview1" || (m == "env" && n.starts_with("proxy_")))
        })
        .map(|(m, n)| format!("{m}.{n}"))
        .collect()
}

fn limits(r: &mut Reader) -> Result<()> {
    let flags = r.byte()?;
    r.leb()?;
    if flags & 1 != 0 {
        r.leb()?;
    }
    Ok(())
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8> {
        let v = *self.b.get(self.at).context("truncated module")?;
        self.at += 1;
        Ok(v)
    }

    fn leb(&mut self) -> Result<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        bail!("LEB128 number too long")
    }

    fn name(&mut self) -> Result<String> {
        let len = self.leb()? as usize;
        let end = self.at.checked_add(len).context("name length")?;
        let bytes = self.b.get(self.at..end).context("truncated name")?;
        self.at = end;
        Ok(String::from_utf8_lossy(bytes).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_function_imports() {
        // (import "env" "proxy_log" (func (type 0))) and one WASI import.
        let mut m = b"\0asm\x01\0\0\0".to_vec();
        let mut sec = vec![2u8];
        for (module, name) in [("env", "proxy_log"), ("wasi_snapshot_preview1", "fd_write")] {
            sec.push(module.len() as u8);
            sec.extend(module.as_bytes());
            sec.push(name.len() as u8);
            sec.extend(name.as_bytes());
            sec.extend([0, 0]);
        }
        m.push(2);
        m.push(sec.len() as u8);
        m.extend(sec);
        let got = imports(&m).unwrap_or_default();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0], ("env".into(), "proxy_log".into()));
        assert!(foreign(&got).is_empty());
        let other = vec![("env".to_string(), "memcpy".to_string())];
        assert_eq!(foreign(&other), vec!["env.memcpy".to_string()]);
    }
}
