//! Thin Cloudflare Workers glue: turns the runtime's request into calls on the
//! plain-Rust modules and streams the origin's response back.
use worker::{
    event, Context, Env, Fetch, Method, Request, RequestInit, RequestRedirect, Response, Result,
};

/// Builds the upstream request: same method, headers and body; redirects are
/// passed to the browser as they come (manual mode), never followed here.
fn upstream_request(req: &Request, env: &Env) -> Result<Request> {
    let origin = env
        .var("ORIGIN_URL")
        .map(|v| v.to_string())
        .unwrap_or_default();
    let url = crate::origin::upstream_url(req.url()?.as_str(), &origin)
        .map_err(|e| worker::Error::RustError(e.to_string()))?;
    let mut init = RequestInit::new();
    init.with_method(req.method())
        .with_headers(req.headers().clone())
        .with_redirect(RequestRedirect::Manual);
    if !matches!(req.method(), Method::Get | Method::Head) {
        if let Some(body) = req.inner().body() {
            init.with_body(Some(body.into()));
        }
    }
    Request::new_with_init(&url, &init)
}

/// The worker's fetch handler: proxy to the origin and stream the response back unchanged.
#[event(fetch)]
pub async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    console_error_panic_hook::set_once();
    // If this worker throws before it has answered, the runtime sends the request
    // to the origin as if the worker were not there: checkout never breaks.
    ctx.pass_through_on_exception();
    if req.path() == "/__upsell/health" {
        return Response::ok("ok");
    }
    let upstream = upstream_request(&req, &env)?;
    Fetch::Request(upstream).send().await
}
