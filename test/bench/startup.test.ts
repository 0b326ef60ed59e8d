import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { root, runBench } from './run-bench.ts';

/**
 * The start-up benchmark runs in CI (a benchmark, not a timed test: no figure
 * is asserted here, only that every one is measured, beside its node baseline,
 * and printed and saved). Its verdict against the budgets is in its output.
 */

test('npm run bench -- startup measures every figure beside node -e 0 and writes bench-results/startup.json', { timeout: 300_000 }, async () => {
  const out = await runBench(['startup'], { STARTUP_ROUNDS: '3' });
  assert.ok(out.code === 0 || out.code === 1, `the bench ran to its verdict (exit ${out.code})`);
  const json: unknown = JSON.parse(fs.readFileSync(path.join(root, 'bench-results', 'startup.json'), 'utf8'));
  assert.ok(typeof json === 'object' && json !== null && 'rows' in json && Array.isArray(json.rows));
  const rows: unknown[] = json.rows;
  const whats = rows.map((r) => (typeof r === 'object' && r !== null && 'what' in r ? String(r.what) : ''));
  for (const w of ['node -e 0', 'version', 'status (no proxy running)', 'run -> first /health 200']) assert.ok(whats.includes(w), w);
  assert.ok(whats.some((w) => w.startsWith('run idle RSS')));
  assert.ok(whats.some((w) => w.startsWith('tray process idle RSS')));
  assert.ok(whats.some((w) => w.startsWith('floor: bare node')), 'the floor is measured beside our figures');
  for (const r of rows) assert.ok(typeof r === 'object' && r !== null && 'value' in r && typeof r.value === 'number' && r.value > 0, JSON.stringify(r));
  assert.equal(out.code === 0, rows.every((r) => typeof r === 'object' && r !== null && 'ok' in r && r.ok === true), 'the exit code is the verdict');
  assert.match(out.stdout, /\| version \| \d+ ms \| \d+ ms \| \+-?\d+ ms \| node \+ 60 ms \|/);
});
