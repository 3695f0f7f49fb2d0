//! Which requests the engine acts on: host → brand, country → region, path →
//! confirmation page. Everything else passes through untouched.
use crate::config::{CompiledConfig, Regions, Settings};

/// A request the engine should act on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Route<'a> {
    /// Brand id.
    pub brand: &'a str,
    /// Region id.
    pub region: &'a str,
    /// Effective settings for this brand × region.
    pub settings: &'a Settings,
}

/// Normalises a request host: lower case, no port, no trailing dot.
pub fn normalize_host(host: &str) -> String {
    let h = host.trim();
    let h = if let Some(rest) = h.strip_prefix('[') {
        // IPv6 literal: `[::1]:8787` → `[::1]`.
        rest.find(']').map_or(h, |i| &h[..i + 2])
    } else {
        h.rsplit_once(':').map_or(h, |(name, port)| {
            if port.bytes().all(|c| c.is_ascii_digit()) {
                name
            } else {
                h
            }
        })
    };
    h.trim_end_matches('.').to_ascii_lowercase()
}

/// True when host pattern `pattern` (exact, or `*.suffix` for any subdomain depth) matches `host`.
pub fn host_matches(pattern: &str, host: &str) -> bool {
    match pattern.strip_prefix('*') {
        Some(suffix) if suffix.starts_with('.') => {
            host.len() > suffix.len() && host.ends_with(suffix)
        }
        _ => pattern == host,
    }
}

/// The brand serving `host` (port ignored): an exact host wins over wildcards,
/// and the longest wildcard suffix wins among wildcards.
pub fn brand_for_host<'a>(cfg: &'a CompiledConfig, host: &str) -> Option<&'a str> {
    let host = normalize_host(host);
    let mut best: Option<(&'a str, usize)> = None;
    for (brand, b) in &cfg.brands {
        for p in &b.hosts {
            if !host_matches(p, &host) {
                continue;
            }
            let score = if p.starts_with("*.") {
                p.len()
            } else {
                usize::MAX
            };
            if best.is_none_or(|(_, s)| score > s) {
                best = Some((brand.as_str(), score));
            }
        }
    }
    best.map(|(b, _)| b)
}

/// The region for `country` (ISO alpha-2, any case) by the brand's map, else its default region.
pub fn region_for_country<'a>(regions: &'a Regions, country: Option<&str>) -> &'a str {
    country
        .map(|c| c.trim().to_ascii_uppercase())
        .and_then(|c| regions.countries.get(&c))
        .unwrap_or(&regions.default)
}

/// True when `pattern` matches `path`: segments compare literally, `*` is one
/// non-empty segment, a final `**` any rest (including none); a trailing `/` on
/// either side is ignored; a query string on `path` is ignored.
pub fn path_matches(pattern: &str, path: &str) -> bool {
    let path = path.split(['?', '#']).next().unwrap_or("");
    let pat: Vec<&str> = pattern.trim_end_matches('/').split('/').collect();
    let got: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let mut i = 0;
    for (j, p) in pat.iter().enumerate() {
        if *p == "**" && j + 1 == pat.len() {
            return true;
        }
        match got.get(i) {
            Some(g) if *p == "*" && !g.is_empty() => {}
            Some(g) if p == g => {}
            _ => return false,
        }
        i += 1;
    }
    i == got.len()
}

/// True for a GET of a path matching one of the brand's confirmation patterns.
pub fn is_confirmation_page(method: &str, path: &str, patterns: &[String]) -> bool {
    method.eq_ignore_ascii_case("GET") && patterns.iter().any(|p| path_matches(p, path))
}

/// Decides whether the engine acts on a request: a GET of a confirmation page on a
/// known brand's host with offers switched on. `None` means pass the page through.
pub fn route<'a>(
    cfg: &'a CompiledConfig,
    method: &str,
    host: &str,
    path: &str,
    country: Option<&str>,
) -> Option<Route<'a>> {
    let brand = brand_for_host(cfg, host)?;
    let b = &cfg.brands[brand];
    let wanted = region_for_country(&b.regions, country);
    let (region, settings) = b
        .by_region
        .get_key_value(wanted)
        .or_else(|| b.by_region.get_key_value(&b.regions.default))?;
    if !settings.features.offers
        || !is_confirmation_page(method, path, &settings.confirmation.paths)
    {
        return None;
    }
    Some(Route {
        brand,
        region: region.as_str(),
        settings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{CompiledBrand, CONFIG_FORMAT};
    use std::collections::BTreeMap;

    fn cfg() -> CompiledConfig {
        let brand = |hosts: &[&str], accent: &str| {
            let mut regions = Regions::default();
            regions.countries.insert("GB".into(), "uk".into());
            regions.countries.insert("FR".into(), "eu".into());
            let mut by_region = BTreeMap::new();
            for r in ["uk", "eu", "row"] {
                let mut s = Settings::default();
                s.style.accent = accent.into();
                s.style.heading = format!("{r}");
                by_region.insert(r.to_string(), s);
            }
            CompiledBrand {
                hosts: hosts.iter().map(|h| h.to_string()).collect(),
                regions,
                by_region,
            }
        };
        let mut brands = BTreeMap::new();
        brands.insert(
            "homewares".into(),
            brand(&["homewares.localhost", "*.homewares.example"], "#111"),
        );
        brands.insert(
            "gifts".into(),
            brand(
                &["gifts.localhost", "*.example", "shop.gifts.example"],
                "#222",
            ),
        );
        CompiledConfig {
            format: CONFIG_FORMAT,
            version: "t".into(),
            published_at: String::new(),
            brands,
        }
    }

    #[test]
    fn host_to_brand_ignores_port_case_and_trailing_dot() {
        let c = cfg();
        assert_eq!(
            brand_for_host(&c, "homewares.localhost:8787"),
            Some("homewares")
        );
        assert_eq!(
            brand_for_host(&c, "HOMEWARES.localhost."),
            Some("homewares")
        );
        assert_eq!(brand_for_host(&c, "gifts.localhost"), Some("gifts"));
        assert_eq!(brand_for_host(&c, "other.localhost"), None);
        assert_eq!(brand_for_host(&c, "localhost"), None);
    }

    #[test]
    fn wildcards_match_subdomains_and_the_most_specific_wins() {
        let c = cfg();
        assert_eq!(
            brand_for_host(&c, "www.homewares.example"),
            Some("homewares")
        );
        assert_eq!(
            brand_for_host(&c, "a.b.homewares.example:443"),
            Some("homewares")
        );
        assert_eq!(brand_for_host(&c, "shop.gifts.example"), Some("gifts"));
        assert_eq!(brand_for_host(&c, "x.example"), Some("gifts"));
        assert_eq!(
            brand_for_host(&c, "homewares.example"),
            Some("gifts"),
            "*.homewares.example does not match its apex"
        );
        assert_eq!(brand_for_host(&c, "example"), None);
    }

    #[test]
    fn normalize_keeps_ipv6_literals() {
        assert_eq!(normalize_host("[::1]:8787"), "[::1]");
        assert_eq!(normalize_host("Shop.Example:443"), "shop.example");
        assert_eq!(normalize_host("shop.example"), "shop.example");
    }

    #[test]
    fn country_to_region_with_default() {
        let r = &cfg().brands["gifts"].regions.clone();
        assert_eq!(region_for_country(r, Some("GB")), "uk");
        assert_eq!(region_for_country(r, Some("fr")), "eu");
        assert_eq!(region_for_country(r, Some("US")), "row");
        assert_eq!(region_for_country(r, None), "row");
    }

    #[test]
    fn confirmation_patterns() {
        let pats: Vec<String> = Settings::default().confirmation.paths;
        for yes in [
            "/checkout/onepage/success/",
            "/checkout/onepage/success",
            "/checkout/onepage/success/?utm=x",
            "/checkout/order-received/1234/",
            "/checkout/order-received/1234?key=wc_order_abc",
            "/order-confirmation",
            "/checkout/thank_you",
        ] {
            assert!(is_confirmation_page("GET", yes, &pats), "{yes}");
        }
        for no in [
            "/",
            "/checkout/onepage/",
            "/checkout/order-received/",
            "/checkout/order-received//",
            "/checkout/order-received/1/2/",
            "/order-confirmation/extra",
            "/checkout/thank_you_not",
            "/Checkout/thank_you",
        ] {
            assert!(!is_confirmation_page("GET", no, &pats), "{no}");
        }
        assert!(!is_confirmation_page("POST", "/checkout/thank_you", &pats));
        assert!(!is_confirmation_page("HEAD", "/checkout/thank_you", &pats));
        assert!(is_confirmation_page("get", "/checkout/thank_you", &pats));
        assert!(path_matches("/orders/**", "/orders/1/done"));
        assert!(path_matches("/orders/**", "/orders"));
        assert!(!path_matches("/orders/**", "/order"));
    }

    #[test]
    fn route_picks_brand_region_settings_and_respects_the_kill_switch() {
        let mut c = cfg();
        let r = route(
            &c,
            "GET",
            "gifts.localhost:8787",
            "/checkout/thank_you",
            Some("FR"),
        )
        .unwrap();
        assert_eq!(
            (r.brand, r.region, r.settings.style.accent.as_str()),
            ("gifts", "eu", "#222")
        );
        assert!(route(&c, "GET", "gifts.localhost", "/cart", Some("FR")).is_none());
        assert!(route(&c, "GET", "unknown.localhost", "/checkout/thank_you", None).is_none());
        c.brands
            .get_mut("gifts")
            .unwrap()
            .by_region
            .get_mut("eu")
            .unwrap()
            .features
            .offers = false;
        assert!(route(
            &c,
            "GET",
            "gifts.localhost",
            "/checkout/thank_you",
            Some("FR")
        )
        .is_none());
        assert!(route(
            &c,
            "GET",
            "gifts.localhost",
            "/checkout/thank_you",
            Some("GB")
        )
        .is_some());
    }
}
