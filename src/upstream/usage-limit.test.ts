import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageLimitError, resetHeaderSec, usageLimitKind, usageLimitOf, waitInText } from './usage-limit.ts';

const NOW = Date.UTC(2026, 11, 2, 12);

test('weekly and session limits by code; an ordinary 429 is not one', () => {
  assert.equal(usageLimitKind('user_weekly_rate_limited', ''), 'weekly');
  assert.equal(usageLimitKind('user_global_rate_limited:pro', ''), 'session');
  assert.equal(usageLimitKind('rate_limited', 'Sorry, you have been rate-limited. Please wait a moment before trying again.'), undefined);
  assert.equal(usageLimitOf({ status: 429, code: 'rate_limited', message: 'slow down', retryAfterSec: 5 }, NOW), undefined);
  assert.equal(usageLimitOf({ status: 400, code: 'user_weekly_rate_limited', message: '', retryAfterSec: undefined }, NOW), undefined);
});

test('the end: Retry-After first, then a reset header, then the wait in the text, else a default', () => {
  const msg = 'Please wait 42 minutes before trying again.';
  assert.equal(usageLimitOf({ status: 429, code: 'user_weekly_rate_limited', message: msg, retryAfterSec: 60 }, NOW)?.until, NOW + 60_000);
  assert.equal(usageLimitOf({ status: 429, code: 'user_weekly_rate_limited', message: msg, retryAfterSec: undefined, resetHeader: String(NOW / 1000 + 120) }, NOW)?.until, NOW + 120_000);
  assert.equal(usageLimitOf({ status: 429, code: 'user_global_rate_limited:pro', message: msg, retryAfterSec: undefined }, NOW)?.until, NOW + 42 * 60_000);
  assert.equal(waitInText('try again in 3 hours'), 10_800);
  assert.equal(waitInText('no time here'), undefined);
  assert.equal(resetHeaderSec('30', NOW), 30);
  assert.equal(resetHeaderSec('soon', NOW), undefined);
});

test('a UsageLimitError is a 429 that is never retried, with Retry-After in whole seconds and the end in its message', () => {
  const l = usageLimitOf({ status: 429, code: 'user_weekly_rate_limited', message: 'wait 2 hours', retryAfterSec: undefined }, NOW);
  assert.ok(l);
  const e = new UsageLimitError(l, NOW + 1500);
  assert.equal(e.status, 429);
  assert.equal(e.isRetryable, false);
  assert.equal(e.retryAfterSec, 7199);
  assert.match(e.message, /weekly usage limit is reached; it ends .* \(local time\)/);
});

test('Copilot\'s code and message are made safe to log: no CR/LF/ESC, bounded', () => {
  const l = usageLimitOf({ status: 429, code: 'user_weekly_rate_limited\n[error] FORGED\u001b[31m', message: `a\nb\r\nc \u001b[31m ${'x'.repeat(900)}`, retryAfterSec: 5 }, NOW);
  assert.ok(l);
  assert.equal(l.code, 'user_weekly_rate_limitederrorFORGED31m');
  assert.ok(!/[\r\n\u001b]/.test(l.message) && l.message.length <= 500);
});
