import { Router } from 'express';
import { CHART_DAYS, localUsage, type UsageBody } from '../../usage/api.ts';
import { usageDir } from '../../usage/store.ts';
import { createUsageRollups } from '../../usage/rollup.ts';
import { dayOf } from '../../usage/record.ts';
import { OverloadedError } from '../../errors.ts';
import type { ProxyContext } from '../context.ts';
import { startSse } from '../stream-util.ts';
import { formatSse } from '../transform/sse.ts';

/** A listener whose socket holds more than this unsent is too slow: its events are skipped, never queued without bound. */
const FEED_BACKLOG_BYTES = 1024 * 1024;

/** Where the current quota period began: a month before the next reset (30 days back when the reset date is unknown). */
export function periodStart(resetDate: string | null, now: number): number {
  const reset = resetDate ? Date.parse(`${resetDate.slice(0, 10)}T00:00:00Z`) : NaN;
  if (!Number.isFinite(reset)) return now - 30 * 86_400_000;
  const d = new Date(reset);
  d.setUTCMonth(d.getUTCMonth() - 1);
  return d.getTime();
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
    const chartStart = new Date(midnight);
    chartStart.setDate(chartStart.getDate() - (CHART_DAYS - 1));
    // Daily roll-ups: only what was appended since the last call is read (usage/rollup.ts).
    const rollups = ctx.usageRollups ?? createUsageRollups(usageDir(ctx.config.paths.dataDir));
    const days = await rollups.days(dayOf(Math.min(period, chartStart.getTime())));
    const body: UsageBody = { ...quota, local: localUsage(days, { today: midnight.getTime(), period, now, days: CHART_DAYS }) };
    res.set('cache-control', 'no-store').json(body);
  });
  // The last 200 requests, then each new one as it ends (for the dashboard): `snapshot`, then `request` events.
  router.get('/usage/events', (_req, res) => {
    const feed = ctx.usageFeed;
    if (!feed) {
      res.status(404).json({ error: { message: 'no usage feed', type: 'invalid_request_error', code: 'unknown_route', param: null } });
      return;
    }
    const unsubscribe = feed.subscribe(
      (r) => {
        if (!res.destroyed && res.writableLength < FEED_BACKLOG_BYTES) res.write(formatSse(r, 'request'));
      },
      () => res.end(),
    );
    if (!unsubscribe) throw new OverloadedError(5);
    startSse(res);
    res.write(formatSse({ requests: feed.recent() }, 'snapshot'));
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    heartbeat.unref();
    res.on('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
    });
  });
  return router;
}
