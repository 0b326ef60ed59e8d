/**
 * Soak check (issue 5): N mixed requests (stream and non-stream, some failing via
 * the fake upstream) through the real proxy runtime on loopback, with bounded
 * client concurrency. Afterwards it prints throughput, latency, upstream sockets
 * vs the pool bound, heap before/after (after GC), unhandled rejections and log
 * lines the run did not cause, and returns whether every check passed.
 *
 * The fake upstream runs in its own process (test/fake-upstream/serve.ts) so its
 * memory (it records every request) does not blur the proxy's heap figures.
 * Run through `npm run bench` (node --expose-gc).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { loadConfig } from '../src/config/load.ts';
import { createLogger } from '../src/log.ts';
import { startRuntime } from '../src/proxy/run.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface SoakOptions {
  requests: number;
  concurrency: number;
  warmup: number;
  /** One injected upstream fault every `faultEvery` requests. */
  faultEvery: number;
  /** Per-request client deadline: a request still open after it counts as hung. */
  hangMs: number;
}

export const DEFAULT_SOAK: SoakOptions = { requests: 10_000, concurrency: 32, warmup: 500, faultEvery: 40, hangMs: 30_000 };

interface Fake {
  url: string;
  child: ChildProcess;
  control(route: string, body?: unknown): Promise<unknown>;
  stop(): Promise<void>;
}

async function startFake(githubToken: string): Promise<Fake> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/fake-upstream/serve.ts', '--port', '0', '--chunk-delay', '1', '--github-token', githubToken], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const onData = (b: Buffer) => {
      out += b.toString();
      const m = /FAKE_UPSTREAM_URL=(\S+)/.exec(out);
      if (m?.[1]) {
        child.stdout?.off('data', onData);
        resolve(m[1]);
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`fake upstream exited early (code ${code})`)));
  });
  child.stdout?.resume();
  // One socket for control calls, so the upstream socket count stays readable.
  const controlPool = new Pool(url, { connections: 1 });
  return {
    url,
    child,
    async control(route, body) {
      const get = route === 'state';
      const res = await controlPool.request({
        path: `/__fake/${route}`,
        method: get ? 'GET' : 'POST',
        headers: { 'content-type': 'application/json' },
        body: get ? undefined : JSON.stringify(body ?? {}),
      });
      return res.body.json();
    },
    stop: () =>
      new Promise<void>((resolve) => {
        void controlPool.close().catch(() => undefined);
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** The fault whose plain answers the proxy refuses with 502 upstream_malformed (#20). */
const MALFORMED_FAULT = 'malformed SSE line';

/** The faults the soak injects, in rotation; each is taken by the next chat request to reach the fake. */
const FAULTS: Array<{ name: string; route: 'fail' | 'fault'; body: Record<string, unknown> }> = [
  { name: '503 (retried)', route: 'fail', body: { n: 1, status: 503, body: { error: { message: 'busy', code: 'unavailable' } }, path: '/chat/completions' } },
  { name: '429 Retry-After 0 (retried)', route: 'fail', body: { n: 1, status: 429, headers: { 'retry-after': '0' }, body: { error: { message: 'slow down', code: 'rate_limited' } }, path: '/chat/completions' } },
  { name: '400 (passed to the client)', route: 'fail', body: { n: 1, status: 400, body: { error: { message: 'bad', code: 'invalid' } }, path: '/chat/completions' } },
  { name: 'reset before headers (retried)', route: 'fault', body: { n: 1, kind: 'reset-before-headers', path: '/chat/completions' } },
  { name: 'reset mid-stream', route: 'fault', body: { n: 1, kind: 'reset-mid-stream', path: '/chat/completions' } },
  { name: MALFORMED_FAULT, route: 'fault', body: { n: 1, kind: 'malformed-sse', path: '/chat/completions' } },
];

type Outcome = 'ok' | 'client_error' | 'malformed_502' | 'stream_error_event' | 'unexpected';

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

async function heapAfterGc(): Promise<number> {
  const gc = globalThis.gc;
  if (!gc) throw new Error('run with node --expose-gc (npm run bench does)');
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 50));
  }
  return process.memoryUsage().heapUsed;
}

const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;

export async function runSoak(opts: SoakOptions = DEFAULT_SOAK, print: (line: string) => void = console.log): Promise<boolean> {
  let unhandled = 0;
  const onUnhandled = (reason: unknown) => {
    unhandled += 1;
    print(`UNHANDLED REJECTION: ${reason instanceof Error ? reason.stack : String(reason)}`);
  };
  process.on('unhandledRejection', onUnhandled);

  const githubToken = `gho_soak${'x'.repeat(32)}`;
  const fake = await startFake(githubToken);
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'gcs-soak-'));
  fs.writeFileSync(path.join(home, 'config.json'), JSON.stringify({ port: 0, log_level: 'warn' }), { mode: 0o600 });
  const env: NodeJS.ProcessEnv = {
    GITHUB_COPILOT_SVCS_HOME: home,
    GITHUB_COPILOT_SVCS_GITHUB_URL: fake.url,
    GITHUB_COPILOT_SVCS_GITHUB_API_URL: fake.url,
    GITHUB_COPILOT_SVCS_KEYCHAIN: 'off',
    GITHUB_COPILOT_SVCS_GITHUB_TOKEN: githubToken,
  };
  const config = loadConfig({ env });
  const log = createLogger({ level: config.log_level, file: config.paths.logFile, console: false, scope: 'proxy' });
  const runtime = await startRuntime({ config, log, autoSignIn: false, env, resilience: { retryDelaysMs: [5, 10, 20], retryAfterCapMs: 1000 } });
  const client = new Pool(runtime.proxy.url, { connections: opts.concurrency, pipelining: 1 });

  const outcomes: Record<Outcome, number> = { ok: 0, client_error: 0, malformed_502: 0, stream_error_event: 0, unexpected: 0 };
  const unexpected: string[] = [];
  const faultsInjected: Record<string, number> = {};

  async function one(i: number, latencies: number[] | undefined): Promise<void> {
    const stream = i % 2 === 0;
    const body = JSON.stringify({
      model: 'gpt-4.1',
      stream,
      messages: [{ role: 'user', content: `soak request ${i} with a few words to echo back` }],
      ...(stream && i % 4 === 0 ? { stream_options: { include_usage: true } } : {}),
    });
    const t0 = performance.now();
    let outcome: Outcome = 'unexpected';
    let detail = '';
    try {
      const res = await client.request({
        path: '/v1/chat/completions',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(opts.hangMs),
      });
      const text = await res.body.text();
      if (res.statusCode === 400) outcome = 'client_error';
      // A plain answer that is not JSON (the malformed fault hit a non-stream request): 502 upstream_malformed, never a 200 (#20).
      else if (res.statusCode === 502 && !stream && text.includes('"code":"upstream_malformed"')) outcome = 'malformed_502';
      else if (res.statusCode !== 200) detail = `HTTP ${res.statusCode}: ${text.slice(0, 200)}`;
      else if (!stream) outcome = text.includes(`Echo: soak request ${i} `) ? 'ok' : ((detail = `bad body: ${text.slice(0, 200)}`), 'unexpected');
      else if (text.includes('data: {"error"')) outcome = text.trimEnd().endsWith('}') ? 'stream_error_event' : ((detail = 'error event not last'), 'unexpected');
      else outcome = text.includes('data: [DONE]') ? 'ok' : ((detail = `stream without [DONE]: ${text.slice(-200)}`), 'unexpected');
    } catch (err) {
      detail = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    }
    latencies?.push(performance.now() - t0);
    outcomes[outcome] += 1;
    if (outcome === 'unexpected' && unexpected.length < 20) unexpected.push(`#${i} ${stream ? 'stream' : 'json'}: ${detail}`);
  }

  async function drive(count: number, offset: number, latencies: number[] | undefined, inject: boolean): Promise<void> {
    let next = 0;
    let faultIx = 0;
    const worker = async () => {
      for (;;) {
        const i = next++;
        if (i >= count) return;
        if (inject && i % opts.faultEvery === opts.faultEvery - 1) {
          const f = FAULTS[faultIx++ % FAULTS.length];
          if (f) {
            faultsInjected[f.name] = (faultsInjected[f.name] ?? 0) + 1;
            await fake.control(f.route, f.body);
          }
        }
        // The fake records every request; keep its memory flat too.
        if (i % 2000 === 1999) await fake.control('clear');
        await one(offset + i, latencies);
      }
    };
    await Promise.all(Array.from({ length: opts.concurrency }, worker));
  }

  let ok = true;
  try {
    // Warm-up: JIT, pools, caches. Heap "before" is measured after it.
    await drive(opts.warmup, 1_000_000, undefined, false);
    for (const k of Object.keys(outcomes) as Outcome[]) outcomes[k] = 0;
    const heapBefore = await heapAfterGc();

    const latencies: number[] = [];
    const t0 = performance.now();
    await drive(opts.requests, 0, latencies, true);
    const elapsedS = (performance.now() - t0) / 1000;

    // Let sockets settle, then measure.
    await new Promise((r) => setTimeout(r, 500));
    const gw = runtime.proxy.ctx.gateway.state();
    const fakeState = (await fake.control('state')) as { openConnections?: number; abortedRequests?: number };
    const serverConns = await new Promise<number>((resolve) => runtime.proxy.server.server.getConnections((_e, n) => resolve(n)));
    await client.close();
    const heapAfter = await heapAfterGc();

    const lines = fs.existsSync(config.paths.logFile) ? fs.readFileSync(config.paths.logFile, 'utf8').split('\n').filter(Boolean) : [];
    const expectedWarn = [/upstream attempt \d of \d failed/, /chat stream .* ended with an error/, /dropped \d+ malformed SSE event/];
    const errorLines = lines.filter((l) => l.includes('[error]'));
    const warnLines = lines.filter((l) => l.includes('[warn]'));
    const unexpectedWarn = warnLines.filter((l) => !expectedWarn.some((re) => re.test(l)));

    latencies.sort((a, b) => a - b);
    const heapDelta = (heapAfter - heapBefore) / heapBefore;
    const upstreamOpen = fakeState.openConnections ?? -1;
    const checks: Array<[string, boolean]> = [
      [`all ${opts.requests} requests answered, none hung or unexpected`, outcomes.unexpected === 0],
      [`502 upstream_malformed (${outcomes.malformed_502}) only as often as a malformed body was injected (${faultsInjected[MALFORMED_FAULT] ?? 0})`, outcomes.malformed_502 <= (faultsInjected[MALFORMED_FAULT] ?? 0)],
      ['no unhandled rejection', unhandled === 0],
      ['no error line in the log', errorLines.length === 0],
      ['no unexpected warning in the log', unexpectedWarn.length === 0],
      [`upstream sockets open (${upstreamOpen}) <= client concurrency (${opts.concurrency}) + 1 control socket`, upstreamOpen >= 0 && upstreamOpen <= opts.concurrency + 1],
      ['gateway idle afterwards (no slot or queue entry leaked)', gw.inFlight === 0 && gw.queued === 0],
      ['heap after within 10 % of before', heapDelta <= 0.1],
      ['circuit closed', gw.circuit === 'closed'],
    ];

    print('');
    print(`soak: ${opts.requests} requests (half streamed), client concurrency ${opts.concurrency}, one injected fault every ${opts.faultEvery}`);
    print(`  faults injected      ${Object.entries(faultsInjected).map(([k, v]) => `${k}: ${v}`).join(', ')}`);
    print(`  outcomes             ok ${outcomes.ok}, upstream 400 passed through ${outcomes.client_error}, malformed plain answers as 502 ${outcomes.malformed_502}, stream error events ${outcomes.stream_error_event}, unexpected ${outcomes.unexpected}`);
    print(`  throughput           ${(opts.requests / elapsedS).toFixed(0)} requests/s (${elapsedS.toFixed(1)} s)`);
    print(`  latency              p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms, max ${(latencies.at(-1) ?? 0).toFixed(1)} ms`);
    print(`  gateway              retries ${gw.retries}, failures ${gw.failures}, circuit ${gw.circuit} (opened ${gw.circuitOpens}x), in flight ${gw.inFlight}, queued ${gw.queued}`);
    print(`  upstream sockets     ${upstreamOpen} open on the fake (idle keep-alive incl.) vs bound ${opts.concurrency} (client concurrency) + 1 (the bench's control socket); upstream saw ${fakeState.abortedRequests ?? '?'} aborted since last clear`);
    print(`  proxy connections    ${serverConns} client connections open before the client pool closed`);
    print(`  heap (after GC)      before ${mb(heapBefore)}, after ${mb(heapAfter)} (${heapDelta >= 0 ? '+' : ''}${(heapDelta * 100).toFixed(1)} %)`);
    print(`  unhandled rejections ${unhandled}`);
    print(`  log                  ${errorLines.length} error line(s), ${warnLines.length} warning(s) caused by the injected faults, ${unexpectedWarn.length} unexpected`);
    for (const l of [...errorLines, ...unexpectedWarn].slice(0, 10)) print(`    ${l}`);
    for (const u of unexpected) print(`    unexpected: ${u}`);
    for (const [name, pass] of checks) {
      print(`  ${pass ? 'PASS' : 'FAIL'} ${name}`);
      if (!pass) ok = false;
    }
  } finally {
    await client.close().catch(() => undefined);
    await runtime.shutdown(2000);
    await fake.stop();
    fs.rmSync(home, { recursive: true, force: true });
    process.off('unhandledRejection', onUnhandled);
  }
  return ok;
}
