//! Helpers shared by the filter's integration tests: reading the form body of
//! a callout the core asked for (introspection, token requests).

use oauth_filter::core::Callout;

/// The callout's `application/x-www-form-urlencoded` body, decoded.
pub fn form(c: &Callout) -> Vec<(String, String)> {
    String::from_utf8(c.body.clone())
        .unwrap()
        .split('&')
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap();
            (form_decode(k), form_decode(v))
        })
        .collect()
}

/// One form-encoded name or value, decoded (panics on bad encoding: our own
/// output must be well-formed).
fn form_decode(s: &str) -> String {
    let s = s.replace('+', " ");
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// The value of form member `name`.
pub fn member<'a>(f: &'a [(String, String)], name: &str) -> Option<&'a str> {
    f.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}
