import { NANO_AIU_PER_CREDIT } from './record.ts';
import type { UsageSeen } from './meter.ts';

/**
 * What a request cost in AI credits. Copilot's own `copilot_usage` is exact and
 * always wins; without it, a cost is estimated only from a model's entry in
 * PRICES (dated and cited below), and is otherwise unknown (null), never 0.
 */

/** Credits per million tokens. */
export interface ModelPrice {
  input: number;
  /** Input tokens read from the prompt cache (the `input` price when absent). */
  cachedInput?: number;
  output: number;
}

export type PriceTable = ReadonlyMap<string, ModelPrice>;

/**
 * The one price table. Empty until GitHub publishes per-model credit prices we
 * can cite: every answer we have recorded carries `copilot_usage`, so nothing is
 * estimated today (see test/fixtures/README.md).
 */
export const PRICES: PriceTable = new Map<string, ModelPrice>();

export type CostSource = 'copilot' | 'estimated';

export interface Cost {
  nanoAiu: number | null;
  source: CostSource | null;
}

/** Pure: the cost of one request from what its answer said, else from the price table, else unknown. */
export function costOf(u: UsageSeen, model: string | undefined, prices: PriceTable = PRICES): Cost {
  if (u.nanoAiu !== undefined) return { nanoAiu: u.nanoAiu, source: 'copilot' };
  const price = model === undefined ? undefined : prices.get(model);
  if (!price || u.input === undefined || u.output === undefined) return { nanoAiu: null, source: null };
  const cached = Math.min(u.cached ?? 0, u.input);
  const credits = ((u.input - cached) * price.input + cached * (price.cachedInput ?? price.input) + u.output * price.output) / 1_000_000;
  return { nanoAiu: Math.round(credits * NANO_AIU_PER_CREDIT), source: 'estimated' };
}
