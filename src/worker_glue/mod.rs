//! Thin Cloudflare Workers glue: turns the runtime's request into calls on the
//! plain-Rust modules and streams the origin's response back.
//!
//! Every request is proxied to the origin. Only a GET of a configured
//! confirmation page on a known brand's host, answered 200 with UTF-8 HTML,
//! is streamed through the injector; every other response is the origin's
//! response object itself, untouched.
use std::rc::Rc;

use worker::{
    event, Context, Env, Fetch, Method, Request, RequestInit, RequestRedirect, Response, Result,
};

mod alloc;
mod api;
mod d1;
mod guard;
mod lookup;
pub mod page;
mod secrets;
pub mod store;

use crate::events::{self, Tracking};

/// The system allocator, reporting allocation failures to the page guard.
#[global_allocator]
static ALLOCATOR: alloc::GuardedAlloc = alloc::GuardedAlloc;

/// Builds the upstream request: same method, headers and body; redirects are
/// passed to the browser as they come (manual mode), never followed here.
fn upstream_request(req: &Request, env: &Env) -> Result<Request> {
    let origin = env
        .var("ORIGIN_URL")
        .map(|v| v.to_string())
        .unwrap_or_default();
    let url = crate::origin::upstream_url(req.url()?.as_str(), &origin)
        .map_err(|e| worker::Error::RustError(e.to_string()))?;
    let headers = req.headers().clone();
    if !origin.trim().is_empty() {
        // A separate origin sees its own Host: pass the one the shopper asked for.
        headers.set("x-forwarded-host", &host(req))?;
    }
    let mut init = RequestInit::new();
    init.with_method(req.method())
        .with_headers(headers)
        .with_redirect(RequestRedirect::Manual);
    if !matches!(req.method(), Method::Get | Method::Head) {
        if let Some(body) = req.inner().body() {
            init.with_body(Some(body.into()));
        }
    }
    Request::new_with_init(&url, &init)
}

/// The request's country: Cloudflare's geolocation, or in local mode a header.
fn country(req: &Request, env: &Env) -> Option<String> {
    let trust_header = env
        .var("TRUST_COUNTRY_HEADER")
        .is_ok_and(|v| v.to_string() == "true");
    if trust_header {
        if let Some(c) = req.headers().get("x-upsell-country").ok().flatten() {
            return Some(c.trim().to_ascii_uppercase());
        }
    }
    req.cf().and_then(|cf| cf.country())
}

/// The host the shopper asked for (without port).
fn host(req: &Request) -> String {
    let h = req.headers().get("host").ok().flatten();
    h.or_else(|| {
        req.url()
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
    })
    .unwrap_or_default()
}

/// What may be stored about this client: minimal under `Sec-GPC: 1` or when the
/// brand's consent cookie says no.
fn tracking(req: &Request, consent: Option<&events::ConsentCookie>) -> Tracking {
    let h = req.headers();
    events::tracking_mode(
        h.get("sec-gpc").ok().flatten().as_deref(),
        h.get("cookie").ok().flatten().as_deref(),
        consent,
    )
}

/// The worker's fetch handler.
#[event(fetch)]
pub async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    guard::install_panic_hook();
    // If this worker throws before it has answered, the runtime sends the request
    // to the origin as if the worker were not there: checkout never breaks.
    ctx.pass_through_on_exception();
    let path = req.path();
    if path == "/__upsell/app" || path.starts_with("/__upsell/app/") {
        // The preview and dashboard pages: static files from www/app (assets binding).
        let rest = path.trim_start_matches("/__upsell/app");
        let rest = if rest.is_empty() { "/" } else { rest };
        return env
            .assets("ASSETS")?
            .fetch(format!("https://assets.local{rest}"), None)
            .await;
    }
    if let Some(endpoint) = path.strip_prefix("/__upsell/") {
        let mode = tracking(&req, None);
        return match (req.method(), endpoint) {
            (Method::Get, "health") => Response::ok("ok"),
            (Method::Post, "events") => api::beacon(req, &env, mode).await,
            (Method::Get, "accept") => api::accept(req, &env, mode).await,
            (Method::Post, "webhooks/orders") => api::webhook(req, &env).await,
            (Method::Get, "report") => api::report(req, &env).await,
            (Method::Get, "preview") => {
                let origin = env
                    .var("ORIGIN_URL")
                    .map(|v| v.to_string())
                    .unwrap_or_default();
                api::preview(req, &env, &origin).await
            }
            _ => Response::error("not found", 404),
        };
    }
    proxy(req, env, ctx).await
}

/// Proxies to the origin; rewrites only confirmation pages the configuration routes to a brand.
async fn proxy(req: Request, env: Env, ctx: Context) -> Result<Response> {
    let upstream = upstream_request(&req, &env)?;
    if req.method() != Method::Get {
        return Fetch::Request(upstream).send().await;
    }
    let kv = env.kv("TABLES").ok();
    let config = async {
        match &kv {
            Some(kv) => store::config(kv).await,
            None => None,
        }
    };
    // The origin fetch and the configuration read run at the same time.
    let fetch = Fetch::Request(upstream);
    let (origin, config) = futures_util::join!(fetch.send(), config);
    let origin = origin?;
    let Some(config) = config else {
        return Ok(origin);
    };
    let host = host(&req);
    let path = req.path();
    let country = country(&req, &env);
    let Some(route) = crate::route::route(&config.config, "GET", &host, &path, country.as_deref())
    else {
        return Ok(origin);
    };
    if !page::is_candidate(origin.status_code(), origin.headers()) {
        return Ok(origin);
    }
    let url = req.url()?;
    let headers = req.headers();
    let csp = origin
        .headers()
        .get("content-security-policy")
        .ok()
        .flatten()
        .map(|v| v.split(',').map(|p| p.trim().to_string()).collect())
        .unwrap_or_default();
    let job = page::PageJob {
        brand: route.brand.to_string(),
        region: route.region.to_string(),
        tracking: tracking(&req, route.settings.privacy.consent_cookie.as_ref()),
        client: api::client_key(&req),
        returning_token: crate::token::find_token(
            url.query(),
            headers.get("cookie").ok().flatten().as_deref(),
        ),
        csp,
        config: config.clone(),
    };
    page::transform(origin, job, Rc::new(env), Rc::new(ctx))
}
