// Shared by the preview and the results pages: the admin secret (kept in
// sessionStorage only), authorised calls to the worker's admin API, and small
// DOM and number-formatting helpers. No framework, no build step.

const SECRET_KEY = 'upsell-admin-secret';

/** The admin secret for this tab, or '' when none was entered. */
export function getSecret() {
  try { return sessionStorage.getItem(SECRET_KEY) || ''; } catch { return ''; }
}

/** Keeps the admin secret for this tab only (sessionStorage; cleared when the tab closes). */
export function setSecret(value) {
  try {
    if (value) sessionStorage.setItem(SECRET_KEY, value);
    else sessionStorage.removeItem(SECRET_KEY);
  } catch { /* storage disabled: the field still works for this page */ }
}

/** An error from the admin API, carrying the HTTP status. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** GETs an admin endpoint with the bearer secret; resolves to the Response (throws ApiError on non-2xx). */
export async function adminFetch(path, params = {}) {
  const url = new URL(path, location.href);
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, v);
  const res = await fetch(url, { headers: { authorization: `Bearer ${getSecret()}` }, cache: 'no-store' });
  if (!res.ok) {
    let msg = await res.text();
    try { msg = JSON.parse(msg).error || msg; } catch { /* plain text */ }
    if (res.status === 401) msg = 'The admin secret was not accepted. Check it and try again.';
    throw new ApiError(res.status, `${msg} (HTTP ${res.status})`);
  }
  return res;
}

/** Wires a password field + form to the stored secret; calls onSave after each save. */
export function bindSecretForm(form, input, status, onSave = () => {}) {
  input.value = getSecret();
  const show = () => { status.textContent = getSecret() ? 'Secret saved for this browser tab.' : 'No secret saved yet.'; };
  show();
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    setSecret(input.value.trim());
    show();
    onSave();
  });
}

/**
 * Creates an element: `h('p', {class: 'x', onclick: fn}, 'text', child)`. Text is
 * always set as text (never parsed as HTML), so API values cannot inject markup.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** Formats a price with its currency (default GBP), e.g. £2.95. */
export function money(value, currency = 'GBP') {
  if (value === null || value === undefined || !Number.isFinite(Number(value))) return '—';
  try {
    return new Intl.NumberFormat('en-GB', { style: 'currency', currency: currency || 'GBP' }).format(Number(value));
  } catch {
    return `${Number(value).toFixed(2)} ${currency}`;
  }
}

/** Formats a share as a percentage (0.0234 → "2.34%"); '—' when unknown. */
export function pct(value, digits = 2) {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  return `${(value * 100).toFixed(digits)}%`;
}

/** Formats a whole number with thousands separators; '—' when unknown. */
export function count(value) {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  return Math.round(value).toLocaleString('en-GB');
}

/** Replaces a container's children and announces the change to assistive tech via aria-busy. */
export function replace(container, ...children) {
  container.setAttribute('aria-busy', 'false');
  container.replaceChildren(...children.flat(Infinity).filter(Boolean));
}
