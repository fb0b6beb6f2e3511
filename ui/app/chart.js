// A thin wrapper around uPlot: time on x (UTC), one or more series, bars or lines, resized with
// its container. The numbers are also given as a table by each view (charts are images to a
// screen reader), so the canvas itself is aria-hidden.
import uPlot from '/ui/vendor/uplot/uPlot.esm.js';

export const COLORS = ['#2563eb', '#d97706', '#059669', '#db2777', '#7c3aed', '#0891b2', '#65a30d', '#dc2626'];

/** Seconds since the epoch of a "YYYY-MM-DD" date, at UTC midnight. */
export const toSeconds = (date) => Date.parse(`${String(date).slice(0, 10)}T00:00:00Z`) / 1000;

/** Every month ("YYYY-MM-01") from `first` to `last`, inclusive. */
export function monthsBetween(first, last) {
  const out = [];
  let [y, m] = first.slice(0, 7).split('-').map(Number);
  const [ly, lm] = last.slice(0, 7).split('-').map(Number);
  while (y < ly || (y === ly && m <= lm)) {
    out.push(`${y}-${String(m).padStart(2, '0')}-01`);
    m += 1;
    if (m > 12) { m = 1; y += 1; }
  }
  return out;
}

/**
 * Draws into `container`. `x`: dates ("YYYY-MM-DD"); `series`: [{ label, values, bars }].
 * `unit`: 'month' or 'day' (axis labels). Returns { destroy }.
 */
export function drawChart(container, { x, series, unit = 'month', height = 260, label }) {
  container.replaceChildren();
  container.classList.add('chart');
  container.setAttribute('role', 'img');
  container.setAttribute('aria-label', label || 'chart; the same numbers are in the table that follows');
  const width = () => Math.max(280, container.clientWidth || 600);
  const bars = uPlot.paths.bars ? uPlot.paths.bars({ size: [0.7, 60], align: 0 }) : null;
  const monthFmt = (u, splits) => splits.map((s) => new Date(s * 1000).toISOString().slice(0, 7));
  const dayFmt = (u, splits) => splits.map((s) => new Date(s * 1000).toISOString().slice(0, 10));
  const xs = x.map(toSeconds);
  // Ticks only on the data's own months or days, thinned to one label per ~72 px.
  const splits = (u) => {
    const step = Math.max(1, Math.ceil((xs.length * 84) / Math.max(1, u.bbox.width / devicePixelRatio)));
    return xs.filter((_, i) => i % step === 0);
  };
  // Half a step of room on each side, so the first and last bars are whole.
  const half = series.some((s) => s.bars) ? (unit === 'month' ? 15 * 86400 : 43200) : 0;
  const opts = {
    width: width(),
    height,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
    legend: { live: true },
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true, range: (u, min, max) => (min === max ? [min - 86400, max + 86400] : [min - half, max + half]) }, y: { range: (u, min, max) => [0, Math.max(1, Math.ceil(max * 1.1))] } },
    axes: [
      { values: unit === 'month' ? monthFmt : dayFmt, splits, stroke: '#4b5563', grid: { stroke: '#e5e7eb' }, ticks: { stroke: '#d1d5db' } },
      { stroke: '#4b5563', grid: { stroke: '#e5e7eb' }, size: 50, incrs: [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 1e6, 1e7] },
    ],
    series: [
      { label: unit === 'month' ? 'Month' : 'Day', value: (u, v) => (v == null ? '—' : new Date(v * 1000).toISOString().slice(0, unit === 'month' ? 7 : 10)) },
      ...series.map((s, i) => ({
        label: s.label,
        stroke: s.color || COLORS[i % COLORS.length],
        fill: s.bars ? `${s.color || COLORS[i % COLORS.length]}99` : undefined,
        width: s.bars ? 1 : 2,
        paths: s.bars && bars ? bars : undefined,
        points: { show: !s.bars && x.length < 60 },
        value: (u, v) => (v == null ? '—' : String(v)),
      })),
    ],
  };
  const data = [xs, ...series.map((s) => s.values)];
  const plot = new uPlot(opts, data, container);
  const observer = new ResizeObserver(() => plot.setSize({ width: width(), height }));
  observer.observe(container);
  return {
    destroy() {
      observer.disconnect();
      plot.destroy();
    },
  };
}
