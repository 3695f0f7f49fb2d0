// The marketers' preview: asks the worker's admin API what each experiment arm
// would offer for an order (from a confirmation page or a list of SKUs), and
// shows what was read from the page, where each field came from, and why each
// product was picked.
import { adminFetch, bindSecretForm, getSecret, h, money, replace } from './common.mjs';

const $ = (id) => document.getElementById(id);
const ARM_LABEL = { ai: 'AI-matched', curated: 'Curated', holdout: 'Holdout' };
const ARM_NOTE = {
  ai: 'Products bought together with this order, learned from past orders.',
  curated: 'The hand-picked products for the order\'s category.',
  holdout: 'Shown nothing: the comparison group that tells us what happens without offers.',
};

/** Hosts the picker offers: this page's host, ?host=, and brand hosts linked from the shop's home page. */
const hosts = new Set([location.hostname]);

function fillHosts(selected) {
  const sel = $('host');
  const want = selected || sel.value || location.hostname;
  if (want) hosts.add(want);
  sel.replaceChildren(...[...hosts].sort().map((name) => h('option', { value: name, selected: name === want }, name)));
}

/** Accepts a pasted full URL as well as a path: a URL also picks its host. */
function normalisePage(value) {
  const v = value.trim();
  if (!/^https?:\/\//i.test(v)) return v && !v.startsWith('/') ? `/${v}` : v;
  const u = new URL(v);
  fillHosts(u.hostname);
  return u.pathname + u.search;
}

/** Lists the shop's recent orders from its home page (same host only: a page cannot read another host's). */
async function loadRecent() {
  const host = $('host').value;
  const box = $('recent');
  const status = $('recent-status');
  if (host !== location.hostname) {
    const other = new URL(location.href);
    other.hostname = host;
    other.search = '';
    replace(box);
    status.replaceChildren('Orders can only be listed for the shop this page is open on. ',
      h('a', { href: other.href }, `Open the preview on ${host}`), ' to list its orders, or paste a confirmation-page address above.');
    return;
  }
  try {
    const res = await fetch('/', { headers: { accept: 'text/html' } });
    if (!res.ok) throw new Error(`the shop's home page answered HTTP ${res.status}`);
    const doc = new DOMParser().parseFromString(await res.text(), 'text/html');
    for (const a of doc.querySelectorAll('a[href^="http"]')) {
      try {
        const u = new URL(a.getAttribute('href'));
        if (u.port === location.port && u.hostname.endsWith('.localhost')) hosts.add(u.hostname);
      } catch { /* not a URL */ }
    }
    fillHosts(host);
    const table = doc.querySelector('table');
    const heads = table ? [...table.querySelectorAll('thead th')].map((th) => th.textContent.trim()) : [];
    const rows = table ? [...table.querySelectorAll('tbody tr')].filter((tr) => tr.querySelector('a[href]')) : [];
    if (!rows.length) {
      replace(box);
      status.textContent = 'The shop\'s home page lists no orders. Paste a confirmation-page path above instead.';
      return;
    }
    const regionCol = heads.findIndex((t) => /region/i.test(t));
    const body = rows.slice(0, 20).map((tr) => {
      const cells = [...tr.children];
      const text = cells.filter((td) => !td.querySelector('a')).map((td) => td.textContent.trim());
      const id = text[0];
      const region = regionCol >= 0 ? cells[regionCol]?.textContent.trim() : '';
      const links = [...tr.querySelectorAll('a[href]')].map((a) => {
        const u = new URL(a.getAttribute('href'), location.origin);
        const label = a.textContent.trim();
        return h('button', {
          type: 'button', class: 'secondary', 'data-page': u.pathname + u.search,
          'aria-label': `Preview order ${id} on its ${label} confirmation page`,
          onclick: () => { $('page').value = u.pathname + u.search; $('skus').value = ''; $('order-id').value = ''; $('region').value = region; $('country').value = ''; runPreview(); },
        }, label);
      });
      return h('tr', {}, text.map((t) => h('td', {}, t)), h('td', {}, links.flatMap((b, i) => (i ? [' ', b] : [b]))));
    });
    const headRow = heads.length ? heads : ['Order'];
    replace(box, h('table', { class: 'data' },
      h('caption', { class: 'visually-hidden' }, 'Recent orders of this shop'),
      h('thead', {}, h('tr', {}, headRow.map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, body)));
    status.textContent = `${body.length} recent orders from the shop's home page. Choose a page style to preview.`;
  } catch (e) {
    replace(box);
    status.textContent = `Could not list recent orders (${e.message}). Paste a confirmation-page path above instead.`;
  }
}

/** A "field: value (source)" row of the extraction facts. */
function fact(label, value, source) {
  return [h('dt', {}, label), h('dd', {}, value ?? h('em', {}, 'not found'),
    source ? h('span', { class: 'source' }, ` — from ${source}`) : null)];
}

function renderExtraction(data) {
  const o = data.order || {};
  const s = o.sources || {};
  const ex = data.extraction;
  const items = (o.items || []).map((it) => h('tr', {},
    h('td', {}, it.sku), h('td', { class: 'num' }, it.quantity ?? '—'), h('td', { class: 'num' }, it.price == null ? '—' : money(it.price, o.currency))));
  const others = (s.other_order_ids || []).map((c) => h('li', {}, `${c.value} (${c.source})`));
  return h('section', { 'aria-labelledby': 'extract-h' },
    h('h3', { id: 'extract-h' }, ex ? 'What the worker read from the page' : 'The order as entered'),
    h('dl', { class: 'facts' },
      fact('Order number', o.order_id, s.order_id),
      fact('Products (SKUs)', (o.skus || []).join(', ') || null, s.skus),
      fact('Currency', o.currency, s.currency),
      fact('Order total', o.total == null ? null : money(o.total, o.currency), s.total),
      others.length ? [h('dt', {}, 'Other order numbers seen (not used)'), h('dd', {}, h('ul', { class: 'plain' }, others))] : null,
      ex ? [h('dt', {}, 'Complete'), h('dd', {}, ex.complete ? 'Yes: order number and products found.' : 'No: the worker would not add offers to this page.')] : null,
      ex && ex.needs_lookup ? [h('dt', {}, 'Needs order lookup'), h('dd', {}, ex.lookup_url || 'yes')] : null),
    items.length ? h('details', {}, h('summary', {}, `Order lines (${items.length})`), h('div', { class: 'scroll' }, h('table', { class: 'data' },
      h('caption', { class: 'visually-hidden' }, 'Order lines'),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'SKU'), h('th', { scope: 'col', class: 'num' }, 'Quantity'), h('th', { scope: 'col', class: 'num' }, 'Unit price'))),
      h('tbody', {}, items)))) : null);
}

function renderSummary(data) {
  const t = data.table || {};
  const arm = data.assigned_arm;
  const built = t.built_at ? new Date(typeof t.built_at === 'number' ? t.built_at : String(t.built_at)) : null;
  const builtText = built && !Number.isNaN(built.getTime()) ? built.toISOString().replace('T', ' ').slice(0, 16) + ' UTC' : (t.built_at ?? '—');
  return h('section', { 'aria-labelledby': 'summary-h' },
    h('h3', { id: 'summary-h' }, 'Summary'),
    h('dl', { class: 'facts' },
      fact('Brand', data.brand), fact('Region', data.region),
      fact('Experiment', data.experiment || 'none running (every order gets AI-matched offers)'),
      [h('dt', {}, 'This order is in'), h('dd', { id: 'assigned-arm' }, arm ? h('span', { class: `tag ${arm}` }, ARM_LABEL[arm] || arm) : 'no arm (no order number)')],
      fact('Offer table', t.version ? `version ${t.version}, built ${builtText}` : null),
      t.fallback_region ? fact('Table region', `${t.region} (falls back to ${t.fallback_region} for unknown products)`) : fact('Table region', t.region)));
}

function renderOffer(o, currency) {
  const img = o.image
    ? h('img', { src: o.image, alt: '', width: 80, height: 80, loading: 'lazy' })
    : h('div', { class: 'noimg', 'aria-hidden': 'true' }, 'no image');
  return h('li', { class: 'offer', 'data-sku': o.sku }, img,
    h('div', {},
      h('h4', {}, o.url ? h('a', { href: o.url }, o.title) : o.title),
      h('p', {}, h('strong', {}, money(o.price, currency)), ` · SKU ${o.sku}`),
      h('p', { class: `why${o.fallback ? ' fallback' : ''}` }, `Why: ${o.why}`)));
}

function renderArms(data) {
  const arms = data.arms || {};
  const currency = data.order?.currency || 'GBP';
  const cols = ['ai', 'curated', 'holdout'].filter((a) => a in arms).map((a) => {
    const offers = arms[a] || [];
    const assigned = data.assigned_arm === a;
    return h('section', { class: `arm${assigned ? ' assigned' : ''}`, 'aria-labelledby': `arm-${a}-h`, 'data-arm': a },
      h('h3', { id: `arm-${a}-h` }, h('span', { class: `tag ${a}` }, ARM_LABEL[a] || a), `${offers.length} offer${offers.length === 1 ? '' : 's'}`,
        assigned ? h('span', { class: 'badge' }, '← this order') : null),
      h('p', { class: 'source' }, ARM_NOTE[a] || ''),
      offers.length ? h('ol', { class: 'offers' }, offers.map((o) => renderOffer(o, currency))) : h('p', {}, h('em', {}, 'No offers.')));
  });
  return h('section', { 'aria-labelledby': 'arms-h' },
    h('h3', { id: 'arms-h' }, 'Offers per experiment arm'),
    h('div', { class: 'arms' }, cols));
}

/** Reads the form, calls the preview endpoint and renders the answer. */
async function runPreview() {
  const status = $('result-status');
  const out = $('result');
  if (!getSecret()) { status.textContent = 'Enter and save the admin secret first (step 1).'; $('secret').focus(); return; }
  const page = normalisePage($('page').value);
  $('page').value = page;
  const skus = $('skus').value.split(',').map((s) => s.trim()).filter(Boolean).join(',');
  if (!page && !skus) { status.textContent = 'Enter a confirmation-page path or some SKUs, or choose a recent order.'; return; }
  const params = { host: $('host').value, page: skus ? '' : page, skus, order_id: $('order-id').value.trim(),
    region: $('region').value.trim().toLowerCase(), country: $('country').value.trim().toUpperCase() };
  const share = new URL(location.href);
  share.search = '';
  for (const [k, v] of Object.entries(params)) if (v) share.searchParams.set(k, v);
  history.replaceState(null, '', share);
  out.setAttribute('aria-busy', 'true');
  status.textContent = 'Asking the worker…';
  try {
    const data = await (await adminFetch('/__upsell/preview', params)).json();
    replace(out, renderSummary(data), renderArms(data), renderExtraction(data));
    $('result-h').scrollIntoView({ block: 'start' });
    const n = (a) => (data.arms?.[a] || []).length;
    status.textContent = `Preview for order ${data.order?.order_id || '(no number)'}: ${n('ai')} AI-matched and ${n('curated')} curated offers.`;
    if (data.experiment) $('results-link').href = `results.html?experiment=${encodeURIComponent(data.experiment)}&brand=${encodeURIComponent(data.brand)}`;
  } catch (e) {
    replace(out);
    status.replaceChildren(h('span', { class: 'error' }, `Preview failed: ${e.message}`));
  }
}

function init() {
  const q = new URLSearchParams(location.search);
  fillHosts(q.get('host') || location.hostname);
  for (const k of ['page', 'skus', 'region', 'country']) if (q.get(k)) $(k).value = q.get(k);
  if (q.get('order_id')) $('order-id').value = q.get('order_id');
  bindSecretForm($('secret-form'), $('secret'), $('secret-status'), () => { if ($('page').value || $('skus').value) runPreview(); });
  $('preview-form').addEventListener('submit', (e) => { e.preventDefault(); runPreview(); });
  $('host').addEventListener('change', loadRecent);
  loadRecent();
  if (getSecret() && (q.get('page') || q.get('skus'))) runPreview();
}

init();
