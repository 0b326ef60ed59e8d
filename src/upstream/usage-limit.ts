import * as z from 'zod';
import { AppError } from '../errors.ts';

/**
 * Copilot's weekly and session limits (2026): a 429 whose error code names the
 * limit. Unlike a short 429 it is not worth a retry: the limit holds for
 * minutes to days, and an agent that retries in a loop only burns what is left.
 * So it is state: the gateway keeps it until it ends and answers the calls it
 * covers locally (see gateway.ts). Pure, apart from the error class.
 *
 * Recorded bodies (test/fixtures/README.md): `user_weekly_rate_limited`,
 * `user_global_rate_limited:<plan>` (the session limit), with "please wait N
 * minutes"-style text and, sometimes, `retry-after`.
 */

export const USAGE_LIMIT_KINDS = ['weekly', 'session'] as const;
export type UsageLimitKind = (typeof USAGE_LIMIT_KINDS)[number];

/** A limit as /health, the CLI, the tray and the dashboard show it (the one schema). */
export const usageLimitSchema = z.object({
  kind: z.enum(USAGE_LIMIT_KINDS),
  /** Epoch ms when it ends. */
  until: z.number(),
  /** Copilot's own code (`user_weekly_rate_limited`, `user_global_rate_limited:pro`). */
  code: z.string().max(100),
  /** Copilot's own words, clipped. */
  message: z.string().max(500),
});
export type UsageLimit = z.infer<typeof usageLimitSchema>;

/** When Copilot gives no time at all: try again after this long (a session limit's usual length). */
export const UNKNOWN_LIMIT_SEC = 15 * 60;

/** The kind of limit a 429's error code names, if any. */
export function usageLimitKind(code: string | undefined, message: string): UsageLimitKind | undefined {
  const c = (code ?? '').toLowerCase();
  if (c.startsWith('user_weekly_rate_limited') || /\bweekly (rate )?limit/i.test(message)) return 'weekly';
  if (c.startsWith('user_global_rate_limited') || c.startsWith('user_session_rate_limited') || /\bsession (rate )?limit/i.test(message)) return 'session';
  return undefined;
}

const UNIT_SEC = new Map([
  ['second', 1],
  ['minute', 60],
  ['hour', 3600],
  ['day', 86_400],
]);

/** "please wait 42 minutes", "try again in 3 hours": seconds, if the text says. */
export function waitInText(message: string): number | undefined {
  const m = /(?:wait|in|after)\s+(\d{1,6})\s*(second|minute|hour|day)s?\b/i.exec(message);
  const unit = m ? UNIT_SEC.get((m[2] ?? '').toLowerCase()) : undefined;
  return m && unit ? Number(m[1]) * unit : undefined;
}

/** A reset header as seconds from now: `x-ratelimit-reset` may be epoch seconds or a delta. */
export function resetHeaderSec(value: string | undefined, now: number): number | undefined {
  if (value === undefined || !/^\d+(\.\d+)?$/.test(value.trim())) return undefined;
  const n = Number(value);
  const delta = n > 1_000_000_000 ? n - now / 1000 : n;
  return delta > 0 ? delta : undefined;
}

/** The limit a 429 announces, or undefined for an ordinary (short, retryable) 429. */
export function usageLimitOf(
  err: { status: number; code: string | undefined; message: string; retryAfterSec: number | undefined; resetHeader?: string | undefined },
  now: number,
): UsageLimit | undefined {
  if (err.status !== 429) return undefined;
  const kind = usageLimitKind(err.code, err.message);
  if (!kind) return undefined;
  const sec = err.retryAfterSec ?? resetHeaderSec(err.resetHeader, now) ?? waitInText(err.message) ?? UNKNOWN_LIMIT_SEC;
  // Copilot's code and message go into logs, our own answers and the tray: only safe characters, bounded.
  return {
    kind,
    until: now + Math.ceil(sec) * 1000,
    code: (err.code ?? `${kind}_limit`).replace(/[^\w:.-]/g, '').slice(0, 100) || `${kind}_limit`,
    message: err.message.replace(/[\u0000-\u001f\u007f\s]+/g, ' ').slice(0, 500),
  };
}

/** "Thu 14:05" in local time (a date as well when it is more than a week away). */
export function localEnd(until: number): string {
  const d = new Date(until);
  const hm = `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
  const day = d.toLocaleDateString('en-US', { weekday: 'short' });
  return until - Date.now() > 6 * 86_400_000 ? `${d.toISOString().slice(0, 10)} ${hm}` : `${day} ${hm}`;
}

/** The one line that names a limit, in the CLI, the tray, the dashboard and the error a client gets. */
export function usageLimitLine(l: Pick<UsageLimit, 'kind' | 'until'>): string {
  return `Rate-limited (${l.kind}) until ${localEnd(l.until)}`;
}

/** A call the current limit covers: answered 429 at once, never sent upstream, never retried. */
export class UsageLimitError extends AppError {
  readonly retryAfterSec: number;
  readonly limit: UsageLimit;
  constructor(limit: UsageLimit, now: number) {
    const kindText = limit.kind === 'weekly' ? 'weekly' : 'session';
    super(`Copilot's ${kindText} usage limit is reached; it ends ${localEnd(limit.until)} (local time). Copilot said: ${limit.message}`, {
      code: limit.code,
      status: 429,
      isRetryable: false,
    });
    this.limit = limit;
    this.retryAfterSec = Math.max(1, Math.ceil((limit.until - now) / 1000));
  }
}
