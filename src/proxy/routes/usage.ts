import type { RequestHandler } from '../http.ts';
import { CHART_DAYS, localUsage, monthlyAllowance, type UsageBody, type UsageSummary } from '../../usage/api.ts';
import { usageDir } from '../../usage/store.ts';
import { createUsageRollups } from '../../usage/rollup.ts';
import { creditMonthOf, dayOf } from '../../usage/record.ts';
import { OverloadedError } from '../../errors.ts';
import type { ProxyContext } from '../context.ts';
import { startSse } from '../stream-util.ts';
import { formatSse } from '../transform/sse.ts';

/** A listener whose socket holds more than this unsent (the snapshot included) is too slow: it is dropped, never queued without bound. */
const FEED_BACKLOG_BYTES = 1024 * 1024;

/** Where the current quota period began: a month before the next reset (30 days back when the reset date is unknown). */
export function periodStart(resetDate: string | null, now: number): number {
  const reset = resetDate ? Date.parse(`${resetDate.slice(0, 10)}T00:00:00Z`) : NaN;
  if (!Number.isFinite(reset)) return now - 30 * 86_400_000;
  const d = new Date(reset);
  d.setUTCMonth(d.getUTCMonth() - 1);
  return d.getTime();
}

const NO_QUOTA: UsageSummary = { plan: null, entitlement: null, remaining: null, percentRemaining: null, unlimited: false, resetDate: null };

/**
 * The /usage body, for the route and the tray's IPC: GitHub's quota (the same numbers as `github-copilot-svcs usage`)
 * and `local`: what went through this proxy, today, this quota period, and AI credits this month. The local part
 * needs no token: signed out, or with GitHub down, it is still there, with `quotaError` saying why the quota is not.
 */
export async function usageBody(ctx: ProxyContext): Promise<UsageBody> {
  let quota = NO_QUOTA;
  let quotaError: string | null = null;
  try {
    quota = await ctx.usage.get();
  } catch (err) {
    quotaError = err instanceof Error ? err.message.slice(0, 300) : String(err).slice(0, 300);
  }
  ctx.usageLog?.flush();
  const now = ctx.now();
  const midnight = new Date(now);
  midnight.setHours(0, 0, 0, 0);
  const period = periodStart(quota.resetDate, now);
  const chartStart = new Date(midnight);
  chartStart.setDate(chartStart.getDate() - (CHART_DAYS - 1));
  // The credit month starts 00:00 UTC on the 1st: its first local day may be the day before.
  const monthStart = creditMonthOf(now).start;
  // Daily roll-ups: only what was appended since the last call is read (usage/rollup.ts).
  const rollups = ctx.usageRollups ?? createUsageRollups(usageDir(ctx.config.paths.dataDir));
  const days = await rollups.days(dayOf(Math.min(period, chartStart.getTime(), monthStart)));
  const allowance = monthlyAllowance(ctx.config.monthly_credits, quota.plan);
  return { ...quota, quotaError, local: localUsage(days, { today: midnight.getTime(), period, now, days: CHART_DAYS, allowance }) };
}

/** GET /usage (usageBody) and GET /usage/events (the live feed). */
export function usageHandlers(ctx: ProxyContext): { totals: RequestHandler; events: RequestHandler } {
  const totals: RequestHandler = async (_req, res) => {
    res.set('cache-control', 'no-store').json(await usageBody(ctx));
  };
  // The last 200 requests, then each new one as it ends (for the dashboard): `snapshot`, then `request` events.
  const events: RequestHandler = (req, res) => {
    const feed = ctx.usageFeed;
    if (!feed) {
      res.status(404).json({ error: { message: 'no usage feed', type: 'invalid_request_error', code: 'unknown_route', param: null } });
      return;
    }
    // A HEAD gets the stream's headers and its end: no body will ever go out, so it takes no
    // listener slot and leaves its keep-alive connection free for the next request.
    if (req.method === 'HEAD') {
      startSse(res);
      res.end();
      return;
    }
    // A listener that does not read is dropped once its unsent bytes (the snapshot counts) pass the
    // backlog: memory per listener is bounded, and its slot is freed on every path, failed writes included.
    const send = (text: string): void => {
      if (res.destroyed) return;
      if (res.writableLength + text.length > FEED_BACKLOG_BYTES) {
        res.destroy();
        return;
      }
      res.write(text);
    };
    const unsubscribe = feed.subscribe(
      (r) => send(formatSse(r, 'request')),
      () => res.end(),
    );
    if (!unsubscribe) throw new OverloadedError(5);
    const heartbeat = setInterval(() => send(': keep-alive\n\n'), 15_000);
    heartbeat.unref();
    res.on('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
    });
    try {
      startSse(res);
      send(formatSse({ requests: feed.recent() }, 'snapshot'));
    } catch (err) {
      res.destroy();
      throw err;
    }
  };
  return { totals, events };
}
