//! A confirmation page on its way through: stream the origin's bytes through the
//! injector while the order sniffer watches, decide the offers as soon as the
//! order is known (within the brand's time budget), splice the block in, and
//! record what was served. Any failure on the way means no block: the origin's
//! bytes go out unchanged.
use std::rc::Rc;

use futures_util::StreamExt;
use worker::{ByteStream, Context, Env, Headers, Response, ResponseBody, Result};

use super::guard::PageGuard;
use super::{d1, lookup, secrets, store};
use crate::assign::Arm;
use crate::config::Settings;
use crate::events::{self, PageOrderLine, ServedOffer, Tracking};
use crate::extract::{ExtractConfig, ExtractedOrder};
use crate::offers;
use crate::render::csp::InlinePolicy;
use crate::serve::{self, PreparedConfig};
use crate::token::{OfferToken, DEFAULT_TTL_MS};

/// What the page's request tells us, gathered before the response streams.
pub struct PageJob {
    /// Brand id.
    pub brand: String,
    /// Region id.
    pub region: String,
    /// How much may be stored about this client.
    pub tracking: Tracking,
    /// Raw client key (IP + UA) for the salted daily hash.
    pub client: String,
    /// An offer token the shopper brought back (cookie or parameter): this page may be a conversion.
    pub returning_token: Option<String>,
    /// Content-Security-Policy header values of the response.
    pub csp: Vec<String>,
    /// The configuration the page was routed by.
    pub config: Rc<PreparedConfig>,
}

impl PageJob {
    /// The brand × region's effective settings.
    fn settings(&self) -> &Settings {
        static DEFAULT: std::sync::OnceLock<Settings> = std::sync::OnceLock::new();
        self.config
            .settings(&self.brand, &self.region)
            .unwrap_or_else(|| DEFAULT.get_or_init(Settings::default))
    }
}

/// True for a response the engine may rewrite: 200, HTML, UTF-8 (or no charset).
pub fn is_candidate(status: u16, headers: &Headers) -> bool {
    let ct = headers
        .get("content-type")
        .ok()
        .flatten()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let html = ct.starts_with("text/html");
    let charset_ok = match ct
        .split(';')
        .find_map(|p| p.trim().strip_prefix("charset="))
    {
        None => true,
        Some(c) => matches!(c.trim_matches('"'), "utf-8" | "utf8"),
    };
    status == 200
        && html
        && charset_ok
        && headers
            .get("content-encoding")
            .ok()
            .flatten()
            .is_none_or(|e| e == "identity")
}

/// Streams `origin` through the injector; the returned response carries the origin's status and headers.
///
/// The body goes through [`PageGuard`]: if the instance panics mid-page, the
/// shopper gets the rest of the origin's bytes from where the flow stopped.
pub fn transform(
    origin: Response,
    job: PageJob,
    env: Rc<Env>,
    ctx: Rc<Context>,
) -> Result<Response> {
    let status = origin.status_code();
    let headers = origin.headers().clone();
    let ResponseBody::Stream(origin_body) = origin.body() else {
        // No body to inject into.
        return Ok(origin);
    };
    let guard = Rc::new(PageGuard::new(origin_body));
    let body = Response::from_body(ResponseBody::Stream(guard.input()))?.stream()?;
    let _ = headers.delete("content-length");
    let extract = job.config.extract(&job.brand, &job.region);
    let csp_meta = Rc::new(std::cell::RefCell::new(Vec::<String>::new()));
    let observers = vec![serve::meta_csp_observer(csp_meta.clone())];
    let flow = serve::PageFlow::new(job.settings(), &extract, observers);
    let fault = fault_injection(&env);
    let state = PageStream {
        body,
        flow: Some(flow),
        extract,
        csp_meta,
        job: Rc::new(job),
        env,
        ctx,
        decide_now: false,
        converted: false,
        origin_read: 0,
    };
    let reporter = guard.clone();
    let stream = futures_util::stream::unfold(state, move |mut st| {
        let guard = reporter.clone();
        async move {
            let out = st.next_bytes().await?;
            let sent = st.origin_sent();
            match fault {
                Some(Fault::Panic(n)) if sent >= n => {
                    panic!("fault injection: panic with {sent} origin bytes sent")
                }
                Some(Fault::OutOfMemory(n)) if sent >= n => {
                    worker::console_error!(
                        "fault injection: out of memory with {sent} origin bytes sent"
                    );
                    super::alloc::refuse_allocations_from(32 << 20);
                    std::hint::black_box(Vec::<u8>::with_capacity(64 << 20));
                }
                _ => {}
            }
            guard.forwarded(sent as f64);
            Some((Ok::<Vec<u8>, worker::Error>(out), st))
        }
    });
    let ResponseBody::Stream(flow_output) = Response::from_stream(stream)?.body().clone() else {
        return Err(worker::Error::RustError(
            "a streamed response has a stream body".into(),
        ));
    };
    Ok(
        Response::from_body(ResponseBody::Stream(guard.output(&flow_output)))?
            .with_status(status)
            .with_headers(headers),
    )
}

/// A failure the page flow is told to have (local tests only).
#[derive(Clone, Copy)]
enum Fault {
    /// Panic once N of the origin's bytes are sent.
    Panic(usize),
    /// Run out of memory (an allocation fails, and Rust aborts) once N are sent.
    OutOfMemory(usize),
}

/// `FAULT_INJECTION = "panic-after-bytes:N"` or `"oom-after-bytes:N"` (a local
/// test setting, never set in production).
fn fault_injection(env: &Env) -> Option<Fault> {
    let v = env.var("FAULT_INJECTION").ok()?.to_string();
    if let Some(n) = v.strip_prefix("panic-after-bytes:") {
        return n.parse().ok().map(Fault::Panic);
    }
    v.strip_prefix("oom-after-bytes:")?
        .parse()
        .ok()
        .map(Fault::OutOfMemory)
}

struct PageStream {
    body: ByteStream,
    flow: Option<serve::PageFlow>,
    extract: Rc<ExtractConfig>,
    csp_meta: Rc<std::cell::RefCell<Vec<String>>>,
    job: Rc<PageJob>,
    env: Rc<Env>,
    ctx: Rc<Context>,
    decide_now: bool,
    converted: bool,
    /// Origin bytes read so far.
    origin_read: usize,
}

impl PageStream {
    /// Origin bytes sent to the shopper so far.
    fn origin_sent(&self) -> usize {
        self.flow
            .as_ref()
            .map_or(self.origin_read, |f| f.origin_sent())
    }

    /// The next non-empty piece of output, or `None` at the end.
    async fn next_bytes(&mut self) -> Option<Vec<u8>> {
        loop {
            if self.decide_now {
                self.decide_now = false;
                let block = self.decide().await;
                let out = self.flow.as_mut()?.decide(block);
                if !out.is_empty() {
                    return Some(out);
                }
                continue;
            }
            let next = self.body.next().await;
            let flow = self.flow.as_mut()?;
            match next {
                Some(Ok(chunk)) => {
                    self.origin_read += chunk.len();
                    let out = flow.write(&chunk);
                    // Send what is ready first; decide on the next pull.
                    self.decide_now = flow.wants_decision(false);
                    if !out.is_empty() {
                        return Some(out);
                    }
                }
                other => {
                    if let Some(Err(e)) = other {
                        worker::console_warn!("upsell: origin body failed mid-stream: {e}");
                    }
                    let mut out = Vec::new();
                    if flow.wants_decision(true) {
                        let block = self.decide().await;
                        out.extend(self.flow.as_mut()?.decide(block));
                    }
                    let order = self.flow.as_ref()?.order();
                    self.record_conversion(&order);
                    let (rest, failure) = self.flow.take()?.finish();
                    out.extend(rest);
                    if let Some(f) = failure {
                        worker::console_log!("upsell: page passed through unchanged: {f}");
                    }
                    return (!out.is_empty()).then_some(out);
                }
            }
        }
    }

    /// Chooses and renders the block within the time budget; `None` means no offers.
    /// Every order that reaches a decision is enrolled once in its arm, block or not,
    /// so arm sizes (the denominators of every rate) stay honest.
    async fn decide(&mut self) -> Option<Vec<u8>> {
        let order = self.flow.as_ref()?.order();
        self.record_conversion(&order);
        let order_id = order.order_id.clone()?;
        let job = self.job.clone();
        let now = store::now_ms() as u64;
        let experiment = offers::running_experiment(job.settings(), &job.brand, &job.region, now);
        let arm = offers::arm_for(experiment.as_ref(), &order_id);
        let experiment_id = experiment
            .as_ref()
            .map_or("none", |e| e.id.as_str())
            .to_string();
        let client_hash = secrets::client_hash(&self.env, job.tracking, &job.client, now);
        let value_minor = order.total.map(|t| (t * 100.0).round() as i64);
        let outcome = if arm == Arm::Holdout {
            Ok(None)
        } else {
            let budget = u64::from(job.settings().budget.time_ms.max(1));
            let mut policies: Vec<String> = job.csp.clone();
            policies.extend(self.csp_meta.borrow().iter().cloned());
            let inline = InlinePolicy::from_policies(policies.iter().map(String::as_str));
            let (env, extract) = (self.env.clone(), self.extract.clone());
            let decision = async {
                // The lookup, the KV reads and the ranking share one budget.
                let order = lookup::complete(&env, &extract, &order)
                    .await
                    .unwrap_or_else(|| order.clone());
                let choice = Choice {
                    job: &job,
                    order: &order,
                    arm,
                    experiment: &experiment_id,
                    now,
                };
                choose(&env, &choice, &inline).await
            };
            store::within(budget, decision)
                .await
                .unwrap_or_else(|| Err(format!("decision took longer than {budget} ms")))
        };
        let (block, served) = match outcome {
            Ok(Some((block, claims))) => {
                let served = ServedOffer::from_token(
                    &claims,
                    value_minor,
                    order.currency.clone(),
                    client_hash,
                    now,
                );
                (Some(block.into_bytes()), served)
            }
            other => {
                if let Err(e) = other {
                    worker::console_warn!("upsell: no offers: {e}");
                }
                let served = ServedOffer::without_block(
                    &experiment_id,
                    arm,
                    &job.brand,
                    &job.region,
                    &order_id,
                    value_minor,
                    order.currency.clone(),
                    client_hash,
                    now,
                );
                (None, served)
            }
        };
        d1::run_later(&self.env, &self.ctx, vec![served.insert()]);
        block
    }

    /// Records a conversion when this page is the upsell order's own confirmation page.
    fn record_conversion(&mut self, order: &ExtractedOrder) {
        if self.converted || !order.is_complete() {
            return;
        }
        let Some(token) = self.job.returning_token.as_deref() else {
            return;
        };
        self.converted = true;
        let Ok(keys) = secrets::token_keys(&self.env) else {
            return;
        };
        let now = store::now_ms() as u64;
        let Ok(claims) = keys.verify(token, now) else {
            return;
        };
        let lines: Vec<PageOrderLine> = order
            .items
            .iter()
            .map(|it| PageOrderLine {
                sku: it.sku.clone(),
                revenue_minor: (it.price.unwrap_or(0.0) * it.quantity.unwrap_or(1.0) * 100.0)
                    .round() as i64,
            })
            .collect();
        let currency = order.currency.clone().unwrap_or_default();
        let order_id = order.order_id.clone().unwrap_or_default();
        match events::conversions_from_page(&claims, &order_id, &lines, &currency, now) {
            Ok(stmts) if !stmts.is_empty() => d1::run_later(&self.env, &self.ctx, stmts),
            Ok(_) => {}
            Err(e) => worker::console_log!("upsell: not a conversion: {e}"),
        }
    }
}

/// The inputs of one decision that are fixed before any KV read.
struct Choice<'a> {
    job: &'a PageJob,
    order: &'a ExtractedOrder,
    arm: Arm,
    experiment: &'a str,
    now: u64,
}

/// Table reads, ranking, catalog, token and block for a non-holdout arm.
/// `Ok(None)`: nothing to offer; `Ok(Some((block, claims)))`: the block and its token's claims.
async fn choose(
    env: &Env,
    c: &Choice<'_>,
    inline: &InlinePolicy,
) -> std::result::Result<Option<(String, OfferToken)>, String> {
    let (job, order, now) = (c.job, c.order, c.now);
    let order_id = order.order_id.as_deref().ok_or("no order id")?;
    if order.skus.is_empty() {
        // The page named only the order and its lookup failed: nothing to match.
        return Err("the order's items are unknown".into());
    }
    let skus: Vec<&str> = order.skus.iter().map(String::as_str).collect();
    let settings = job.settings();
    let keys = secrets::token_keys(env).map_err(|e| e.to_string())?;
    let kv = env.kv("TABLES").map_err(|e| e.to_string())?;
    let versions = store::manifests(&kv, &job.brand, &job.region).await;
    let table = store::read_table(&kv, &versions, &skus)
        .await
        .map_err(|e| e.to_string())?;
    let chosen =
        offers::offers_for_arm(c.arm, &table.facts, &skus, |s| table.shard_for(s), settings);
    if chosen.is_empty() {
        return Ok(None);
    }
    let chosen_skus: Vec<&str> = chosen.iter().map(|o| o.sku.as_str()).collect();
    let catalog = store::catalog(&kv, &table.manifest, &chosen_skus).await;
    let claims = OfferToken {
        brand: job.brand.clone(),
        region: job.region.clone(),
        parent_order_id: order_id.to_string(),
        arm: c.arm,
        experiment: c.experiment.to_string(),
        model_version: table.manifest.version.clone(),
        skus: chosen.iter().map(|o| o.sku.clone()).collect(),
        issued_at: now,
        expires_at: now + DEFAULT_TTL_MS,
        nonce: secrets::nonce()?,
    };
    let token = keys.sign(&claims);
    let views = serve::offer_views(&chosen, &catalog, &token);
    let currency = order.currency.as_deref().unwrap_or("");
    let block = serve::offer_block(settings, &views, &token, currency, inline);
    Ok(block.map(|b| (b, claims)))
}
