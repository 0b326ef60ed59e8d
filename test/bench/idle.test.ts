import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { z } from 'zod';
import { root, runBench } from './run-bench.ts';

/**
 * The idle benchmark runs in CI (a short window): it measures an idle signed-in
 * proxy beside a bare node and saves both. The figures are printed and saved,
 * not asserted here (`npm run bench -- idle` exits 1 when a target is missed).
 */
test('npm run bench -- idle: CPU and wake-ups of an idle proxy beside a bare node, saved', { timeout: 120_000 }, async () => {
  const out = await runBench(['idle', '--seconds', '5']);
  assert.ok(out.code === 0 || out.code === 1, `exit ${out.code}`);
  assert.match(out.stdout, /\| github-copilot-svcs run \(signed in, idle\) \| \d+\.\d{3} \| \d+\.\d{2} \| \d+\.\d \(\d+\.\d \+ \d+\.\d\) \| \d+ \|/);
  const row = z.object({ what: z.string(), cpuSecPerMin: z.number().nonnegative(), wakeupsPerSec: z.number().nonnegative(), rssMb: z.number().positive(), rssBudgetMb: z.number().positive().nullable() });
  const json = z
    .object({ seconds: z.literal(5), rows: z.array(row).length(4), quiet: z.boolean(), lean: z.boolean(), ok: z.boolean() })
    .parse(JSON.parse(fs.readFileSync(path.join(root, 'bench-results', 'idle.json'), 'utf8')));
  assert.match(json.rows[3]?.what ?? '', /^floor/);
  assert.match(json.rows[1]?.what ?? '', /^tray process/);
  assert.equal(json.rows[3]?.rssBudgetMb, null, 'the floor has no budget');
  // The budgets are the issue's, or the floor + 20 MB when that is larger.
  const floor = json.rows[3]?.rssMb ?? NaN;
  assert.equal(json.rows[0]?.rssBudgetMb, Math.max(60, floor + 20));
  assert.equal(json.rows[1]?.rssBudgetMb, Math.max(50, floor + 20));
});
