import * as z from 'zod';

/**
 * Local usage accounting: one record per model request the proxy answered,
 * never a message body or a token. Pure: the schema (the one definition of
 * a record, in the store's files and in every reader), who the client was,
 * what a request cost in premium requests, and totals.
 */

/**
 * The longest strings a record holds. A model name longer than the edge allows
 * (proxy/models/router.ts MODEL_NAME, from this bound) never reaches a record;
 * the writer (fitRecord) cuts anything else to these, so every record written
 * is one every reader counts.
 */
export const RECORD_BOUNDS = { model: 256, client: 60, route: 100 } as const;

export const usageRecordSchema = z.object({
  /** Epoch ms when the request ended. */
  t: z.number().int().nonnegative(),
  /** The client product, from its User-Agent (clientOf). */
  client: z.string().min(1).max(RECORD_BOUNDS.client),
  route: z.string().max(RECORD_BOUNDS.route),
  /** The model name the client asked for, and the one Copilot got. */
  model: z.string().max(RECORD_BOUNDS.model).nullable(),
  upstream_model: z.string().max(RECORD_BOUNDS.model).nullable(),
  initiator: z.enum(['user', 'agent']).nullable(),
  /** Premium requests this cost (the model's multiplier for a user turn on a premium model; else 0); null when the multiplier is unknown. */
  premium: z.number().nonnegative().nullable(),
  /** Input tokens, cached ones included (OpenAI's prompt_tokens; Anthropic's input + cache reads + cache writes). */
  prompt_tokens: z.number().int().nonnegative().nullable(),
  /** Of prompt_tokens, those Copilot read from its prompt cache. Absent in records written before 2026-12. */
  cached_tokens: z.number().int().nonnegative().nullable().default(null),
  completion_tokens: z.number().int().nonnegative().nullable(),
  /**
   * What the request cost in AI credits, in nano-AIU (1e9 = 1 credit), kept as a whole number so sums are exact.
   * Null when unknown: never 0 for unknown. Absent in records written before 2026-12.
   */
  nano_aiu: z.number().int().nonnegative().nullable().default(null),
  /** Where nano_aiu came from: Copilot's own `copilot_usage` (exact), or the dated price table (prices.ts). */
  cost_source: z.enum(['copilot', 'estimated']).nullable().default(null),
  status: z.number().int(),
  ttfb_ms: z.number().nonnegative().nullable(),
  duration_ms: z.number().nonnegative(),
  stream: z.boolean(),
});
export type UsageRecord = z.infer<typeof usageRecordSchema>;

/**
 * A record a reader cannot fully validate (an older or newer writer, a damaged
 * line), as a row it can still show: each field it can read, cut to the bounds,
 * the rest empty, and `clipped` true. One bad row never hides the others. Pure.
 */
export function clippedRecord(v: unknown): { record: UsageRecord; clipped: boolean } {
  const ok = usageRecordSchema.safeParse(v);
  if (ok.success) return { record: ok.data, clipped: false };
  const o = typeof v === 'object' && v !== null ? v : {};
  const field = (k: string): unknown => (Object.hasOwn(o, k) ? Reflect.get(o, k) : undefined);
  const str = (k: string, n: number): string | null => {
    const x = field(k);
    return typeof x === 'string' ? x.slice(0, n) : null;
  };
  const num = (k: string): number | null => {
    const x = field(k);
    return typeof x === 'number' && Number.isFinite(x) && x >= 0 ? x : null;
  };
  const initiator = field('initiator');
  return {
    clipped: true,
    record: {
      t: Math.trunc(num('t') ?? 0),
      client: str('client', RECORD_BOUNDS.client) || 'unknown',
      route: str('route', RECORD_BOUNDS.route) ?? '',
      model: str('model', RECORD_BOUNDS.model),
      upstream_model: str('upstream_model', RECORD_BOUNDS.model),
      initiator: initiator === 'user' || initiator === 'agent' ? initiator : null,
      premium: num('premium'),
      prompt_tokens: null,
      cached_tokens: null,
      completion_tokens: null,
      nano_aiu: null,
      cost_source: null,
      status: Math.trunc(num('status') ?? 0),
      ttfb_ms: num('ttfb_ms'),
      duration_ms: num('duration_ms') ?? 0,
      stream: field('stream') === true,
    },
  };
}

/**
 * The record as the writer keeps it: strings cut to RECORD_BOUNDS, then checked
 * with the readers' own schema. null when it still would not read back (a
 * number out of range): such a record is not written rather than written and
 * skipped. Pure.
 */
export function fitRecord(r: UsageRecord): UsageRecord | null {
  return readRecord(r);
}

/**
 * A record as every reader takes it, from the writer's object or a parsed line:
 * its strings cut to RECORD_BOUNDS (so a line an older writer wrote longer is
 * still counted), then the schema. null when it is not a record. Pure.
 */
export function readRecord(v: unknown): UsageRecord | null {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
  const o: Record<string, unknown> = { ...v };
  const cut = (k: 'client' | 'route' | 'model' | 'upstream_model', n: number) => {
    const x = o[k];
    if (typeof x === 'string' && x.length > n) o[k] = x.slice(0, n);
  };
  cut('client', RECORD_BOUNDS.client);
  cut('route', RECORD_BOUNDS.route);
  cut('model', RECORD_BOUNDS.model);
  cut('upstream_model', RECORD_BOUNDS.model);
  if (o.client === '') o.client = 'unknown';
  const parsed = usageRecordSchema.safeParse(o);
  return parsed.success ? parsed.data : null;
}

const KNOWN_CLIENTS: ReadonlyArray<[RegExp, string]> = [
  [/^claude-cli\//i, 'claude-cli'],
  [/^(codex_cli_rs|codex_exec|codex)\b/i, 'codex'],
  [/^opencode\b/i, 'opencode'],
  [/^OpenAI\/Python\b/i, 'openai-python'],
  [/^OpenAI\/JS\b/i, 'openai-node'],
  [/^Anthropic\/Python\b/i, 'anthropic-python'],
  [/^Anthropic\/JS\b/i, 'anthropic-node'],
  [/^curl\//i, 'curl'],
];

/** The client names clientOf knows (a bounded set: metric labels use only these, else "other"). */
export const KNOWN_CLIENT_NAMES: ReadonlySet<string> = new Set(KNOWN_CLIENTS.map(([, name]) => name));

/** A User-Agent as a product name: a known client's short name, else the UA's first token (safe characters only), else "unknown". */
export function clientOf(userAgent: string | undefined): string {
  const ua = (userAgent ?? '').trim();
  for (const [re, name] of KNOWN_CLIENTS) if (re.test(ua)) return name;
  const first = (ua.split(/[\s/]/)[0] ?? '').replace(/[^A-Za-z0-9._-]/g, '').slice(0, 40);
  return first || 'unknown';
}

/** A model's premium multiplier from Copilot's `billing`: 0 for a model that is not premium, null when Copilot does not say. */
export function multiplierOf(billing: { is_premium?: boolean | undefined; multiplier?: number | undefined } | undefined): number | null {
  if (billing?.multiplier !== undefined && Number.isFinite(billing.multiplier) && billing.multiplier >= 0) return billing.multiplier;
  return billing?.is_premium === false ? 0 : null;
}

/** Premium requests one request cost: agent turns and failures cost nothing; a user turn costs the model's multiplier. */
export function premiumCost(initiator: 'user' | 'agent' | null, multiplier: number | null, status: number): number | null {
  if (status >= 400 || initiator !== 'user') return 0;
  return multiplier;
}

/** What local totals can be grouped by (the CLI's --by values). */
export const GROUP_BYS = ['model', 'client', 'day', 'initiator'] as const;
export type GroupBy = (typeof GROUP_BYS)[number];

export const usageTotalsSchema = z.object({
  key: z.string(),
  requests: z.number(),
  premium: z.number(),
  /** Requests whose premium cost is unknown (the model's multiplier was not known). */
  premiumUnknown: z.number(),
  promptTokens: z.number(),
  /** Of promptTokens, read from Copilot's prompt cache. */
  cachedTokens: z.number(),
  completionTokens: z.number(),
  /** AI credits in nano-AIU (1e9 = 1 credit): exact ones and estimated ones together... */
  nanoAiu: z.number(),
  /** ...of which estimated from the price table. */
  nanoAiuEstimated: z.number(),
  /** Requests whose cost in credits is unknown (counted in neither). */
  creditsUnknown: z.number(),
  errors: z.number(),
});
export type UsageTotals = z.infer<typeof usageTotalsSchema>;

/** Local calendar day of an epoch-ms time, `YYYY-MM-DD`. */
export function dayOf(t: number): string {
  const d = new Date(t);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/** The group a record falls in, for each way of grouping. */
export function groupKey(r: UsageRecord, by: GroupBy): string {
  return by === 'day' ? dayOf(r.t) : by === 'model' ? (r.upstream_model ?? r.model ?? '(none)') : by === 'client' ? r.client : (r.initiator ?? '(none)');
}

/** Running totals of one grouping, key -> totals; merged across days by mergeTotals. */
export type TotalsMap = Map<string, UsageTotals>;

const emptyTotals = (key: string): UsageTotals => ({
  key,
  requests: 0,
  premium: 0,
  premiumUnknown: 0,
  promptTokens: 0,
  cachedTokens: 0,
  completionTokens: 0,
  nanoAiu: 0,
  nanoAiuEstimated: 0,
  creditsUnknown: 0,
  errors: 0,
});

/** Nano-AIU in one AI credit (Copilot's `copilot_usage.total_nano_aiu`). */
export const NANO_AIU_PER_CREDIT = 1_000_000_000;

/** Credits from nano-AIU, for display. */
export const creditsOf = (nanoAiu: number): number => nanoAiu / NANO_AIU_PER_CREDIT;

/** Counts `r` into `m` under `key`. */
export function addRecord(m: TotalsMap, key: string, r: UsageRecord): void {
  let g = m.get(key);
  if (!g) {
    g = emptyTotals(key);
    m.set(key, g);
  }
  g.requests += 1;
  if (r.premium === null) g.premiumUnknown += 1;
  else g.premium += r.premium;
  g.promptTokens += r.prompt_tokens ?? 0;
  g.cachedTokens += r.cached_tokens ?? 0;
  g.completionTokens += r.completion_tokens ?? 0;
  // A failed request that never reached a model is not a cost we failed to learn.
  if (r.nano_aiu === null) g.creditsUnknown += r.status < 400 ? 1 : 0;
  else {
    g.nanoAiu += r.nano_aiu;
    if (r.cost_source === 'estimated') g.nanoAiuEstimated += r.nano_aiu;
  }
  if (r.status >= 400) g.errors += 1;
}

/** Several groupings' totals added up into a new map (the inputs are left as they are). */
export function mergeTotals(maps: Iterable<TotalsMap>): TotalsMap {
  const out: TotalsMap = new Map();
  for (const m of maps) {
    for (const [key, t] of m) {
      const g = out.get(key) ?? emptyTotals(key);
      out.set(key, {
        key,
        requests: g.requests + t.requests,
        premium: g.premium + t.premium,
        premiumUnknown: g.premiumUnknown + t.premiumUnknown,
        promptTokens: g.promptTokens + t.promptTokens,
        cachedTokens: g.cachedTokens + t.cachedTokens,
        completionTokens: g.completionTokens + t.completionTokens,
        nanoAiu: g.nanoAiu + t.nanoAiu,
        nanoAiuEstimated: g.nanoAiuEstimated + t.nanoAiuEstimated,
        creditsUnknown: g.creditsUnknown + t.creditsUnknown,
        errors: g.errors + t.errors,
      });
    }
  }
  return out;
}

/** A grouping's totals in display order: largest cost in credits first, then premium, then most requests (days in date order). */
export function sortedTotals(m: TotalsMap, by: GroupBy): UsageTotals[] {
  const out = [...m.values()];
  return by === 'day'
    ? out.sort((a, b) => a.key.localeCompare(b.key))
    : out.sort((a, b) => b.nanoAiu - a.nanoAiu || b.premium - a.premium || b.requests - a.requests);
}

/** All of `records` as one total. */
export function totalOf(records: Iterable<UsageRecord>): UsageTotals {
  const m: TotalsMap = new Map();
  for (const r of records) addRecord(m, 'all', r);
  return m.get('all') ?? emptyTotals('all');
}

/** Several totals added up into one. */
export function sumTotals(totals: Iterable<UsageTotals>): UsageTotals {
  return mergeTotals([...totals].map((t) => new Map([['all', { ...t, key: 'all' }]]))).get('all') ?? emptyTotals('all');
}

/** Totals of `records` grouped by `by`, largest premium cost first (days in date order). */
export function totalsBy(records: Iterable<UsageRecord>, by: GroupBy): UsageTotals[] {
  const m: TotalsMap = new Map();
  for (const r of records) addRecord(m, groupKey(r, by), r);
  return sortedTotals(m, by);
}

/** One local day's totals by model, client and initiator, and by the UTC month its records fall in (Copilot's allowance resets 00:00 UTC on the 1st). */
export interface DayTally {
  day: string;
  byModel: TotalsMap;
  byClient: TotalsMap;
  byInitiator: TotalsMap;
  byUtcMonth: TotalsMap;
}

export const emptyDay = (day: string): DayTally => ({ day, byModel: new Map(), byClient: new Map(), byInitiator: new Map(), byUtcMonth: new Map() });

/** The UTC month of an epoch-ms time, `YYYY-MM`: the AI-credit allowance's period. */
export function utcMonthOf(t: number): string {
  return new Date(t).toISOString().slice(0, 7);
}

/** The AI-credit month `t` falls in: its key (`YYYY-MM`), when it began and when it resets (00:00 UTC on the 1st), epoch ms. */
export function creditMonthOf(t: number): { key: string; start: number; resetsAt: number } {
  const d = new Date(t);
  return { key: utcMonthOf(t), start: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1), resetsAt: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) };
}

export function tallyRecord(d: DayTally, r: UsageRecord): void {
  addRecord(d.byModel, groupKey(r, 'model'), r);
  addRecord(d.byClient, groupKey(r, 'client'), r);
  addRecord(d.byInitiator, groupKey(r, 'initiator'), r);
  addRecord(d.byUtcMonth, utcMonthOf(r.t), r);
}

/** Records as day tallies, oldest day first. Pure. */
export function tallyDays(records: Iterable<UsageRecord>): DayTally[] {
  const days = new Map<string, DayTally>();
  for (const r of records) {
    const day = dayOf(r.t);
    let d = days.get(day);
    if (!d) {
      d = emptyDay(day);
      days.set(day, d);
    }
    tallyRecord(d, r);
  }
  return [...days.values()].sort((a, b) => a.day.localeCompare(b.day));
}

const SINCE_UNITS = new Map([
  ['d', { ms: 86_400_000, word: 'day' }],
  ['h', { ms: 3_600_000, word: 'hour' }],
  ['m', { ms: 60_000, word: 'minute' }],
]);

/** A relative --since (`7d`, `24h`, `30m`): how many of which unit; null for anything else. */
function relativeSince(s: string): { n: number; unit: { ms: number; word: string } } | null {
  const m = /^(\d+)([dhm])$/.exec(s.trim());
  const unit = m ? SINCE_UNITS.get(m[2] ?? '') : undefined;
  return m && unit ? { n: Number(m[1]), unit } : null;
}

/** `7d`, `24h`, `30m` or an ISO date -> epoch ms (relative to `now`); null when it is none of those. */
export function parseSince(s: string, now: number): number | null {
  const r = relativeSince(s);
  if (r) return now - r.n * r.unit.ms;
  const t = Date.parse(s);
  return Number.isFinite(t) ? t : null;
}

/** --since as words: "last 30 days", "last 24 hours", "since 2026-11-01". Pure. */
export function sinceWords(s: string): string {
  const r = relativeSince(s);
  return r ? `last ${r.n} ${r.unit.word}${r.n === 1 ? '' : 's'}` : `since ${s.trim()}`;
}
