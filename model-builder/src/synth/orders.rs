//! Generates orders: orders per day follow a weekly and yearly rhythm, times
//! of day a diurnal curve, customers a heavy-tailed repeat distribution, and
//! baskets mix regional best sellers, the customer's favourite category and
//! staple, and planted mission partners.

use super::dates;
use super::rng::{splitmix64, Rng};
use super::world::{charm_cents, World};

/// Probability that a line after the first is a mission partner of an item
/// already in the basket (the planted co-purchase signal).
pub const PARTNER_PROB: f64 = 0.4;
/// Probability that an order's first line is drawn from the customer's
/// favourite category rather than the regional best sellers.
const FAVOURITE_PROB: f64 = 0.3;
/// Probability that an order starts with the customer's staple (repeat buy).
const STAPLE_PROB: f64 = 0.12;
/// Probability that a line is sold at a 20% promotional discount.
const PROMO_PROB: f64 = 0.06;

/// Relative order volume by weekday, Monday first.
const WEEKLY: [f64; 7] = [1.0, 0.97, 0.95, 0.98, 1.04, 1.12, 1.18];
/// Relative order volume by hour of day (local time).
const HOURLY: [f64; 24] = [
    0.25, 0.15, 0.1, 0.08, 0.08, 0.12, 0.25, 0.5, 0.8, 1.0, 1.1, 1.15, 1.25, 1.2, 1.1, 1.05, 1.05,
    1.1, 1.2, 1.35, 1.45, 1.3, 0.95, 0.55,
];

/// One line of an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Line {
    /// SKU index into [`World::skus`].
    pub sku: u32,
    /// Units bought.
    pub quantity: u32,
    /// Unit price paid, in cents.
    pub price_cents: u32,
}

/// One order, reused between calls to avoid allocation.
#[derive(Clone, Debug, Default)]
pub struct Order {
    /// Sequence number, 0-based.
    pub seq: u64,
    /// Day index from the start day.
    pub day: u32,
    /// Seconds since midnight.
    pub second: u32,
    /// Region index.
    pub region: u32,
    /// Customer number.
    pub customer: u64,
    /// Lines, distinct SKUs.
    pub lines: Vec<Line>,
}

/// Orders are generated in chunks of at most this many, each within one day
/// and with its own random stream, so chunks can be generated in parallel and
/// the output does not depend on the number of threads.
pub const CHUNK_ORDERS: u64 = 8192;

/// A run of consecutive orders within one day.
#[derive(Clone, Copy, Debug)]
pub struct Chunk {
    /// Day index.
    pub day: u32,
    /// First order sequence number.
    pub start: u64,
    /// One past the last order sequence number.
    pub end: u64,
    /// Sequence number of the day's first order.
    pub day_start: u64,
    /// Orders on that day.
    pub day_orders: u64,
}

/// How the orders are laid out over days and chunks; shared by all threads.
pub struct Plan<'w> {
    world: &'w World,
    chunks: Vec<Chunk>,
    hourly_cdf: [f64; 25],
    customer_mult: u64,
    stream_seed: u64,
}

/// Generates the orders of one chunk.
pub struct OrderStream<'p, 'w> {
    plan: &'p Plan<'w>,
    world: &'w World,
    rng: Rng,
    chunk: Chunk,
    day: u32,
    next_seq: u64,
    /// Per category, probability of accepting a draw today (seasonality).
    season_accept: Vec<f64>,
}

impl<'w> Plan<'w> {
    /// Spreads `world.params.orders` orders over the days (weekly and yearly
    /// rhythm) and cuts each day into chunks.
    pub fn new(world: &'w World) -> Self {
        let p = &world.params;
        let weights: Vec<f64> = (0..p.days)
            .map(|d| {
                let z = p.start_day + d as i64;
                let doy = dates::day_of_year(z) as f64;
                // Black Friday to Christmas peak, January sales, slow growth over the span.
                let peak = 0.7 * (-((doy - 340.0) / 18.0).powi(2)).exp();
                let january = 0.15 * (-((doy - 5.0) / 6.0).powi(2)).exp();
                let growth = 1.0 + 0.1 * d as f64 / p.days as f64;
                WEEKLY[dates::weekday(z) as usize] * (1.0 + peak + january) * growth
            })
            .collect();
        let total: f64 = weights.iter().sum();
        let mut acc = 0.0;
        let mut day_start = 0u64;
        let mut chunks = Vec::new();
        for (d, w) in weights.iter().enumerate() {
            acc += w;
            let day_end = if d + 1 == weights.len() {
                p.orders
            } else {
                (((acc / total) * p.orders as f64).round() as u64).clamp(day_start, p.orders)
            };
            let n = day_end - day_start;
            let pieces = n.div_ceil(CHUNK_ORDERS);
            for k in 0..pieces {
                chunks.push(Chunk {
                    day: d as u32,
                    start: day_start + n * k / pieces,
                    end: day_start + n * (k + 1) / pieces,
                    day_start,
                    day_orders: n,
                });
            }
            day_start = day_end;
        }

        let mut hourly_cdf = [0.0; 25];
        let hsum: f64 = HOURLY.iter().sum();
        for h in 0..24 {
            hourly_cdf[h + 1] = hourly_cdf[h] + HOURLY[h] / hsum;
        }
        hourly_cdf[24] = 1.0;

        // A multiplier coprime with the customer count scatters customer ranks
        // over ids, so frequent buyers are not simply the lowest ids.
        let m = p.customers;
        let mut customer_mult = (0x9E37_79B9u64 % m.max(2)) | 1;
        while gcd(customer_mult, m) != 1 {
            customer_mult += 2;
        }
        Plan {
            world,
            chunks,
            hourly_cdf,
            customer_mult,
            stream_seed: splitmix64(p.seed ^ 0x0DE5_0DE5_0DE5),
        }
    }

    /// The chunks, in time order.
    pub fn chunks(&self) -> &[Chunk] {
        &self.chunks
    }

    /// The generator of chunk `i`.
    pub fn stream(&self, i: usize) -> OrderStream<'_, 'w> {
        let chunk = self.chunks[i];
        let mut s = OrderStream {
            plan: self,
            world: self.world,
            rng: Rng::new(splitmix64(self.stream_seed ^ i as u64)),
            chunk,
            day: chunk.day,
            next_seq: chunk.start,
            season_accept: Vec::new(),
        };
        s.set_season();
        s
    }

    fn second_of_day(&self, x: f64) -> u32 {
        let cdf = &self.hourly_cdf;
        let h = (cdf.partition_point(|&c| c <= x).max(1) - 1).min(23);
        let frac = (x - cdf[h]) / (cdf[h + 1] - cdf[h]);
        ((h as f64 + frac.clamp(0.0, 1.0)) * 3600.0).min(86_399.0) as u32
    }
}

impl OrderStream<'_, '_> {
    fn set_season(&mut self) {
        let z = self.world.params.start_day + self.day as i64;
        let t = dates::day_of_year(z) as f64 / 365.25;
        self.season_accept = self
            .world
            .categories
            .iter()
            .map(|c| {
                let f =
                    1.0 + c.season_amplitude * (std::f64::consts::TAU * (t - c.season_peak)).cos();
                f / (1.0 + c.season_amplitude)
            })
            .collect();
    }

    /// Fills `order` with the next order; false when all have been produced.
    pub fn next_into(&mut self, order: &mut Order) -> bool {
        let w = self.world;
        if self.next_seq >= self.chunk.end {
            return false;
        }
        let j = self.next_seq - self.chunk.day_start;
        let x = (j as f64 + self.rng.f64()) / self.chunk.day_orders as f64;
        order.seq = self.next_seq;
        order.day = self.day;
        order.second = self.plan.second_of_day(x);
        self.next_seq += 1;

        // Customers: rank ~ M * U^2.5 gives a heavy tail of repeat buyers.
        let m = w.params.customers;
        let rank = ((m as f64 * self.rng.f64().powf(2.5)) as u64).min(m - 1);
        let customer = ((rank as u128 * self.plan.customer_mult as u128) % m as u128) as u64;
        order.customer = customer;
        let h = splitmix64(customer ^ w.params.seed.rotate_left(17));
        let region = w.region_for((h >> 11) as f64 * (1.0 / (1u64 << 53) as f64));
        order.region = region as u32;
        // The customer's favourite category and staple SKU are fixed by their id.
        let mut crng = Rng::new(h);
        let fav = w.category_pick.sample(&mut crng);
        let (fav_members, fav_table) = &w.category_tables[fav];
        let staple = fav_members[fav_table.sample(&mut crng)];

        let max_lines = (w.params.skus as u64 / 2).min(60);
        let k = (1 + self.rng.geometric(1.0 / w.params.mean_basket)).min(max_lines) as usize;
        order.lines.clear();
        let first = if self.on_sale(staple) && self.rng.chance(STAPLE_PROB) {
            staple
        } else if self.rng.chance(FAVOURITE_PROB) {
            self.seasonal(|rng| fav_members[fav_table.sample(rng)])
        } else {
            self.seasonal(|rng| w.region_tables[region].sample(rng) as u32)
        };
        self.push_line(order, first);
        let mut attempts = 0;
        while order.lines.len() < k && attempts < 4 * k {
            attempts += 1;
            let cand = if self.rng.chance(PARTNER_PROB) {
                let b = order.lines[self.rng.below(order.lines.len() as u64) as usize].sku;
                let mission = w.mission(w.skus[b as usize].mission);
                if mission.len() < 2 {
                    continue;
                }
                let c = mission[self.rng.below(mission.len() as u64) as usize];
                if c == b || !self.on_sale(c) {
                    continue;
                }
                c
            } else {
                self.seasonal(|rng| w.region_tables[region].sample(rng) as u32)
            };
            if order.lines.iter().all(|l| l.sku != cand) {
                self.push_line(order, cand);
            }
        }
        true
    }

    /// Draws with `draw` until a draw is on sale today and survives today's
    /// seasonal thinning (giving up on the season after 16 tries).
    fn seasonal(&mut self, draw: impl Fn(&mut Rng) -> u32) -> u32 {
        let mut s = draw(&mut self.rng);
        for tries in 0..1000 {
            let sku = &self.world.skus[s as usize];
            if self.on_sale(s)
                && (tries >= 16 || self.rng.f64() < self.season_accept[sku.category as usize])
            {
                return s;
            }
            s = draw(&mut self.rng);
        }
        // Nothing drawn is on sale yet: the category's anchor SKU always is.
        self.world.skus[s as usize].category
    }

    /// Whether `sku` has launched by the current day.
    #[inline]
    fn on_sale(&self, sku: u32) -> bool {
        self.world.skus[sku as usize].launch_day <= self.day
    }

    fn push_line(&mut self, order: &mut Order, sku: u32) {
        let r = &mut self.rng;
        let quantity = match r.below(100) {
            0..=69 => 1,
            70..=86 => 2,
            _ => 3 + r.geometric(0.5) as u32,
        };
        let base = self.world.skus[sku as usize].price_cents as f64 / 100.0;
        let mut price = base * self.world.regions[order.region as usize].price_level;
        if r.chance(PROMO_PROB) {
            price *= 0.8;
        }
        order.lines.push(Line {
            sku,
            quantity,
            price_cents: charm_cents(price),
        });
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}
