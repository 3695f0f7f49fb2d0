//! The fixed part of a synthetic retailer: categories, SKUs with Zipf
//! popularity and log-normal prices, regions with their own tastes and price
//! levels, and the planted "missions" (groups of complementary SKUs bought
//! together). Everything here is small (linear in SKUs × regions) and is
//! derived from the seed alone.

use super::alias::AliasTable;
use super::rng::Rng;

/// What to generate.
#[derive(Clone, Debug)]
pub struct Params {
    /// Number of orders.
    pub orders: u64,
    /// Number of days the orders span.
    pub days: u32,
    /// Number of SKUs in the catalog.
    pub skus: u32,
    /// Number of regions.
    pub regions: u32,
    /// Seed: the same parameters and seed give byte-identical output.
    pub seed: u64,
    /// Number of distinct customers.
    pub customers: u64,
    /// First day, as days since 1970-01-01.
    pub start_day: i64,
    /// Zipf exponent of SKU popularity.
    pub zipf: f64,
    /// Mean number of lines per order.
    pub mean_basket: f64,
    /// Brand written in every line's `brand` column.
    pub brand: String,
}

impl Params {
    /// Checks the parameters, naming the offending flag.
    pub fn validate(&self) -> Result<(), String> {
        if self.orders == 0 {
            return Err("--orders must be at least 1".into());
        }
        if self.days == 0 {
            return Err("--days must be at least 1".into());
        }
        if self.skus < 10 {
            return Err(format!("--skus must be at least 10, got {}", self.skus));
        }
        if self.regions == 0 || self.regions > 1000 {
            return Err(format!(
                "--regions must be in 1..=1000, got {}",
                self.regions
            ));
        }
        if self.customers == 0 {
            return Err("--customers must be at least 1".into());
        }
        if !(self.zipf > 0.0 && self.zipf <= 3.0) {
            return Err(format!("--zipf must be in (0, 3], got {}", self.zipf));
        }
        if !(self.mean_basket >= 1.0 && self.mean_basket <= 50.0) {
            return Err(format!(
                "--mean-basket must be in [1, 50], got {}",
                self.mean_basket
            ));
        }
        if self.brand.is_empty() || self.brand.contains([',', '"', '\n', '\r']) {
            return Err(format!(
                "--brand {:?} must be non-empty without commas, quotes or newlines",
                self.brand
            ));
        }
        Ok(())
    }
}

/// Offset of the Zipf–Mandelbrot law `(rank + q)^-s`: flattens the very top so
/// the best seller has about 1% of lines at 40k SKUs, as in real shops.
pub const ZIPF_OFFSET: f64 = 10.0;

/// Share of SKUs launched during the history rather than before it.
pub const LAUNCH_SHARE: f64 = 0.1;

/// A product category.
#[derive(Clone, Debug)]
pub struct Category {
    /// Name written in the `category` column.
    pub name: String,
    /// Median price in the catalog's currency.
    pub median_price: f64,
    /// Amplitude of the yearly seasonal swing (0 = flat).
    pub season_amplitude: f64,
    /// Peak of the season as a fraction of the year.
    pub season_peak: f64,
    /// The category whose SKUs complement this one's in missions.
    pub complement: u32,
}

/// A product.
#[derive(Clone, Debug)]
pub struct Sku {
    /// Identifier written in the `sku` column.
    pub id: String,
    /// Index into [`World::categories`].
    pub category: u32,
    /// Catalog price in cents (region 0's price level).
    pub price_cents: u32,
    /// Popularity rank, 0 = best seller (before regional taste and season).
    pub rank: u32,
    /// Index of the planted mission this SKU belongs to.
    pub mission: u32,
    /// Whether the catalog lists it as in stock.
    pub in_stock: bool,
    /// Day index it goes on sale (0 for the established range; a share of
    /// SKUs launch during the history, so some have little or no history).
    pub launch_day: u32,
}

/// A sales region.
#[derive(Clone, Debug)]
pub struct Region {
    /// Name written in the `region` column.
    pub name: String,
    /// Share of customers living there (unnormalised).
    pub weight: f64,
    /// Multiplier on catalog prices.
    pub price_level: f64,
}

/// The generated retailer.
pub struct World {
    /// The parameters it was built from.
    pub params: Params,
    /// Categories.
    pub categories: Vec<Category>,
    /// SKUs, indexed by `u32`.
    pub skus: Vec<Sku>,
    /// Regions.
    pub regions: Vec<Region>,
    /// Members of mission `m` are `mission_members[mission_start[m]..mission_start[m + 1]]`.
    pub mission_start: Vec<u32>,
    /// Flattened mission membership (SKU indices).
    pub mission_members: Vec<u32>,
    /// Per region: SKU popularity including regional taste.
    pub region_tables: Vec<AliasTable>,
    /// Per category: its SKUs and a popularity table over them.
    pub category_tables: Vec<(Vec<u32>, AliasTable)>,
    /// Category popularity, for customers' favourite categories.
    pub category_pick: AliasTable,
    /// Cumulative region weights, normalised to end at 1.
    pub region_cdf: Vec<f64>,
}

const CATEGORY_WORDS: &[&str] = &[
    "kitchen",
    "garden",
    "toys",
    "stationery",
    "bath",
    "bedding",
    "lighting",
    "candles",
    "storage",
    "tableware",
    "party",
    "christmas",
    "jewellery",
    "bags",
    "clocks",
    "frames",
    "cushions",
    "mugs",
    "baking",
    "crafts",
    "pets",
    "outdoor",
    "travel",
    "beauty",
    "wall-art",
    "textiles",
    "vintage",
    "seasonal",
    "gifts",
    "tools",
];

const REGION_NAMES: &[&str] = &[
    "uk", "eu", "us", "apac", "latam", "mea", "ca", "anz", "nordics", "india",
];

/// Rounds a price in currency units to cents with retail "charm" endings.
pub fn charm_cents(price: f64) -> u32 {
    let cents = (price * 100.0).round().max(25.0) as u32;
    if cents >= 500 {
        cents / 100 * 100 + 99
    } else {
        cents / 5 * 5
    }
}

impl World {
    /// Builds the world for `params` (which must have passed [`Params::validate`]).
    pub fn new(params: Params) -> World {
        let mut rng = Rng::new(params.seed ^ 0x5EED_0FA1_15EE);
        let n_skus = params.skus as usize;
        let n_cat = ((n_skus as f64).sqrt() / 2.0).round().clamp(2.0, 250.0) as usize;

        let categories: Vec<Category> = (0..n_cat)
            .map(|c| {
                let word = CATEGORY_WORDS[c % CATEGORY_WORDS.len()];
                let name = if c < CATEGORY_WORDS.len() {
                    word.to_string()
                } else {
                    format!("{word}-{}", c / CATEGORY_WORDS.len() + 1)
                };
                let median_price = (3.0f64.ln() + rng.f64() * (150.0f64.ln() - 3.0f64.ln())).exp();
                let season_amplitude = if rng.chance(0.25) {
                    0.5 + 0.4 * rng.f64()
                } else {
                    0.2 * rng.f64()
                };
                let season_peak = rng.f64();
                let mut complement = rng.below(n_cat as u64 - 1) as u32;
                if complement as usize >= c {
                    complement += 1;
                }
                Category {
                    name,
                    median_price,
                    season_amplitude,
                    season_peak,
                    complement,
                }
            })
            .collect();

        // Category sizes vary: SKU `c` < n_cat anchors category `c` (and is on sale
        // from day 0, so every category always has something to sell); the rest
        // are spread by log-normal weight.
        let cat_weights: Vec<f64> = (0..n_cat).map(|_| (0.7 * rng.normal()).exp()).collect();
        let cat_sizer = AliasTable::new(&cat_weights);
        let mut ranks: Vec<u32> = (0..params.skus).collect();
        rng.shuffle(&mut ranks);
        let width = (params.skus - 1).to_string().len().max(5);
        let mut skus: Vec<Sku> = (0..n_skus)
            .map(|i| {
                let category = if i < n_cat {
                    i
                } else {
                    cat_sizer.sample(&mut rng)
                } as u32;
                let cat = &categories[category as usize];
                let price = cat.median_price * (0.5 * rng.normal()).exp();
                Sku {
                    id: format!("S{i:0width$}"),
                    category,
                    price_cents: charm_cents(price),
                    rank: ranks[i],
                    mission: u32::MAX,
                    in_stock: rng.chance(0.95),
                    launch_day: if i >= n_cat && rng.chance(LAUNCH_SHARE) {
                        rng.below(params.days as u64) as u32
                    } else {
                        0
                    },
                }
            })
            .collect();

        let (mission_start, mission_members) = plant_missions(&mut rng, &mut skus, &categories);

        let regions: Vec<Region> = (0..params.regions as usize)
            .map(|r| Region {
                name: REGION_NAMES
                    .get(r)
                    .map_or_else(|| format!("r{}", r + 1), |s| s.to_string()),
                weight: 1.0 / (r as f64 + 1.0).powf(0.8),
                price_level: if r == 0 { 1.0 } else { 0.85 + 0.4 * rng.f64() },
            })
            .collect();
        let total_w: f64 = regions.iter().map(|r| r.weight).sum();
        let mut acc = 0.0;
        let mut region_cdf: Vec<f64> = regions
            .iter()
            .map(|r| {
                acc += r.weight / total_w;
                acc
            })
            .collect();
        *region_cdf.last_mut().expect("at least one region") = 1.0;

        let zipf: Vec<f64> = skus
            .iter()
            .map(|s| (s.rank as f64 + 1.0 + ZIPF_OFFSET).powf(-params.zipf))
            .collect();
        // Regional taste: a log-normal multiplier per (region, category) and a
        // smaller one per (region, SKU); region 0 is the reference taste.
        let region_tables: Vec<AliasTable> = (0..regions.len())
            .map(|r| {
                let cat_taste: Vec<f64> = (0..n_cat)
                    .map(|_| {
                        if r == 0 {
                            1.0
                        } else {
                            (0.6 * rng.normal()).exp()
                        }
                    })
                    .collect();
                let w: Vec<f64> = skus
                    .iter()
                    .zip(&zipf)
                    .map(|(s, z)| {
                        let noise = if r == 0 {
                            1.0
                        } else {
                            (0.3 * rng.normal()).exp()
                        };
                        z * cat_taste[s.category as usize] * noise
                    })
                    .collect();
                AliasTable::new(&w)
            })
            .collect();

        let mut members: Vec<Vec<u32>> = vec![Vec::new(); n_cat];
        for (i, s) in skus.iter().enumerate() {
            members[s.category as usize].push(i as u32);
        }
        let category_pick = AliasTable::new(
            &members
                .iter()
                .map(|m| m.iter().map(|&i| zipf[i as usize]).sum::<f64>())
                .collect::<Vec<_>>(),
        );
        let category_tables = members
            .into_iter()
            .map(|m| {
                let t = AliasTable::new(&m.iter().map(|&i| zipf[i as usize]).collect::<Vec<_>>());
                (m, t)
            })
            .collect();

        World {
            params,
            categories,
            skus,
            regions,
            mission_start,
            mission_members,
            region_tables,
            category_tables,
            category_pick,
            region_cdf,
        }
    }

    /// The other members of `sku`'s mission (its planted partners).
    pub fn partners(&self, sku: u32) -> impl Iterator<Item = u32> + '_ {
        self.mission(self.skus[sku as usize].mission)
            .iter()
            .copied()
            .filter(move |&m| m != sku)
    }

    /// Members of mission `m`.
    pub fn mission(&self, m: u32) -> &[u32] {
        let m = m as usize;
        &self.mission_members[self.mission_start[m] as usize..self.mission_start[m + 1] as usize]
    }

    /// Region index for a uniform draw `u` in `[0, 1)`.
    pub fn region_for(&self, u: f64) -> usize {
        self.region_cdf
            .partition_point(|&c| c <= u)
            .min(self.region_cdf.len() - 1)
    }
}

/// Partitions all SKUs into missions of 2–6 members: a seed SKU, then members
/// drawn from its own category (60%) or its complementary category (40%).
fn plant_missions(
    rng: &mut Rng,
    skus: &mut [Sku],
    categories: &[Category],
) -> (Vec<u32>, Vec<u32>) {
    let mut free: Vec<Vec<u32>> = vec![Vec::new(); categories.len()];
    let mut order: Vec<u32> = (0..skus.len() as u32).collect();
    rng.shuffle(&mut order);
    for &i in &order {
        free[skus[i as usize].category as usize].push(i);
    }
    let mut start = vec![0u32];
    let mut members: Vec<u32> = Vec::with_capacity(skus.len());
    let mut remaining = skus.len();
    for &seed in &order {
        if skus[seed as usize].mission != u32::MAX {
            continue;
        }
        let m = start.len() as u32 - 1;
        let take = |i: u32, skus: &mut [Sku], free: &mut Vec<Vec<u32>>, members: &mut Vec<u32>| {
            let c = skus[i as usize].category as usize;
            let pos = free[c]
                .iter()
                .position(|&x| x == i)
                .expect("free SKU is listed");
            free[c].swap_remove(pos);
            skus[i as usize].mission = m;
            members.push(i);
        };
        take(seed, skus, &mut free, &mut members);
        remaining -= 1;
        let size = [2usize, 2, 2, 3, 3, 3, 4, 4, 5, 6][rng.below(10) as usize];
        let cat = skus[seed as usize].category as usize;
        for _ in 1..size {
            let c = if rng.chance(0.6) {
                cat
            } else {
                categories[cat].complement as usize
            };
            let pool = if free[c].is_empty() { cat } else { c };
            if free[pool].is_empty() {
                break;
            }
            let pick = free[pool][rng.below(free[pool].len() as u64) as usize];
            take(pick, skus, &mut free, &mut members);
            remaining -= 1;
        }
        // A lone leftover joins this mission rather than stay partnerless.
        if remaining == 1 {
            if let Some(last) = free.iter().flatten().next().copied() {
                take(last, skus, &mut free, &mut members);
                remaining -= 1;
            }
        }
        start.push(members.len() as u32);
    }
    (start, members)
}
