import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Socket } from 'node:net';
import { assertLoopback } from '../../src/proxy/routes/admin.ts';
import { redactingLines } from '../../src/proxy/routes/debug.ts';
import { startHarness, type Harness } from '../helpers/harness.ts';
import { assertOpenAIError, isRecord, request } from './util.ts';

describe('/debug/* (profiling, loopback only, debug_endpoints)', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.close();
  });

  test('on by default when bound to loopback; /debug lists the endpoints', async () => {
    assert.equal(h.runtime.config.debug_endpoints, true);
    const r = await request(h.url, { path: '/debug' });
    assert.equal(r.status, 200);
    const body = r.json();
    assert.ok(isRecord(body) && isRecord(body.endpoints));
    assert.ok('/debug/heap-snapshot' in body.endpoints);
  });

  test('CPU profile for N seconds: a .cpuprofile Chrome DevTools opens (nodes, samples, startTime, endTime)', async () => {
    const started = Date.now();
    const r = await request(h.url, { path: '/debug/cpu-profile?seconds=0.5' });
    assert.equal(r.status, 200);
    assert.ok(Date.now() - started >= 450, 'profiled for the time asked');
    assert.match(String(r.headers['content-disposition']), /attachment; filename="github-copilot-svcs-.*\.cpuprofile"/);
    const p = r.json();
    assert.ok(isRecord(p));
    assert.ok(Array.isArray(p.nodes) && p.nodes.length > 0);
    assert.ok(Array.isArray(p.samples));
    assert.ok(Array.isArray(p.timeDeltas));
    assert.equal(typeof p.startTime, 'number');
    assert.equal(typeof p.endTime, 'number');
    assert.ok((p.endTime as number) > (p.startTime as number));
    const root = p.nodes[0];
    assert.ok(isRecord(root) && isRecord(root.callFrame) && root.callFrame.functionName === '(root)');
  });

  test('bad seconds: 400; a second profile while one runs: 409', async () => {
    for (const s of ['0', 'abc', '1000', '-1']) {
      const r = await request(h.url, { path: `/debug/cpu-profile?seconds=${s}` });
      assert.equal(r.status, 400, s);
      assertOpenAIError(r.json());
    }
    const first = request(h.url, { path: '/debug/cpu-profile?seconds=0.6' });
    await new Promise((r) => setTimeout(r, 150));
    const second = await request(h.url, { path: '/debug/cpu-profile?seconds=0.1' });
    assert.equal(second.status, 409);
    assert.equal((await first).status, 200);
  });

  test('heap snapshot download: valid JSON with snapshot.meta, token-shaped strings cut', async () => {
    const r = await request(h.url, { path: '/debug/heap-snapshot' });
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-disposition']), /filename="github-copilot-svcs-.*\.heapsnapshot"/);
    const snap = r.json();
    assert.ok(isRecord(snap) && isRecord(snap.snapshot) && isRecord(snap.snapshot.meta));
    assert.ok(Array.isArray(snap.snapshot.meta.node_fields));
    assert.ok(Array.isArray(snap.nodes) && Array.isArray(snap.edges) && Array.isArray(snap.strings));
    assert.equal(typeof snap.snapshot.node_count, 'number');
    assert.equal(snap.nodes.length, (snap.snapshot.node_count as number) * snap.snapshot.meta.node_fields.length);
    // The test process holds the fake upstream too; the proxy's own token must not be in the download.
    assert.ok(!r.text.includes(h.githubToken), 'the GitHub token is redacted');
  });

  test('heap snapshot: every GitHub token this process has held is redacted, a 40-hex one without a gh*_ prefix included', async () => {
    // A classic 40-hex OAuth token (no gh*_ prefix, so no pattern catches it), then a new sign-in replaces it.
    const old = randomBytes(20).toString('hex');
    h.fake.addGithubToken(old);
    await h.runtime.tokens.setGithubToken(old);
    await h.runtime.tokens.setGithubToken(h.fake.createGithubToken());
    // The fake upstream in this same process still holds `old` in its memory, so the raw heap has it.
    const r = await request(h.url, { path: '/debug/heap-snapshot' });
    assert.equal(r.status, 200);
    assert.ok(!r.text.includes(old), 'a past token is redacted too');
    assert.ok(r.text.includes('[REDACTED]'));
  });

  test('one heap snapshot at a time: a second while one is written gets 409, the next after it 200', async () => {
    const [a, b] = await Promise.all([request(h.url, { path: '/debug/heap-snapshot' }), request(h.url, { path: '/debug/heap-snapshot' })]);
    assert.deepEqual([a.status, b.status].sort(), [200, 409]);
    const refused = a.status === 409 ? a : b;
    assert.equal(assertOpenAIError(refused.json()).code, 'snapshot_in_progress');
    assert.equal((await request(h.url, { path: '/debug/heap-snapshot' })).status, 200);
  });

  test('event-loop delay and active handles', async () => {
    const el = await request(h.url, { path: '/debug/event-loop?reset=1' });
    assert.equal(el.status, 200);
    const b = el.json();
    assert.ok(isRecord(b) && isRecord(b.delay_ms));
    for (const k of ['min', 'mean', 'p50', 'p99', 'max']) assert.equal(typeof b.delay_ms[k], 'number', k);
    assert.equal(typeof b.utilization, 'number');
    const handles = await request(h.url, { path: '/debug/handles' });
    const hb = handles.json();
    assert.ok(isRecord(hb) && Array.isArray(hb.resources) && typeof hb.total === 'number');
    assert.ok(hb.resources.includes('TCPServerWrap'), 'the listening socket is an active handle');
    const mem = (await request(h.url, { path: '/debug/memory' })).json();
    assert.ok(isRecord(mem) && isRecord(mem.memory) && typeof mem.memory.heapUsed === 'number');
  });

  test('assertLoopback refuses a non-loopback peer (unit: no second interface in tests)', () => {
    const run = (remoteAddress: string) => {
      try {
        assertLoopback({ socket: { remoteAddress } as Socket });
      } catch (err) {
        return err;
      }
      return true;
    };
    assert.equal(run('127.0.0.1'), true);
    assert.equal(run('::1'), true);
    assert.equal(run('::ffff:127.0.0.1'), true);
    const refused = run('192.168.1.20');
    assert.ok(refused instanceof Error && 'status' in refused && refused.status === 403);
  });

  test('redactingLines cuts secrets even when a chunk boundary splits them', async () => {
    const secret = ['gho', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'].join('_'); // built at run time: no token-shaped literal in the repo
    const t = redactingLines([secret]);
    const out: string[] = [];
    t.on('data', (d: Buffer | string) => out.push(String(d)));
    const text = `"a",\n"${secret}",\n"Bearer tid=0123abcd;exp=1;8kp=1:ff",\n"z"`;
    for (let i = 0; i < text.length; i += 7) t.write(Buffer.from(text.slice(i, i + 7)));
    t.end();
    await new Promise((r) => t.on('end', r));
    const joined = out.join('');
    assert.ok(!joined.includes('ABCDEFGHIJKLMNOP'));
    assert.ok(!joined.includes('0123abcd'));
    assert.equal(joined.split('\n').length, 4, 'lines kept');
  });
});

describe('/debug/* off', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ config: { debug_endpoints: false } });
  });
  after(async () => {
    await h.close();
  });

  test('debug_endpoints: false removes the routes (404)', async () => {
    for (const p of ['/debug', '/debug/heap-snapshot', '/debug/cpu-profile?seconds=1', '/debug/event-loop', '/debug/handles']) {
      const r = await request(h.url, { path: p });
      assert.equal(r.status, 404, p);
    }
  });
});
