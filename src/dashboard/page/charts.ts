import { niceMax, type Series } from '../series.ts';
import { compact } from './format.ts';
import { fill, h, s } from './dom.ts';

/** Per-day stacked bars in plain SVG: all the page draws, so no chart library. */

const W = 640;
const H = 200;
const PAD = { left: 40, right: 8, top: 8, bottom: 20 };

export function drawStackedBars(svg: SVGSVGElement, legend: HTMLElement, days: readonly string[], series: readonly Series[]): void {
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const sums = days.map((_, i) => series.reduce((a, sr) => a + (sr.values[i] ?? 0), 0));
  const max = niceMax(Math.max(0, ...sums));
  const y = (v: number) => PAD.top + plotH - (v / max) * plotH;
  const parts: SVGElement[] = [];
  for (const f of [0, 0.5, 1]) {
    parts.push(s('line', { class: 'axis', x1: PAD.left, x2: W - PAD.right, y1: y(max * f), y2: y(max * f) }));
    parts.push(s('text', { x: PAD.left - 4, y: y(max * f) + 3, 'text-anchor': 'end' }, compact(max * f)));
  }
  const bw = plotW / Math.max(1, days.length);
  days.forEach((day, i) => {
    let base = 0;
    for (const sr of series) {
      const v = sr.values[i] ?? 0;
      if (v <= 0) continue;
      parts.push(
        s('rect', { x: PAD.left + i * bw + 1, y: y(base + v), width: Math.max(1, bw - 2), height: y(base) - y(base + v), fill: sr.colour, 'data-day': day, 'data-key': sr.key }, s('title', {}, `${day} ${sr.key}: ${compact(v)}`)),
      );
      base += v;
    }
    if (i % 5 === 0 || i === days.length - 1) parts.push(s('text', { x: PAD.left + i * bw + bw / 2, y: H - 6, 'text-anchor': 'middle' }, day.slice(5)));
  });
  if (series.length === 0) parts.push(s('text', { x: PAD.left + plotW / 2, y: PAD.top + plotH / 2, 'text-anchor': 'middle' }, 'no requests recorded'));
  fill(svg, ...parts);
  fill(
    legend,
    ...series.map((sr) => {
      // Through the CSSOM: the page's CSP allows no style attributes.
      const swatch = h('i');
      swatch.style.background = sr.colour;
      return h('li', {}, swatch, sr.key);
    }),
  );
}
