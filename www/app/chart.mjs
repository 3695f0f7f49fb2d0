// Small inline-SVG charts for the results dashboard: horizontal bars per arm
// (with an optional 95% interval as an error bar) and an interval ("forest")
// plot for lifts around zero. Each chart carries a <title> and a text
// description so screen readers get the same figures.

const NS = 'http://www.w3.org/2000/svg';

function s(tag, attrs = {}, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

let uid = 0;
const finite = (x) => typeof x === 'number' && Number.isFinite(x);

/** A "nice" upper bound for an axis (1, 2, 2.5 or 5 × 10^k at or above max). */
export function niceMax(max) {
  if (!(max > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= max) return m * p;
  return 10 * p;
}

/**
 * Horizontal bar chart. rows: [{label, value, low?, high?, color?}] (value null = no data);
 * format(x) renders numbers. Returns an <svg> element with role="img".
 */
export function barChart({ title, rows, format = String, width = 380 }) {
  const id = `chart-${++uid}`;
  const labelW = 90, valueW = 90, rowH = 34, top = 8, axisH = 20;
  const plotW = width - labelW - valueW;
  const height = top + rows.length * rowH + axisH;
  const max = niceMax(Math.max(0, ...rows.flatMap((r) => [r.value, r.high]).filter(finite)));
  const x = (v) => labelW + (Math.max(0, Math.min(v, max)) / max) * plotW;
  const desc = rows.map((r) => `${r.label}: ${finite(r.value) ? format(r.value) : 'no data'}${finite(r.low) && finite(r.high) ? ` (95% interval ${format(r.low)} to ${format(r.high)})` : ''}`).join('; ');
  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-labelledby': `${id}-t ${id}-d`, class: 'bar-chart' });
  svg.append(s('title', { id: `${id}-t` }, title), s('desc', { id: `${id}-d` }, desc));
  svg.append(s('line', { x1: labelW, x2: labelW, y1: top - 4, y2: top + rows.length * rowH, stroke: '#888' }));
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    const g = s('g', { 'data-label': r.label });
    g.append(s('text', { x: labelW - 8, y: y + rowH / 2 + 5, 'text-anchor': 'end', 'font-size': 13 }, r.label));
    if (finite(r.value)) {
      g.append(s('rect', { x: labelW, y: y + 6, width: Math.max(1, x(r.value) - labelW), height: rowH - 12, fill: r.color || '#1a5fb4', rx: 3, class: 'bar' }));
      if (finite(r.low) && finite(r.high)) {
        const cy = y + rowH / 2;
        const [lo, hi] = [x(r.low), x(r.high)];
        g.append(s('line', { x1: lo, x2: hi, y1: cy, y2: cy, stroke: '#111', 'stroke-width': 1.5, class: 'error-bar' }),
          s('line', { x1: lo, x2: lo, y1: cy - 6, y2: cy + 6, stroke: '#111', 'stroke-width': 1.5 }),
          s('line', { x1: hi, x2: hi, y1: cy - 6, y2: cy + 6, stroke: '#111', 'stroke-width': 1.5 }));
      }
      g.append(s('text', { x: labelW + plotW + 6, y: y + rowH / 2 + 5, 'font-size': 13, 'font-weight': 600 }, format(r.value)));
    } else {
      g.append(s('text', { x: labelW + 6, y: y + rowH / 2 + 5, 'font-size': 13, fill: '#5b5b66' }, 'no data yet'));
    }
    svg.append(g);
  });
  const axisY = top + rows.length * rowH;
  svg.append(s('line', { x1: labelW, x2: labelW + plotW, y1: axisY, y2: axisY, stroke: '#888' }),
    s('text', { x: labelW, y: axisY + 15, 'font-size': 11, fill: '#5b5b66' }, format(0)),
    s('text', { x: labelW + plotW, y: axisY + 15, 'font-size': 11, fill: '#5b5b66', 'text-anchor': 'end' }, format(max)));
  return svg;
}

/**
 * Interval plot around zero: rows [{label, estimate, low, high}] (null = no data).
 * A point with its 95% interval as an error bar; a dashed line at zero (no difference).
 */
export function intervalChart({ title, rows, format = String, width = 400 }) {
  const id = `chart-${++uid}`;
  const labelW = 120, valueW = 10, rowH = 40, top = 10, axisH = 22;
  const plotW = width - labelW - valueW;
  const height = top + rows.length * rowH + axisH;
  const ext = Math.max(0, ...rows.flatMap((r) => [r.low, r.high, r.estimate]).filter(finite).map(Math.abs));
  const span = ext > 1e-9 ? niceMax(ext) : 1;
  const x = (v) => labelW + ((Math.max(-span, Math.min(v, span)) + span) / (2 * span)) * plotW;
  const desc = rows.map((r) => (finite(r.estimate)
    ? `${r.label}: ${format(r.estimate)}${finite(r.low) && finite(r.high) ? `, 95% interval ${format(r.low)} to ${format(r.high)}` : ''}`
    : `${r.label}: not enough data`)).join('; ');
  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-labelledby': `${id}-t ${id}-d`, class: 'interval-chart' });
  svg.append(s('title', { id: `${id}-t` }, title), s('desc', { id: `${id}-d` }, desc));
  const bottom = top + rows.length * rowH;
  svg.append(s('line', { x1: x(0), x2: x(0), y1: top - 6, y2: bottom, stroke: '#888', 'stroke-dasharray': '4 3' }));
  rows.forEach((r, i) => {
    const cy = top + i * rowH + rowH / 2;
    const g = s('g', { 'data-label': r.label });
    g.append(s('text', { x: labelW - 8, y: cy + 5, 'text-anchor': 'end', 'font-size': 13 }, r.label));
    if (finite(r.estimate)) {
      if (finite(r.low) && finite(r.high)) {
        const [lo, hi] = [x(r.low), x(r.high)];
        const colour = r.low > 0 ? '#1e7b34' : r.high < 0 ? '#b3261e' : '#444';
        g.append(s('line', { x1: lo, x2: hi, y1: cy, y2: cy, stroke: colour, 'stroke-width': 2, class: 'error-bar' }),
          s('line', { x1: lo, x2: lo, y1: cy - 7, y2: cy + 7, stroke: colour, 'stroke-width': 2 }),
          s('line', { x1: hi, x2: hi, y1: cy - 7, y2: cy + 7, stroke: colour, 'stroke-width': 2 }));
      }
      g.append(s('circle', { cx: x(r.estimate), cy, r: 5, fill: '#1a5fb4', class: 'estimate' }));
      g.append(s('text', { x: x(r.estimate), y: cy - 10, 'text-anchor': 'middle', 'font-size': 12, 'font-weight': 600 }, format(r.estimate)));
    } else {
      g.append(s('text', { x: x(0) + 8, y: cy + 5, 'font-size': 13, fill: '#5b5b66' }, 'not enough data'));
    }
    svg.append(g);
  });
  svg.append(s('line', { x1: labelW, x2: labelW + plotW, y1: bottom, y2: bottom, stroke: '#888' }),
    s('text', { x: labelW, y: bottom + 16, 'font-size': 11, fill: '#5b5b66' }, format(-span)),
    s('text', { x: x(0), y: bottom + 16, 'font-size': 11, fill: '#5b5b66', 'text-anchor': 'middle' }, 'no difference'),
    s('text', { x: labelW + plotW, y: bottom + 16, 'font-size': 11, fill: '#5b5b66', 'text-anchor': 'end' }, format(span)));
  return svg;
}
