//! The worker's own endpoints under `/__upsell/`: beacons, the accept link,
//! the OMS webhook, the report and the marketers' preview.
use std::cell::RefCell;
use std::collections::HashMap;

use worker::{Env, Headers, Request, Response, Result};

use super::{d1, secrets, store};
use crate::events::{
    self, EventError, EventKind, RateLimiter, Stmt, VerifiedEvent, MAX_BEACON_BYTES,
};
use crate::render::url_encode;
use crate::report::{self, ReportFormat};
use crate::token::{token_set_cookie, TOKEN_PARAM};

/// Reads a registered experiment's definition and fingerprint.
const SELECT_EXPERIMENT: &str = "SELECT definition, fingerprint FROM experiments WHERE id = ?1";

thread_local! {
    /// Per-isolate event counters for rate limiting (keyed by window and client hash).
    static RATE: RefCell<HashMap<String, u32>> = RefCell::new(HashMap::new());
}

/// A JSON error body with the status the error maps to.
fn error_response(e: &EventError) -> Result<Response> {
    let mut resp = Response::from_json(&serde_json::json!({ "error": e.to_string() }))?
        .with_status(e.status());
    if let EventError::RateLimited { retry_after_s } = e {
        resp.headers_mut()
            .set("retry-after", &retry_after_s.to_string())?;
    }
    Ok(resp)
}

/// The raw client key (IP + user agent) hashed for rate limiting and attribution.
pub fn client_key(req: &Request) -> String {
    let h = req.headers();
    let ip = h.get("cf-connecting-ip").ok().flatten().unwrap_or_default();
    let ua = h.get("user-agent").ok().flatten().unwrap_or_default();
    format!("{ip}|{ua}")
}

/// Counts one event for the client in this isolate; `Err` when over the limit.
fn rate_limit(client: &str, now: u64) -> std::result::Result<(), EventError> {
    let limiter = RateLimiter::default();
    let key = limiter.counter_key(&events::client_hash(client, b"rate-limit", now), now);
    RATE.with(|r| {
        let mut r = r.borrow_mut();
        let window = limiter.window_start(now);
        r.retain(|k, _| k.starts_with(&format!("rl:{window}:")));
        let seen = r.entry(key).or_insert(0);
        limiter.check(*seen, now)?;
        *seen += 1;
        Ok(())
    })
}

/// Inserts a verified event; a second copy of the same event is a replay (409).
async fn record_event(env: &Env, ev: &VerifiedEvent) -> std::result::Result<(), EventError> {
    let changed = d1::run(env, &[ev.insert()])
        .await
        .map_err(|e| EventError::Misconfigured(format!("D1: {e}")))?;
    if changed.first().copied().unwrap_or(0) == 0 {
        return Err(EventError::Replayed);
    }
    Ok(())
}

/// The tracking mode for an event of `brand`/`region`: minimal under `Sec-GPC`
/// (already in `mode`) or when that brand's consent cookie says no.
async fn brand_tracking(
    env: &Env,
    req: &Request,
    mode: events::Tracking,
    brand: &str,
    region: &str,
) -> events::Tracking {
    if mode == events::Tracking::Minimal {
        return mode;
    }
    let Ok(kv) = env.kv("TABLES") else {
        return mode;
    };
    let consent = store::config(&kv).await.and_then(|cfg| {
        cfg.settings(brand, region)
            .and_then(|s| s.privacy.consent_cookie.clone())
    });
    let cookies = req.headers().get("cookie").ok().flatten();
    events::tracking_mode(None, cookies.as_deref(), consent.as_ref())
}

/// `POST /__upsell/events`: an impression or click beacon.
pub async fn beacon(mut req: Request, env: &Env, tracking: events::Tracking) -> Result<Response> {
    let now = store::now_ms() as u64;
    let client = client_key(&req);
    let outcome = async {
        if let Some(len) = req.headers().get("content-length").ok().flatten() {
            events::check_size(len.parse().unwrap_or(u64::MAX), MAX_BEACON_BYTES)?;
        }
        rate_limit(&client, now)?;
        let body = req
            .bytes()
            .await
            .map_err(|e| EventError::Malformed(e.to_string()))?;
        let keys =
            secrets::token_keys(env).map_err(|e| EventError::Misconfigured(e.to_string()))?;
        let hash = secrets::client_hash(env, tracking, &client, now);
        let ev = events::verify_beacon(&body, &keys, hash, now)?;
        record_event(env, &ev).await
    }
    .await;
    match outcome {
        Ok(()) => Ok(Response::empty()?.with_status(204)),
        Err(e) => error_response(&e),
    }
}

/// `GET /__upsell/accept?sku=&t=`: the "Add to order" link. Records the click,
/// keeps the token in a cookie for the upsell order's confirmation page, and
/// sends the shopper to the brand's cart URL.
pub async fn accept(req: Request, env: &Env, tracking: events::Tracking) -> Result<Response> {
    let url = req.url()?;
    let q: HashMap<String, String> = url.query_pairs().into_owned().collect();
    let now = store::now_ms() as u64;
    let (Some(sku), Some(token)) = (q.get("sku"), q.get("t")) else {
        return error_response(&EventError::Malformed("accept needs `sku` and `t`".into()));
    };
    let keys = match secrets::token_keys(env) {
        Ok(k) => k,
        Err(e) => return error_response(&EventError::Misconfigured(e.to_string())),
    };
    let claims = match keys.verify(token, now) {
        Ok(c) => c,
        Err(e) => return error_response(&EventError::from(e)),
    };
    if !claims.skus.iter().any(|s| s == sku) {
        return error_response(&EventError::Malformed(format!("{sku:?} was not offered")));
    }
    let client = client_key(&req);
    let tracking = brand_tracking(env, &req, tracking, &claims.brand, &claims.region).await;
    let ev = VerifiedEvent {
        event_id: events::event_id(&claims.nonce, EventKind::Click, Some(sku)),
        kind: EventKind::Click,
        sku: Some(sku.clone()),
        client_hash: secrets::client_hash(env, tracking, &client, now),
        claims: claims.clone(),
        ts: now,
    };
    // The beacon may have recorded this click already: a replay here is fine.
    let _ = record_event(env, &ev).await;
    let kv = env.kv("TABLES")?;
    let template = store::config(&kv)
        .await
        .and_then(|cfg| {
            cfg.settings(&claims.brand, &claims.region)
                .map(|s| s.cart.url_template.clone())
        })
        .unwrap_or_else(|| crate::config::Cart::default().url_template);
    let target = template
        .replace("{sku}", &url_encode(sku))
        .replace("{qty}", "1")
        .replace("{brand}", &url_encode(&claims.brand))
        .replace("{region}", &url_encode(&claims.region))
        .replace("{token}", &url_encode(token));
    let target = if target.contains(TOKEN_PARAM) {
        target
    } else {
        let sep = if target.contains('?') { '&' } else { '?' };
        format!("{target}{sep}{TOKEN_PARAM}={}", url_encode(token))
    };
    let headers = Headers::new();
    headers.set("location", &target)?;
    headers.set("cache-control", "no-store")?;
    headers.set(
        "set-cookie",
        &token_set_cookie(token, claims.expires_at, now),
    )?;
    Ok(Response::empty()?.with_status(303).with_headers(headers))
}

/// `POST /__upsell/webhooks/orders`: the OMS confirms, corrects or refunds a conversion.
pub async fn webhook(mut req: Request, env: &Env) -> Result<Response> {
    let now = store::now_ms() as u64;
    let outcome = async {
        if let Some(len) = req.headers().get("content-length").ok().flatten() {
            events::check_size(len.parse().unwrap_or(u64::MAX), events::MAX_WEBHOOK_BYTES)?;
        }
        let sig = req.headers().get("x-upsell-signature").ok().flatten();
        let body = req
            .bytes()
            .await
            .map_err(|e| EventError::Malformed(e.to_string()))?;
        let secret = secrets::secret(env, "WEBHOOK_SECRET")
            .ok_or_else(|| EventError::Misconfigured("no WEBHOOK_SECRET".into()))?;
        let secrets: Vec<&str> = secret.split(',').map(str::trim).collect();
        let hook = events::verify_webhook(
            sig.as_deref(),
            &body,
            &secrets,
            now,
            events::WEBHOOK_TOLERANCE_S,
        )?;
        let stmts: Vec<Stmt> = hook.statements(now);
        let changed = d1::run(env, &stmts)
            .await
            .map_err(|e| EventError::Misconfigured(format!("D1: {e}")))?;
        Ok::<bool, EventError>(!events::webhook_replayed(&changed))
    }
    .await;
    match outcome {
        Ok(fresh) => Response::from_json(&serde_json::json!({ "ok": true, "replay": !fresh })),
        Err(e) => error_response(&e),
    }
}

/// True when the request carries `Authorization: Bearer <ADMIN_SECRET>`.
pub fn is_admin(req: &Request, env: &Env) -> bool {
    let given = req.headers().get("authorization").ok().flatten();
    let secret = secrets::secret(env, "ADMIN_SECRET").unwrap_or_default();
    report::authorize_admin(given.as_deref(), &secret)
}

fn unauthorized() -> Result<Response> {
    let headers = Headers::new();
    headers.set("www-authenticate", "Bearer")?;
    Ok(
        Response::from_json(&serde_json::json!({"error": "admin secret required"}))?
            .with_status(401)
            .with_headers(headers),
    )
}

fn csv_response(body: String, name: &str) -> Result<Response> {
    let headers = Headers::new();
    headers.set("content-type", "text/csv; charset=utf-8")?;
    headers.set(
        "content-disposition",
        &format!("attachment; filename=\"{name}\""),
    )?;
    Ok(Response::ok(body)?.with_headers(headers))
}

/// `GET /__upsell/report?experiment=&brand=&region=&from=&to=&format=`: per-arm figures and the verdict.
pub async fn report(req: Request, env: &Env) -> Result<Response> {
    if !is_admin(&req, env) {
        return unauthorized();
    }
    let url = req.url()?;
    let (filter, format) = match report::parse_report_query(url.query().unwrap_or("")) {
        Ok(x) => x,
        Err(e) => return Response::error(e.to_string(), 400),
    };
    let params = events::report_params(
        &filter.experiment,
        filter.brand.as_deref(),
        filter.region.as_deref(),
        filter.from_ms,
        filter.to_ms,
    );
    match format {
        ReportFormat::Ledger => {
            let stmt = Stmt {
                sql: events::SELECT_CONVERSION_LEDGER,
                params,
            };
            let rows: Vec<report::ConversionRecord> = d1::query(env, &stmt).await?;
            csv_response(report::ledger_csv(&rows), "conversions.csv")
        }
        ReportFormat::Events => {
            let stmt = Stmt {
                sql: events::SELECT_EVENT_EXPORT,
                params,
            };
            let rows: Vec<report::EventRecord> = d1::query(env, &stmt).await?;
            csv_response(report::events_csv(&rows), "events.csv")
        }
        ReportFormat::Json | ReportFormat::Csv => {
            let stmt = Stmt {
                sql: events::SELECT_ARM_TOTALS,
                params,
            };
            let rows: Vec<serde_json::Value> = d1::query(env, &stmt).await?;
            let totals = match report::arm_totals_from_rows(&rows) {
                Ok(t) => t,
                Err(e) => return Response::error(e.to_string(), 500),
            };
            let exp_stmt = Stmt {
                sql: SELECT_EXPERIMENT,
                params: vec![filter.experiment.clone().into()],
            };
            let stored: Vec<serde_json::Value> = d1::query(env, &exp_stmt).await?;
            let experiment = stored.first().and_then(|row| {
                let def = row.get("definition")?.as_str()?;
                let fp = row.get("fingerprint")?.as_str()?;
                crate::assign::Experiment::from_stored(def, fp).ok()
            });
            let rep = report::build_report(&filter, &totals, experiment.as_ref());
            if format == ReportFormat::Csv {
                csv_response(rep.to_csv(), "report.csv")
            } else {
                Response::from_json(&rep)
            }
        }
    }
}

/// One offer in the preview, with the evidence behind it.
#[derive(serde::Serialize)]
struct PreviewOffer {
    sku: String,
    title: String,
    price: f32,
    image: Option<String>,
    url: Option<String>,
    score: f32,
    fallback: bool,
    together: u32,
    lift: f32,
    why: String,
}

/// `GET /__upsell/preview?brand=&region=&skus=a,b` or `?page=/path/of/a/confirmation/page`:
/// what each arm would offer for an order, and why (admin secret required).
pub async fn preview(req: Request, env: &Env, origin_base: &str) -> Result<Response> {
    if !is_admin(&req, env) {
        return unauthorized();
    }
    let url = req.url()?;
    let q: HashMap<String, String> = url.query_pairs().into_owned().collect();
    let kv = env.kv("TABLES")?;
    let Some(cfg) = store::config(&kv).await else {
        return Response::error("no configuration published", 503);
    };
    let host = q
        .get("host")
        .cloned()
        .unwrap_or_else(|| url.host_str().unwrap_or("").to_string());
    let brand = match q.get("brand") {
        Some(b) => b.clone(),
        None => match crate::route::brand_for_host(&cfg.config, &host) {
            Some(b) => b.to_string(),
            None => {
                return Response::error(format!("no brand for host {host:?}; pass brand="), 400)
            }
        },
    };
    let Some(b) = cfg.config.brands.get(&brand) else {
        return Response::error(format!("unknown brand {brand:?}"), 404);
    };
    let region = q.get("region").cloned().unwrap_or_else(|| {
        crate::route::region_for_country(&b.regions, q.get("country").map(String::as_str))
            .to_string()
    });
    let Some(settings) = cfg.settings(&brand, &region).cloned() else {
        return Response::error(format!("unknown region {region:?}"), 404);
    };
    // The order: SKUs given directly, or extracted from a page fetched from the origin.
    let mut order = crate::extract::ExtractedOrder::default();
    let mut extraction = serde_json::Value::Null;
    if let Some(page) = q.get("page") {
        let extract_cfg = cfg.extract(&brand, &region);
        let target = crate::origin::upstream_url(&format!("https://{host}{page}"), origin_base)
            .map_err(|e| worker::Error::RustError(e.to_string()))?;
        let mut init = worker::RequestInit::new();
        let h = Headers::new();
        h.set("host", &host)?;
        h.set("x-forwarded-host", &host)?;
        init.with_headers(h);
        let mut resp = worker::Fetch::Request(Request::new_with_init(&target, &init)?)
            .send()
            .await?;
        let body = resp.bytes().await?;
        order = crate::extract::extract_from_html(&body, &extract_cfg);
        extraction = crate::extract::report(&order, &extract_cfg);
        if let Some(found) = super::lookup::complete(env, &extract_cfg, &order).await {
            order = found;
        }
    }
    if let Some(skus) = q.get("skus") {
        let items = skus
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| crate::extract::Item {
                sku: s.to_string(),
                quantity: None,
                price: None,
            })
            .collect();
        order.set_items(items, "preview query");
    }
    if let Some(id) = q.get("order_id") {
        order.order_id = Some(id.clone());
    }
    let skus: Vec<&str> = order.skus.iter().map(String::as_str).collect();
    let now = store::now_ms() as u64;
    let experiment = crate::offers::running_experiment(&settings, &brand, &region, now);
    let arm = order
        .order_id
        .as_deref()
        .map(|id| crate::offers::arm_for(experiment.as_ref(), id));
    let versions = store::manifests(&kv, &brand, &region).await;
    let table = match store::read_table(&kv, &versions, &skus).await {
        Ok(t) => t,
        Err(e) => {
            return Response::error(format!("no readable table for {brand}/{region}: {e}"), 503)
        }
    };
    let mut arms = serde_json::Map::new();
    for a in crate::assign::Arm::ALL {
        let offers = crate::offers::offers_for_arm(
            a,
            &table.facts,
            &skus,
            |s| table.shard_for(s),
            &settings,
        );
        let chosen: Vec<&str> = offers.iter().map(|o| o.sku.as_str()).collect();
        let catalog = store::catalog(&kv, &table.manifest, &chosen).await;
        let list: Vec<PreviewOffer> = offers
            .iter()
            .map(|o| {
                let e = catalog.get(&o.sku);
                PreviewOffer {
                    sku: o.sku.clone(),
                    title: e.map_or_else(|| o.sku.clone(), |e| e.title.clone()),
                    price: o.price,
                    image: e.map(|e| e.image.clone()).filter(|s| !s.is_empty()),
                    url: e.map(|e| e.url.clone()).filter(|s| !s.is_empty()),
                    score: o.score,
                    fallback: o.fallback,
                    together: o.together,
                    lift: o.lift,
                    why: crate::offers::explain(o),
                }
            })
            .collect();
        arms.insert(
            a.as_str().to_string(),
            serde_json::to_value(list).unwrap_or_default(),
        );
    }
    Response::from_json(&serde_json::json!({
        "brand": brand,
        "region": region,
        "order": order,
        "extraction": extraction,
        "experiment": experiment.as_ref().map(|e| &e.id),
        "assigned_arm": arm.map(|a| a.as_str()),
        "table": { "version": table.manifest.version, "built_at": table.manifest.built_at, "region": table.manifest.region, "fallback_region": table.manifest.fallback_region },
        "arms": arms,
    }))
}
