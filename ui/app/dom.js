// Small DOM helpers. Text always goes in as text nodes (never HTML), and styles only through
// classes or CSSOM, so the page keeps working under a strict Content-Security-Policy.

/**
 * h('a', { href: '#/jobs', class: 'x', dataset: { testid: 'y' }, onclick: fn }, 'text', child)
 * Attributes whose value is null, undefined or false are left out.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key === 'style') Object.assign(el.style, value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'value' || key === 'checked') el[key] = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces the content of `el`. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** States every view shows. */
export function loading(what = 'Loading…') {
  return h('p', { class: 'state state-loading', role: 'status', dataset: { testid: 'state-loading' } }, what);
}

export function empty(text = 'nothing crawled yet: start a refresh', ...extra) {
  return h('div', { class: 'state state-empty', dataset: { testid: 'state-empty' } }, h('p', {}, text), ...extra);
}

export function errorBox(message, onRetry) {
  return h(
    'div',
    { class: 'state state-error', role: 'alert', dataset: { testid: 'state-error' } },
    h('p', {}, message),
    onRetry ? h('button', { type: 'button', onclick: onRetry }, 'Try again') : null,
  );
}

/** A table whose rows are built by `row(item)`; `caption` is required for accessibility. */
export function table({ caption, columns, rows, testid, hiddenCaption = false }) {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { dataset: { testid } },
      h('caption', { class: hiddenCaption ? 'visually-hidden' : null }, caption),
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.num ? 'num' : null }, c.label)))),
      h('tbody', {}, rows),
    ),
  );
}

export function fmtDate(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
}

export function fmtNumber(n) {
  return n === null || n === undefined ? '—' : Number(n).toLocaleString('en-US');
}

/** "2024-03-01" → "2024-03". */
export const monthOf = (date) => String(date).slice(0, 7);

/** A hash link that keeps the route shareable. */
export function link(href, text, attrs = {}) {
  return h('a', { href, ...attrs }, text);
}
