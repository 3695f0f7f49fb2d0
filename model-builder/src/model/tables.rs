//! Assembles and encodes the tables of every brand × region: facts,
//! neighbour shards, brand catalog shards and manifests, as KV values.
use std::collections::{BTreeMap, HashMap};

use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use upsell_edge::table::{
    encode_catalog, encode_facts, encode_neighbours, shard_of, slug, CatalogEntry, Facts, Manifest,
    ManifestKey, NeighbourList, Quantiser, SkuFacts, FORMAT_VERSION,
};

use super::baskets::Baskets;
use super::config::{Method, ModelConfig};
use super::cooc::{blended_item_weight, category_fallback, neighbour_rows, scope_counts};
use super::customers::{concat, customer_windows};
use super::ease::{ease_lists, sparse_ease, EaseInput, Packed};
use crate::ingest::{CatalogRow, Dataset};

/// The brand-wide table's region name.
pub const ALL: &str = "all";

/// What to build.
pub struct BuildRequest<'a> {
    /// Orders.
    pub data: &'a Dataset,
    /// Catalog, if given: only its SKUs are offered.
    pub catalog: Option<&'a [CatalogRow]>,
    /// Which orders to learn from (by dataset order id).
    pub keep: &'a (dyn Fn(usize) -> bool + Sync),
    /// Settings.
    pub cfg: &'a ModelConfig,
    /// Table version.
    pub version: &'a str,
    /// Build time (RFC 3339).
    pub built_at: &'a str,
    /// Show progress bars.
    pub progress: bool,
}

/// Figures of one table.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct TableStats {
    /// Brand.
    pub brand: String,
    /// Region (`all` = brand-wide).
    pub region: String,
    /// Training orders in scope.
    pub orders: u64,
    /// SKUs in the facts.
    pub skus: usize,
    /// SKUs with a neighbour list.
    pub lists: usize,
    /// Of which cold-start (category) fallbacks.
    pub fallback_lists: usize,
    /// Neighbour edges stored.
    pub edges: usize,
    /// Neighbour shards.
    pub shards: u32,
    /// Bytes of all neighbour shards.
    pub neighbour_bytes: u64,
    /// Bytes of the facts value.
    pub facts_bytes: u64,
}

/// Everything a build produces.
#[derive(Debug, Clone, Default)]
pub struct TableSet {
    /// KV key → value.
    pub values: BTreeMap<String, Vec<u8>>,
    /// One manifest per brand × region (including regions that borrow `all`).
    pub manifests: Vec<Manifest>,
    /// Figures per table.
    pub tables: Vec<TableStats>,
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn bar(progress: bool, len: u64, msg: &str) -> ProgressBar {
    if !progress {
        return ProgressBar::hidden();
    }
    let b = ProgressBar::new(len);
    b.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    b.set_message(msg.to_string());
    b
}

/// Returns a function to call after each step with its name: it prints the
/// wall time since the previous call when `MODEL_BUILDER_TIMINGS` is set.
fn step_timer() -> impl FnMut(&str) {
    let timings = std::env::var_os("MODEL_BUILDER_TIMINGS").is_some();
    let mut lap = std::time::Instant::now();
    move |what: &str| {
        if timings {
            eprintln!("  {what}: {:.2}s", lap.elapsed().as_secs_f64());
        }
        lap = std::time::Instant::now();
    }
}

/// Builds every table of every brand.
pub fn build_tables(req: &BuildRequest<'_>) -> TableSet {
    build_gathered(req, gather(req.data, req.catalog, req.keep, req.cfg))
}

/// What a build reads from the dataset's orders and lines, per brand: once
/// gathered, the build reads neither again, so a caller that owns the
/// dataset can free them (about 1 GB at 18M orders) before the model runs.
pub struct Gathered {
    /// Newest training order's time: the recency weights' reference.
    t_ref: Option<i64>,
    /// Per brand (by id): `None` when the brand has no SKU to build for.
    brands: Vec<Option<BrandOrders>>,
}

/// One brand's share of [`Gathered`].
struct BrandOrders {
    /// The brand's SKU universe, sorted: its training SKUs and the catalog's
    /// (the facts' ids).
    names: Vec<String>,
    /// Dataset SKU id → local id (`u32::MAX` = not in the brand).
    local: Vec<u32>,
    /// Training baskets.
    baskets: Baskets,
    /// Customer windows (empty unless `customer_weight` > 0).
    windows: Baskets,
}

/// Gathers every brand's training baskets (and customer windows) from the
/// dataset's orders and lines (see [`Gathered`]).
pub fn gather(
    data: &Dataset,
    catalog: Option<&[CatalogRow]>,
    keep: &(dyn Fn(usize) -> bool + Sync),
    cfg: &ModelConfig,
) -> Gathered {
    let t_ref = (0..data.orders.len())
        .filter(|&o| keep(o))
        .filter_map(|o| data.orders[o].ts)
        .max();
    let brands = (0..data.brands.len() as u32)
        .map(|brand| gather_brand(data, catalog, keep, cfg, brand))
        .collect();
    Gathered { t_ref, brands }
}

fn gather_brand(
    data: &Dataset,
    catalog: Option<&[CatalogRow]>,
    keep: &(dyn Fn(usize) -> bool + Sync),
    cfg: &ModelConfig,
    brand: u32,
) -> Option<BrandOrders> {
    let mut step = step_timer();
    // SKU universe: the brand's training SKUs and the catalog's, sorted (= facts ids).
    let mut in_brand = vec![false; data.skus.len()];
    for &(o, s) in &data.lines {
        let ord = &data.orders[o as usize];
        if ord.brand == brand && keep(o as usize) {
            in_brand[s as usize] = true;
        }
    }
    let mut names: Vec<&str> = (0..data.skus.len())
        .filter(|&s| in_brand[s])
        .map(|s| data.skus[s].as_str())
        .chain(catalog.unwrap_or(&[]).iter().map(|r| r.sku.as_str()))
        .collect();
    names.sort_unstable();
    names.dedup();
    if names.is_empty() {
        return None;
    }
    let local_of_name: HashMap<&str, u32> = names
        .iter()
        .enumerate()
        .map(|(i, s)| (*s, i as u32))
        .collect();
    let local: Vec<u32> = data
        .skus
        .iter()
        .enumerate()
        .map(|(s, name)| {
            if in_brand[s] {
                local_of_name[name.as_str()]
            } else {
                u32::MAX
            }
        })
        .collect();
    step("SKU universe");
    let baskets = Baskets::collect(data, brand, keep, &local);
    step("baskets");
    let windows = if cfg.customer_weight > 0.0 {
        customer_windows(
            data,
            brand,
            keep,
            &local,
            cfg.customer_window_days
                .map(|d| (d * 86_400.0).round() as i64),
        )
    } else {
        Baskets::default()
    };
    Some(BrandOrders {
        names: names.into_iter().map(str::to_string).collect(),
        local,
        baskets,
        windows,
    })
}

/// Builds every table from what [`gather`] collected; reads the dataset's
/// SKU, category, price, region and brand facts, never its orders or lines.
pub fn build_gathered(req: &BuildRequest<'_>, gathered: Gathered) -> TableSet {
    let mut set = TableSet::default();
    for (brand, orders) in gathered.brands.into_iter().enumerate() {
        if let Some(orders) = orders {
            build_brand(req, brand as u32, gathered.t_ref, orders, &mut set);
        }
    }
    set
}

fn build_brand(
    req: &BuildRequest<'_>,
    brand: u32,
    t_ref: Option<i64>,
    orders: BrandOrders,
    set: &mut TableSet,
) {
    let data = req.data;
    let cfg = req.cfg;
    let timings = std::env::var_os("MODEL_BUILDER_TIMINGS").is_some();
    let mut step = step_timer();
    let brand_slug = slug(&data.brands[brand as usize]);
    let BrandOrders {
        names,
        local,
        mut baskets,
        windows,
    } = orders;
    let n = names.len();
    let cat_by_sku: HashMap<&str, &CatalogRow> = req
        .catalog
        .unwrap_or(&[])
        .iter()
        .map(|r| (r.sku.as_str(), r))
        .collect();

    // Per-SKU facts that do not depend on the scope.
    let mut dataset_id: Vec<Option<usize>> = vec![None; n];
    for (s, &l) in local.iter().enumerate() {
        if l != u32::MAX {
            dataset_id[l as usize] = Some(s);
        }
    }
    let mut categories: Vec<String> = Vec::new();
    let mut cat_ids: HashMap<String, u32> = HashMap::new();
    let mut category: Vec<Option<u32>> = Vec::with_capacity(n);
    let mut base: Vec<SkuFacts> = Vec::with_capacity(n);
    let mut neighbour_ok = vec![true; n];
    for (i, name) in names.iter().enumerate() {
        let row = cat_by_sku.get(name.as_str()).copied();
        let ds = dataset_id[i];
        let cat_name = row.and_then(|r| r.category.clone()).or_else(|| {
            ds.and_then(|s| data.sku_category[s])
                .map(|c| data.categories[c as usize].clone())
        });
        category.push(cat_name.as_ref().map(|c| {
            let next = categories.len() as u32;
            *cat_ids.entry(c.clone()).or_insert_with(|| {
                categories.push(c.clone());
                next
            })
        }));
        let price = row.map(|r| r.price).unwrap_or_else(|| {
            ds.map_or(0.0, |s| {
                let (sum, k) = data.sku_price[s];
                if k > 0 {
                    (sum / k as f64) as f32
                } else {
                    0.0
                }
            })
        });
        let offerable = req.catalog.is_none() || row.is_some();
        let in_stock = row.is_none_or(|r| r.in_stock);
        neighbour_ok[i] = offerable && in_stock;
        base.push(SkuFacts {
            sku: name.to_string(),
            price,
            cost: row.and_then(|r| r.cost),
            in_stock,
            offerable,
            category: cat_name,
            popularity: 0,
        });
    }

    // Scopes: brand-wide, and each region with enough training orders.
    // Counted per region id first, then by slug (one slug per region, not per order).
    let mut per_region = vec![0u64; data.regions.len()];
    for r in baskets.region.iter().flatten() {
        per_region[*r as usize] += 1;
    }
    let mut region_orders: BTreeMap<String, u64> = BTreeMap::new();
    for (r, &k) in per_region.iter().enumerate().filter(|(_, &k)| k > 0) {
        *region_orders.entry(slug(&data.regions[r])).or_default() += k;
    }
    let mut scope_names: Vec<String> = vec![ALL.to_string()];
    for (r, &k) in &region_orders {
        if k >= cfg.region_min_orders && r != ALL && scope_names.len() < 255 {
            scope_names.push(r.clone());
        }
    }
    let region_scope: Vec<u8> = data
        .regions
        .iter()
        .map(|r| {
            let s = slug(r);
            scope_names.iter().position(|x| *x == s).unwrap_or(0) as u8
        })
        .collect();
    let scope_of: Vec<u8> = baskets
        .region
        .iter()
        .map(|r| r.map_or(0, |r| region_scope[r as usize]))
        .collect();
    let weight_of = |b: &Baskets, o: usize| {
        let size = b.get(o).len().saturating_sub(1).max(1) as f64;
        let decay = match (cfg.half_life_days, b.ts[o], t_ref) {
            (Some(h), Some(ts), Some(t)) if h > 0.0 => 0.5f64.powf((t - ts) as f64 / 86_400.0 / h),
            _ => 1.0,
        };
        decay * size.powf(-cfg.basket_exp)
    };
    let weight: Vec<f32> = (0..baskets.len())
        .into_par_iter()
        .map(|o| weight_of(&baskets, o) as f32)
        .collect();
    let counts = scope_counts(&baskets, n, &weight, &scope_of, scope_names.len());
    let b = bar(req.progress, n as u64, &format!("scoring {brand_slug}"));
    // Customer windows, if any, join the orders as down-weighted EASE rows
    // (the facts and the co-occurrence method count orders only).
    let mut merged = (windows.len() > 0).then(|| {
        let g_weight = weight
            .iter()
            .copied()
            .chain(
                (0..windows.len()).map(|o| (cfg.customer_weight * weight_of(&windows, o)) as f32),
            )
            .collect::<Vec<f32>>();
        let g_scope = scope_of
            .iter()
            .copied()
            .chain(
                windows
                    .region
                    .iter()
                    .map(|r| r.map_or(0, |r| region_scope[r as usize])),
            )
            .collect::<Vec<u8>>();
        (concat(&baskets, &windows), g_weight, g_scope)
    });
    drop(windows);
    // The timestamps and regions have been turned into weights and scopes:
    // free them (~430 MB at 18M orders) before the model's working memory.
    for b in std::iter::once(&mut baskets).chain(merged.as_mut().map(|m| &mut m.0)) {
        b.ts = Vec::new();
        b.region = Vec::new();
    }
    let g_counts;
    let (gb, gw, gs, gc) = match &merged {
        None => (&baskets, &weight, &scope_of, &counts),
        Some((g_baskets, g_weight, g_scope)) => {
            g_counts = scope_counts(g_baskets, n, g_weight, g_scope, scope_names.len());
            (g_baskets, g_weight, g_scope, &g_counts)
        }
    };
    step("weights, scopes and counts");
    let rows = match cfg.method {
        Method::Cooc => neighbour_rows(
            &baskets,
            n,
            &weight,
            &scope_of,
            &counts,
            &neighbour_ok,
            cfg,
            &b,
        ),
        Method::Ease if cfg.ease_row == 0 => {
            let packing = std::time::Instant::now();
            let packed = Packed::new(gb, gw, gs, n);
            // The packed records hold the baskets' lines: free these
            // (~310 MB at 18M orders) to leave room for the Gram blocks.
            for b in std::iter::once(&mut baskets).chain(merged.as_mut().map(|m| &mut m.0)) {
                b.items = Vec::new();
            }
            if timings {
                eprintln!("  packing: {:.2}s", packing.elapsed().as_secs_f64());
            }
            sparse_ease(
                &EaseInput {
                    packed: &packed,
                    n_items: n,
                    counts: gc,
                    offerable: &neighbour_ok,
                    lambda: cfg.ease_lambda,
                    candidates: cfg.ease_candidates,
                    keep: cfg.neighbours,
                    prior: cfg.region_prior_orders,
                    diag_reg: cfg.ease_diag_reg,
                    nonnegative: cfg.ease_nonnegative,
                    l1: cfg.ease_l1,
                },
                &b,
            )
        }
        Method::Ease => {
            // Truncated Gram rows (`ease_row` > 0), materialised per scope:
            // plain weighted co-purchase counts, every SKU a regressor.
            let gram_cfg = ModelConfig {
                alpha: 0.0,
                beta: 0.0,
                shrink: 0.0,
                neighbours: cfg.ease_row,
                min_count: 1,
                ..cfg.clone()
            };
            let gram = neighbour_rows(gb, n, gw, gs, gc, &vec![true; n], &gram_cfg, &b);
            let mut diag = blended_item_weight(gc, cfg.region_prior_orders);
            // EDLAE's penalty λ + κ·G_ii is the plain solve on a scaled diagonal.
            for d in diag.iter_mut().flatten() {
                *d *= 1.0 + cfg.ease_diag_reg;
            }
            gram.iter()
                .zip(&diag)
                .map(|(g, d)| {
                    ease_lists(
                        g,
                        d,
                        &neighbour_ok,
                        cfg.ease_lambda,
                        cfg.ease_candidates,
                        cfg.neighbours,
                        false,
                        cfg.ease_nonnegative,
                    )
                })
                .collect()
        }
    };
    b.finish_and_clear();
    step("neighbour lists");

    // Catalog shards (brand-wide).
    let mut catalog_prefix = None;
    let mut cat_shards = 0u32;
    let mut brand_keys: Vec<(String, Vec<u8>)> = Vec::new();
    if let Some(cat) = req.catalog {
        let prefix = format!("tables/{brand_slug}/_catalog/{}", req.version);
        cat_shards = cat.len().div_ceil(cfg.catalog_skus_per_shard.max(1)).max(1) as u32;
        let mut groups: Vec<Vec<CatalogEntry>> = vec![Vec::new(); cat_shards as usize];
        for r in cat {
            groups[shard_of(&r.sku, cat_shards) as usize].push(CatalogEntry {
                sku: r.sku.clone(),
                title: r.title.clone(),
                url: r.url.clone(),
                image: r.image.clone(),
            });
        }
        for (k, g) in groups.into_iter().enumerate() {
            brand_keys.push((format!("{prefix}/cat/{k}"), encode_catalog(k as u32, g)));
        }
        catalog_prefix = Some(prefix);
    }

    // The scopes are encoded in parallel (each one's facts are compressed
    // serially) and then added in scope order, as before.
    // Per scope: its manifests, figures and KV values.
    type ScopeOut = (Vec<Manifest>, TableStats, Vec<(String, Vec<u8>)>);
    let per_scope: Vec<ScopeOut> = rows
        .into_par_iter()
        .enumerate()
        .map(|(s, mut lists)| {
            let region = &scope_names[s];
            let prefix = Manifest::table_prefix(&brand_slug, region, req.version);
            let mut fallback = vec![false; n];
            let given = category_fallback(
                &mut lists,
                &mut fallback,
                &category,
                &counts[s].item_orders,
                cfg.category_members,
                cfg.neighbours,
            );
            let skus: Vec<SkuFacts> = base
                .iter()
                .enumerate()
                .map(|(i, f)| SkuFacts {
                    popularity: counts[s].item_orders[i],
                    ..f.clone()
                })
                .collect();
            let facts = Facts::new(
                req.version,
                &brand_slug,
                region,
                counts[s].orders,
                skus,
                cfg.popular,
            );
            // Facts ids follow the scope's popularity: map the lists onto them.
            let fid: Vec<u32> = names
                .iter()
                .map(|s| facts.id(s).expect("every SKU has facts"))
                .collect();
            for l in lists.iter_mut() {
                for nb in l.iter_mut() {
                    nb.id = fid[nb.id as usize];
                }
            }
            let quant = Quantiser::fit(lists.iter().flatten().map(|nb| nb.score));
            let keyed: Vec<usize> = (0..n).filter(|&i| !lists[i].is_empty()).collect();
            let shards = keyed.len().div_ceil(cfg.skus_per_shard.max(1)).max(1) as u32;
            let mut groups: Vec<Vec<NeighbourList>> = vec![Vec::new(); shards as usize];
            let mut edges = 0;
            for &i in &keyed {
                edges += lists[i].len();
                groups[shard_of(&names[i], shards) as usize].push(NeighbourList {
                    sku: names[i].to_string(),
                    fallback: fallback[i],
                    neighbours: std::mem::take(&mut lists[i]),
                });
            }
            // The facts (one value, compressed serially) beside the shards.
            let (facts_bytes, encoded) = rayon::join(
                || encode_facts(&facts),
                || {
                    groups
                        .par_iter()
                        .enumerate()
                        .map(|(k, g)| encode_neighbours(k as u32, &quant, g))
                        .collect::<Vec<Vec<u8>>>()
                },
            );
            let stats = TableStats {
                brand: brand_slug.clone(),
                region: region.clone(),
                orders: counts[s].orders,
                skus: n,
                lists: keyed.len(),
                fallback_lists: given,
                edges,
                shards,
                neighbour_bytes: encoded.iter().map(|v| v.len() as u64).sum(),
                facts_bytes: facts_bytes.len() as u64,
            };
            let mut values: Vec<(String, Vec<u8>)> = vec![(format!("{prefix}/facts"), facts_bytes)];
            for (k, v) in encoded.into_iter().enumerate() {
                values.push((format!("{prefix}/nbr/{k}"), v));
            }
            values.extend(brand_keys.iter().cloned());
            let keys: Vec<ManifestKey> = values
                .iter()
                .map(|(k, v)| ManifestKey {
                    key: k.clone(),
                    sha256: sha256_hex(v),
                    bytes: v.len() as u64,
                })
                .collect();
            let manifest = Manifest {
                format: FORMAT_VERSION,
                version: req.version.to_string(),
                brand: brand_slug.clone(),
                region: region.clone(),
                built_at: req.built_at.to_string(),
                prefix,
                nbr_shards: shards,
                catalog_prefix: catalog_prefix.clone(),
                cat_shards,
                fallback_region: None,
                keys,
            };
            let mut manifests = Vec::new();
            if s == 0 {
                // Regions without a table of their own borrow the brand-wide one.
                for r in region_orders.keys().filter(|r| !scope_names.contains(r)) {
                    manifests.push(Manifest {
                        region: r.clone(),
                        fallback_region: Some(ALL.to_string()),
                        ..manifest.clone()
                    });
                }
            }
            manifests.push(manifest);
            (manifests, stats, values)
        })
        .collect();
    for (manifests, stats, values) in per_scope {
        set.manifests.extend(manifests);
        set.tables.push(stats);
        set.values.extend(values);
    }
    step("tables encoded");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::orders::Order;

    /// Two brands, two regions, customers and timestamps, pseudo-random.
    fn dataset() -> Dataset {
        let mut d = Dataset {
            skus: (0..40).map(|i| format!("sku-{i:02}")).collect(),
            sku_category: vec![None; 40],
            sku_price: vec![(10.0, 1); 40],
            regions: vec!["north".into(), "south".into()],
            brands: vec!["acme".into(), "zenith".into()],
            ..Dataset::default()
        };
        let mut next = crate::model::test_rng(7);
        let mut customers = Vec::new();
        for o in 0..600u32 {
            d.orders.push(Order {
                ts: Some(1_700_000_000 + o as i64 * 3_600),
                region: Some(next(2) as u32),
                brand: o % 2,
            });
            customers.push(next(50) as u32);
            let first = next(30);
            for k in 0..1 + next(4) {
                d.lines.push((o, (first + k * (1 + next(3))) as u32 % 40));
            }
        }
        d.customers = Some(customers);
        d
    }

    fn request<'a>(
        data: &'a Dataset,
        keep: &'a (dyn Fn(usize) -> bool + Sync),
        cfg: &'a ModelConfig,
    ) -> BuildRequest<'a> {
        BuildRequest {
            data,
            catalog: None,
            keep,
            cfg,
            version: "v1",
            built_at: "2026-11-25T00:00:00Z",
            progress: false,
        }
    }

    #[test]
    fn gathered_build_reads_no_order_or_line() {
        let cfg = ModelConfig {
            customer_weight: 0.5,
            region_min_orders: 50,
            region_prior_orders: 20.0,
            ..ModelConfig::default()
        };
        let keep = |o: usize| o % 10 != 3;
        let mut data = dataset();
        let whole = build_tables(&request(&data, &keep, &cfg));
        let gathered = gather(&data, None, &keep, &cfg);
        data.release_orders();
        assert!(data.orders.is_empty() && data.lines.is_empty() && data.customers.is_none());
        let freed = build_gathered(&request(&data, &keep, &cfg), gathered);
        // Both brands, brand-wide and regional tables.
        assert!(whole.tables.len() >= 4, "{:?}", whole.tables);
        assert!(whole.tables.iter().all(|t| t.edges > 0));
        assert_eq!(freed.values, whole.values);
        assert_eq!(freed.tables.len(), whole.tables.len());
    }
}
