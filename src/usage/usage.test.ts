import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { clientOf, dayOf, fitRecord, multiplierOf, parseSince, sinceWords, premiumCost, RECORD_BOUNDS, tallyDays, totalsBy, type UsageRecord } from './record.ts';
import { openUsageStore, readUsage } from './store.ts';
import { formatCredits } from './api.ts';

const rec = (o: Partial<UsageRecord> = {}): UsageRecord => ({
  t: Date.UTC(2026, 10, 30, 12),
  client: 'openai-node',
  route: '/v1/chat/completions',
  model: 'claude-sonnet-4',
  upstream_model: 'claude-sonnet-4',
  initiator: 'user',
  premium: 1,
  prompt_tokens: 10,
  cached_tokens: null,
  completion_tokens: 5,
  nano_aiu: null,
  cost_source: null,
  status: 200,
  ttfb_ms: 12,
  duration_ms: 40,
  stream: false,
  ...o,
});

test('clients by User-Agent: the agents and SDKs by product name, anything else by its first token', () => {
  assert.equal(clientOf('claude-cli/2.1.332 (external, sdk-cli)'), 'claude-cli');
  assert.equal(clientOf('codex_cli_rs/0.171.0 (Debian 12; x86_64) xterm'), 'codex');
  assert.equal(clientOf('codex_exec/0.77.0'), 'codex');
  assert.equal(clientOf('opencode/1.18.33 ai-sdk/provider-utils'), 'opencode');
  assert.equal(clientOf('OpenAI/Python 2.54.0'), 'openai-python');
  assert.equal(clientOf('OpenAI/JS 6.49.0'), 'openai-node');
  assert.equal(clientOf('curl/7.88.1'), 'curl');
  assert.equal(clientOf('LangChain<script>/1.0'), 'LangChainscript');
  assert.equal(clientOf(undefined), 'unknown');
  assert.equal(clientOf('   '), 'unknown');
});

test('premium cost: a user turn on a premium model costs its multiplier; agent turns, free models and failures cost nothing', () => {
  assert.equal(multiplierOf({ is_premium: true, multiplier: 1 }), 1);
  assert.equal(multiplierOf({ is_premium: false }), 0);
  assert.equal(multiplierOf(undefined), null);
  assert.equal(premiumCost('user', 1, 200), 1);
  assert.equal(premiumCost('user', 0.33, 200), 0.33);
  assert.equal(premiumCost('agent', 1, 200), 0);
  assert.equal(premiumCost('user', 1, 429), 0);
  assert.equal(premiumCost('user', null, 200), null, 'unknown multiplier: unknown cost, not zero');
  assert.equal(premiumCost(null, 1, 200), 0, 'embeddings have no initiator');
});

test('totals by model, client, day and initiator', () => {
  const day1 = Date.UTC(2026, 10, 29, 12);
  const rs = [rec(), rec({ client: 'claude-cli', premium: 10 }), rec({ initiator: 'agent', premium: 0, t: day1 }), rec({ upstream_model: 'gpt-4.1', premium: 0, status: 500 }), rec({ premium: null })];
  const byClient = totalsBy(rs, 'client');
  assert.deepEqual(byClient.map((t) => [t.key, t.requests, t.premium, t.premiumUnknown]), [['claude-cli', 1, 10, 0], ['openai-node', 4, 1, 1]]);
  const byModel = totalsBy(rs, 'model');
  assert.deepEqual(byModel.map((t) => [t.key, t.requests, t.errors]), [['claude-sonnet-4', 4, 0], ['gpt-4.1', 1, 1]]);
  assert.deepEqual(totalsBy(rs, 'day').map((t) => t.key), [dayOf(day1), dayOf(rs[0]!.t)]);
  assert.deepEqual(totalsBy(rs, 'initiator').map((t) => [t.key, t.requests]), [['user', 4], ['agent', 1]]);
  assert.equal(byModel[0]!.promptTokens, 40);
});

test('--since: 7d, 24h, 30m, a date; anything else is refused', () => {
  const now = Date.UTC(2026, 10, 30);
  assert.equal(parseSince('7d', now), now - 7 * 86_400_000);
  assert.equal(parseSince('24h', now), now - 86_400_000);
  assert.equal(parseSince('30m', now), now - 1_800_000);
  assert.equal(parseSince('2026-11-01', now), Date.parse('2026-11-01'));
  assert.equal(parseSince('soon', now), null);
});

test('the store: batched appends to a 0600 file a day in a 0700 dir; survives a restart and a line torn by a kill; drops what is past retention', () => {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gcs-usage-')), 'usage');
  const now = Date.UTC(2026, 10, 30, 12);
  const a = openUsageStore({ dir, now: () => now, flushMs: 60_000 });
  a.add(rec({ t: now }));
  a.add(rec({ t: now, client: 'claude-cli' }));
  // Written as each request ends (one append each): a kill -9 now would lose nothing answered.
  assert.equal(readUsage(dir, now - 1).length, 2, 'both on disk before close');
  a.close();
  const file = path.join(dir, `${dayOf(now)}.jsonl`);
  assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  // A kill mid-write leaves half a line; the next process's records still count.
  fs.appendFileSync(file, '{"t":17964');
  // A file from 100 days ago goes at the next flush.
  const old = path.join(dir, `${dayOf(now - 100 * 86_400_000)}.jsonl`);
  fs.writeFileSync(old, `${JSON.stringify(rec({ t: now - 100 * 86_400_000 }))}\n`);
  const b = openUsageStore({ dir, now: () => now, flushMs: 60_000 });
  b.add(rec({ t: now, client: 'codex' }));
  b.close();
  assert.deepEqual(readUsage(dir, now - 86_400_000).map((r) => r.client), ['openai-node', 'claude-cli', 'codex']);
  assert.equal(fs.existsSync(old), false, 'past the 90 days kept');
  assert.deepEqual(readUsage(dir, now + 1), [], 'since filters by time');
});

test('the store bounds its queue when the disk stops taking writes', () => {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gcs-usage-')), 'usage');
  let errors = 0;
  // A file where the dir should be: every write fails.
  fs.writeFileSync(dir, 'a file where the dir should be');
  const s = openUsageStore({ dir, flushMs: 60_000, maxQueued: 3, onError: () => (errors += 1) });
  for (let i = 0; i < 5; i++) s.add(rec());
  assert.equal(s.dropped, 2, 'three wait, the two oldest are dropped and counted');
  s.close();
  assert.equal(errors, 1, 'a write failure is reported (once)');
  // The disk takes writes again: what waited goes out.
  fs.rmSync(dir);
  const again = openUsageStore({ dir, flushMs: 60_000 });
  again.add(rec());
  again.close();
  assert.equal(readUsage(dir, 0).length, 1);
});

test('the quota snapshot header moves the remaining count; unlimited and malformed headers', async () => {
  const { applyQuotaSnapshot } = await import('../upstream/github-client.ts');
  const { periodStart } = await import('../proxy/routes/usage.ts');
  const cur = { plan: 'individual', entitlement: 300, remaining: 240, percentRemaining: 80, unlimited: false, resetDate: '2026-12-01' };
  assert.deepEqual(applyQuotaSnapshot('ent=300&ov=0.0&ovPerm=false&rem=79.7&rst=2026-12-01T00%3A00%3A00Z', cur), { ...cur, remaining: 239, percentRemaining: 79.7 });
  assert.equal(applyQuotaSnapshot('ent=-1&ov=0.0&ovPerm=false&rem=100.0&rst=2026-12-01T00%3A00%3A00Z', cur)?.unlimited, true);
  assert.equal(applyQuotaSnapshot('garbage', cur), null);
  assert.equal(applyQuotaSnapshot(undefined, cur), null);
  assert.equal(periodStart('2026-12-01', Date.UTC(2026, 10, 30)), Date.UTC(2026, 10, 1));
  assert.equal(periodStart(null, Date.UTC(2026, 10, 30)), Date.UTC(2026, 9, 31));
});

test('the live feed: a bounded ring of the last records, a bounded set of listeners, a throwing listener dropped', async () => {
  const { createUsageFeed } = await import('./feed.ts');
  const feed = createUsageFeed({ limit: 3, maxListeners: 2 });
  const seen: string[] = [];
  const off = feed.subscribe((r) => seen.push(r.client));
  assert.ok(off);
  assert.ok(
    feed.subscribe(() => {
      throw new Error('broken listener');
    }),
  );
  assert.equal(feed.subscribe(() => undefined), null, 'a third listener is refused');
  for (const c of ['a', 'b', 'c', 'd']) feed.push(rec({ client: c }));
  assert.deepEqual(feed.recent().map((r) => r.client), ['b', 'c', 'd']);
  assert.deepEqual(seen, ['a', 'b', 'c', 'd']);
  assert.equal(feed.listeners, 1, 'the throwing one is gone');
  off?.();
  assert.equal(feed.listeners, 0);
  // Closing ends every listener's stream, and nobody may listen afterwards.
  let ended = 0;
  feed.subscribe(() => undefined, () => ended++);
  feed.subscribe(() => undefined, () => ended++);
  feed.close();
  assert.equal(ended, 2);
  assert.equal(feed.listeners, 0);
  assert.equal(feed.subscribe(() => undefined), null);
});

test('local totals for /usage: today, the period, and every one of the chart days (empty ones listed too)', async () => {
  const { localUsage, usageBodySchema } = await import('./api.ts');
  const now = new Date(2026, 10, 30, 15).getTime();
  const day = 86_400_000;
  const records = [
    rec({ t: now - 1000, client: 'codex' }),
    rec({ t: now - 2 * day, client: 'claude-cli', premium: 0, initiator: 'agent' }),
    rec({ t: now - 40 * day, client: 'old' }),
  ];
  const midnight = new Date(2026, 10, 30).getTime();
  const l = localUsage(tallyDays(records), { today: midnight, period: now - 30 * day, now, days: 30, allowance: { credits: null, source: null } });
  assert.deepEqual(l.today.byClient.map((t) => t.key), ['codex']);
  assert.deepEqual(l.period.byClient.map((t) => [t.key, t.premium]), [['codex', 1], ['claude-cli', 0]]);
  assert.equal(l.days.length, 30);
  assert.equal(l.days[0]?.day, dayOf(now - 29 * day));
  assert.equal(l.days[29]?.day, dayOf(now));
  assert.deepEqual(l.days[27]?.byClient.map((t) => t.key), ['claude-cli']);
  assert.equal(l.days.filter((d) => d.byModel.length > 0).length, 2, 'the 40-day-old record is outside the chart');
  // What the route sends is what the schema reads back.
  assert.ok(usageBodySchema.safeParse({ plan: null, entitlement: 300, remaining: 1, percentRemaining: 0.3, unlimited: false, resetDate: null, quotaError: null, local: l }).success);
});

test('the premium line: the same words in the tray and on the dashboard', async () => {
  const { premiumLine } = await import('./api.ts');
  assert.equal(premiumLine({ remaining: 239.6, entitlement: 300, unlimited: false, resetDate: '2026-12-01T00:00:00Z' }), 'Premium requests: 239 of 300 left (resets 2026-12-01)');
  assert.equal(premiumLine({ remaining: -3, entitlement: 300, unlimited: false, resetDate: null }), 'Premium requests: 0 of 300 left');
  assert.equal(premiumLine({ remaining: null, entitlement: null, unlimited: false, resetDate: null }), 'Premium requests: ? left');
  assert.equal(premiumLine({ remaining: null, entitlement: null, unlimited: true, resetDate: '2026-12-01' }), 'Premium requests: unlimited');
});

test('daily roll-ups: the same totals as reading every record, and a file is read again only where it grew', async () => {
  const { createUsageRollups } = await import('./rollup.ts');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gcs-rollup-'));
  try {
    const day = 86_400_000;
    const now = new Date(2026, 10, 30, 15).getTime();
    const write = (t: number, rs: UsageRecord[], tail = '') => fs.appendFileSync(path.join(dir, `${dayOf(t)}.jsonl`), rs.map((r) => `${JSON.stringify(r)}\n`).join('') + tail);
    write(now - 3 * day, [rec({ t: now - 3 * day, client: 'old' })]);
    write(now - day, [rec({ t: now - day, client: 'codex' }), rec({ t: now - day, client: 'codex', status: 500, premium: 0 })]);
    write(now, [rec({ t: now, client: 'claude-cli', upstream_model: 'gpt-4.1', premium: 0 })]);
    const rollups = createUsageRollups(dir);
    const first = dayOf(now - 2 * day);
    const totals = async () => {
      const days = await rollups.days(first);
      const { mergeTotals, sortedTotals } = await import('./record.ts');
      return { days: days.map((d) => d.day), byClient: sortedTotals(mergeTotals(days.map((d) => d.byClient)), 'client') };
    };
    const fresh = () => totalsBy(readUsage(dir, new Date(`${first}T00:00:00`).getTime()), 'client');
    assert.deepEqual((await totals()).days, [dayOf(now - day), dayOf(now)], 'days before the first are left out');
    assert.deepEqual((await totals()).byClient, fresh());

    // Today's file grows: the new lines count, once; a half-written last line waits for its newline.
    write(now, [rec({ t: now + 1, client: 'codex' })], '{"t":1,"client":"torn');
    assert.deepEqual((await totals()).byClient, fresh());
    assert.equal((await totals()).byClient.find((t) => t.key === 'codex')?.requests, 3);
    // The store closes a torn line off with a newline before it appends again: the torn line is skipped, the new one counted.
    fs.appendFileSync(path.join(dir, `${dayOf(now)}.jsonl`), `\n${JSON.stringify(rec({ t: now + 3, client: 'opencode' }))}\n`);
    const after = await totals();
    assert.deepEqual(after.byClient, fresh());
    assert.equal(after.byClient.find((t) => t.key === 'opencode')?.requests, 1);
    assert.equal(after.byClient.reduce((n, t) => n + t.requests, 0), 5, 'the torn line is not a record');

    // A file replaced (smaller than what was counted) is counted again; a pruned file is gone.
    fs.writeFileSync(path.join(dir, `${dayOf(now - day)}.jsonl`), `${JSON.stringify(rec({ t: now - day, client: 'curl' }))}\n`);
    fs.rmSync(path.join(dir, `${dayOf(now)}.jsonl`));
    const replaced = await totals();
    assert.deepEqual(replaced.days, [dayOf(now - day)]);
    assert.deepEqual(replaced.byClient.map((t) => [t.key, t.requests]), [['curl', 1]]);

    // One file per turn of the event loop: something queued meanwhile runs before the answer.
    let ran = false;
    setImmediate(() => (ran = true));
    await createUsageRollups(dir).days(first);
    assert.equal(ran, true);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the writer keeps only what the readers count: long strings are cut to the bounds, a record that still would not read back is not written', () => {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gcs-usage-')), 'usage');
  const now = Date.UTC(2026, 11, 3, 12);
  const s = openUsageStore({ dir, now: () => now, flushMs: 60_000 });
  s.add(rec({ t: now, model: `claude-${'9'.repeat(5000)}`, upstream_model: 'x'.repeat(300), client: 'c'.repeat(500), route: `/v1/${'r'.repeat(300)}` }));
  s.add(rec({ t: now, duration_ms: -5 }));
  s.add(rec({ t: now, client: '' }));
  s.close();
  const lines = fs.readFileSync(path.join(dir, `${dayOf(now)}.jsonl`), 'utf8').trim().split('\n');
  assert.equal(lines.length, 2, 'the negative duration is not written');
  const read = readUsage(dir, now - 1000);
  assert.equal(read.length, lines.length, 'every line written is counted');
  assert.equal(read[0]?.model?.length, RECORD_BOUNDS.model);
  assert.equal(read[0]?.client.length, RECORD_BOUNDS.client);
  assert.equal(read[1]?.client, 'unknown');
  assert.equal(s.dropped, 1);
  assert.deepEqual(fitRecord(rec({ t: now })), rec({ t: now }));
  // A line an older writer wrote with longer strings is still read, cut to the bounds, and counted.
  fs.appendFileSync(path.join(dir, `${dayOf(now)}.jsonl`), `${JSON.stringify({ ...rec({ t: now }), model: 'm'.repeat(300), client: 'c'.repeat(500), route: 'r'.repeat(300) })}\n`);
  assert.equal(readUsage(dir, now - 1000).length, 3);
});

test('credits and periods as people read them: a cost under a hundredth is "<0.01", not "0"; --since as words', () => {
  assert.deepEqual([0, 0.0036, 0.005, 0.0109, 1234.4].map(formatCredits), ['0', '<0.01', '0.01', '0.01', '1,234']);
  assert.deepEqual(['30d', '1d', '24h', '30m', '2026-11-01'].map(sinceWords), ['last 30 days', 'last 1 day', 'last 24 hours', 'last 30 minutes', 'since 2026-11-01']);
});
