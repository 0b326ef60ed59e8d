/**
 * `npm run bench -- usage [--per-day 5000]`: what `GET /usage` costs the
 * proxy's thread with 30 days of records (a busy agent user: 5,000 requests a
 * day), beside the baseline of totalling every record from the files each
 * time (what /usage did before the daily roll-ups). For each: wall time and
 * the longest the event loop was blocked (the largest gap between ticks of a 1 ms timer).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { localUsage } from '../src/usage/api.ts';
import { dayOf, tallyDays, type UsageRecord } from '../src/usage/record.ts';
import { createUsageRollups } from '../src/usage/rollup.ts';
import { readUsage } from '../src/usage/store.ts';

const args = process.argv.slice(2);
const i = args.indexOf('--per-day');
const PER_DAY = i >= 0 ? Number(args[i + 1]) : 5000;
const DAYS = 30;

function record(t: number, n: number): UsageRecord {
  return {
    t,
    client: ['codex', 'claude-cli', 'opencode'][n % 3] ?? 'codex',
    route: '/v1/messages',
    model: 'claude-sonnet-4',
    upstream_model: ['claude-sonnet-4', 'gpt-4.1', 'gpt-5-codex'][n % 3] ?? null,
    initiator: n % 4 ? 'agent' : 'user',
    premium: n % 4 ? 0 : 1,
    prompt_tokens: 12_000,
    cached_tokens: 9_000,
    completion_tokens: 300,
    nano_aiu: 1_234_567_890,
    cost_source: 'copilot',
    status: 200,
    ttfb_ms: 400,
    duration_ms: 2000,
    stream: true,
  };
}

/** Wall time of `fn`, and the longest gap between ticks of a 1 ms timer meanwhile: how long requests would have waited. */
async function measure(fn: () => Promise<unknown> | unknown): Promise<{ ms: number; maxBlockMs: number }> {
  let last = performance.now();
  let maxGap = 0;
  const tick = setInterval(() => {
    const t = performance.now();
    maxGap = Math.max(maxGap, t - last);
    last = t;
  }, 1);
  await new Promise((r) => setTimeout(r, 20));
  maxGap = 0;
  last = performance.now();
  const t = performance.now();
  await fn();
  const ms = performance.now() - t;
  await new Promise((r) => setTimeout(r, 5));
  clearInterval(tick);
  return { ms, maxBlockMs: maxGap };
}

export async function runUsageBench(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gcs-bench-usage-'));
  try {
    const now = Date.now();
    for (let d = 0; d < DAYS; d++) {
      const t0 = now - d * 86_400_000;
      const lines: string[] = [];
      for (let n = 0; n < PER_DAY; n++) lines.push(JSON.stringify(record(t0 - n, n)));
      fs.writeFileSync(path.join(dir, `${dayOf(t0)}.jsonl`), `${lines.join('\n')}\n`);
    }
    const opts = { today: new Date(new Date(now).setHours(0, 0, 0, 0)).getTime(), period: now - DAYS * 86_400_000, now, days: DAYS, allowance: { credits: 1500, source: 'plan' as const } };
    const first = dayOf(now - (DAYS - 1) * 86_400_000);
    const since = new Date(`${first}T00:00:00`).getTime();
    const baseline = () => localUsage(tallyDays(readUsage(dir, since)), opts);
    const rollups = createUsageRollups(dir);
    const rolled = async () => localUsage(await rollups.days(first), opts);
    const append = () => fs.appendFileSync(path.join(dir, `${dayOf(now)}.jsonl`), Array.from({ length: 100 }, (_, n) => `${JSON.stringify(record(now + n, n))}\n`).join(''));

    const rows: Array<[string, { ms: number; maxBlockMs: number }]> = [];
    rows.push(['baseline: every record totalled (first call)', await measure(baseline)]);
    append();
    rows.push(['baseline: again, 100 records later', await measure(baseline)]);
    rows.push(['roll-ups: first call (every file read)', await measure(rolled)]);
    append();
    rows.push(['roll-ups: 100 records later', await measure(rolled)]);
    rows.push(['roll-ups: nothing new', await measure(rolled)]);
    // The red team's case (#20): 150,000 records in one day's file. The roll-ups read it 128 KiB per turn.
    const oneDay = fs.mkdtempSync(path.join(os.tmpdir(), 'gcs-bench-usage-day-'));
    try {
      const lines: string[] = [];
      for (let n = 0; n < 150_000; n++) lines.push(JSON.stringify(record(now - n, n)));
      fs.writeFileSync(path.join(oneDay, `${dayOf(now)}.jsonl`), `${lines.join('\n')}\n`);
      const single = createUsageRollups(oneDay);
      rows.push(['roll-ups: first call, 150,000 records in one day', await measure(() => single.days(dayOf(now)))]);
    } finally {
      fs.rmSync(oneDay, { recursive: true, force: true });
    }
    // Same answer either way.
    const a = JSON.stringify(baseline());
    const b = JSON.stringify(await rolled());
    if (a !== b) throw new Error('roll-ups and the baseline disagree');

    console.log(`\nGET /usage's local totals: ${DAYS} days x ${PER_DAY} records (${DAYS * PER_DAY + 200} in all), node ${process.version}, ${os.cpus().length} cores\n`);
    console.log('| what | time | longest event-loop block |');
    console.log('|---|---:|---:|');
    for (const [what, m] of rows) console.log(`| ${what} | ${m.ms.toFixed(1)} ms | ${m.maxBlockMs.toFixed(1)} ms |`);
    console.log('\nroll-ups and baseline give the same totals: yes');
    const out = path.join(import.meta.dirname, '..', 'bench-results');
    fs.mkdirSync(out, { recursive: true });
    fs.writeFileSync(path.join(out, 'usage.json'), `${JSON.stringify({ days: DAYS, perDay: PER_DAY, node: process.version, rows: rows.map(([what, m]) => ({ what, ms: m.ms, maxBlockMs: m.maxBlockMs })) }, null, 2)}\n`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
