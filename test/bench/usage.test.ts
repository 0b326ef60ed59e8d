import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { root, runBench } from './run-bench.ts';
import { z } from 'zod';

/**
 * GET /usage's totals benchmark runs in CI (small: 30 days x 500 records): the
 * daily roll-ups must give the baseline's totals (the bench exits non-zero when
 * they differ), and every figure is measured and saved. No time is asserted.
 */

test('npm run bench -- usage: roll-ups agree with totalling every record; each figure saved beside the baseline', { timeout: 120_000 }, async () => {
  const out = await runBench(['usage', '--per-day', '500']);
  assert.equal(out.code, 0);
  assert.match(out.stdout, /roll-ups and baseline give the same totals: yes/);
  const json = z
    .object({ perDay: z.literal(500), rows: z.array(z.object({ what: z.string(), ms: z.number().positive(), maxBlockMs: z.number().nonnegative() })) })
    .parse(JSON.parse(fs.readFileSync(path.join(root, 'bench-results', 'usage.json'), 'utf8')));
  assert.deepEqual(
    json.rows.map((r) => r.what.split(':')[0]),
    ['baseline', 'baseline', 'roll-ups', 'roll-ups', 'roll-ups', 'roll-ups'],
  );
});
