//! The request path, checked and normalised once before any module runs,
//! with the filter's own policy ([`abi_wire::request_path`]): modules,
//! routes and the upstream all see the same path, as Envoy's connection
//! manager gives them with `normalize_path`, `merge_slashes` and
//! `path_with_escaped_slashes_action: REJECT_REQUEST`.

use abi_wire::request_path::{check_path, PathError};

/// Replaces the path of `uri` with its normal form (the query kept as
/// sent), or says why the path is refused (400).
pub fn normalise(uri: &mut http::Uri) -> Result<(), PathError> {
    let normal = check_path(uri.path())?;
    if normal.as_str() == uri.path() {
        return Ok(());
    }
    let path_and_query = match uri.query() {
        Some(q) => format!("{}?{q}", normal.as_str()),
        None => normal.into_string(),
    };
    let mut parts = std::mem::take(uri).into_parts();
    // The normal form is built from the valid path's own bytes (unreserved
    // escapes decoded, hex digits uppercased), so it parses.
    parts.path_and_query = path_and_query.parse().ok();
    *uri = http::Uri::from_parts(parts).map_err(|_| PathError::NotOriginForm)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> Result<String, PathError> {
        let mut uri: http::Uri = s.parse().unwrap();
        normalise(&mut uri).map(|()| uri.to_string())
    }

    #[test]
    fn paths_are_normalised_or_refused() {
        assert_eq!(norm("/a/b?x=1").unwrap(), "/a/b?x=1");
        assert_eq!(
            norm("//admin//users?q=/../").unwrap(),
            "/admin/users?q=/../"
        );
        assert_eq!(norm("/%61dmin/%7e").unwrap(), "/admin/~");
        assert_eq!(norm("/a%3fb").unwrap(), "/a%3Fb");
        assert_eq!(
            norm("http://h.example/%61//b").unwrap(),
            "http://h.example/a/b"
        );
        assert_eq!(norm("/admin/../x"), Err(PathError::DotSegment));
        assert_eq!(norm("/admin%2Fx"), Err(PathError::EncodedSeparator));
        assert_eq!(norm("/x/..;/admin"), Err(PathError::PathParameter));
        assert_eq!(norm("*"), Err(PathError::NotOriginForm));
    }
}
