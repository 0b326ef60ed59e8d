import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { z } from 'zod';
import { DASHBOARD_FILES } from '../../src/proxy/routes/dashboard.ts';
import { creditsLine, formatCredits, usageBodySchema } from '../../src/usage/api.ts';
import { creditsOf, dayOf, type UsageRecord } from '../../src/usage/record.ts';
import { errors } from '../fake-upstream/errors.ts';
import { startHarness, type Harness } from '../helpers/harness.ts';

/**
 * The dashboard in a real browser: Debian's Chromium driven by playwright-core
 * (no browser download), against the real proxy and the fake upstream.
 */

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const ARTIFACTS = path.join(ROOT, 'test-artifacts');
// The proxy runs in this process: "Set up" writes client configs under this HOME, never the user's.
const SETUP_HOME = fs.mkdtempSync(path.join(os.tmpdir(), 'gcs-dash-home-'));
process.env.HOME = SETUP_HOME;
process.env.XDG_CONFIG_HOME = path.join(SETUP_HOME, '.config');
delete process.env.CODEX_HOME;
delete process.env.CLAUDE_CONFIG_DIR;
const CHROMIUM = '/usr/bin/chromium';
// As root, on a machine whose only network is loopback: no sandbox, no background traffic.
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const navigationTiming = z.object({ responseEnd: z.number(), domContentLoadedEventEnd: z.number(), loadEventEnd: z.number() });

/** The page's navigation timing (ms from the start of the navigation, the page's own clock). */
async function timingOf(page: Page): Promise<z.infer<typeof navigationTiming>> {
  return navigationTiming.parse(JSON.parse(await page.evaluate<string>('JSON.stringify(performance.getEntriesByType("navigation")[0])')));
}

/** The least page a browser can load from loopback: the baseline the dashboard's load time is set beside. */
async function startBaselinePage(): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><title>baseline</title><p>baseline</p>'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, close: () => new Promise((r) => server.close(() => r())) };
}

interface Browser {
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught exceptions, as the page reported them. */
  errors: string[];
  close(): Promise<void>;
}

async function openBrowser(opts: { credentials?: { username: string; password: string } } = {}): Promise<Browser> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'gcs-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 900 },
    ...(opts.credentials ? { httpCredentials: opts.credentials } : {}),
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  return {
    context,
    page,
    errors,
    async close() {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** A record as the proxy writes it. */
function record(over: Partial<UsageRecord> & Pick<UsageRecord, 't'>): UsageRecord {
  return {
    client: 'codex',
    route: '/v1/responses',
    model: 'gpt-5-codex',
    upstream_model: 'gpt-5-codex',
    initiator: 'user',
    premium: 1,
    prompt_tokens: 1200,
    cached_tokens: 800,
    completion_tokens: 300,
    nano_aiu: 250_000_000,
    cost_source: 'copilot',
    status: 200,
    ttfb_ms: 400,
    duration_ms: 2100,
    stream: true,
    ...over,
  };
}

/** History as earlier days of use left it in <data dir>/usage/: three clients, three models, over 12 days. */
function seedHistory(home: string, now: number): UsageRecord[] {
  const dir = path.join(home, 'usage');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const out: UsageRecord[] = [];
  for (let daysAgo = 12; daysAgo >= 1; daysAgo--) {
    const t = now - daysAgo * 86_400_000;
    const day: UsageRecord[] = [
      record({ t, client: 'codex' }),
      record({ t: t + 1000, client: 'claude-cli', route: '/v1/messages', model: 'claude-sonnet-4', upstream_model: 'claude-sonnet-4', premium: daysAgo % 3 === 0 ? 0 : 1, initiator: daysAgo % 3 === 0 ? 'agent' : 'user' }),
      record({ t: t + 2000, client: 'opencode', route: '/v1/chat/completions', model: 'gpt-4.1', upstream_model: 'gpt-4.1', premium: 0 }),
    ];
    out.push(...day);
    fs.appendFileSync(path.join(dir, `${dayOf(t)}.jsonl`), day.map((r) => `${JSON.stringify(r)}\n`).join(''), { mode: 0o600 });
  }
  return out;
}

before(() => {
  assert.ok(fs.existsSync(CHROMIUM), `Debian's chromium is installed at ${CHROMIUM} (apt-get install chromium; .ci/run does)`);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
});

test('the build wrote exactly the files the proxy serves', () => {
  assert.deepEqual(fs.readdirSync(path.join(ROOT, 'dist', 'dashboard')).sort(), [...DASHBOARD_FILES.keys()].sort());
});

describe('the dashboard, signed in, with history', () => {
  let h: Harness;
  let b: Browser;
  let seeded: UsageRecord[];
  let baseline: Awaited<ReturnType<typeof startBaselinePage>>;
  const load: Record<string, unknown> = {};
  before(async () => {
    h = await startHarness({ config: { monthly_credits: 1500 } });
    seeded = seedHistory(h.home, Date.now());
    baseline = await startBaselinePage();
    b = await openBrowser();
  });
  after(async () => {
    await b?.close();
    await baseline?.close();
    await h?.close();
    fs.writeFileSync(path.join(ARTIFACTS, 'dashboard-load.json'), `${JSON.stringify({ note: 'navigation timing in ms, same fresh Chromium profile; baseline = a one-line page from loopback', ...load }, null, 2)}\n`);
  });

  test('loads from the proxy with no console error, every part filled, nothing from another host', async () => {
    // First navigation of a fresh profile: a baseline page, then the dashboard (each cold for what it loads).
    await b.page.goto(baseline.url, { waitUntil: 'load' });
    load.baseline_first = await timingOf(b.page);
    const foreign: string[] = [];
    b.page.on('request', (r) => {
      if (!r.url().startsWith(h.url) && !r.url().startsWith('data:')) foreign.push(r.url());
    });
    const response = await b.page.goto(`${h.url}/`, { waitUntil: 'load' });
    assert.equal(response?.status(), 200);
    assert.match(response?.headers()['content-security-policy'] ?? '', /default-src 'none'.*frame-ancestors 'none'/);
    load.dashboard_first = await timingOf(b.page);
    await b.page.getByTestId('live-state').filter({ hasText: 'live' }).waitFor({ timeout: 10_000 });
    await b.page.getByTestId('premium-line').filter({ hasText: 'left' }).waitFor({ timeout: 10_000 });
    assert.equal(await b.page.getByTestId('status-pill').textContent(), 'running');
    assert.equal(await b.page.getByTestId('token-health').textContent(), '✅ Token is healthy');
    // The same words as the tray's menu line (usage/api.ts premiumLine): the fake's quota is 240 of 300, resetting 2026-12-01.
    assert.match((await b.page.getByTestId('premium-line').textContent()) ?? '', /^Premium requests: 240 of 300 left \(resets \d{4}-\d{2}-\d{2}\)$/);
    assert.match((await b.page.getByTestId('proxy-facts').textContent()) ?? '', /circuitclosed \(healthy\)/);
    assert.equal(await b.page.locator('#history-h').textContent(), 'Last 30 days');
    assert.equal(await b.page.locator('#live-h-text').textContent(), 'Last 200 requests');
    // The models table: Copilot's capabilities, limits and multipliers.
    const modelRow = b.page.getByTestId('models-table').locator('tr', { hasText: 'claude-sonnet-4' }).first();
    await modelRow.waitFor();
    assert.match((await modelRow.textContent()) ?? '', /Anthropic.*1×/);
    // Snippets for this proxy's own address, as tested with the real clients.
    assert.match((await b.page.locator('pre[data-snippet="codex"]').textContent()) ?? '', new RegExp(`base_url = "${h.url.replace('127.0.0.1', '127\\.0\\.0\\.1')}/v1"`));
    assert.deepEqual(foreign, [], 'nothing loaded from elsewhere');
    assert.deepEqual(b.errors, []);
  });

  test('the charts draw the seeded history per day, by model and by client', async () => {
    const rects = () => b.page.getByTestId('chart-model').locator('rect').evaluateAll((rs) => rs.map((r) => `${r.getAttribute('data-day')} ${r.getAttribute('data-key')}`));
    // AI credits (the default): every seeded request cost some.
    assert.equal(await b.page.locator('#chart-metric').inputValue(), 'credits');
    assert.deepEqual(new Set(await rects()), new Set(seeded.filter((r) => (r.nano_aiu ?? 0) > 0).map((r) => `${dayOf(r.t)} ${r.upstream_model}`)));
    await b.page.locator('#chart-metric').selectOption('premium');
    const models = await rects();
    // Premium by model: every seeded day has gpt-5-codex (1 each); claude-sonnet-4 only on user days; gpt-4.1 costs nothing.
    const premiumDays = new Set(seeded.filter((r) => (r.premium ?? 0) > 0).map((r) => `${dayOf(r.t)} ${r.upstream_model}`));
    assert.deepEqual(new Set(models), premiumDays);
    const legend = await b.page.locator('#legend-client li').allTextContents();
    assert.deepEqual(legend.sort(), ['claude-cli', 'codex']);
    // Tokens: every client shows, gpt-4.1's free requests included.
    await b.page.locator('#chart-metric').selectOption('tokens');
    assert.deepEqual((await b.page.locator('#legend-client li').allTextContents()).sort(), ['claude-cli', 'codex', 'opencode']);
    const byClientRects = await b.page.getByTestId('chart-client').locator('rect').count();
    assert.equal(byClientRects, 12 * 3, 'three clients on each of 12 days');
    await b.page.locator('#chart-metric').selectOption('premium');
  });

  test('the live table shows a request the OpenAI SDK makes meanwhile, and its filters work', async () => {
    const rows = b.page.getByTestId('live-table').locator('tbody tr');
    const before = await rows.count();
    const chargedBefore = h.fake.chargedNanoAiu;
    await h.openai.chat.completions.create({ model: 'claude-sonnet-4', messages: [{ role: 'user', content: 'hello from the SDK' }] });
    const row = b.page.getByTestId('live-table').locator('tbody tr[data-client="openai-node"]').first();
    await row.waitFor({ timeout: 10_000 });
    assert.equal(await rows.count(), before + 1);
    const cells = await row.locator('td').allTextContents();
    // Its cost in AI credits is what the fake charged for it, exactly (two decimals shown).
    const charged = h.fake.chargedNanoAiu - chargedBefore;
    assert.deepEqual(cells.slice(1, 7), ['openai-node', '/v1/chat/completions', 'claude-sonnet-4', 'user', formatCredits(creditsOf(charged)), '1']);
    assert.equal(cells[8], '200');
    // A streamed one from another client, then the client filter.
    const r = await fetch(`${h.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'curl/8.5.0' },
      body: JSON.stringify({ model: 'gpt-4.1', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    });
    await r.text();
    await b.page.getByTestId('live-table').locator('tbody tr[data-client="curl"]').waitFor({ timeout: 10_000 });
    await b.page.locator('#filter-client').selectOption('curl');
    assert.deepEqual(await rows.evaluateAll((trs) => trs.map((t) => t.getAttribute('data-client'))), ['curl']);
    await b.page.locator('#filter-client').selectOption('');
    // An upstream failure (Copilot's 400, relayed): shown as an error row; "errors only" keeps just it; the text filter finds by model.
    h.fake.failNext(1, { ...errors.badRequest('upstream says no'), path: '/chat/completions' });
    await assert.rejects(h.openai.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'fails' }] }));
    await b.page.getByTestId('live-table').locator('tbody tr.err').waitFor({ timeout: 10_000 });
    await b.page.locator('#filter-errors').check();
    assert.deepEqual(await rows.evaluateAll((trs) => trs.map((t) => t.querySelectorAll('td')[8]?.textContent)), ['400']);
    await b.page.locator('#filter-errors').uncheck();
    await b.page.locator('#filter-text').fill('sonnet');
    assert.deepEqual(await rows.evaluateAll((trs) => trs.map((t) => t.getAttribute('data-client'))), ['openai-node']);
    await b.page.locator('#filter-text').fill('');
    // The gauge and the premium line follow the quota header of the SDK's answer: one premium request spent.
    await b.page.getByTestId('premium-line').filter({ hasText: '239 of 300' }).waitFor({ timeout: 10_000 });
    // The credits gauge: this UTC month's seeded records plus everything the fake charged, to the last credit, in the tray's words.
    const monthStart = Date.parse(`${new Date().toISOString().slice(0, 7)}-01T00:00:00Z`);
    const expectedNano = seeded.filter((r) => r.t >= monthStart).reduce((n, r) => n + (r.nano_aiu ?? 0), 0) + h.fake.chargedNanoAiu;
    const usage = usageBodySchema.parse(await (await fetch(`${h.url}/usage`)).json());
    assert.equal(usage.local.credits.month.nanoAiu, expectedNano);
    await b.page.getByTestId('credits-line').filter({ hasText: creditsLine(usage.local.credits) }).waitFor({ timeout: 10_000 });
    assert.match(creditsLine(usage.local.credits), new RegExp(`^AI credits: ${formatCredits(creditsOf(expectedNano)).replace('.', '\\.')} of 1,500 used · resets \\w{3} 1$`));
    await b.page.screenshot({ path: path.join(ARTIFACTS, 'dashboard.png'), fullPage: true });
    assert.deepEqual(b.errors, []);
  });

  test('"Set up" beside the opencode snippet runs setup opencode (the CLI\'s code): the file is written and the route check shows', async () => {
    await b.page.locator('button[data-setup="opencode"]').click();
    await b.page.locator('[data-setup-result="opencode"]', { hasText: '✅ GET /v1/models lists' }).waitFor({ timeout: 20_000 });
    const file = path.join(SETUP_HOME, '.config', 'opencode', 'opencode.json');
    assert.match(fs.readFileSync(file, 'utf8'), /"copilot-proxy"/);
    assert.equal(await b.page.locator('button[data-setup="opencode"]').textContent(), 'Set up ✓');
    assert.deepEqual(b.errors, []);
  });

  test('a row the page cannot fully validate shows clipped; the rest of the snapshot stays (#20)', async () => {
    const feed = h.proxy.ctx.usageFeed;
    assert.ok(feed);
    const rows = b.page.getByTestId('live-table').locator('tbody tr');
    const good = feed.recent().length;
    // Straight into the feed (past the writer's fitRecord): a record from some other writer, with a field out of range.
    const odd = { ...feed.recent()[0], model: 'odd-model', duration_ms: -1 };
    Reflect.apply(feed.push, feed, [odd]);
    await b.page.getByTestId('live-table').locator('tbody tr', { hasText: 'odd-model (clipped)' }).waitFor({ timeout: 10_000 });
    // A fresh snapshot holding it: every other row is still there.
    await b.page.reload({ waitUntil: 'load' });
    await b.page.getByTestId('live-state').filter({ hasText: 'live' }).waitFor({ timeout: 10_000 });
    await b.page.getByTestId('live-table').locator('tbody tr', { hasText: 'odd-model (clipped)' }).waitFor({ timeout: 10_000 });
    assert.equal(await rows.count(), Math.min(good + 1, 200));
    assert.deepEqual(b.errors, []);
  });

  test('load time beside a baseline page, five times each, alternating (recorded, not asserted)', async () => {
    const base: number[] = [];
    const dash: number[] = [];
    for (let i = 0; i < 5; i++) {
      await b.page.goto(baseline.url, { waitUntil: 'load' });
      base.push((await timingOf(b.page)).loadEventEnd);
      await b.page.goto(`${h.url}/`, { waitUntil: 'load' });
      dash.push((await timingOf(b.page)).loadEventEnd);
    }
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? NaN;
    load.baseline_again_load_ms = base.map(Math.round);
    load.dashboard_again_load_ms = dash.map(Math.round);
    load.median_load_ms = { baseline: Math.round(median(base)), dashboard: Math.round(median(dash)) };
    assert.equal(dash.length, 5);
    assert.deepEqual(b.errors, []);
  });

  test('Copilot\'s weekly limit shows in the Proxy panel while it holds, in the tray\'s words', async () => {
    await b.page.goto(`${h.url}/`, { waitUntil: 'load' });
    await b.page.getByTestId('proxy-facts').filter({ hasText: 'Copilot limitnone' }).waitFor({ timeout: 10_000 });
    h.fake.usageLimit = { kind: 'weekly', untilMs: h.fake.clock.now() + 8000, plan: 'individual_pro', retryAfterHeader: true };
    await assert.rejects(h.openai.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'limited?' }] }));
    const facts = b.page.getByTestId('proxy-facts').filter({ hasText: /Copilot limit⚠️ Rate-limited \(weekly\) until \w{3} \d\d:\d\d \(user_weekly_rate_limited\)/ });
    await facts.waitFor({ timeout: 10_000 });
    assert.match((await b.page.getByTestId('status-pill').textContent()) ?? '', /degraded/);
    await b.page.getByTestId('proxy-facts').filter({ hasText: 'Copilot limitnone' }).waitFor({ timeout: 15_000 });
    assert.deepEqual(b.errors, []);
  });
});

describe('sign-in from the dashboard', () => {
  let h: Harness;
  let b: Browser;
  before(async () => {
    h = await startHarness({ githubToken: null });
    // GitHub answers "pending" until the test plays the user who entered the code.
    h.fake.deviceFlow.interval = 1;
    h.fake.deviceFlow.script = Array.from({ length: 1000 }, () => 'authorization_pending' as const);
    b = await openBrowser();
  });
  after(async () => {
    await b?.close();
    await h?.close();
  });

  test('the button shows the code; Cancel stops waiting; once a code is entered the page turns healthy', async () => {
    await b.page.goto(`${h.url}/`);
    await b.page.getByTestId('token-health').filter({ hasText: 'Not signed in' }).waitFor({ timeout: 10_000 });
    assert.equal(await b.page.getByTestId('status-pill').textContent(), 'needs sign-in');
    assert.match((await b.page.getByTestId('premium-line').textContent()) ?? '', /sign in to see them/);
    assert.equal(h.fake.counts.deviceCode, 0);
    const signIn = b.page.getByRole('button', { name: 'Sign in with GitHub' });
    await signIn.click();
    await b.page.getByTestId('sign-in-code').filter({ hasText: 'ABCD-1234' }).waitFor({ timeout: 10_000 });
    assert.equal(h.fake.counts.deviceCode, 1, 'one code from GitHub');
    assert.match((await b.page.getByTestId('sign-in-box').textContent()) ?? '', /login\/device/);
    // Cancel: the proxy stops polling GitHub and the code goes away.
    await b.page.getByRole('button', { name: 'Cancel' }).click();
    await b.page.getByTestId('sign-in-box').waitFor({ state: 'hidden', timeout: 10_000 });
    const polls = h.fake.deviceFlow.polls.length;
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(h.fake.deviceFlow.polls.length, polls, 'no more polls after Cancel');
    // Again, and this time the user enters the code.
    await signIn.click();
    await b.page.getByTestId('sign-in-code').filter({ hasText: 'ABCD-1234' }).waitFor({ timeout: 10_000 });
    assert.equal(h.fake.counts.deviceCode, 2);
    await b.page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-sign-in.png'), fullPage: false });
    h.fake.deviceFlow.script = [];
    await b.page.getByTestId('token-health').filter({ hasText: '✅ Token is healthy' }).waitFor({ timeout: 15_000 });
    assert.ok(await b.page.getByTestId('sign-in-box').isHidden());
    assert.equal(await b.page.getByTestId('status-pill').textContent(), 'running');
    // Signed in, the quota and the models load.
    await b.page.getByTestId('premium-line').filter({ hasText: 'of 300 left' }).waitFor({ timeout: 10_000 });
    await b.page.getByTestId('models-table').locator('tbody tr').first().waitFor({ timeout: 10_000 });
    assert.equal(h.fake.counts.deviceCode, 2);
    assert.deepEqual(b.errors, []);
  });
});

describe('a page on another origin', () => {
  let h: Harness;
  let b: Browser;
  let evil: http.Server;
  let evilUrl: string;
  before(async () => {
    h = await startHarness({ githubToken: null });
    h.fake.deviceFlow.script = Array.from({ length: 1000 }, () => 'authorization_pending' as const);
    // What any web site the user visits could run: read the dashboard and its data, start a sign-in, frame the page.
    const target = h.url.replace('127.0.0.1', 'localhost');
    const page = `<!doctype html><body><iframe id="f" src="${target}/"></iframe><script>
      const results = {};
      const tryRead = async (name, url, init) => {
        try { const r = await fetch(url, init); results[name] = 'read ' + r.status + ' ' + (await r.text()).slice(0, 40); }
        catch (e) { results[name] = 'blocked'; }
      };
      (async () => {
        await tryRead('page', '${target}/');
        await tryRead('health', '${target}/health');
        await tryRead('usage', '${target}/usage');
        await tryRead('signInJson', '${target}/admin/sign-in', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
        await tryRead('signInNoCors', '${target}/admin/sign-in', { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: '{}' });
        const form = document.createElement('form');
        form.method = 'POST'; form.action = '${target}/admin/sign-in'; form.enctype = 'text/plain'; form.target = 'sink';
        const i = document.createElement('input'); i.name = '{"a":"'; i.value = '"}'; form.append(i);
        const sink = document.createElement('iframe'); sink.name = 'sink'; document.body.append(sink, form);
        form.submit();
        setTimeout(() => { document.title = 'done'; window.results = results; }, 1500);
      })();
    </script></body>`;
    evil = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(page));
    await new Promise<void>((r) => evil.listen(0, '127.0.0.1', r));
    evilUrl = `http://127.0.0.1:${(evil.address() as AddressInfo).port}/`;
    b = await openBrowser();
  });
  after(async () => {
    await b?.close();
    await new Promise((r) => evil?.close(r));
    await h?.close();
  });

  test('cannot read the dashboard or its data, cannot start a sign-in, cannot frame it', async () => {
    const proxyHits: string[] = [];
    b.page.on('response', (r) => {
      if (r.url().startsWith(h.url.replace('127.0.0.1', 'localhost'))) proxyHits.push(`${r.request().method()} ${new URL(r.url()).pathname} ${r.status()}`);
    });
    await b.page.goto(evilUrl);
    await b.page.waitForFunction('document.title === "done"', undefined, { timeout: 15_000 });
    const results = await b.page.evaluate<string>('JSON.stringify(window.results)');
    assert.deepEqual(JSON.parse(results), { page: 'blocked', health: 'blocked', usage: 'blocked', signInJson: 'blocked', signInNoCors: 'blocked' });
    // Every request that reached the proxy was refused before a route ran (403 origin / cross-site).
    for (const hit of proxyHits) assert.match(hit, / 403$/, proxyHits.join('\n'));
    assert.equal(h.fake.counts.deviceCode, 0, 'no sign-in was started');
    // The framed dashboard rendered nothing of ours.
    const frame = b.page.frames().find((f) => f.url().includes('localhost'));
    const framed = frame ? await frame.locator('[data-testid="token-health"]').count().catch(() => 0) : 0;
    assert.equal(framed, 0);
  });
});

describe('with api_key set', () => {
  const KEY = 'dashboard-test-key';
  let h: Harness;
  before(async () => {
    h = await startHarness({ config: { api_key: KEY } });
  });
  after(async () => h?.close());

  test('the browser is asked for the key (HTTP Basic, key as password); with it the page and its live feed work', async () => {
    const bare = await fetch(`${h.url}/`);
    assert.equal(bare.status, 401);
    assert.match(bare.headers.get('www-authenticate') ?? '', /^Basic realm=/);
    const api = await fetch(`${h.url}/v1/models`);
    assert.match(api.headers.get('www-authenticate') ?? '', /^Bearer realm=/, 'API clients are still told Bearer');
    const wrong = await openBrowser({ credentials: { username: 'me', password: 'wrong' } });
    try {
      const r = await wrong.page.goto(`${h.url}/`);
      assert.equal(r?.status(), 401);
    } finally {
      await wrong.close();
    }
    const b = await openBrowser({ credentials: { username: 'me', password: KEY } });
    try {
      const r = await b.page.goto(`${h.url}/`);
      assert.equal(r?.status(), 200);
      await b.page.getByTestId('live-state').filter({ hasText: 'live' }).waitFor({ timeout: 10_000 });
      await h.openai.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }] });
      await b.page.getByTestId('live-table').locator('tbody tr[data-client="openai-node"]').waitFor({ timeout: 10_000 });
      assert.equal(await b.page.getByTestId('token-health').textContent(), '✅ Token is healthy');
      assert.deepEqual(b.errors, []);
    } finally {
      await b.close();
    }
  });
});
