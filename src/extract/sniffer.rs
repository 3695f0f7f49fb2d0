//! [`OrderSniffer`]: the streaming observer that watches inline scripts and
//! the configured markup while lol_html passes the page through, and can
//! report the best order so far after any chunk.

use std::borrow::Cow;
use std::cell::RefCell;
use std::rc::Rc;

use lol_html::html_content::{Element, TextChunk};
use lol_html::{ElementContentHandlers, Selector};

use super::analytics::{self, GaEcommerce, Payload};
use super::config::ExtractConfig;
use super::markup::{self, Field, Handler, MarkupHits};
use super::pixels;
use super::script::{self, ScriptKind, Triggers};
use super::{Candidate, ExtractedOrder, Item};

/// Scripts scanned per page at most; later ones are ignored.
const MAX_SCRIPTS: usize = 2_000;
/// Payloads kept per page at most.
const MAX_PAYLOADS: usize = 200;

#[derive(Default)]
struct ScriptState {
    /// Number of `<script>` elements seen (1-based ids in sources).
    count: usize,
    /// Body of the script being read, if it is being kept.
    body: Option<String>,
    kind: Option<ScriptKind>,
    /// The `type` attribute of the script being read.
    ty: Option<String>,
    payloads: Vec<Payload>,
    ga: GaEcommerce,
}

/// Streaming order extractor. Register [`OrderSniffer::handlers`] with a
/// lol_html rewriter, feed the page, and ask [`OrderSniffer::current`].
pub struct OrderSniffer {
    cfg: Rc<ExtractConfig>,
    scripts: Rc<RefCell<ScriptState>>,
    markup: Rc<RefCell<MarkupHits>>,
}

impl OrderSniffer {
    /// A sniffer for one page with this brand's config.
    pub fn new(cfg: &ExtractConfig) -> Self {
        OrderSniffer {
            cfg: Rc::new(cfg.clone()),
            scripts: Rc::default(),
            markup: Rc::default(),
        }
    }

    /// Handlers to put in `lol_html::Settings::element_content_handlers`.
    /// They only observe: the rewriter's output stays byte-identical.
    pub fn handlers(&self) -> Vec<(Cow<'static, Selector>, ElementContentHandlers<'static>)> {
        let mut out: Vec<Handler> = Vec::new();
        if self.cfg.analytics {
            out.extend(self.script_handler());
        }
        out.extend(markup::handlers(
            &self.cfg.order_id_selectors,
            Field::OrderId,
            &self.markup,
        ));
        out.extend(markup::handlers(
            &self.cfg.sku_selectors,
            Field::Sku,
            &self.markup,
        ));
        out
    }

    fn script_handler(&self) -> Option<Handler> {
        let selector: Selector = "script".parse().ok()?;
        let on_el = {
            let st = self.scripts.clone();
            move |el: &mut Element| {
                let mut st = st.borrow_mut();
                st.count += 1;
                let ty = el.get_attribute("type");
                let kind = ScriptKind::from_type(ty.as_deref());
                let external = el
                    .get_attribute("src")
                    .is_some_and(|s| !s.trim().is_empty());
                let keep = !external && kind != ScriptKind::Ignored && st.count <= MAX_SCRIPTS;
                st.body = keep.then(String::new);
                st.kind = Some(kind);
                st.ty = ty.map(|t| t.chars().take(40).collect());
                Ok(())
            }
        };
        let on_text = {
            let st = self.scripts.clone();
            let cfg = self.cfg.clone();
            let triggers = Triggers::new(&cfg.order_id_fields);
            move |t: &mut TextChunk| {
                let mut st = st.borrow_mut();
                if let Some(body) = st.body.as_mut() {
                    if body.len() + t.as_str().len() > cfg.max_script_bytes {
                        // Too large to be a purchase payload worth the memory.
                        st.body = None;
                    } else {
                        body.push_str(t.as_str());
                    }
                }
                if t.last_in_text_node() {
                    if let (Some(body), Some(kind)) = (st.body.take(), st.kind) {
                        let found = script::scan(&body, kind, &triggers);
                        if found.is_empty() {
                            return Ok(());
                        }
                        let st = &mut *st;
                        let place = match &st.ty {
                            Some(ty) => format!("<script type=\"{ty}\"> #{}", st.count),
                            None => format!("<script> #{}", st.count),
                        };
                        for found in found {
                            let found = analytics::payloads(&found, &place, &cfg, &mut st.ga);
                            let room = MAX_PAYLOADS.saturating_sub(st.payloads.len());
                            st.payloads.extend(found.into_iter().take(room));
                        }
                    }
                }
                Ok(())
            }
        };
        Some((
            Cow::Owned(selector),
            ElementContentHandlers::default()
                .element(on_el)
                .text(on_text),
        ))
    }

    /// Best result so far; can be called between chunks.
    pub fn current(&self) -> ExtractedOrder {
        let st = self.scripts.borrow();
        let hits = self.markup.borrow();
        // Advertising tags' payloads rank after the analytics ones (their item
        // ids are the ad network's feed ids, not always SKUs).
        let all = || st.payloads.iter().chain(st.ga.payloads());
        let payloads: Vec<&Payload> = all()
            .filter(|p| !pixels::is_pixel(p.kind))
            .chain(all().filter(|p| pixels::is_pixel(p.kind)))
            .collect();
        resolve(&self.cfg, &payloads, &hits)
    }

    /// True once an order id and at least one SKU are known.
    pub fn is_complete(&self) -> bool {
        let o = self.current();
        o.order_id.is_some() && !o.skus.is_empty()
    }
}

/// Chooses among the candidates per the config's preferences.
fn resolve(cfg: &ExtractConfig, payloads: &[&Payload], hits: &MarkupHits) -> ExtractedOrder {
    // Order id candidates: (kind, value, source), page order within a class.
    let mut ids: Vec<(&str, &str, &str)> = Vec::new();
    for p in payloads {
        if let Some(id) = &p.order_id {
            ids.push((p.kind, id, &p.source));
        }
    }
    for c in &hits.order_ids {
        ids.push(("markup", &c.value, &c.source));
    }
    let chosen = cfg
        .order_id_from
        .iter()
        .find_map(|pref| {
            ids.iter().find(|(kind, _, _)| match pref.as_str() {
                "analytics" => *kind != "markup",
                other => *kind == other,
            })
        })
        .or(ids.first())
        .copied();

    let mut order = ExtractedOrder::default();
    if let Some((_, id, source)) = chosen {
        order.order_id = Some(id.to_string());
        order.sources.order_id = Some(source.to_string());
        for (_, v, s) in &ids {
            if *v != id && !order.sources.other_order_ids.iter().any(|c| c.value == *v) {
                order.sources.other_order_ids.push(Candidate {
                    value: v.to_string(),
                    source: s.to_string(),
                });
            }
        }
    }

    // Items: the first purchase payload with items (preferring one that
    // agrees with the chosen order id), or the markup SKUs.
    let agrees = |p: &&&Payload| match (&p.order_id, &order.order_id) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    };
    let mut item_payload: Option<&Payload> = None;
    for pref in &cfg.skus_from {
        match pref.as_str() {
            "markup" if !hits.skus.is_empty() => {
                let items = hits
                    .skus
                    .iter()
                    .map(|c| Item {
                        sku: c.value.clone(),
                        quantity: None,
                        price: None,
                    })
                    .collect();
                order.set_items(items, &hits.skus[0].source);
                break;
            }
            "markup" => {}
            kind => {
                let with_items = || payloads.iter().filter(|p| !p.items.is_empty());
                let pick = with_items()
                    .filter(|p| kind == "analytics" || p.kind == kind)
                    .find(agrees)
                    .or_else(|| with_items().find(|p| kind == "analytics" || p.kind == kind));
                if let Some(p) = pick {
                    order.set_items(p.items.clone(), &p.source);
                    item_payload = Some(p);
                    break;
                }
            }
        }
    }

    // Currency and total: from the payload that gave the items, else the
    // one that gave the order id, else the first that has them.
    let id_payload = chosen.and_then(|(_, _, src)| payloads.iter().find(|p| p.source == src));
    let ordered: Vec<&Payload> = item_payload
        .into_iter()
        .chain(id_payload.copied())
        .chain(payloads.iter().copied())
        .collect();
    if let Some(p) = ordered.iter().find(|p| p.currency.is_some()) {
        order.currency = p.currency.clone();
        order.sources.currency = Some(p.source.clone());
    }
    if let Some(p) = ordered.iter().find(|p| p.total.is_some()) {
        order.total = p.total;
        order.sources.total = Some(p.source.clone());
    }
    order
}
