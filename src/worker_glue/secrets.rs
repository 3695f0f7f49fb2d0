//! Secrets and randomness from the Workers environment.
use worker::Env;

use crate::events::{stored_client_hash, Tracking};
use crate::token::{nonce_from_bytes, Keyring, TokenError};

/// A secret (`wrangler secret put`) or, for local runs, a plain var of the same name.
pub fn secret(env: &Env, name: &str) -> Option<String> {
    env.secret(name)
        .map(|s| s.to_string())
        .or_else(|_| env.var(name).map(|v| v.to_string()))
        .ok()
        .filter(|s| !s.trim().is_empty())
}

/// The offer-token keyring from `TOKEN_SECRET` (comma-separated for rotation, newest first).
pub fn token_keys(env: &Env) -> Result<Keyring, TokenError> {
    Keyring::from_env(&secret(env, "TOKEN_SECRET").ok_or(TokenError::NoSecret)?)
}

/// The salted daily client hash to store, or `None` under GPC / refused consent.
pub fn client_hash(env: &Env, mode: Tracking, client: &str, now_ms: u64) -> Option<String> {
    let salt = secret(env, "CLIENT_SALT").or_else(|| secret(env, "TOKEN_SECRET"))?;
    stored_client_hash(mode, client, salt.as_bytes(), now_ms)
}

/// A fresh random token nonce.
pub fn nonce() -> Result<String, String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness: {e}"))?;
    Ok(nonce_from_bytes(&bytes))
}
