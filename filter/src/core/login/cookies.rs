//! Cookies: reading the request's `cookie` headers, writing `Set-Cookie`
//! (RFC 6265), and values split across several cookies when they pass the
//! ~4 KB a browser keeps per cookie (`name`, `name.1`, `name.2`, …).

use crate::core::config::login::Login;

/// Characters per cookie value (browsers keep about 4,096 bytes per cookie,
/// name and attributes included).
pub const CHUNK: usize = 3800;
/// Most chunks of one value.
pub const MAX_CHUNKS: usize = 8;

/// The value of cookie `name` in the request's `cookie` headers (the first
/// one: a browser sends the most specific path first).
pub fn get<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("cookie"))
        .flat_map(|(_, v)| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// A value split by [`chunked`], joined again; `None` when absent or when
/// a chunk is missing.
pub fn get_chunked(headers: &[(String, String)], name: &str) -> Option<String> {
    let mut out = get(headers, name)?.to_owned();
    for i in 1..MAX_CHUNKS {
        match get(headers, &format!("{name}.{i}")) {
            Some(v) => out.push_str(v),
            None => break,
        }
    }
    Some(out)
}

/// `Set-Cookie` attributes for the login's cookies.
fn attributes(login: &Login, path: &str, max_age: Option<u64>) -> String {
    let mut a = format!("; Path={path}; HttpOnly; SameSite=Lax");
    if login.secure_cookies {
        a.push_str("; Secure");
    }
    if let Some(d) = &login.cookie_domain {
        a.push_str("; Domain=");
        a.push_str(d);
    }
    if let Some(s) = max_age {
        a.push_str(&format!("; Max-Age={s}"));
    }
    a
}

/// `Set-Cookie` values storing `value` under `name` in as many chunks as
/// it needs, clearing the chunks a longer earlier value may have left.
/// `None` when it needs more than [`MAX_CHUNKS`].
pub fn chunked(login: &Login, name: &str, value: &str, path: &str) -> Option<Vec<String>> {
    let parts: Vec<&str> = value
        .as_bytes()
        .chunks(CHUNK)
        .map(|c| std::str::from_utf8(c).unwrap_or(""))
        .collect();
    if parts.len() > MAX_CHUNKS {
        return None;
    }
    let mut out = Vec::with_capacity(MAX_CHUNKS);
    for (i, part) in parts.iter().enumerate() {
        let n = chunk_name(name, i);
        out.push(format!("{n}={part}{}", attributes(login, path, None)));
    }
    for i in parts.len().max(1)..MAX_CHUNKS {
        out.push(clear(login, &chunk_name(name, i), path));
    }
    Some(out)
}

/// `Set-Cookie` values removing `name` and every chunk of it, but only those
/// the request carries (plus `name` itself).
pub fn clear_chunked(
    login: &Login,
    headers: &[(String, String)],
    name: &str,
    path: &str,
) -> Vec<String> {
    let mut out = vec![clear(login, name, path)];
    for i in 1..MAX_CHUNKS {
        let n = chunk_name(name, i);
        if get(headers, &n).is_some() {
            out.push(clear(login, &n, path));
        }
    }
    out
}

/// One short-lived cookie (`Max-Age` seconds).
pub fn short(login: &Login, name: &str, value: &str, path: &str, max_age_s: u64) -> String {
    format!("{name}={value}{}", attributes(login, path, Some(max_age_s)))
}

/// A `Set-Cookie` value that removes `name`.
pub fn clear(login: &Login, name: &str, path: &str) -> String {
    format!("{name}={}", attributes(login, path, Some(0)))
}

fn chunk_name(name: &str, i: usize) -> String {
    if i == 0 {
        name.to_owned()
    } else {
        format!("{name}.{i}")
    }
}

/// The `cookie` header without the cookies `drop` names (`None`: nothing
/// left).
pub fn without(value: &str, drop: impl Fn(&str) -> bool) -> Option<String> {
    let kept: Vec<&str> = value
        .split(';')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .filter(|p| !drop(p.split_once('=').map_or(*p, |(k, _)| k)))
        .collect();
    (!kept.is_empty()).then(|| kept.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(v: &str) -> Vec<(String, String)> {
        vec![("cookie".into(), v.into())]
    }

    #[test]
    fn values_are_found_and_joined_from_their_chunks() {
        let hs = h("a=1; s=xx; s.1=yy; s.2=zz; b=2");
        assert_eq!(get(&hs, "a"), Some("1"));
        assert_eq!(get(&hs, "s.1"), Some("yy"));
        assert_eq!(get_chunked(&hs, "s").as_deref(), Some("xxyyzz"));
        assert_eq!(get_chunked(&hs, "t"), None);
        assert_eq!(
            without("a=1; s=xx; s.1=yy; b=2", |n| n.starts_with('s')).as_deref(),
            Some("a=1; b=2")
        );
        assert_eq!(without("s=1", |n| n == "s"), None);
    }
}
