//! Reads a page's Content-Security-Policy to decide whether the offer block may
//! carry an inline `<script>` / `<style>`, and with which nonce.
//!
//! Rules (CSP Level 3): the effective directive is `script-src-elem` /
//! `style-src-elem`, else `script-src` / `style-src`, else `default-src`; no
//! such directive means inline content is allowed. When a directive carries a
//! nonce we reuse it (and `'unsafe-inline'` is then ignored by browsers); with
//! only `'unsafe-inline'` inline content runs without one; otherwise (hashes,
//! `'strict-dynamic'` without nonce, `'none'`, host lists) we add nothing.

/// Whether, and how, an inline element of one kind may be added to the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inline {
    /// No policy restricts it.
    Allowed,
    /// Allowed when it carries this nonce.
    Nonce(String),
    /// Not allowed: add nothing of this kind.
    Blocked,
}

/// The script and style policy for one page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlinePolicy {
    /// For `<script>` elements.
    pub script: Inline,
    /// For `<style>` elements.
    pub style: Inline,
}

impl InlinePolicy {
    /// A page with no CSP at all.
    pub fn unrestricted() -> Self {
        InlinePolicy {
            script: Inline::Allowed,
            style: Inline::Allowed,
        }
    }

    /// Combines every policy the page carries (response headers and `<meta http-equiv>`):
    /// content must satisfy all of them, so the strictest answer wins.
    pub fn from_policies<'a>(policies: impl IntoIterator<Item = &'a str>) -> Self {
        let mut out = Self::unrestricted();
        for p in policies {
            out.script = stricter(
                out.script,
                inline_for(p, &["script-src-elem", "script-src"]),
            );
            out.style = stricter(out.style, inline_for(p, &["style-src-elem", "style-src"]));
        }
        out
    }
}

/// The stricter of two answers (two different nonces cannot both be met: blocked).
fn stricter(a: Inline, b: Inline) -> Inline {
    match (a, b) {
        (Inline::Blocked, _) | (_, Inline::Blocked) => Inline::Blocked,
        (Inline::Allowed, x) | (x, Inline::Allowed) => x,
        (Inline::Nonce(x), Inline::Nonce(y)) if x == y => Inline::Nonce(x),
        _ => Inline::Blocked,
    }
}

/// Evaluates one policy string for the first present directive of `names`, falling back to `default-src`.
fn inline_for(policy: &str, names: &[&str]) -> Inline {
    let directives: Vec<(String, Vec<&str>)> = policy
        .split(';')
        .filter_map(|d| {
            let mut parts = d.split_ascii_whitespace();
            let name = parts.next()?.to_ascii_lowercase();
            Some((name, parts.collect()))
        })
        .collect();
    let find = |n: &str| {
        directives
            .iter()
            .find(|(name, _)| name == n)
            .map(|(_, v)| v)
    };
    let sources = names
        .iter()
        .find_map(|n| find(n))
        .or_else(|| find("default-src"));
    let Some(sources) = sources else {
        return Inline::Allowed;
    };
    let nonce = sources.iter().find_map(|s| {
        let s = s.strip_prefix("'nonce-")?.strip_suffix('\'')?;
        let valid = !s.is_empty()
            && s.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_')
            });
        valid.then(|| s.to_string())
    });
    if let Some(n) = nonce {
        return Inline::Nonce(n);
    }
    let has = |k: &str| sources.iter().any(|s| s.eq_ignore_ascii_case(k));
    let hashed = sources.iter().any(|s| {
        let s = s.to_ascii_lowercase();
        s.starts_with("'sha256-") || s.starts_with("'sha384-") || s.starts_with("'sha512-")
    });
    if has("'unsafe-inline'") && !hashed && !has("'strict-dynamic'") {
        Inline::Allowed
    } else {
        Inline::Blocked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(p: &str) -> Inline {
        InlinePolicy::from_policies([p]).script
    }

    #[test]
    fn no_policy_allows_inline() {
        assert_eq!(
            InlinePolicy::from_policies([]),
            InlinePolicy::unrestricted()
        );
        assert_eq!(script("img-src 'self'"), Inline::Allowed);
    }

    #[test]
    fn nonce_is_reused_and_beats_unsafe_inline() {
        assert_eq!(
            script("default-src 'self'; script-src 'self' 'nonce-r4nd0m+/=' 'unsafe-inline'"),
            Inline::Nonce("r4nd0m+/=".into())
        );
    }

    #[test]
    fn default_src_governs_when_script_src_is_absent() {
        assert_eq!(script("default-src 'self'"), Inline::Blocked);
        assert_eq!(
            script("default-src 'self' 'unsafe-inline'"),
            Inline::Allowed
        );
        assert_eq!(
            InlinePolicy::from_policies(["default-src 'self'; style-src 'unsafe-inline'"]).style,
            Inline::Allowed
        );
    }

    #[test]
    fn hashes_strict_dynamic_and_bad_nonces_block() {
        assert_eq!(
            script("script-src 'unsafe-inline' 'sha256-abc='"),
            Inline::Blocked
        );
        assert_eq!(
            script("script-src 'strict-dynamic' 'unsafe-inline'"),
            Inline::Blocked
        );
        assert_eq!(script("script-src 'nonce-\"><x'"), Inline::Blocked);
        assert_eq!(script("script-src 'none'"), Inline::Blocked);
    }

    #[test]
    fn several_policies_must_all_be_met() {
        let p = InlinePolicy::from_policies(["script-src 'nonce-a'", "script-src 'nonce-b'"]);
        assert_eq!(p.script, Inline::Blocked);
        let p = InlinePolicy::from_policies(["script-src 'nonce-a'", "img-src *"]);
        assert_eq!(p.script, Inline::Nonce("a".into()));
    }
}
