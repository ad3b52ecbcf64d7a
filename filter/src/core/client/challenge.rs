//! `WWW-Authenticate` challenges of the upstream (RFC 6750 §3): does it
//! refuse the gateway's token?

/// Whether a `WWW-Authenticate` value is a Bearer challenge with
/// `error="invalid_token"` (RFC 6750 §3).
pub fn is_invalid_token_challenge(value: &str) -> bool {
    let v = value.trim_start();
    let Some(scheme_end) = v.find([' ', '\t']).or(Some(v.len())) else {
        return false;
    };
    if !v[..scheme_end].eq_ignore_ascii_case("bearer") {
        return false;
    }
    // auth-params: name=value or name="quoted", separated by commas.
    let mut rest = &v[scheme_end..];
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            return false;
        }
        let Some(eq) = rest.find('=') else {
            return false;
        };
        let name = rest[..eq].trim();
        rest = rest[eq + 1..].trim_start();
        let value: String;
        if let Some(q) = rest.strip_prefix('"') {
            let mut out = String::new();
            let mut chars = q.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            out.push(n);
                        }
                    }
                    '"' => {
                        end = Some(i + 1);
                        break;
                    }
                    c => out.push(c),
                }
            }
            let Some(e) = end else {
                return false;
            };
            value = out;
            rest = &q[e..];
        } else {
            let e = rest.find(',').unwrap_or(rest.len());
            value = rest[..e].trim().to_owned();
            rest = &rest[e..];
        }
        if name.eq_ignore_ascii_case("error") {
            return value == "invalid_token";
        }
    }
}
