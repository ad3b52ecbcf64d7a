//! Minimal `http(s)://authority/path` parsing for callout targets.

/// A callout target: what goes into `:scheme`, `:authority` and `:path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUri {
    /// `http` or `https`.
    pub scheme: &'static str,
    /// `host[:port]`.
    pub authority: String,
    /// Path and query, starting with `/`.
    pub path: String,
}

impl HttpUri {
    /// Parse an absolute `http://` or `https://` URI.
    pub fn parse(s: &str) -> Result<HttpUri, String> {
        let (scheme, rest) = if let Some(r) = s.strip_prefix("https://") {
            ("https", r)
        } else if let Some(r) = s.strip_prefix("http://") {
            ("http", r)
        } else {
            return Err("must start with http:// or https://".to_owned());
        };
        if s.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err("must not contain spaces or control characters".to_owned());
        }
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.is_empty() || authority.contains('@') {
            return Err("needs a host (and no userinfo)".to_owned());
        }
        let path = match path.strip_prefix('?') {
            Some(_) => format!("/{path}"),
            None => path.to_owned(),
        };
        let path = match path.find('#') {
            Some(i) => path[..i].to_owned(),
            None => path,
        };
        Ok(HttpUri {
            scheme,
            authority: authority.to_owned(),
            path,
        })
    }

    /// Same target with another `:authority`.
    pub fn with_authority(mut self, authority: &str) -> HttpUri {
        authority.clone_into(&mut self.authority);
        self
    }

    /// The URI as text.
    pub fn to_text(&self) -> String {
        format!("{}://{}{}", self.scheme, self.authority, self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_parts() {
        let u = HttpUri::parse("https://as.example:8443/a/jwks?x=1#f").unwrap();
        assert_eq!(u.scheme, "https");
        assert_eq!(u.authority, "as.example:8443");
        assert_eq!(u.path, "/a/jwks?x=1");
        assert_eq!(HttpUri::parse("http://h").unwrap().path, "/");
        assert_eq!(HttpUri::parse("http://h?q").unwrap().path, "/?q");
    }

    #[test]
    fn refuses_bad() {
        for s in [
            "ftp://h/",
            "https:///x",
            "https://u@h/",
            "https://h/ x",
            "h/x",
        ] {
            assert!(HttpUri::parse(s).is_err(), "{s}");
        }
    }
}
