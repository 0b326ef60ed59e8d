import { z } from 'zod';
import { dayOf, mergeTotals, sortedTotals, usageTotalsSchema, type DayTally } from './record.ts';

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

export const localUsageSchema = z.object({ today: groupedSchema, period: groupedSchema, days: z.array(dayTotalsSchema) });
export type LocalUsage = z.infer<typeof localUsageSchema>;

export const usageBodySchema = usageSummarySchema.extend({ local: localUsageSchema });
export type UsageBody = z.infer<typeof usageBodySchema>;

/** Days the dashboard charts. */
export const CHART_DAYS = 30;

/**
 * Local totals from day tallies (rollup.ts): since the day of `today` and of `period` (whole local days),
 * and per day for the `days` days up to `now` (every day listed, empty ones too). Pure.
 */
export function localUsage(tallies: readonly DayTally[], o: { today: number; period: number; now: number; days: number }): LocalUsage {
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
  return { today: view(o.today), period: view(o.period), days };
}

/** The premium line, in the tray's menu and on the dashboard's gauge: the same numbers in the same words. */
export function premiumLine(u: Pick<UsageSummary, 'remaining' | 'entitlement' | 'unlimited' | 'resetDate'>): string {
  if (u.unlimited) return 'Premium requests: unlimited';
  const left = u.remaining === null ? '?' : String(Math.max(0, Math.floor(u.remaining)));
  const of = u.entitlement === null ? '' : ` of ${u.entitlement}`;
  const reset = u.resetDate ? ` (resets ${u.resetDate.slice(0, 10)})` : '';
  return `Premium requests: ${left}${of} left${reset}`;
}
