//! The worker's per-page CPU work, compiled to wasm with the worker's release
//! profile and driven from Node by `scripts/bench-wasm` (which times it).
//!
//! One confirmation page here is what the worker does between the origin's
//! bytes arriving and the last byte leaving, minus the runtime's I/O: the
//! page flow (lol_html with the order sniffer and the injector) over the page
//! in chunks, the arm, the table lookup and ranking, the catalog facts, the
//! signed token, the rendered block, and the splice, all through the same
//! functions the glue calls (`serve`, `offers`, `token`). Table values are
//! decoded once and cached, as the isolate cache does; `decode_cold` times a
//! cache miss separately. A pass-through page is the routing decision.

#[cfg(target_arch = "wasm32")]
mod bench {
    use std::collections::HashMap;
    use std::rc::Rc;

    use upsell_edge::config::CompiledConfig;
    use upsell_edge::extract::ExtractedOrder;
    use upsell_edge::render::csp::InlinePolicy;
    use upsell_edge::serve::{
        meta_csp_observer, offer_block, offer_views, PageFlow, PreparedConfig,
    };
    use upsell_edge::table::{
        decode_catalog, decode_facts, decode_neighbours, CatalogEntry, CatalogShard, Facts,
        Manifest, NeighbourShard,
    };
    use upsell_edge::token::{nonce_from_bytes, Keyring, OfferToken, DEFAULT_TTL_MS};
    use upsell_edge::{offers, route};
    use wasm_bindgen::prelude::*;

    /// One brand × region's configuration and decoded table, held as the isolate cache holds them.
    #[wasm_bindgen]
    pub struct PageBench {
        config: Rc<PreparedConfig>,
        brand: String,
        region: String,
        manifest: Manifest,
        facts: Rc<Facts>,
        raw: HashMap<String, Vec<u8>>,
        shards: HashMap<String, Rc<NeighbourShard>>,
        catalogs: HashMap<String, Rc<CatalogShard>>,
        keys: Keyring,
        counter: u64,
    }

    fn err(e: impl std::fmt::Display) -> JsValue {
        JsValue::from_str(&e.to_string())
    }

    #[wasm_bindgen]
    impl PageBench {
        /// From the compiled configuration JSON and one table manifest (JSON, as published).
        #[wasm_bindgen(constructor)]
        pub fn new(
            config_json: &[u8],
            manifest_json: &[u8],
            brand: &str,
            region: &str,
        ) -> Result<PageBench, JsValue> {
            let config = CompiledConfig::from_json(config_json).map_err(err)?;
            let manifest: Manifest = serde_json::from_slice(manifest_json).map_err(err)?;
            Ok(PageBench {
                config: Rc::new(PreparedConfig::new(config)),
                brand: brand.into(),
                region: region.into(),
                manifest,
                facts: Rc::new(Facts::new("", brand, region, 0, Vec::new(), 0)),
                raw: HashMap::new(),
                shards: HashMap::new(),
                catalogs: HashMap::new(),
                keys: Keyring::from_env("bench-token-secret").map_err(err)?,
                counter: 0,
            })
        }

        /// Adds one KV value of the table (facts, neighbour or catalog shard) and decodes it.
        pub fn add_value(&mut self, key: &str, bytes: Vec<u8>) -> Result<(), JsValue> {
            if key == self.manifest.facts_key() {
                self.facts = Rc::new(decode_facts(&bytes).map_err(err)?);
            } else if key.contains("/nbr/") {
                let s = decode_neighbours(&bytes).map_err(err)?;
                self.shards.insert(key.to_string(), Rc::new(s));
            } else {
                let c = decode_catalog(&bytes).map_err(err)?;
                self.catalogs.insert(key.to_string(), Rc::new(c));
            }
            self.raw.insert(key.to_string(), bytes);
            Ok(())
        }

        /// Runs one confirmation page (`html`, fed in `chunk`-byte pieces) with
        /// warm caches, as the glue does (the brand's settings plus the meta
        /// CSP observer); returns the response's length (the page plus the
        /// block). Without `markup`, the brand's markup selectors are left out
        /// (the platform's default extraction).
        pub fn confirmation_page(&mut self, html: &[u8], chunk: usize, markup: bool) -> usize {
            let config = self.config.clone();
            let Some(settings) = config.settings(&self.brand, &self.region) else {
                return 0;
            };
            let mut extract = (*config.extract(&self.brand, &self.region)).clone();
            if !markup {
                extract.order_id_selectors.clear();
                extract.sku_selectors.clear();
            }
            let csp = Rc::new(std::cell::RefCell::new(Vec::new()));
            let mut flow = PageFlow::new(settings, &extract, vec![meta_csp_observer(csp)]);
            let mut sent = 0;
            let mut decide_now = false;
            for piece in html.chunks(chunk.max(1)) {
                if decide_now {
                    let block = self.decide(&flow.order());
                    sent += flow.decide(block).len();
                }
                sent += flow.write(piece).len();
                decide_now = flow.wants_decision(false);
            }
            if decide_now || flow.wants_decision(true) {
                let block = self.decide(&flow.order());
                sent += flow.decide(block).len();
            }
            sent + flow.finish().0.len()
        }

        /// The page flow alone (parsing, sniffing, splicing), deciding "no offers".
        pub fn flow_only(&self, html: &[u8], chunk: usize) -> usize {
            let Some(settings) = self.config.settings(&self.brand, &self.region) else {
                return 0;
            };
            let extract = self.config.extract(&self.brand, &self.region);
            let csp = Rc::new(std::cell::RefCell::new(Vec::new()));
            let mut flow = PageFlow::new(settings, &extract, vec![meta_csp_observer(csp)]);
            let mut sent = 0;
            for piece in html.chunks(chunk.max(1)) {
                sent += flow.write(piece).len();
                if flow.wants_decision(false) {
                    sent += flow.decide(None).len();
                }
            }
            sent + flow.finish().0.len()
        }

        /// lol_html alone over the page: no handlers, output discarded (the parser's floor).
        pub fn bare_parse(&self, html: &[u8], chunk: usize) -> usize {
            let mut n = 0;
            let mut rw = lol_html::HtmlRewriter::new(lol_html::Settings::new(), |c: &[u8]| {
                n += c.len();
            });
            for piece in html.chunks(chunk.max(1)) {
                if rw.write(piece).is_err() {
                    return 0;
                }
            }
            let _ = rw.end();
            n
        }

        /// The order sniffer alone (default extraction settings, no injector).
        pub fn sniff_only(&self, html: &[u8], chunk: usize) -> bool {
            let cfg = upsell_edge::extract::ExtractConfig::default();
            let order = upsell_edge::extract::extract_from_chunks(html.chunks(chunk.max(1)), &cfg);
            order.is_complete()
        }

        /// The decision alone for an order of `skus` (ranking, catalog, token, block).
        pub fn decision_only(&mut self, order_id: &str, skus: Vec<String>) -> usize {
            let order = ExtractedOrder {
                order_id: Some(order_id.to_string()),
                skus,
                currency: Some("GBP".into()),
                ..ExtractedOrder::default()
            };
            self.decide(&order).map_or(0, |b| b.len())
        }

        /// Decodes the neighbour and/or catalog shards `skus` need from their
        /// bytes (an isolate cache miss); returns the number of entries decoded.
        pub fn decode_cold(&self, skus: Vec<String>, neighbours: bool, catalog: bool) -> usize {
            let mut edges = 0;
            let keys = self
                .manifest
                .neighbour_keys(skus.iter().map(String::as_str));
            for key in keys.iter().filter(|_| neighbours) {
                if let Some(bytes) = self.raw.get(key) {
                    edges += decode_neighbours(bytes).map_or(0, |s| s.edges());
                }
            }
            for sku in skus.iter().filter(|_| catalog) {
                if let Some(bytes) = self
                    .manifest
                    .catalog_key(sku)
                    .and_then(|k| self.raw.get(&k))
                {
                    edges += decode_catalog(bytes).map_or(0, |c| c.len());
                }
            }
            edges
        }

        /// The routing decision of one request (`true`: the page would be rewritten).
        pub fn route(&self, host: &str, path: &str, country: &str) -> bool {
            route::route(&self.config.config, "GET", host, path, Some(country)).is_some()
        }

        /// Neighbour keys of the manifest a page with `skus` reads.
        pub fn neighbour_keys(&self, skus: Vec<String>) -> Vec<String> {
            self.manifest
                .neighbour_keys(skus.iter().map(String::as_str))
        }
    }

    impl PageBench {
        /// The decision the glue makes once the order is known, with warm caches.
        fn decide(&mut self, order: &ExtractedOrder) -> Option<Vec<u8>> {
            let order_id = order.order_id.as_deref()?;
            let settings = self.config.settings(&self.brand, &self.region)?;
            let now = 1_795_000_000_000u64;
            let experiment = offers::running_experiment(settings, &self.brand, &self.region, now);
            let arm = offers::arm_for(experiment.as_ref(), order_id);
            let skus: Vec<&str> = order.skus.iter().map(String::as_str).collect();
            let shards = &self.shards;
            let manifest = &self.manifest;
            let chosen = offers::offers_for_arm(
                arm,
                &self.facts,
                &skus,
                |s| shards.get(&manifest.neighbour_key(s)).map(|s| s.as_ref()),
                settings,
            );
            if chosen.is_empty() {
                return None;
            }
            let mut catalog: HashMap<String, CatalogEntry> = HashMap::new();
            for o in &chosen {
                let shard = manifest
                    .catalog_key(&o.sku)
                    .and_then(|k| self.catalogs.get(&k));
                if let Some(e) = shard.and_then(|c| c.get(&o.sku)) {
                    catalog.insert(o.sku.clone(), e);
                }
            }
            self.counter += 1;
            let claims = OfferToken {
                brand: self.brand.clone(),
                region: self.region.clone(),
                parent_order_id: order_id.to_string(),
                arm,
                experiment: experiment
                    .as_ref()
                    .map_or("none", |e| e.id.as_str())
                    .to_string(),
                model_version: manifest.version.clone(),
                skus: chosen.iter().map(|o| o.sku.clone()).collect(),
                issued_at: now,
                expires_at: now + DEFAULT_TTL_MS,
                nonce: nonce_from_bytes(&self.counter.to_le_bytes()),
            };
            let token = self.keys.sign(&claims);
            let views = offer_views(&chosen, &catalog, &token);
            let inline = InlinePolicy::from_policies(std::iter::empty::<&str>());
            let currency = order.currency.as_deref().unwrap_or("");
            offer_block(settings, &views, &token, currency, &inline).map(String::into_bytes)
        }
    }
}
