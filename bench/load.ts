/**
 * `npm run bench -- load [--quick]`: what the proxy costs per request, each
 * figure beside calling the Copilot stand-in (bench/upstream.ts, TLS, its own
 * process) directly in the same run, in alternating rounds, medians. The proxy
 * is the built app (dist/, `run`), in its own process, at its default log level,
 * with the node options the tray gives its proxy child (PROXY_NODE_OPTIONS).
 *
 * - non-stream and stream (20 content events) at 1, 32 and 128 connections
 *   (wrk): req/s, p50/p99 latency, and the proxy's CPU ms per request
 *   (utime+stime from /proc/<pid>/stat before and after), with its peak RSS;
 * - 32 connections with a 10 ms upstream: throughput vs direct and added p99;
 * - paced streams: time to first event and per-event added delay, p50/p99
 *   (each event carries its send time);
 * - 1,000 concurrent paced streams for 30 s: errors, events lost, peak RSS,
 *   time to first event p50/p99 beside direct, event-loop delay p99 (the
 *   proxy's own, from /metrics);
 * - 400 concurrent 5 MB uploads: peak RSS and what each got.
 * Prints a table and writes bench-results/load.json. Linux only (/proc, wrk).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { PROXY_NODE_OPTIONS } from '../src/runtime/heap.ts';

const root = path.resolve(import.meta.dirname, '..');
const BIN = path.join(root, 'dist', 'github-copilot-svcs.mjs');
const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 1 : 3;
const SECS = quick ? 3 : 6;
const CLK_TCK = 100;

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
};
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

export function need(cmd: string, pkg: string): void {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
  } catch {
    throw new Error(`bench load needs ${cmd}: apt-get install ${pkg}`);
  }
}

// ---------------------------------------------------------------- processes

export interface Proc {
  child: ChildProcess;
  pid: number;
}

function cpuMs(pid: number): number {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 (utime, stime), counted from after the command name (field 3 is rest[0]).
  return ((Number(rest[11]) + Number(rest[12])) * 1000) / CLK_TCK;
}

function rssMb(pid: number, key: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`${key}:\\s+(\\d+)`).exec(s)?.[1] ?? NaN) / 1024;
}

/** Peak VmRSS of `pid` while `work` runs, sampled every 50 ms. */
async function peakRss<T>(pid: number, work: () => Promise<T>): Promise<{ result: T; peak: number }> {
  let peak = rssMb(pid);
  const t = setInterval(() => {
    try {
      peak = Math.max(peak, rssMb(pid));
    } catch {
      /* gone */
    }
  }, 50);
  try {
    return { result: await work(), peak };
  } finally {
    clearInterval(t);
  }
}

export async function waitLine(child: ChildProcess, re: RegExp, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error(`${what}: no start line in 20 s:\n${out}`)), 20_000);
    const on = (d: Buffer) => {
      out += d.toString();
      const m = re.exec(out);
      if (m?.[1]) {
        clearTimeout(t);
        resolve(m[1]);
      }
    };
    child.stdout?.on('data', on);
    child.stderr?.on('data', on);
    child.once('exit', (code) => reject(new Error(`${what} exited (${code}):\n${out}`)));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = http.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => (typeof a === 'object' && a !== null ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

async function waitHealthy(child: ChildProcess, url: string): Promise<void> {
  const until = Date.now() + 20_000;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`proxy exited (${child.exitCode}) before answering /health`);
    const ok = await new Promise<boolean>((resolve) => {
      http.get(`${url}/health`, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      }).on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('proxy: /health did not answer 200 in 20 s');
}

export async function stop(p: Proc | null): Promise<void> {
  if (!p || p.child.exitCode !== null) return;
  const gone = new Promise((r) => p.child.once('exit', r));
  p.child.kill('SIGTERM');
  const t = setTimeout(() => p.child.kill('SIGKILL'), 5000);
  await gone;
  clearTimeout(t);
}

// ---------------------------------------------------------------- setup

export const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gcs-bench-load-'));
/** Removes this bench's temporary files (certs, homes): for the other benches that borrow these helpers. */
export function removeBenchFiles(): void {
  fs.rmSync(tmp, { recursive: true, force: true });
}
export const cert = path.join(tmp, 'cert.pem');
/** The GitHub token every bench's proxy is signed in with: the stand-ins take any. */
export const BENCH_GITHUB_TOKEN = 'gho_bench-not-a-real-token';
const key = path.join(tmp, 'key.pem');

/** `extraSans`: more subjectAltName entries (bench/peers.ts: the real hosts' names, e.g. `DNS:api.github.com`). */
export function makeCert(extraSans: string[] = []): void {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', `subjectAltName=${['IP:127.0.0.1', ...extraSans].join(',')}`, '-keyout', key, '-out', cert], { stdio: 'ignore' });
}

export async function startUpstream(extraArgs: string[] = []): Promise<{ proc: Proc; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'bench', 'upstream.ts'), '--cert', cert, '--key', key, ...extraArgs], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await waitLine(child, /BENCH_UPSTREAM_URL=(\S+)/, 'bench upstream');
  return { proc: { child, pid: child.pid ?? 0 }, url };
}

/** BENCH_PROXY_ENV='{"GITHUB_COPILOT_SVCS_LOG_LEVEL":"warn"}' runs every proxy of the bench with other settings (to compare them). */
function benchProxyEnv(): NodeJS.ProcessEnv {
  const extra: unknown = JSON.parse(process.env.BENCH_PROXY_ENV ?? '{}');
  return typeof extra === 'object' && extra !== null ? Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, String(v)])) : {};
}

export async function startProxy(upstream: string, extraEnv: NodeJS.ProcessEnv = {}, nodeArgs: string[] = [], prepareHome?: (home: string) => void): Promise<{ proc: Proc; url: string }> {
  const home = fs.mkdtempSync(path.join(tmp, 'home-'));
  prepareHome?.(home);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    GITHUB_COPILOT_SVCS_HOME: home,
    GITHUB_COPILOT_SVCS_KEYCHAIN: 'off',
    GITHUB_COPILOT_SVCS_GITHUB_URL: upstream,
    GITHUB_COPILOT_SVCS_GITHUB_API_URL: upstream,
    GITHUB_COPILOT_SVCS_COPILOT_API_URL: upstream,
    GITHUB_COPILOT_SVCS_GITHUB_TOKEN: BENCH_GITHUB_TOKEN,
    NODE_EXTRA_CA_CERTS: cert,
    ...benchProxyEnv(),
    ...extraEnv,
  };
  // A port of our choosing, then /health: the "listening on" line is info-level, absent at log_level warn.
  const port = await freePort();
  const child = spawn(process.execPath, [...PROXY_NODE_OPTIONS, ...nodeArgs, BIN, 'run', '--port', String(port)], { cwd: '/', env, stdio: ['ignore', 'pipe', 'pipe'] });
  const url = `http://127.0.0.1:${port}`;
  await waitHealthy(child, url);
  // Drain its console so a full pipe never blocks it.
  child.stdout?.resume();
  child.stderr?.resume();
  return { proc: { child, pid: child.pid ?? 0 }, url };
}

export function configure(upstream: string, shape: { latencyMs?: number; chunks?: number; paceMs?: number; stamp?: boolean }): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = https.request(`${upstream}/__bench/config`, { method: 'POST', ca: fs.readFileSync(cert), headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve());
    });
    req.on('error', reject);
    req.end(JSON.stringify(shape));
  });
}

// ---------------------------------------------------------------- wrk

export interface WrkResult {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  bad: number;
}

function latencyMs(v: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(v);
  if (!m) return NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : n * 60_000;
}

function bodyFor(stream: boolean): string {
  return JSON.stringify({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'bench' }], stream });
}

export function wrk(url: string, stream: boolean, conns: number, secs: number): Promise<WrkResult> {
  const script = path.join(tmp, `post-${stream ? 's' : 'j'}.lua`);
  if (!fs.existsSync(script)) {
    fs.writeFileSync(script, `wrk.method = "POST"\nwrk.body = '${bodyFor(stream)}'\nwrk.headers["Content-Type"] = "application/json"\nwrk.headers["Authorization"] = "Bearer bench"\n`);
  }
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', ['-t', String(Math.min(conns, 2)), '-c', String(conns), '-d', `${secs}s`, '--latency', '-s', script, url], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`wrk exited ${code}:\n${out}`));
      const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
      const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
      const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
      const sockErr = sock ? Number(sock[1]) + Number(sock[2]) + Number(sock[3]) + Number(sock[4]) : 0;
      resolve({
        rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN),
        p50: latencyMs(/\s50%\s+(\S+)/.exec(out)?.[1] ?? ''),
        p99: latencyMs(/\s99%\s+(\S+)/.exec(out)?.[1] ?? ''),
        requests,
        bad: non2xx + sockErr,
      });
    });
  });
}

// ---------------------------------------------------------------- scenarios

interface LoadRow {
  scenario: string;
  direct: { rps: number; p50: number; p99: number };
  proxy: { rps: number; p50: number; p99: number; cpuMsPerReq: number; peakRssMb: number; bad: number; heapTotalMb: number; externalMb: number };
}

async function compare(name: string, upstream: string, proxy: { proc: Proc; url: string }, stream: boolean, conns: number): Promise<LoadRow> {
  const d: WrkResult[] = [];
  const p: WrkResult[] = [];
  const cpu: number[] = [];
  let peak = 0;
  let heap = { heapTotalMb: NaN, heapUsedMb: NaN, externalMb: NaN };
  // Warm-up: connections, JIT, the model list.
  await wrk(`${proxy.url}/v1/chat/completions`, stream, conns, 1);
  for (let r = 0; r < ROUNDS; r++) {
    d.push(await wrk(`${upstream}/chat/completions`, stream, conns, SECS));
    const c0 = cpuMs(proxy.proc.pid);
    const { result, peak: pk } = await peakRss(proxy.proc.pid, async () => {
      const w = wrk(`${proxy.url}/v1/chat/completions`, stream, conns, SECS);
      // Mid-run: the heap while under load.
      await new Promise((r) => setTimeout(r, (SECS * 1000) / 2));
      heap = await heapNow(proxy.url);
      return w;
    });
    const c1 = cpuMs(proxy.proc.pid);
    p.push(result);
    cpu.push((c1 - c0) / Math.max(1, result.requests));
    peak = Math.max(peak, pk);
  }
  const row: LoadRow = {
    scenario: name,
    direct: { rps: median(d.map((x) => x.rps)), p50: median(d.map((x) => x.p50)), p99: median(d.map((x) => x.p99)) },
    proxy: { rps: median(p.map((x) => x.rps)), p50: median(p.map((x) => x.p50)), p99: median(p.map((x) => x.p99)), cpuMsPerReq: median(cpu), peakRssMb: peak, bad: p.reduce((n, x) => n + x.bad, 0), heapTotalMb: heap.heapTotalMb, externalMb: heap.externalMb },
  };
  process.stderr.write(`bench load: ${name}: direct ${row.direct.rps.toFixed(0)} req/s, proxy ${row.proxy.rps.toFixed(0)} req/s, ${row.proxy.cpuMsPerReq.toFixed(3)} ms CPU/req\n`);
  return row;
}

interface StreamStats {
  ttfe: number[];
  delays: number[];
  events: number;
  errors: number;
  complete: number;
}

/** Open one stream, count its content events and each one's delay since the upstream sent it. */
export function streamOnce(url: string, direct: boolean, stats: StreamStats, expectEvents: number, agent: http.Agent | https.Agent): Promise<void> {
  return new Promise((resolve) => {
    const started = performance.timeOrigin + performance.now();
    const target = direct ? `${url}/chat/completions` : `${url}/v1/chat/completions`;
    const mod = direct ? https : http;
    const req = mod.request(target, { method: 'POST', agent, headers: { 'content-type': 'application/json', authorization: 'Bearer bench' } }, (res) => {
      if (res.statusCode !== 200) {
        stats.errors++;
        res.resume();
        res.on('end', resolve);
        return;
      }
      let buf = '';
      let got = 0;
      let done = false;
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        const now = performance.timeOrigin + performance.now();
        buf += d;
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const ev = buf.slice(0, i);
          buf = buf.slice(i + 2);
          if (ev === 'data: [DONE]') done = true;
          // Words after the first start with a space (the stream splits text at spaces).
          const m = /"content":" ?(\d+\.\d+)/.exec(ev);
          if (m) {
            if (got === 0) stats.ttfe.push(now - started);
            stats.delays.push(now - Number(m[1]));
            got++;
          }
        }
      });
      res.on('end', () => {
        stats.events += got;
        if (done && got === expectEvents) stats.complete++;
        else stats.errors++;
        resolve();
      });
      res.on('error', () => {
        stats.errors++;
        resolve();
      });
    });
    req.on('error', () => {
      stats.errors++;
      resolve();
    });
    req.end(bodyFor(true));
  });
}

export function newStats(): StreamStats {
  return { ttfe: [], delays: [], events: 0, errors: 0, complete: 0 };
}

export async function pacedLatency(upstream: string, proxyUrl: string): Promise<Record<string, number>> {
  const EVENTS = 50;
  const PACE = 10;
  const CONC = 8;
  const STREAMS = quick ? 16 : 48;
  await configure(upstream, { chunks: EVENTS, paceMs: PACE, stamp: true });
  const ca = fs.readFileSync(cert);
  const run = async (direct: boolean) => {
    const stats = newStats();
    const agent = direct ? new https.Agent({ keepAlive: true, ca, maxSockets: CONC }) : new http.Agent({ keepAlive: true, maxSockets: CONC });
    for (let done = 0; done < STREAMS; done += CONC) await Promise.all(Array.from({ length: CONC }, () => streamOnce(direct ? upstream : proxyUrl, direct, stats, EVENTS, agent)));
    agent.destroy();
    return stats;
  };
  const d: StreamStats[] = [];
  const p: StreamStats[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    d.push(await run(true));
    p.push(await run(false));
  }
  const all = (xs: StreamStats[], k: 'ttfe' | 'delays') => xs.flatMap((x) => x[k]);
  return {
    direct_ttfe_p50: pct(all(d, 'ttfe'), 50),
    direct_ttfe_p99: pct(all(d, 'ttfe'), 99),
    proxy_ttfe_p50: pct(all(p, 'ttfe'), 50),
    proxy_ttfe_p99: pct(all(p, 'ttfe'), 99),
    direct_event_delay_p50: pct(all(d, 'delays'), 50),
    direct_event_delay_p99: pct(all(d, 'delays'), 99),
    proxy_event_delay_p50: pct(all(p, 'delays'), 50),
    proxy_event_delay_p99: pct(all(p, 'delays'), 99),
    proxy_errors: p.reduce((n, x) => n + x.errors, 0),
  };
}

/** The proxy's V8 heap and off-heap memory now (from its /metrics), in MB: what its RSS is made of. */
async function heapNow(proxyUrl: string): Promise<{ heapTotalMb: number; heapUsedMb: number; externalMb: number }> {
  const text = await (await fetch(`${proxyUrl}/metrics`)).text();
  const mb = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN) / 1024 / 1024;
  return { heapTotalMb: mb('nodejs_heap_size_total_bytes'), heapUsedMb: mb('nodejs_heap_size_used_bytes'), externalMb: mb('nodejs_external_memory_bytes') };
}

/** prom-client's event-loop lag p99 (its histogram resets at each scrape), in ms. */
async function loopLagP99(proxyUrl: string): Promise<number> {
  const text = await (await fetch(`${proxyUrl}/metrics`)).text();
  return Number(/^nodejs_eventloop_lag_p99_seconds (\S+)$/m.exec(text)?.[1] ?? NaN) * 1000;
}

async function manyStreams(upstream: string): Promise<Record<string, number>> {
  const N = quick ? 200 : 1000;
  const EVENTS = quick ? 10 : 30;
  const PACE = 1000;
  await configure(upstream, { chunks: EVENTS, paceMs: PACE, stamp: true });
  // Direct first: what the bench's own client and the fake manage with N streams (the baseline for the delays).
  const direct = newStats();
  const dAgent = new https.Agent({ keepAlive: true, maxSockets: Infinity, ca: fs.readFileSync(cert) });
  await Promise.all(Array.from({ length: N }, () => streamOnce(upstream, true, direct, EVENTS, dAgent)));
  dAgent.destroy();
  const proxy = await startProxy(upstream, { GITHUB_COPILOT_SVCS_MAX_CONCURRENCY: String(N + 100), GITHUB_COPILOT_SVCS_MAX_QUEUE: String(N) });
  try {
    await loopLagP99(proxy.url);
    const stats = newStats();
    const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
    const { peak } = await peakRss(proxy.proc.pid, () => Promise.all(Array.from({ length: N }, () => streamOnce(proxy.url, false, stats, EVENTS, agent))));
    agent.destroy();
    const lag = await loopLagP99(proxy.url);
    return {
      streams: N,
      events_expected: N * EVENTS,
      events_received: stats.events,
      events_lost: N * EVENTS - stats.events,
      errors: stats.errors,
      peak_rss_mb: peak,
      event_loop_delay_p99_ms: lag,
      event_delay_p50_ms: pct(stats.delays, 50),
      event_delay_p99_ms: pct(stats.delays, 99),
      ttfe_p50_ms: pct(stats.ttfe, 50),
      ttfe_p99_ms: pct(stats.ttfe, 99),
      direct_errors: direct.errors,
      direct_ttfe_p50_ms: pct(direct.ttfe, 50),
      direct_ttfe_p99_ms: pct(direct.ttfe, 99),
      direct_events_lost: N * EVENTS - direct.events,
      direct_event_delay_p50_ms: pct(direct.delays, 50),
      direct_event_delay_p99_ms: pct(direct.delays, 99),
    };
  } finally {
    await stop(proxy.proc);
  }
}

async function bigUploads(upstream: string): Promise<Record<string, number>> {
  const N = quick ? 100 : 400;
  const proxy = await startProxy(upstream);
  try {
    await configure(upstream, { chunks: 5 });
    // One shared 5,000,000-byte body (just under the 5 MiB default limit): a long user message.
    const filler = 'x'.repeat(5_000_000 - bodyFor(false).length);
    const body = Buffer.from(JSON.stringify({ model: 'gpt-4.1', messages: [{ role: 'user', content: filler }], stream: false }));
    const statuses = new Map<number, number>();
    const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
    const one = () =>
      new Promise<void>((resolve) => {
        const req = http.request(`${proxy.url}/v1/chat/completions`, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': String(body.length) } }, (res) => {
          statuses.set(res.statusCode ?? 0, (statuses.get(res.statusCode ?? 0) ?? 0) + 1);
          res.resume();
          res.on('end', resolve);
        });
        req.on('error', () => {
          statuses.set(-1, (statuses.get(-1) ?? 0) + 1);
          resolve();
        });
        req.end(body);
      });
    const started = Date.now();
    const { peak } = await peakRss(proxy.proc.pid, () => Promise.all(Array.from({ length: N }, one)));
    agent.destroy();
    process.stderr.write(`bench load: uploads by status (-1: connection reset): ${JSON.stringify(Object.fromEntries(statuses))}\n`);
    return { uploads: N, ok_200: statuses.get(200) ?? 0, rejected_429: statuses.get(429) ?? 0, reset: statuses.get(-1) ?? 0, other: [...statuses].filter(([s]) => s !== 200 && s !== 429 && s !== -1).reduce((n, [, c]) => n + c, 0), peak_rss_mb: Math.max(peak, rssMb(proxy.proc.pid, 'VmHWM')), seconds: (Date.now() - started) / 1000 };
  } finally {
    await stop(proxy.proc);
  }
}

// ---------------------------------------------------------------- floors

interface FloorRow {
  kind: string;
  nonStreamCpuMs: number;
  streamCpuMs: number;
  nonStreamRps: number;
  streamRps: number;
}

/** CPU per request of the least proxy each layer allows (bench/floor-proxy.ts), 32 connections. */
async function floors(upstream: string): Promise<FloorRow[]> {
  const out: FloorRow[] = [];
  for (const kind of ['node', 'undici', 'express']) {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'bench', 'floor-proxy.ts'), kind, upstream], { cwd: root, env: { ...process.env, NODE_EXTRA_CA_CERTS: cert }, stdio: ['ignore', 'pipe', 'inherit'] });
    const url = await waitLine(child, /FLOOR_URL=(\S+)/, `floor ${kind}`);
    const proc = { child, pid: child.pid ?? 0 };
    try {
      const measure = async (stream: boolean) => {
        await configure(upstream, { chunks: 20 });
        await wrk(`${url}/v1/chat/completions`, stream, 32, 1);
        const cpu: number[] = [];
        const rps: number[] = [];
        for (let r = 0; r < ROUNDS; r++) {
          const c0 = cpuMs(proc.pid);
          const w = await wrk(`${url}/v1/chat/completions`, stream, 32, SECS);
          cpu.push((cpuMs(proc.pid) - c0) / Math.max(1, w.requests));
          rps.push(w.rps);
        }
        return { cpu: median(cpu), rps: median(rps) };
      };
      const ns = await measure(false);
      const st = await measure(true);
      out.push({ kind, nonStreamCpuMs: ns.cpu, streamCpuMs: st.cpu, nonStreamRps: ns.rps, streamRps: st.rps });
      process.stderr.write(`bench load: floor ${kind}: ${ns.cpu.toFixed(3)} / ${st.cpu.toFixed(3)} ms CPU per request (non-stream / stream)\n`);
    } finally {
      await stop(proc);
    }
  }
  return out;
}

// ---------------------------------------------------------------- profile

/**
 * `npm run bench -- load --profile`: the 32-connection non-stream and stream
 * loads, each against a fresh proxy run with --cpu-prof; prints where the
 * proxy's CPU went and keeps the profiles in bench-results/profiles/.
 */
export async function runProfile(): Promise<void> {
  need('wrk', 'wrk');
  makeCert();
  const { summarise } = await import('./profile-summary.ts');
  const out = path.join(root, 'bench-results', 'profiles');
  fs.mkdirSync(out, { recursive: true });
  const up = await startUpstream();
  try {
    for (const stream of [false, true]) {
      await configure(up.url, { chunks: 20 });
      const dir = fs.mkdtempSync(path.join(tmp, 'prof-'));
      const proxy = await startProxy(up.url, {}, ['--cpu-prof', '--cpu-prof-dir', dir]);
      let r: WrkResult;
      let peak: number;
      let cpu: number;
      try {
        await wrk(`${proxy.url}/v1/chat/completions`, stream, 32, 1);
        const c0 = cpuMs(proxy.proc.pid);
        ({ result: r, peak } = await peakRss(proxy.proc.pid, () => wrk(`${proxy.url}/v1/chat/completions`, stream, 32, SECS * 2)));
        cpu = (cpuMs(proxy.proc.pid) - c0) / r.requests;
      } finally {
        await stop(proxy.proc);
      }
      const [file] = fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
      if (!file) throw new Error('no profile written');
      const name = `${stream ? 'stream' : 'non-stream'}-32.cpuprofile`;
      fs.renameSync(path.join(dir, file), path.join(out, name));
      const s = summarise(path.join(out, name));
      // The profile covers start-up and warm-up too: scale its shares to the measured CPU per request.
      console.log(`\n${stream ? 'stream (20 events)' : 'non-stream'}, 32 conn: ${r.requests} requests, ${cpu.toFixed(3)} ms CPU per request, peak RSS ${peak.toFixed(1)} MB, p99 ${r.p99.toFixed(1)} ms (profile: bench-results/profiles/${name})`);
      console.log('| where | share | ms per request |\n|---|---:|---:|');
      for (const [p, ms] of s.byPlace) console.log(`| ${p} | ${((100 * ms) / s.totalMs).toFixed(1)} % | ${((cpu * ms) / s.totalMs).toFixed(3)} |`);
      console.log('\ntop functions (self time):');
      for (const [f, ms] of s.byFunction) console.log(`  ${((100 * ms) / s.totalMs).toFixed(1).padStart(5)} %  ${f}`);
    }
  } finally {
    await stop(up.proc);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- main

export async function runLoad(): Promise<boolean> {
  need('wrk', 'wrk');
  need('openssl', 'openssl');
  if (!fs.existsSync(BIN)) throw new Error('dist/ is missing: run npm run build first');
  makeCert();
  const started = Date.now();
  const up = await startUpstream();
  let proxy: { proc: Proc; url: string } | null = null;
  try {
    proxy = await startProxy(up.url);
    const idleRss = rssMb(proxy.proc.pid);
    const rows: LoadRow[] = [];
    for (const stream of [false, true]) {
      await configure(up.url, { chunks: 20 });
      for (const conns of [1, 32, 128]) rows.push(await compare(`${stream ? 'stream (20 events)' : 'non-stream'}, ${conns} conn`, up.url, proxy, stream, conns));
    }
    await configure(up.url, { chunks: 20, latencyMs: 10 });
    const slow = await compare('non-stream, 32 conn, 10 ms upstream', up.url, proxy, false, 32);
    rows.push(slow);
    // An idle proxy gives memory back: RSS and heap after the loads, once V8's idle-time GC ran.
    // V8 shrinks its heap 10-20 s after the load ends (its memory reducer): wait that long.
    await new Promise((r) => setTimeout(r, quick ? 3000 : 20_000));
    const afterLoad = { rss_mb: rssMb(proxy.proc.pid), ...(await heapNow(proxy.url)) };
    const paced = await pacedLatency(up.url, proxy.url);
    await stop(proxy.proc);
    proxy = null;
    const many = await manyStreams(up.url);
    const uploads = await bigUploads(up.url);
    const floorRows = await floors(up.url);

    const f = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '-');
    console.log(`\nproxy cost per request (built dist/, default log level, node options ${PROXY_NODE_OPTIONS.join(' ')} as the tray starts its proxy; wrk; ${ROUNDS} alternating round(s) of ${SECS} s, medians; ${os.cpus().length} cores, node ${process.version}; proxy idle RSS ${f(idleRss, 1)} MB)\n`);
    console.log('| load | direct req/s | proxy req/s | direct p50 / p99 ms | proxy p50 / p99 ms | proxy CPU ms/req | proxy peak RSS MB (V8 heap + external mid-run) | errors |');
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
    for (const r of rows) {
      console.log(`| ${r.scenario} | ${f(r.direct.rps)} | ${f(r.proxy.rps)} | ${f(r.direct.p50, 2)} / ${f(r.direct.p99, 2)} | ${f(r.proxy.p50, 2)} / ${f(r.proxy.p99, 2)} | ${f(r.proxy.cpuMsPerReq, 3)} | ${f(r.proxy.peakRssMb, 1)} (${f(r.proxy.heapTotalMb, 1)} + ${f(r.proxy.externalMb, 1)}) | ${r.proxy.bad} |`);
    }
    const FLOOR_LABEL: Record<string, string> = { node: 'node:http in, node:https out (piped)', undici: 'node:http in, undici out (piped)', express: 'express + express.json() in, undici out' };
    console.log('\n| the least proxy each layer allows, 32 conn | non-stream CPU ms/req | stream CPU ms/req | non-stream req/s | stream req/s |\n|---|---:|---:|---:|---:|');
    for (const r of floorRows) console.log(`| ${FLOOR_LABEL[r.kind] ?? r.kind} | ${f(r.nonStreamCpuMs, 3)} | ${f(r.streamCpuMs, 3)} | ${f(r.nonStreamRps)} | ${f(r.streamRps)} |`);
    console.log(`| this proxy (dist/) | ${f(rows[1]!.proxy.cpuMsPerReq, 3)} | ${f(rows[4]!.proxy.cpuMsPerReq, 3)} | ${f(rows[1]!.proxy.rps)} | ${f(rows[4]!.proxy.rps)} |`);
    console.log(`\nidle again after those loads: RSS ${f(afterLoad.rss_mb, 1)} MB (V8 heap ${f(afterLoad.heapTotalMb, 1)} MB, ${f(afterLoad.heapUsedMb, 1)} MB used), was ${f(idleRss, 1)} MB before`);
    console.log(`\n32 conn, 10 ms upstream: proxy throughput ${f((100 * slow.proxy.rps) / slow.direct.rps, 1)} % of direct (target >= 70 %), added p99 ${f(slow.proxy.p99 - slow.direct.p99, 2)} ms (target <= 3 ms)`);
    console.log(`paced streams (50 events, 10 ms apart, 8 at a time): time to first event p50/p99 direct ${f(paced.direct_ttfe_p50!, 2)}/${f(paced.direct_ttfe_p99!, 2)} ms, proxy ${f(paced.proxy_ttfe_p50!, 2)}/${f(paced.proxy_ttfe_p99!, 2)} ms; per-event delay p50/p99 direct ${f(paced.direct_event_delay_p50!, 2)}/${f(paced.direct_event_delay_p99!, 2)} ms, proxy ${f(paced.proxy_event_delay_p50!, 2)}/${f(paced.proxy_event_delay_p99!, 2)} ms (added p99 ${f(paced.proxy_event_delay_p99! - paced.direct_event_delay_p99!, 2)} ms; target <= 1 ms); errors ${paced.proxy_errors}`);
    console.log(`${many.streams} concurrent paced streams (1 event/s): errors ${many.errors} (direct ${many.direct_errors}), events lost ${many.events_lost} of ${many.events_expected} (direct ${many.direct_events_lost}), peak RSS ${f(many.peak_rss_mb!, 1)} MB (target <= 200), proxy event-loop delay p99 ${f(many.event_loop_delay_p99_ms!, 1)} ms, time to first event p50/p99 direct ${f(many.direct_ttfe_p50_ms!, 1)}/${f(many.direct_ttfe_p99_ms!, 1)} ms, proxy ${f(many.ttfe_p50_ms!, 1)}/${f(many.ttfe_p99_ms!, 1)} ms (added p99 ${f(many.ttfe_p99_ms! - many.direct_ttfe_p99_ms!, 1)} ms; target <= 100 ms), per-event delay p50/p99 direct ${f(many.direct_event_delay_p50_ms!, 1)}/${f(many.direct_event_delay_p99_ms!, 1)} ms, proxy ${f(many.event_delay_p50_ms!, 1)}/${f(many.event_delay_p99_ms!, 1)} ms`);
    console.log(`${uploads.uploads} concurrent 5 MB uploads: peak RSS ${f(uploads.peak_rss_mb!, 1)} MB (target <= 400); 200: ${uploads.ok_200}, 429: ${uploads.rejected_429}, reset while sending (the 429 came before the body was read): ${uploads.reset}, other: ${uploads.other}; ${f(uploads.seconds!, 1)} s`);

    const targets = {
      cpu_non_stream_32: rows[1]!.proxy.cpuMsPerReq <= 0.35,
      cpu_stream_32: rows[4]!.proxy.cpuMsPerReq <= 0.45,
      slow_throughput: slow.proxy.rps >= 0.7 * slow.direct.rps,
      slow_added_p99: slow.proxy.p99 - slow.direct.p99 <= 3,
      event_delay_added_p99: paced.proxy_event_delay_p99! - paced.direct_event_delay_p99! <= 1,
      many_streams: many.errors === 0 && many.events_lost === 0 && many.peak_rss_mb! <= 200,
      many_streams_ttfe_added_p99: many.ttfe_p99_ms! - many.direct_ttfe_p99_ms! <= 100,
      uploads_rss: uploads.peak_rss_mb! <= 400,
      rss_32_conn: Math.max(rows[1]!.proxy.peakRssMb, rows[4]!.proxy.peakRssMb) <= 100,
    };
    console.log(`\ntargets: ${Object.entries(targets).map(([k, ok]) => `${k} ${ok ? 'met' : 'MISSED'}`).join(', ')}`);
    console.log(`bench load finished in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    fs.mkdirSync(path.join(root, 'bench-results'), { recursive: true });
    fs.writeFileSync(path.join(root, 'bench-results', 'load.json'), `${JSON.stringify({ node: process.version, cores: os.cpus().length, rounds: ROUNDS, secs: SECS, idle_rss_mb: idleRss, after_load: afterLoad, rows, paced, many, uploads, floors: floorRows, targets }, null, 2)}\n`);
    return Object.values(targets).every(Boolean);
  } finally {
    await stop(proxy?.proc ?? null);
    await stop(up.proc);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
