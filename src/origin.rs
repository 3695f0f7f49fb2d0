//! Where a request goes upstream.
//!
//! In production the worker runs as a route on the shop's own hostname, so the
//! upstream URL is the request URL itself. For the local demo and tests an
//! explicit origin (`ORIGIN_URL`) replaces the scheme, host and port while the
//! path and query are kept exactly as the browser sent them.

/// Error for an origin setting that is not an absolute `http(s)://host[:port]` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadOrigin(pub String);

impl std::fmt::Display for BadOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ORIGIN_URL {:?} is not an http(s)://host[:port] URL",
            self.0
        )
    }
}

impl std::error::Error for BadOrigin {}

/// Splits `scheme://authority` from the rest (path, query, fragment) of an absolute URL.
fn split_authority(url: &str) -> Option<(&str, &str)> {
    let scheme_end = url.find("://")?;
    let after = scheme_end + 3;
    let rest_start = url[after..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| after + i);
    if rest_start == after {
        return None;
    }
    Some((&url[..rest_start], &url[rest_start..]))
}

/// Returns the URL to fetch upstream for `request_url`, given the configured origin
/// (empty means "the request URL itself", the production mode).
pub fn upstream_url(request_url: &str, origin: &str) -> Result<String, BadOrigin> {
    let origin = origin.trim();
    if origin.is_empty() {
        return Ok(request_url.to_string());
    }
    let bad = || BadOrigin(origin.to_string());
    let (base, origin_rest) = split_authority(origin).ok_or_else(bad)?;
    if !(base.starts_with("http://") || base.starts_with("https://"))
        || !matches!(origin_rest, "" | "/")
    {
        return Err(bad());
    }
    let (_, rest) = split_authority(request_url).ok_or_else(bad)?;
    let rest = if rest.is_empty() { "/" } else { rest };
    Ok(format!("{base}{rest}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_origin_keeps_the_request_url() {
        let u = "https://shop.example/checkout/onepage/success/?x=1";
        assert_eq!(upstream_url(u, "").unwrap(), u);
    }

    #[test]
    fn origin_replaces_scheme_host_and_port_only() {
        let got = upstream_url(
            "https://shop.example:8443/a/b?q=%20x#f",
            "http://127.0.0.1:9000",
        )
        .unwrap();
        assert_eq!(got, "http://127.0.0.1:9000/a/b?q=%20x#f");
        let got = upstream_url("https://shop.example", "http://127.0.0.1:9000/").unwrap();
        assert_eq!(got, "http://127.0.0.1:9000/");
        let got = upstream_url("https://shop.example?a=1", "http://o").unwrap();
        assert_eq!(got, "http://o?a=1");
    }

    #[test]
    fn malformed_origins_are_rejected() {
        for bad in ["127.0.0.1:9000", "ftp://x", "http://", "http://x/path"] {
            assert!(upstream_url("https://a/b", bad).is_err(), "{bad}");
        }
    }
}
