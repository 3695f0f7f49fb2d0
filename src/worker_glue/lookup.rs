//! The brand's order lookup API, called when a confirmation page shows an order
//! id but no items (client-rendered pages, no analytics). The URL and the
//! answer's mapping live in the plain-Rust `extract::lookup`; this is the call.
use worker::{Env, Fetch, Headers, Method, Request, RequestInit};

use super::{secrets, store};
use crate::extract::{lookup, ExtractConfig, ExtractedOrder, LookupConfig};

/// Largest lookup answer read; an order is a few KB.
const MAX_ANSWER: usize = 256 * 1024;

/// The page's order completed from the lookup API; `None` when no lookup is
/// needed or configured, or when it failed or took longer than its timeout
/// (logged without the secret).
pub async fn complete(
    env: &Env,
    cfg: &ExtractConfig,
    page: &ExtractedOrder,
) -> Option<ExtractedOrder> {
    let l = cfg.lookup.as_ref()?;
    if !lookup::needs_lookup(page, Some(l)) {
        return None;
    }
    let id = page.order_id.as_deref()?;
    let timeout = u64::from(l.timeout_ms.max(1));
    let answer = store::within(timeout, call(env, l, id))
        .await
        .unwrap_or_else(|| Err(format!("no answer within {timeout} ms")));
    match answer {
        Ok(api) => Some(lookup::merge(page, &api)),
        Err(e) => {
            worker::console_warn!("upsell: order lookup failed: {e}");
            None
        }
    }
}

/// One GET of the lookup URL with the secret header, read and mapped.
async fn call(env: &Env, l: &LookupConfig, order_id: &str) -> Result<ExtractedOrder, String> {
    let url = l.url_for(order_id).map_err(|e| e.to_string())?;
    let secret = secrets::secret(env, &l.secret)
        .ok_or_else(|| format!("worker secret {} is not set", l.secret))?;
    let headers = Headers::new();
    headers.set(&l.header, &secret).map_err(|e| e.to_string())?;
    headers
        .set("accept", "application/json")
        .map_err(|e| e.to_string())?;
    let mut init = RequestInit::new();
    init.with_method(Method::Get).with_headers(headers);
    let req = Request::new_with_init(&url, &init).map_err(|e| e.to_string())?;
    let mut resp = Fetch::Request(req)
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    if resp.status_code() != 200 {
        return Err(format!("{url}: status {}", resp.status_code()));
    }
    let body = resp.bytes().await.map_err(|e| format!("{url}: {e}"))?;
    if body.len() > MAX_ANSWER {
        return Err(format!("{url}: answer larger than {MAX_ANSWER} bytes"));
    }
    l.parse_response(&body).map_err(|e| format!("{url}: {e}"))
}
