//! Signed offer tokens: what an injected block was, proven to the worker later.
//!
//! Format: `base64url(json claims) "." base64url(HMAC-SHA256(secret, first part))`,
//! URL-safe base64 without padding, so a token fits in a URL parameter, a
//! cookie and a JSON beacon unchanged. Verification accepts any of a list of
//! secrets (key rotation) and signing uses the first.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::assign::Arm;

type HmacSha256 = Hmac<Sha256>;

/// Longest token accepted by [`verify`]; longer input is rejected before decoding.
pub const MAX_TOKEN_LEN: usize = 4096;

/// The claims of one injected offer block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfferToken {
    /// Brand the page belongs to.
    pub brand: String,
    /// Region of the order.
    pub region: String,
    /// The order whose confirmation page showed the block.
    pub parent_order_id: String,
    /// Arm the order was assigned to.
    pub arm: Arm,
    /// Experiment id.
    pub experiment: String,
    /// Version of the neighbour table (or curation list) the offers came from.
    pub model_version: String,
    /// The offered SKUs, in display order.
    pub skus: Vec<String>,
    /// Issue time, Unix milliseconds.
    pub issued_at: u64,
    /// Expiry, Unix milliseconds (exclusive).
    pub expires_at: u64,
    /// Random per-block value (base64url of ≥ 12 random bytes); makes event ids unique.
    pub nonce: String,
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    /// Not two base64url parts, bad JSON, a missing field, or too long (HTTP 400).
    Malformed(String),
    /// Well-formed but signed with none of the accepted secrets (HTTP 401).
    BadSignature,
    /// Correctly signed but past its expiry (HTTP 410).
    Expired {
        /// The token's `expires_at`.
        expires_at: u64,
        /// The time it was checked at.
        now_ms: u64,
    },
    /// No secret configured: the worker cannot sign or verify anything (HTTP 500).
    NoSecret,
}

impl std::fmt::Display for TokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenError::Malformed(why) => write!(f, "malformed offer token: {why}"),
            TokenError::BadSignature => f.write_str("offer token signature does not verify"),
            TokenError::Expired { expires_at, now_ms } => {
                write!(f, "offer token expired at {expires_at} (now {now_ms})")
            }
            TokenError::NoSecret => f.write_str("no offer-token secret configured"),
        }
    }
}

impl std::error::Error for TokenError {}

/// HMAC-SHA256 of `data` under `secret`.
pub(crate) fn hmac_sha256(secret: &[u8], data: &[&[u8]]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
    for part in data {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// Constant-time check of `tag` against HMAC-SHA256(`secret`, `data`).
pub(crate) fn hmac_sha256_verify(secret: &[u8], data: &[&[u8]], tag: &[u8]) -> bool {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
    for part in data {
        mac.update(part);
    }
    mac.verify_slice(tag).is_ok()
}

/// Signs `claims` with `secret` into the compact token string.
pub fn sign(claims: &OfferToken, secret: &[u8]) -> String {
    let json = serde_json::to_vec(claims).expect("claims serialise");
    let payload = URL_SAFE_NO_PAD.encode(json);
    let tag = hmac_sha256(secret, &[payload.as_bytes()]);
    let mut out = payload;
    out.push('.');
    out.push_str(&URL_SAFE_NO_PAD.encode(tag));
    out
}

/// Verifies `token` against any of `secrets` and its expiry at `now_ms`.
///
/// The signature is checked (in constant time per secret) before the payload is
/// parsed, so a forged token never reaches the JSON parser; expiry is checked last,
/// so [`TokenError::Expired`] means "authentic but too old".
pub fn verify<S: AsRef<[u8]>>(
    token: &str,
    secrets: &[S],
    now_ms: u64,
) -> Result<OfferToken, TokenError> {
    if secrets.is_empty() {
        return Err(TokenError::NoSecret);
    }
    let token = token.trim();
    if token.len() > MAX_TOKEN_LEN {
        return Err(TokenError::Malformed(format!(
            "{} bytes, limit {MAX_TOKEN_LEN}",
            token.len()
        )));
    }
    let (payload, sig) = token
        .split_once('.')
        .ok_or_else(|| TokenError::Malformed("expected `payload.signature`".into()))?;
    if payload.is_empty() || sig.contains('.') {
        return Err(TokenError::Malformed("expected `payload.signature`".into()));
    }
    let tag = URL_SAFE_NO_PAD
        .decode(sig)
        .map_err(|e| TokenError::Malformed(format!("signature is not base64url: {e}")))?;
    let json = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|e| TokenError::Malformed(format!("payload is not base64url: {e}")))?;
    if tag.len() != 32 {
        return Err(TokenError::Malformed(format!(
            "signature is {} bytes, expected 32",
            tag.len()
        )));
    }
    let authentic = secrets
        .iter()
        .any(|s| hmac_sha256_verify(s.as_ref(), &[payload.as_bytes()], &tag));
    if !authentic {
        return Err(TokenError::BadSignature);
    }
    let claims: OfferToken = serde_json::from_slice(&json)
        .map_err(|e| TokenError::Malformed(format!("payload: {e}")))?;
    if now_ms >= claims.expires_at {
        return Err(TokenError::Expired {
            expires_at: claims.expires_at,
            now_ms,
        });
    }
    Ok(claims)
}

/// Default lifetime of an offer token, which is also the attribution window: 7 days.
pub const DEFAULT_TTL_MS: u64 = 7 * 86_400_000;
/// Cookie that carries the token from the "Add to order" click to the upsell order's page.
pub const TOKEN_COOKIE: &str = "__upsell_t";
/// URL parameter that carries the token on the "Add to order" link.
pub const TOKEN_PARAM: &str = "upsell_t";

/// A nonce string from random bytes (the worker passes ≥ 12 bytes from `getrandom`).
pub fn nonce_from_bytes(random: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(random)
}

/// Finds a token in the request: the [`TOKEN_PARAM`] query parameter first, then
/// the [`TOKEN_COOKIE`] cookie. `query` is the URL's query string without `?`.
pub fn find_token(query: Option<&str>, cookie_header: Option<&str>) -> Option<String> {
    let from_query = query.and_then(|q| {
        q.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            // base64url and '.' need no percent-decoding.
            (k == TOKEN_PARAM && !v.is_empty()).then(|| v.to_string())
        })
    });
    from_query.or_else(|| {
        cookie_header.and_then(|c| {
            crate::events::cookie_value(c, TOKEN_COOKIE)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        })
    })
}

/// `Set-Cookie` value carrying `token` until `expires_at` (first-party, HttpOnly,
/// Secure, SameSite=Lax so it survives the navigation to the cart).
pub fn token_set_cookie(token: &str, expires_at: u64, now_ms: u64) -> String {
    let max_age = expires_at.saturating_sub(now_ms) / 1000;
    format!("{TOKEN_COOKIE}={token}; Path=/; Max-Age={max_age}; HttpOnly; Secure; SameSite=Lax")
}

/// The worker's token secrets: sign with the first, accept any (key rotation).
#[derive(Clone)]
pub struct Keyring {
    secrets: Vec<Vec<u8>>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keyring({} secrets)", self.secrets.len())
    }
}

impl Keyring {
    /// Parses an environment value: secrets separated by commas or whitespace,
    /// newest first. Secrets shorter than 16 bytes are refused.
    pub fn from_env(value: &str) -> Result<Keyring, TokenError> {
        let secrets: Vec<Vec<u8>> = value
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .map(|s| s.as_bytes().to_vec())
            .collect();
        if secrets.is_empty() {
            return Err(TokenError::NoSecret);
        }
        if let Some(short) = secrets.iter().position(|s| s.len() < 16) {
            return Err(TokenError::Malformed(format!(
                "secret #{} is shorter than 16 bytes",
                short + 1
            )));
        }
        Ok(Keyring { secrets })
    }

    /// Signs with the newest (first) secret.
    pub fn sign(&self, claims: &OfferToken) -> String {
        sign(claims, &self.secrets[0])
    }

    /// Verifies against every secret in the ring.
    pub fn verify(&self, token: &str, now_ms: u64) -> Result<OfferToken, TokenError> {
        verify(token, &self.secrets, now_ms)
    }

    /// The secrets, newest first (for the webhook and client-hash helpers).
    pub fn secrets(&self) -> &[Vec<u8>] {
        &self.secrets
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"k1-0123456789abcdef";
    const OLD: &[u8] = b"k0-fedcba9876543210";

    fn claims() -> OfferToken {
        OfferToken {
            brand: "acme".into(),
            region: "GB".into(),
            parent_order_id: "536365".into(),
            arm: Arm::Ai,
            experiment: "exp-1".into(),
            model_version: "v7".into(),
            skus: vec!["22423".into(), "85123A".into()],
            issued_at: 1_000,
            expires_at: 1_000 + 86_400_000,
            nonce: "bm9uY2Utbm9uY2U".into(),
        }
    }

    #[test]
    fn round_trip_and_url_safe() {
        let t = sign(&claims(), KEY);
        assert!(t
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.'));
        assert_eq!(verify(&t, &[KEY], 2_000).unwrap(), claims());
    }

    #[test]
    fn forged_signature_is_refused() {
        let t = sign(&claims(), b"attacker-secret-000");
        assert_eq!(verify(&t, &[KEY], 2_000), Err(TokenError::BadSignature));
    }

    #[test]
    fn tampered_field_is_refused() {
        let t = sign(&claims(), KEY);
        let (_, sig) = t.split_once('.').unwrap();
        let mut evil = claims();
        evil.skus.push("99999".into());
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&evil).unwrap());
        let forged = format!("{payload}.{sig}");
        assert_eq!(
            verify(&forged, &[KEY], 2_000),
            Err(TokenError::BadSignature)
        );
        // A single flipped character of the payload as well.
        let mut bytes = t.into_bytes();
        bytes[10] = if bytes[10] == b'A' { b'B' } else { b'A' };
        let flipped = String::from_utf8(bytes).unwrap();
        assert!(matches!(
            verify(&flipped, &[KEY], 2_000),
            Err(TokenError::BadSignature | TokenError::Malformed(_))
        ));
    }

    #[test]
    fn expired_is_distinct_from_forged() {
        let t = sign(&claims(), KEY);
        let exp = claims().expires_at;
        assert!(verify(&t, &[KEY], exp - 1).is_ok());
        assert_eq!(
            verify(&t, &[KEY], exp),
            Err(TokenError::Expired {
                expires_at: exp,
                now_ms: exp
            })
        );
    }

    #[test]
    fn malformed_inputs() {
        for bad in ["", "abc", "a.b.c", ".sig", "!!!.@@@", "e30.AAAA"] {
            assert!(
                matches!(verify(bad, &[KEY], 0), Err(TokenError::Malformed(_))),
                "{bad:?}"
            );
        }
        let long = "a".repeat(MAX_TOKEN_LEN + 1);
        assert!(matches!(
            verify(&long, &[KEY], 0),
            Err(TokenError::Malformed(_))
        ));
        // Authentic signature over a payload that is not the claims JSON.
        let payload = URL_SAFE_NO_PAD.encode(b"{\"brand\":1}");
        let tag = URL_SAFE_NO_PAD.encode(hmac_sha256(KEY, &[payload.as_bytes()]));
        assert!(matches!(
            verify(&format!("{payload}.{tag}"), &[KEY], 0),
            Err(TokenError::Malformed(_))
        ));
        assert_eq!(verify::<&[u8]>("a.b", &[], 0), Err(TokenError::NoSecret));
    }

    #[test]
    fn token_travels_in_query_or_cookie() {
        let t = sign(&claims(), KEY);
        let q = format!("a=1&{TOKEN_PARAM}={t}&b=2");
        assert_eq!(find_token(Some(&q), None).as_deref(), Some(t.as_str()));
        let cookie = format!("x=1; {TOKEN_COOKIE}={t}");
        assert_eq!(
            find_token(Some("a=1"), Some(&cookie)).as_deref(),
            Some(t.as_str())
        );
        assert_eq!(find_token(None, Some("x=1")), None);
        let set = token_set_cookie(&t, 10_000, 4_000);
        assert!(
            set.starts_with(&format!("{TOKEN_COOKIE}={t}; Path=/; Max-Age=6;")),
            "{set}"
        );
        assert_eq!(nonce_from_bytes(&[0xff; 12]).len(), 16);
    }

    #[test]
    fn key_rotation_accepts_old_signs_with_new() {
        let ring = Keyring::from_env("k1-0123456789abcdef, k0-fedcba9876543210").unwrap();
        let old_token = sign(&claims(), OLD);
        assert_eq!(ring.verify(&old_token, 2_000).unwrap(), claims());
        let new_token = ring.sign(&claims());
        assert!(verify(&new_token, &[KEY], 2_000).is_ok());
        assert_eq!(
            verify(&new_token, &[OLD], 2_000),
            Err(TokenError::BadSignature)
        );
        assert!(Keyring::from_env("  ").is_err());
        assert!(Keyring::from_env("short").is_err());
    }
}
