import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DayTotals } from '../usage/api.ts';
import type { UsageTotals } from '../usage/record.ts';
import { niceMax, topSeries } from './series.ts';

const t = (key: string, premium: number, tokens = 0): UsageTotals => ({ key, requests: 1, premium, premiumUnknown: 0, promptTokens: tokens, cachedTokens: 0, completionTokens: 0, nanoAiu: 0, nanoAiuEstimated: 0, creditsUnknown: 0, errors: 0 });
const day = (d: string, byModel: UsageTotals[]): DayTotals => ({ day: d, byModel, byClient: [] });

test('chart series: the largest keys over all days, per day, the rest as "other", zero-only keys left out', () => {
  const days = [day('2026-11-28', [t('a', 1), t('b', 5), t('free', 0, 100)]), day('2026-11-29', []), day('2026-11-30', [t('a', 3), t('c', 1), t('d', 1)])];
  const s = topSeries(days, 'byModel', 'premium', 2);
  assert.deepEqual(s.map((x) => [x.key, x.values]), [['b', [5, 0, 0]], ['a', [1, 0, 3]], ['other', [0, 0, 2]]]);
  assert.equal(new Set(s.map((x) => x.colour)).size, 3, 'each series its own colour');
  assert.deepEqual(topSeries(days, 'byModel', 'tokens').map((x) => x.key), ['free'], 'by tokens only the model with tokens');
  assert.deepEqual(topSeries(days, 'byModel', 'requests').length, 5);
  assert.deepEqual(topSeries([], 'byClient', 'premium'), []);
});

test('axis maximum: a round number at or above the largest bar', () => {
  assert.deepEqual([0, 0.3, 1, 3, 7, 12, 26, 480, 1001].map(niceMax), [1, 0.5, 1, 5, 10, 20, 50, 500, 2000]);
});
