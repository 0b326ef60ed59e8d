import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { root, runBench } from './run-bench.ts';

/**
 * The load benchmark runs in CI in its quick form (one short round of each
 * load): a benchmark, not a timed test, so no figure is asserted against its
 * target here, only that every one was measured beside its direct baseline,
 * with no request lost, and printed and saved.
 */

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const rec = (v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null ? { ...v } : {});

test('npm run bench -- load --quick measures every figure beside the direct baseline', { timeout: 600_000 }, async () => {
  const out = await runBench(['load', '--quick']);
  assert.ok(out.code === 0 || out.code === 1, `the bench ran to its verdict (exit ${out.code})`);
  const json = rec(JSON.parse(fs.readFileSync(path.join(root, 'bench-results', 'load.json'), 'utf8')));
  const rows = Array.isArray(json.rows) ? json.rows.map(rec) : [];
  assert.deepEqual(
    rows.map((r) => r.scenario),
    ['non-stream, 1 conn', 'non-stream, 32 conn', 'non-stream, 128 conn', 'stream (20 events), 1 conn', 'stream (20 events), 32 conn', 'stream (20 events), 128 conn', 'non-stream, 32 conn, 10 ms upstream'],
  );
  for (const r of rows) {
    const d = rec(r.direct);
    const p = rec(r.proxy);
    for (const v of [d.rps, d.p50, d.p99, p.rps, p.p50, p.p99, p.cpuMsPerReq, p.peakRssMb]) assert.ok(isNum(v) && v > 0, `${String(r.scenario)}: ${JSON.stringify(r)}`);
  }
  const paced = rec(json.paced);
  for (const k of ['direct_ttfe_p99', 'proxy_ttfe_p99', 'direct_event_delay_p99', 'proxy_event_delay_p99']) assert.ok(isNum(paced[k]), k);
  assert.equal(paced.proxy_errors, 0, 'paced streams all complete');
  const many = rec(json.many);
  assert.equal(many.errors, 0, 'concurrent paced streams: no error');
  assert.equal(many.events_lost, 0, 'concurrent paced streams: no event lost');
  assert.ok(isNum(many.peak_rss_mb) && isNum(many.event_loop_delay_p99_ms) && isNum(many.direct_event_delay_p99_ms));
  // Time to first event beside direct's, for the same burst of streams (the TTFT target).
  for (const k of ['ttfe_p50_ms', 'ttfe_p99_ms', 'direct_ttfe_p50_ms', 'direct_ttfe_p99_ms']) assert.ok(isNum(many[k]) && many[k] > 0, k);
  assert.match(out.stdout, /concurrent paced streams .*time to first event p50\/p99 direct [\d.]+\/[\d.]+ ms, proxy [\d.]+\/[\d.]+ ms \(added p99 /);
  const uploads = rec(json.uploads);
  assert.ok(isNum(uploads.peak_rss_mb));
  assert.equal(uploads.other, 0, 'every upload got 200, 429 or a reset while it was still sending');
  const floors = Array.isArray(json.floors) ? json.floors.map(rec) : [];
  assert.deepEqual(floors.map((f) => f.kind), ['node', 'undici', 'express']);
  assert.match(out.stdout, /\| non-stream, 32 conn \| \d+ \| \d+ \| /);
  assert.match(out.stdout, /^targets: /m);
});
