//! `application/x-www-form-urlencoded`: the bodies of the callouts the
//! gateway makes as a client (introspection, token requests), and request
//! queries decoded.

use abi_wire::hex::nibble;

/// Encoding of one name or value (WHATWG URL §5.2: space → `+`, unreserved
/// `*-._` and alphanumerics kept).
pub fn form_urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A form body from name/value pairs.
pub fn form_body(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", form_urlencode(k), form_urlencode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-decode (`plus`: `+` is a space); `None` for a malformed escape
/// or bytes that are not UTF-8.
pub fn percent_decode(s: &str, plus: bool) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        match c {
            b'%' => {
                let h = nibble(*b.get(i + 1)?)?;
                let l = nibble(*b.get(i + 2)?)?;
                out.push(h * 16 + l);
                i += 3;
            }
            b'+' if plus => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// The query of a raw `:path` as decoded name/value pairs (`None`: some
/// pair does not decode).
pub fn parse_query(raw_path: &str) -> Option<Vec<(String, String)>> {
    let Some((_, q)) = raw_path.split_once('?') else {
        return Some(Vec::new());
    };
    let q = q.split('#').next().unwrap_or(q);
    let mut out = Vec::new();
    for pair in q.split('&').filter(|p| !p.is_empty()) {
        let (n, v) = pair.split_once('=').unwrap_or((pair, ""));
        out.push((percent_decode(n, true)?, percent_decode(v, true)?));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_encoding() {
        assert_eq!(form_urlencode("a b+c/é:%"), "a+b%2Bc%2F%C3%A9%3A%25");
        assert_eq!(
            form_body(&[
                ("token".into(), "x.y~z".into()),
                ("h".into(), "a&b=c".into())
            ]),
            "token=x.y%7Ez&h=a%26b%3Dc"
        );
    }
}
