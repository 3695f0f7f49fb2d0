// The results dashboard: fetches the experiment report from the worker's admin
// API and shows per-arm bars, the lift of AI-matched offers over curated and
// holdout with 95% intervals, each pre-registered criterion, and the exports.
import { adminFetch, bindSecretForm, count, getSecret, h, pct, replace } from './common.mjs';
import { barChart, intervalChart } from './chart.mjs';

const $ = (id) => document.getElementById(id);
const ARM_LABEL = { ai: 'AI-matched', curated: 'Curated', holdout: 'Holdout' };
const ARM_COLOUR = { ai: '#1a5fb4', curated: '#b87a00', holdout: '#6b6b76' };
const VERDICT_LABEL = { met: 'Met', not_met: 'Not met', not_enough_data: 'Not enough data yet' };
const LAST_EXPERIMENT = 'upsell-last-experiment';
const finite = (x) => typeof x === 'number' && Number.isFinite(x);

/** Plain amount in the shop's currency (the report does not carry a currency). */
const amount = (x) => (finite(x) ? x.toLocaleString('en-GB', { minimumFractionDigits: 2, maximumFractionDigits: 2 }) : '—');
const signed = (fmt) => (x) => (finite(x) && x > 0 ? `+${fmt(x)}` : fmt(x));
/** Percentage points: 0.012 → "1.20 pt". */
const points = (x) => (finite(x) ? `${(x * 100).toFixed(2)} pt` : '—');

/** What each pre-registered criterion means, in a marketer's words. */
function criterionText(c, t) {
  switch (c.name) {
    case 'min_sample':
      return { what: `At least ${count(c.threshold)} orders in both the AI-matched and the curated group before judging anything`,
        seen: `${count(c.observed)} orders in the smaller group` };
    case 'min_conversion_lift':
      return { what: `AI-matched offers win at least ${pct(c.threshold, 0)} more orders than curated ones, and the 95% interval of the difference is above zero`,
        seen: c.observed == null ? 'not measurable yet' : `${c.observed === Infinity ? 'curated has no conversions' : `${signed(pct)(c.observed)} relative lift`}${c.interval ? `; difference ${signed(points)(c.interval.estimate)} (95% interval ${points(c.interval.low)} to ${points(c.interval.high)})` : ''}` };
    case 'min_attach_rate':
      return { what: `At least ${pct(c.threshold)} of orders shown AI-matched offers add one of them`, seen: c.observed == null ? 'not measurable yet' : `${pct(c.observed)} of AI-matched orders` };
    case 'min_revenue_per_1000':
      return { what: `At least ${amount(c.threshold)} of extra revenue per 1,000 AI-matched orders`, seen: c.observed == null ? 'not measurable yet' : `${amount(c.observed)} per 1,000 orders` };
    default:
      return { what: `${c.name} at least ${c.threshold}${t ? '' : ''}`, seen: c.observed == null ? 'not measurable yet' : String(c.observed) };
  }
}

function verdictBanner(rep) {
  const v = rep.verdict;
  const text = v === 'met' ? 'Every pre-registered criterion is met: AI-matched offers beat the curated offers by the agreed margin.'
    : v === 'not_met' ? 'Enough orders are in, but at least one pre-registered criterion is not met (see below).'
      : v === 'not_enough_data' ? 'Not enough orders yet to call the experiment. Keep it running: no conclusion should be drawn from the figures below.'
        : 'This experiment\'s pre-registered thresholds are not stored with the events yet, so there is no verdict: the figures below are for information only.';
  return h('p', { class: `verdict ${v || ''}`, id: 'verdict' }, h('strong', {}, v ? `Verdict: ${VERDICT_LABEL[v]}. ` : 'No verdict. '), text);
}

/** Chart width in SVG units: about the on-screen width, so text stays legible on phones. */
const chartWidth = () => Math.round(Math.min(400, Math.max(290, document.documentElement.clientWidth - 80)));

function armCharts(rep) {
  const width = chartWidth();
  const rows = (pick) => rep.arms.map((a) => ({ label: ARM_LABEL[a.arm] || a.arm, color: ARM_COLOUR[a.arm], ...pick(a) }));
  const fig = (title, note, svg) => h('figure', { class: 'chart' }, h('figcaption', {}, title), svg, note ? h('p', { class: 'note' }, note) : null);
  return h('section', { class: 'panel', 'aria-labelledby': 'arms-h' },
    h('h2', { id: 'arms-h' }, 'Each group at a glance'),
    h('div', { class: 'charts' },
      fig('Orders in the experiment', 'Confirmation pages served in each group.',
        barChart({ width, title: 'Orders per group', rows: rows((a) => ({ value: a.orders })), format: count })),
      fig('Attach rate', 'Share of orders that added an offer; the black bar is the 95% interval.',
        barChart({ width, title: 'Attach rate per group', rows: rows((a) => ({ value: a.attach_rate?.estimate ?? null, low: a.attach_rate?.low, high: a.attach_rate?.high })), format: (x) => pct(x, 1) })),
      fig('Conversions per impression', 'Offers bought per time the offers were seen.',
        barChart({ width, title: 'Conversions per impression per group', rows: rows((a) => ({ value: a.conversion_per_impression })), format: (x) => pct(x, 1) })),
      fig('Extra revenue per 1,000 orders', 'In the shop\'s currency.',
        barChart({ width, title: 'Upsell revenue per 1,000 orders per group', rows: rows((a) => ({ value: a.revenue_per_1000_orders })), format: amount }))));
}

function liftSection(rep) {
  const width = chartWidth();
  const label = (c) => `AI vs ${(ARM_LABEL[c.control] || c.control).toLowerCase()}`;
  const cmp = rep.comparisons || [];
  const rel = (c) => {
    if (!finite(c.attach_rate_relative_lift)) return 'Relative lift: not measurable yet.';
    const ci = c.attach_rate_relative_lift_ci;
    return `Relative lift: ${signed(pct)(c.attach_rate_relative_lift)}${ci ? ` (95% interval ${signed(pct)(ci.low)} to ${signed(pct)(ci.high)})` : ''}.`;
  };
  return h('section', { class: 'panel', 'aria-labelledby': 'lift-h' },
    h('h2', { id: 'lift-h' }, 'Lift of AI-matched offers'),
    h('p', {}, 'The dot is the measured difference; the bar around it is the 95% interval. When the whole bar is right of “no difference”, AI-matched offers are better beyond chance.'),
    h('div', { class: 'charts' },
      h('figure', { class: 'chart' }, h('figcaption', {}, 'Attach rate difference (percentage points)'),
        intervalChart({ width, title: 'Attach rate difference, AI minus the other group', format: signed(points),
          rows: cmp.map((c) => ({ label: label(c), estimate: c.attach_rate_diff?.estimate ?? null, low: c.attach_rate_diff?.low, high: c.attach_rate_diff?.high })) }),
        h('ul', { class: 'plain note' }, cmp.map((c) => h('li', {}, `${label(c)}: ${rel(c)}`)))),
      h('figure', { class: 'chart' }, h('figcaption', {}, 'Extra revenue per 1,000 orders, difference'),
        intervalChart({ width, title: 'Revenue per 1,000 orders difference, AI minus the other group', format: signed(amount),
          rows: cmp.map((c) => ({ label: label(c), estimate: c.revenue_per_1000_diff?.estimate ?? null, low: c.revenue_per_1000_diff?.low, high: c.revenue_per_1000_diff?.high })) }))));
}

function criteriaSection(rep) {
  const list = rep.criteria || [];
  const body = list.length
    ? h('div', { class: 'scroll' }, h('table', { class: 'data', id: 'criteria' },
      h('caption', { class: 'visually-hidden' }, 'Pre-registered criteria'),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Criterion (set before launch)'), h('th', { scope: 'col' }, 'Measured'), h('th', { scope: 'col' }, 'Result'))),
      h('tbody', {}, list.map((c) => {
        const t = criterionText(c, rep.thresholds);
        return h('tr', { 'data-criterion': c.name }, h('td', {}, t.what), h('td', {}, t.seen),
          h('td', {}, h('span', { class: `badge ${c.verdict}` }, VERDICT_LABEL[c.verdict] || c.verdict)));
      }))))
    : h('p', {}, 'No pre-registered criteria are stored for this experiment yet.');
  return h('section', { class: 'panel', 'aria-labelledby': 'criteria-h' }, h('h2', { id: 'criteria-h' }, 'Pre-registered criteria'), body);
}

function figuresTable(rep) {
  const cols = [['Orders', (a) => count(a.orders)], ['Impressions', (a) => count(a.impressions)], ['Orders that saw offers', (a) => count(a.viewed_orders)],
    ['Clicks', (a) => count(a.clicks)], ['Offers bought', (a) => count(a.conversions)], ['Orders that added an offer', (a) => count(a.converted_orders)],
    ['Attach rate (95% interval)', (a) => (a.attach_rate ? `${pct(a.attach_rate.estimate)} (${pct(a.attach_rate.low)}–${pct(a.attach_rate.high)})` : '—')],
    ['Extra revenue', (a) => amount(a.upsell_revenue)], ['Average order without / with offers', (a) => `${amount(a.aov_without_upsell)} / ${amount(a.aov_with_upsell)}`]];
  return h('section', { class: 'panel', 'aria-labelledby': 'figures-h' }, h('h2', { id: 'figures-h' }, 'All figures'),
    h('div', { class: 'scroll' }, h('table', { class: 'data' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Figure'), rep.arms.map((a) => h('th', { scope: 'col', class: 'num' }, ARM_LABEL[a.arm] || a.arm)))),
      h('tbody', {}, cols.map(([name, f]) => h('tr', {}, h('th', { scope: 'row' }, name), rep.arms.map((a) => h('td', { class: 'num' }, f(a)))))))));
}

/** Download links: fetched with the admin secret, saved through a blob URL. */
function exportsSection(params) {
  const link = (format, text, file) => {
    const q = new URLSearchParams(Object.entries({ ...params, format }).filter(([, v]) => v));
    return h('a', { href: `/__upsell/report?${q}`, download: file, 'data-format': format, onclick: async (e) => {
      e.preventDefault();
      const a = e.currentTarget;
      try {
        const blob = await (await adminFetch('/__upsell/report', { ...params, format })).blob();
        const url = URL.createObjectURL(blob);
        const tmp = h('a', { href: url, download: file });
        document.body.append(tmp);
        tmp.click();
        tmp.remove();
        setTimeout(() => URL.revokeObjectURL(url), 10_000);
      } catch (err) {
        a.after(h('span', { class: 'error' }, ` Download failed: ${err.message}`));
      }
    } }, text);
  };
  return h('section', { class: 'panel', 'aria-labelledby': 'exports-h' }, h('h2', { id: 'exports-h' }, 'Exports'),
    h('ul', { class: 'plain' },
      h('li', {}, link('csv', 'Report as CSV', 'report.csv'), ' — every figure above, one per row, with its interval.'),
      h('li', {}, link('ledger', 'Conversion ledger (CSV)', 'conversions.csv'), ' — every offer bought, with its order, group and status.'),
      h('li', {}, link('events', 'Raw events (CSV)', 'events.csv'), ' — every served, seen and clicked offer.')));
}

async function load() {
  const status = $('report-status');
  const out = $('report');
  if (!getSecret()) { status.textContent = 'Enter and save the admin secret first.'; $('secret').focus(); return; }
  const params = { experiment: $('experiment').value.trim(), brand: $('brand').value.trim(), region: $('region').value.trim(), from: $('from').value, to: $('to').value };
  if (!params.experiment) { status.textContent = 'Enter the experiment id.'; $('experiment').focus(); return; }
  try { sessionStorage.setItem(LAST_EXPERIMENT, params.experiment); } catch { /* storage disabled */ }
  const share = new URL(location.href);
  share.search = new URLSearchParams(Object.entries(params).filter(([, v]) => v)).toString();
  history.replaceState(null, '', share);
  out.setAttribute('aria-busy', 'true');
  status.textContent = 'Loading the report…';
  try {
    const rep = await (await adminFetch('/__upsell/report', { ...params, format: 'json' })).json();
    const total = rep.arms.reduce((n, a) => n + a.orders, 0);
    replace(out, h('section', { class: 'panel', 'aria-labelledby': 'verdict-h' }, h('h2', { id: 'verdict-h' }, `Results for ${rep.filter.experiment}`), verdictBanner(rep),
      total === 0 ? h('p', { id: 'no-data' }, 'No orders have been recorded for this experiment (and these filters) yet.') : null),
    armCharts(rep), liftSection(rep), criteriaSection(rep), figuresTable(rep), exportsSection(params));
    status.textContent = `Report loaded: ${count(total)} orders in the experiment.`;
  } catch (e) {
    replace(out);
    status.replaceChildren(h('span', { class: 'error' }, `Could not load the report: ${e.message}`));
  }
}

function init() {
  const q = new URLSearchParams(location.search);
  let last = '';
  try { last = sessionStorage.getItem(LAST_EXPERIMENT) || ''; } catch { /* storage disabled */ }
  $('experiment').value = q.get('experiment') || last;
  for (const k of ['brand', 'region', 'from', 'to']) if (q.get(k)) $(k).value = q.get(k);
  bindSecretForm($('secret-form'), $('secret'), $('secret-status'), () => { if ($('experiment').value) load(); });
  $('report-form').addEventListener('submit', (e) => { e.preventDefault(); load(); });
  if (getSecret() && $('experiment').value) load();
}

init();
