import type { DayTotals } from '../usage/api.ts';
import { creditsOf, type UsageTotals } from '../usage/record.ts';

/** The dashboard's chart data: per-day series from /usage's `local.days`. Pure (no DOM), unit-tested in src/dashboard/series.test.ts. */

export const PALETTE = ['#0969da', '#bf3989', '#1a7f37', '#bc4c00', '#8250df', '#0598bc', '#9a6700', '#6e7781'] as const;
const OTHER_COLOUR = '#8c959f';

export interface Series {
  key: string;
  colour: string;
  values: number[];
}

export const METRICS = ['credits', 'premium', 'tokens', 'requests'] as const;
export type Metric = (typeof METRICS)[number];

export function metricOf(t: UsageTotals, m: Metric): number {
  return m === 'credits' ? creditsOf(t.nanoAiu) : m === 'premium' ? t.premium : m === 'tokens' ? t.promptTokens + t.completionTokens : t.requests;
}

/** The `max` largest keys over all days (by the metric), each day's value per key, the rest summed as "other". Pure. */
export function topSeries(days: readonly DayTotals[], group: 'byModel' | 'byClient', metric: Metric, max = PALETTE.length - 1): Series[] {
  const totals = new Map<string, number>();
  for (const d of days) for (const t of d[group]) totals.set(t.key, (totals.get(t.key) ?? 0) + metricOf(t, metric));
  const ranked = [...totals].filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]);
  const top = ranked.slice(0, max).map(([k]) => k);
  const index = new Map(top.map((k, i) => [k, i]));
  const series: Series[] = top.map((key, i) => ({ key, colour: PALETTE[i % PALETTE.length] ?? OTHER_COLOUR, values: days.map(() => 0) }));
  const other: Series = { key: 'other', colour: OTHER_COLOUR, values: days.map(() => 0) };
  days.forEach((d, di) => {
    for (const t of d[group]) {
      const i = index.get(t.key);
      const target = i === undefined ? other : series[i];
      if (target) target.values[di] = (target.values[di] ?? 0) + metricOf(t, metric);
    }
  });
  return ranked.length > max ? [...series, other] : series;
}

/** A round axis maximum at or above `v`. */
export function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

