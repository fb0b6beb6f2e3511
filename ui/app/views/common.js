// Pieces shared by the views: loading a section with its three states, the date-range form,
// a Relay pager, and a chart with its accessible table.
import { h, replace, loading, errorBox } from '../dom.js';
import { humanMessage } from '../graphql.js';
import { drawChart } from '../chart.js';

/**
 * Shows a loading state in `container`, then what `load()` returns (nodes), or an error state
 * with a retry button. Ignores the result once the view is left.
 */
export async function loadInto(ctx, container, load, what) {
  replace(container, loading(what));
  container.setAttribute('aria-busy', 'true');
  try {
    const nodes = await load();
    if (!ctx.isCurrent()) return;
    replace(container, nodes);
  } catch (err) {
    if (!ctx.isCurrent() || (err && err.name === 'AbortError')) return;
    replace(container, errorBox(humanMessage(err), () => loadInto(ctx, container, load, what)));
  } finally {
    container.removeAttribute('aria-busy');
  }
}

/**
 * The filter form: from/to (type "month" or "date"), include bots. Applying it changes the URL
 * (and drops paging cursors, which belong to the old filters).
 */
export function rangeForm(ctx, { kind = 'month', from, to, bots, extra = {} }) {
  const pattern = kind === 'month' ? '\\d{4}-\\d{2}' : '\\d{4}-\\d{2}-\\d{2}';
  const placeholder = kind === 'month' ? 'YYYY-MM' : 'YYYY-MM-DD';
  const fromInput = h('input', { id: 'filter-from', name: 'from', type: kind, pattern, placeholder, value: from || '' });
  const toInput = h('input', { id: 'filter-to', name: 'to', type: kind, pattern, placeholder, value: to || '' });
  const botsInput = h('input', { id: 'filter-bots', name: 'bots', type: 'checkbox', checked: !!bots });
  const message = h('p', { class: 'message error', role: 'alert', hidden: true });
  const form = h(
    'form',
    { class: 'filters', 'aria-label': 'Filters', dataset: { testid: 'filters' } },
    h('div', { class: 'field' }, h('label', { for: 'filter-from' }, 'From'), fromInput),
    h('div', { class: 'field' }, h('label', { for: 'filter-to' }, 'To'), toInput),
    h('div', { class: 'field checkbox' }, botsInput, h('label', { for: 'filter-bots' }, 'Include bots')),
    h('div', { class: 'field actions' }, h('button', { id: 'filter-apply', type: 'submit', class: 'primary' }, 'Apply')),
    message,
  );
  const apply = () => {
    const f = fromInput.value.trim();
    const t = toInput.value.trim();
    const re = new RegExp(`^${pattern}$`);
    if ((f && !re.test(f)) || (t && !re.test(t))) {
      message.hidden = false;
      message.textContent = `Dates are written ${placeholder}.`;
      return;
    }
    if (f && t && f > t) {
      message.hidden = false;
      message.textContent = '“From” comes after “To”: swap them.';
      return;
    }
    ctx.navigate(ctx.path, { ...extra, from: f, to: t, bots: botsInput.checked ? '1' : '' });
  };
  form.addEventListener('submit', (e) => { e.preventDefault(); apply(); });
  botsInput.addEventListener('change', apply);
  return form;
}

/** Previous/next buttons for a Relay connection; `go({after}|{before})` changes the page. */
export function pager(pageInfo, go, label, testid) {
  const prev = h('button', { type: 'button', disabled: !pageInfo.hasPreviousPage, dataset: { testid: `${testid}-prev` } }, '← Previous');
  const next = h('button', { type: 'button', disabled: !pageInfo.hasNextPage, dataset: { testid: `${testid}-next` } }, 'Next →');
  prev.addEventListener('click', () => go({ before: pageInfo.startCursor }));
  next.addEventListener('click', () => go({ after: pageInfo.endCursor }));
  return h('nav', { class: 'pager', 'aria-label': label }, prev, next);
}

/** Relay arguments from the URL: `after` → first, `before` → last. */
export function pageArgs(query, size) {
  const before = query.get('before');
  if (before) return { last: size, before, first: null, after: null };
  return { first: size, after: query.get('after') || null, last: null, before: null };
}

let chartSeq = 0;

/**
 * A chart and the same numbers as a table: visually hidden until "Show the numbers" is
 * pressed, always there for screen readers and tests.
 */
export function chartWithTable(ctx, { chart, table: tbl }) {
  const id = `chart-table-${++chartSeq}`;
  const holder = h('div', { class: 'chart-holder' });
  const tableBox = h('div', { id, class: 'visually-hidden' }, tbl);
  const toggle = h('button', { type: 'button', class: 'link-button', 'aria-expanded': 'false', 'aria-controls': id }, 'Show the numbers');
  toggle.addEventListener('click', () => {
    const open = tableBox.classList.toggle('visually-hidden') === false;
    toggle.setAttribute('aria-expanded', String(open));
    toggle.textContent = open ? 'Hide the numbers' : 'Show the numbers';
  });
  const box = h('div', { class: 'chart-box' }, holder, toggle, tableBox);
  // Drawn once the box is in the document (uPlot measures its container).
  requestAnimationFrame(() => {
    if (!ctx.isCurrent() || !holder.isConnected) return;
    try {
      const drawn = drawChart(holder, chart);
      ctx.onCleanup(() => drawn.destroy());
    } catch (err) {
      replace(holder, h('p', { class: 'message' }, 'The chart cannot be drawn here; the numbers are in the table.'));
      console.warn('chart failed', err);
    }
  });
  return box;
}
