import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readUsage } from './src/usage/store.ts';
import { localUsage } from './src/usage/api.ts';
import { dayOf } from './src/usage/record.ts';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ub-'));
const now = Date.now();
const PER_DAY = Number(process.argv[2] ?? 5000);
for (let d = 0; d < 30; d++) {
  const t0 = now - d * 86_400_000;
  const lines: string[] = [];
  for (let i = 0; i < PER_DAY; i++) lines.push(JSON.stringify({ t: t0 - i * 1000, client: ['codex', 'claude-cli', 'opencode'][i % 3], route: '/v1/messages', model: 'claude-sonnet-4', upstream_model: ['claude-sonnet-4', 'gpt-4.1', 'gpt-5-codex'][i % 3], initiator: i % 4 ? 'agent' : 'user', premium: i % 4 ? 0 : 1, prompt_tokens: 12000, completion_tokens: 300, status: 200, ttfb_ms: 400, duration_ms: 2000, stream: true }));
  fs.appendFileSync(path.join(dir, `${dayOf(t0)}.jsonl`), lines.join('\n') + '\n');
}
for (let k = 0; k < 3; k++) {
  const t = performance.now();
  const recs = readUsage(dir, now - 30 * 86_400_000);
  const t2 = performance.now();
  localUsage(recs, { today: now - 3600_000, period: now - 30 * 86_400_000, now, days: 30 });
  console.log(`${recs.length} records: read ${(t2 - t).toFixed(0)} ms, totals ${(performance.now() - t2).toFixed(0)} ms`);
}
fs.rmSync(dir, { recursive: true });
