//! `application/x-www-form-urlencoded` bodies of the callouts the gateway
//! makes as a client (introspection, token requests).

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
