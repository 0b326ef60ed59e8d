import { Router } from 'express';
import { totalsBy, type UsageTotals } from '../../usage/record.ts';
import { readUsage, usageDir } from '../../usage/store.ts';
import type { ProxyContext } from '../context.ts';

/** Where the current quota period began: a month before the next reset (30 days back when the reset date is unknown). */
export function periodStart(resetDate: string | null, now: number): number {
  const reset = resetDate ? Date.parse(`${resetDate.slice(0, 10)}T00:00:00Z`) : NaN;
  if (!Number.isFinite(reset)) return now - 30 * 86_400_000;
  const d = new Date(reset);
  d.setUTCMonth(d.getUTCMonth() - 1);
  return d.getTime();
}

export interface LocalUsage {
  today: { since: string; byModel: UsageTotals[]; byClient: UsageTotals[]; byInitiator: UsageTotals[] };
  period: { since: string; byModel: UsageTotals[]; byClient: UsageTotals[]; byInitiator: UsageTotals[] };
}

/** Premium-request quota (the same numbers as `github-copilot-svcs usage`) and `local`: what went through this proxy, today and this quota period. */
export function usageRoutes(ctx: ProxyContext): Router {
  const router = Router();
  router.get(['/usage', '/v1/usage'], async (_req, res) => {
    const quota = await ctx.usage.get();
    ctx.usageLog?.flush();
    const now = ctx.now();
    const midnight = new Date(now);
    midnight.setHours(0, 0, 0, 0);
    const period = periodStart(quota.resetDate, now);
    const records = readUsage(usageDir(ctx.config.paths.dataDir), Math.min(period, midnight.getTime()));
    const view = (since: number) => {
      const rs = records.filter((r) => r.t >= since);
      return { since: new Date(since).toISOString(), byModel: totalsBy(rs, 'model'), byClient: totalsBy(rs, 'client'), byInitiator: totalsBy(rs, 'initiator') };
    };
    const local: LocalUsage = { today: view(midnight.getTime()), period: view(period) };
    res.set('cache-control', 'no-store').json({ ...quota, local });
  });
  return router;
}
