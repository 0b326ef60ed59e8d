// Copilot's weekly and session limits (2026): the 429 answers, as recorded in public issue
// threads (test/fixtures/README.md). One place, so a test and the fake's limit state send the same bytes.

import type { FailSpec } from './errors.ts';

export interface UsageLimitShape {
  kind: 'weekly' | 'session';
  plan: string;
  retryAfterHeader: boolean;
}

/**
 * The 429 Copilot answers while a weekly or session limit holds. Wording, codes and the
 * `x-ratelimit-exceeded` keys are recorded ones (test/fixtures/README.md): the weekly body says no
 * time at all ("Please review our Terms of Service."); the session one says "Please retry after N seconds."
 */
export function usageLimitSpec(l: UsageLimitShape, leftMs: number): FailSpec {
  const sec = Math.max(1, Math.ceil(leftMs / 1000));
  const error =
    l.kind === 'weekly'
      ? { message: "Sorry, you've exceeded your weekly rate limit. Please review our Terms of Service.", code: 'user_weekly_rate_limited' }
      : { message: `Sorry, you've exceeded your 5 hour session limits. Please retry after ${sec} seconds.`, code: `user_global_rate_limited:${l.plan}` };
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-ratelimit-exceeded': l.kind === 'weekly' ? 'global-chat:global-cogs-7-day-key:user' : `global-chat:global-usage-5-hour-key:userID:COPILOT_PLAN_${l.plan.toUpperCase()}`,
  };
  if (l.retryAfterHeader) headers['retry-after'] = String(sec);
  return { status: 429, body: { error }, headers };
}
