import * as z from 'zod';
import { creditMonthOf, creditsOf, dayOf, mergeTotals, sortedTotals, usageTotalsSchema, type DayTally, type UsageTotals } from './record.ts';

/**
 * What `GET /usage` answers, as one schema: the proxy builds it, and the CLI
 * and the dashboard read it back with it. Pure (zod only), so the dashboard's
 * page bundles it too.
 */

/** Premium-request quota in one flat shape (GitHub's /copilot_internal/user, laid over by Copilot's quota header). */
export const usageSummarySchema = z.object({
  plan: z.string().nullable(),
  entitlement: z.number().nullable(),
  remaining: z.number().nullable(),
  percentRemaining: z.number().nullable(),
  unlimited: z.boolean(),
  resetDate: z.string().nullable(),
});
export type UsageSummary = z.infer<typeof usageSummarySchema>;


const groupedSchema = z.object({
  since: z.string(),
  byModel: z.array(usageTotalsSchema),
  byClient: z.array(usageTotalsSchema),
  byInitiator: z.array(usageTotalsSchema),
});

/** One local day's totals by model and by client (the dashboard's charts). */
export const dayTotalsSchema = z.object({ day: z.string(), byModel: z.array(usageTotalsSchema), byClient: z.array(usageTotalsSchema) });
export type DayTotals = z.infer<typeof dayTotalsSchema>;

/** AI credits in one span: exact and estimated together (nano-AIU), the estimated part, and requests whose cost is unknown. */
export const creditSumSchema = z.object({ since: z.string(), nanoAiu: z.number(), nanoAiuEstimated: z.number(), unknown: z.number() });
export type CreditSum = z.infer<typeof creditSumSchema>;

export const ALLOWANCE_SOURCES = ['config', 'plan'] as const;

/** AI credits used through this proxy today and this month, against the month's allowance. */
export const creditsSchema = z.object({
  today: creditSumSchema,
  /** Since 00:00 UTC on the 1st, when Copilot's allowance resets. */
  month: creditSumSchema,
  /** Credits a month (monthly_credits, else the plan's), null when neither says. */
  allowance: z.number().nullable(),
  allowanceSource: z.enum(ALLOWANCE_SOURCES).nullable(),
  /** ISO time of the next reset (00:00 UTC on the 1st). */
  resetsAt: z.string(),
});
export type Credits = z.infer<typeof creditsSchema>;

export const localUsageSchema = z.object({ today: groupedSchema, period: groupedSchema, days: z.array(dayTotalsSchema), credits: creditsSchema });
export type LocalUsage = z.infer<typeof localUsageSchema>;

/** `quotaError`: why GitHub's quota is missing (signed out, GitHub down); the local totals are there regardless. */
export const usageBodySchema = usageSummarySchema.extend({ quotaError: z.string().nullable(), local: localUsageSchema });
export type UsageBody = z.infer<typeof usageBodySchema>;

/** Days the dashboard charts. */
export const CHART_DAYS = 30;

/**
 * Local totals from day tallies (rollup.ts): since the day of `today` and of `period` (whole local days),
 * and per day for the `days` days up to `now` (every day listed, empty ones too). Pure.
 */
export function localUsage(
  tallies: readonly DayTally[],
  o: { today: number; period: number; now: number; days: number; allowance: { credits: number | null; source: (typeof ALLOWANCE_SOURCES)[number] | null } },
): LocalUsage {
  const view = (since: number) => {
    const first = dayOf(since);
    const ds = tallies.filter((d) => d.day >= first);
    return {
      since: new Date(since).toISOString(),
      byModel: sortedTotals(mergeTotals(ds.map((d) => d.byModel)), 'model'),
      byClient: sortedTotals(mergeTotals(ds.map((d) => d.byClient)), 'client'),
      byInitiator: sortedTotals(mergeTotals(ds.map((d) => d.byInitiator)), 'initiator'),
    };
  };
  const byDay = new Map(tallies.map((d) => [d.day, d]));
  const days: DayTotals[] = [];
  for (let i = o.days - 1; i >= 0; i--) {
    const d = new Date(o.now);
    d.setDate(d.getDate() - i);
    const day = dayOf(d.getTime());
    const t = byDay.get(day);
    days.push({ day, byModel: t ? sortedTotals(t.byModel, 'model') : [], byClient: t ? sortedTotals(t.byClient, 'client') : [] });
  }
  const todays = tallies.filter((d) => d.day >= dayOf(o.today));
  const month = creditMonthOf(o.now);
  const inMonth = tallies.flatMap((d) => [...d.byUtcMonth].filter(([k]) => k === month.key).map(([, t]) => t));
  return {
    today: view(o.today),
    period: view(o.period),
    days,
    credits: {
      ...creditsThisMonth(inMonth, o.now, o.allowance),
      today: creditSum(new Date(o.today).toISOString(), todays.flatMap((d) => [...d.byClient.values()])),
    },
  };
}

function creditSum(since: string, totals: Iterable<Pick<UsageTotals, 'nanoAiu' | 'nanoAiuEstimated' | 'creditsUnknown'>>): CreditSum {
  const out: CreditSum = { since, nanoAiu: 0, nanoAiuEstimated: 0, unknown: 0 };
  for (const t of totals) {
    out.nanoAiu += t.nanoAiu;
    out.nanoAiuEstimated += t.nanoAiuEstimated;
    out.unknown += t.creditsUnknown;
  }
  return out;
}

/** This credit month's sum (from totals of its records) against the allowance: what /usage, the tray and `usage` show. Pure. */
export function creditsThisMonth(
  inMonth: Iterable<Pick<UsageTotals, 'nanoAiu' | 'nanoAiuEstimated' | 'creditsUnknown'>>,
  now: number,
  allowance: { credits: number | null; source: (typeof ALLOWANCE_SOURCES)[number] | null },
): Omit<Credits, 'today'> {
  const m = creditMonthOf(now);
  return {
    month: creditSum(new Date(m.start).toISOString(), inMonth),
    allowance: allowance.credits,
    allowanceSource: allowance.source,
    resetsAt: new Date(m.resetsAt).toISOString(),
  };
}

/** A credit figure as people read it: whole credits with thousands separators, two decimals under 100. */
export function formatCredits(credits: number): string {
  // A request or two cost less than a hundredth: not "0" beside a total of 0.01.
  if (credits > 0 && credits < 0.005) return '<0.01';
  return credits >= 100 ? Math.round(credits).toLocaleString('en-US') : (Math.round(credits * 100) / 100).toLocaleString('en-US', { maximumFractionDigits: 2 });
}

/** The credits line, in the tray's menu, the dashboard's gauge and the CLI: "AI credits: 312 of 1,500 used · resets Jan 1". */
export function creditsLine(c: Pick<Credits, 'month' | 'allowance' | 'resetsAt'>): string {
  const used = formatCredits(creditsOf(c.month.nanoAiu));
  const of = c.allowance === null ? '' : ` of ${c.allowance.toLocaleString('en-US')}`;
  const reset = new Date(c.resetsAt).toLocaleDateString('en-US', { month: 'short', day: 'numeric', timeZone: 'UTC' });
  const est = c.month.nanoAiuEstimated > 0 ? ' (partly estimated)' : '';
  return `AI credits: ${used}${of} used${est} · resets ${reset}`;
}

/**
 * Monthly AI-credit allowances by the plan GitHub's /copilot_internal/user names (`copilot_plan`, else
 * `access_type_sku`), as GitHub announced them for the June 2026 switch to AI credits
 * (Pro 1,500; Pro+ 7,000; Max 20,000; Business 1,900 and Enterprise 3,900 per seat, pooled).
 * `monthly_credits` in config.json wins over this table: a pooled or custom budget is only known to the user.
 * `individual` is not here: GitHub names Free and Pro accounts alike with it.
 */
export const PLAN_CREDITS: ReadonlyMap<string, number> = new Map([
  ['individual_pro', 1500],
  ['pro', 1500],
  ['monthly_subscriber', 1500],
  ['yearly_subscriber', 1500],
  ['individual_pro_plus', 7000],
  ['pro_plus', 7000],
  ['plus_monthly_subscriber', 7000],
  ['plus_yearly_subscriber', 7000],
  ['individual_max', 20000],
  ['max', 20000],
  ['business', 1900],
  ['enterprise', 3900],
]);

/** The month's allowance: the config key, else the plan's, else unknown. */
export function monthlyAllowance(configured: number | undefined, plan: string | null): { credits: number | null; source: (typeof ALLOWANCE_SOURCES)[number] | null } {
  if (configured !== undefined) return { credits: configured, source: 'config' };
  const fromPlan = plan === null ? undefined : PLAN_CREDITS.get(plan.toLowerCase());
  return fromPlan === undefined ? { credits: null, source: null } : { credits: fromPlan, source: 'plan' };
}

/** The premium line, in the tray's menu and on the dashboard's gauge: the same numbers in the same words. */
export function premiumLine(u: Pick<UsageSummary, 'remaining' | 'entitlement' | 'unlimited' | 'resetDate'>): string {
  if (u.unlimited) return 'Premium requests: unlimited';
  const left = u.remaining === null ? '?' : String(Math.max(0, Math.floor(u.remaining)));
  const of = u.entitlement === null ? '' : ` of ${u.entitlement}`;
  const reset = u.resetDate ? ` (resets ${u.resetDate.slice(0, 10)})` : '';
  return `Premium requests: ${left}${of} left${reset}`;
}
