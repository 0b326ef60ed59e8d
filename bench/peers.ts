/**
 * `npm run bench -- peers [--quick] [--go-tool PATH]`: this proxy beside two
 * peers and the direct baseline, in one run, against the same Copilot
 * stand-in (bench/upstream.ts, TLS, its own process), in alternating rounds,
 * medians: non-stream and stream (20 content events) at 32 connections (wrk),
 * 3 rounds of 10 s (--quick: 1 of 3 s). For each: req/s, p50/p99 latency, CPU
 * ms per request of the proxy's process tree (utime+stime+cutime+cstime from
 * /proc), RSS idle (after start, settled) and peak under load (VmRSS of the
 * tree every 100 ms). Prints a table, ours ÷ the Go tool's CPU per request,
 * and writes bench-results/peers.json. Exit code 0 when it ran: the target
 * (ours ≤ 1.0× the Go tool's CPU per request) is printed as met/missed, not
 * enforced. Linux only (/proc, wrk).
 *
 * The targets:
 * - ours: dist/github-copilot-svcs.mjs run, default log level, as bench/load.ts starts it;
 * - copilot-api 0.7.0 (npm, ericc-ch/copilot-api): installed on first use into
 *   ~/.cache/github-copilot-svcs-bench/copilot-api-0.7.0 (outside the repo), run
 *   with this node (`start --port N`), a fake GitHub token in its file under a temp HOME;
 * - the Go tool (github-copilot-svcs in Go): never built here. Pass a binary
 *   you built from its public source with --go-tool PATH (or GO_TOOL_BIN); it
 *   runs `run` with a temp home holding its config.json (a fake GitHub token);
 * - direct: wrk straight at the stand-in.
 *
 * The peers call hard-coded https://api.github.com, api.githubcopilot.com (…);
 * the Go tool's HTTP client has no proxy support and listens on every
 * interface. So the whole measurement runs in its own network namespace
 * (`unshare --net --mount`, root only) where loopback is the only interface
 * (nothing can leave the machine, nothing outside can reach a listener), with
 * a private /etc/hosts that maps those names to 127.0.0.1, the stand-in on
 * 127.0.0.1:443 with a certificate for them (trusted through
 * NODE_EXTRA_CA_CERTS and, for Go, SSL_CERT_FILE), and a private /etc/passwd
 * whose home for this user is a temp folder (Go reads its home from there,
 * not from $HOME). Without root, ours and direct run alone and the peers are
 * skipped with the reason.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { BENCH_GITHUB_TOKEN, cert, configure, makeCert, median, need, startProxy, startUpstream, stop, tmp, wrk, type Proc, type WrkResult } from './load.ts';

const root = path.resolve(import.meta.dirname, '..');
const BIN = path.join(root, 'dist', 'github-copilot-svcs.mjs');
const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 1 : 3;
const SECS = quick ? 3 : 10;
const CONNS = 32;
const CHUNKS = 20;
const CLK_TCK = 100;
const COPILOT_API = 'copilot-api@0.7.0';
const INNER = '--peers-inner';
/** The names the peers call, all answered by the stand-in in the bench's namespace. */
const HOSTS = ['api.github.com', 'github.com', 'api.githubcopilot.com', 'api.individual.githubcopilot.com', 'api.business.githubcopilot.com', 'api.enterprise.githubcopilot.com'];
const GO_SKIPPED = 'skipped (pass --go-tool PATH to a binary you built from its public source)';

interface Plan {
  isolated: boolean;
  copilotApiMain: string | null;
  goBin: string | null;
  goSha256: string | null;
  skipped: Record<string, string>;
  homes: { copilotApi: string; goTool: string };
}

interface Target {
  name: string;
  url: string;
  proc: Proc | null;
  idleRssMb: number;
  how: string;
}

interface Sample extends WrkResult {
  cpuMsPerReq: number;
  peakRssMb: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function flagValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

// ---------------------------------------------------------------- /proc, for a process and its children

function procTree(pid: number): number[] {
  const parent = new Map<number, number[]>();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const s = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]);
      parent.set(ppid, [...(parent.get(ppid) ?? []), Number(d)]);
    } catch {
      /* gone */
    }
  }
  const out = [pid];
  for (let i = 0; i < out.length; i++) out.push(...(parent.get(out[i]!) ?? []));
  return out;
}

/** utime+stime, plus cutime+cstime (children it reaped), of each pid, in ms. */
function treeCpuMs(pids: number[]): number {
  let ms = 0;
  for (const pid of pids) {
    try {
      const rest = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = rest.slice(rest.lastIndexOf(')') + 2).split(' ');
      ms += ((Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * 1000) / CLK_TCK;
    } catch {
      /* gone */
    }
  }
  return ms;
}

function treeRssMb(pids: number[]): number {
  let kb = 0;
  for (const pid of pids) {
    try {
      kb += Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      /* gone */
    }
  }
  return kb / 1024;
}

// ---------------------------------------------------------------- starting the peers

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = http.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => (typeof a === 'object' && a !== null && a.port !== 8081 ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

/** Spawns a peer, keeps the last 4 KB of its console (for errors), drains the rest. */
function spawnPeer(cmd: string, argv: string[], env: NodeJS.ProcessEnv, cwd: string): { child: ChildProcess; tail: () => string } {
  const child = spawn(cmd, argv, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  const keep = (d: Buffer) => {
    tail = (tail + d.toString()).slice(-4096);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { child, tail: () => tail };
}

/** Until `url` answers anything over HTTP. */
async function waitHttp(child: ChildProcess, url: string, what: string, tail: () => string): Promise<void> {
  const until = Date.now() + 30_000;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`${what} exited (${child.exitCode}):\n${tail()}`);
    const ok = await new Promise<boolean>((resolve) => {
      http.get(url, (res) => {
        res.resume();
        resolve(true);
      }).on('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error(`${what}: ${url} did not answer in 30 s:\n${tail()}`);
}

async function startCopilotApi(main: string, home: string): Promise<Target> {
  const port = await freePort();
  const dir = path.join(home, '.local', 'share', 'copilot-api');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'github_token'), BENCH_GITHUB_TOKEN, { mode: 0o600 });
  const { child, tail } = spawnPeer(process.execPath, [main, 'start', '--port', String(port)], { PATH: process.env.PATH, HOME: home, NODE_EXTRA_CA_CERTS: cert }, home);
  await waitHttp(child, `http://127.0.0.1:${port}/`, 'copilot-api', tail);
  return { name: 'copilot-api 0.7.0', url: `http://127.0.0.1:${port}/v1/chat/completions`, proc: { child, pid: child.pid ?? 0 }, idleRssMb: NaN, how: `node ${main} start --port ${port}; HOME=${home} (token in .local/share/copilot-api/github_token); NODE_EXTRA_CA_CERTS` };
}

async function startGoTool(bin: string, home: string): Promise<Target> {
  // Go takes its home from /etc/passwd: refuse to start it unless the bench's private one points at the temp home.
  if (os.userInfo().homedir !== home) throw new Error(`this user's home is ${os.userInfo().homedir}, not the bench's temp home: not starting it`);
  const port = await freePort();
  const dir = path.join(home, '.local', 'share', 'github-copilot-svcs');
  fs.mkdirSync(dir, { recursive: true });
  const config = path.join(dir, 'config.json');
  // An expired Copilot token: it exchanges the GitHub token with the stand-in before it listens.
  // circuit_breaker 1 s (default 30): how long its breaker stays open after wrk drops connections at the end of a run.
  fs.writeFileSync(config, JSON.stringify({ port, github_token: BENCH_GITHUB_TOKEN, copilot_token: 'tid=bench-expired', expires_at: 0, timeouts: { circuit_breaker: 1 } }));
  const { child, tail } = spawnPeer(bin, ['run'], { PATH: process.env.PATH, HOME: home, SSL_CERT_FILE: cert }, home);
  await waitHttp(child, `http://127.0.0.1:${port}/health`, 'Go tool', tail);
  const saved: unknown = JSON.parse(fs.readFileSync(config, 'utf8'));
  if (!(typeof saved === 'object' && saved !== null && Number(Reflect.get(saved, 'expires_at')) > 0)) {
    child.kill('SIGKILL');
    throw new Error(`its token exchange did not reach the stand-in (config.json unchanged):\n${tail()}`);
  }
  return { name: 'Go tool', url: `http://127.0.0.1:${port}/v1/chat/completions`, proc: { child, pid: child.pid ?? 0 }, idleRssMb: NaN, how: `${bin} run; home ${home} (private /etc/passwd), config.json port ${port}, timeouts.circuit_breaker 1; SSL_CERT_FILE` };
}

// ---------------------------------------------------------------- measuring

/**
 * Until one plain request through `t` answers 200. The Go tool counts each
 * request a client drops (wrk does at the end of a run) as an upstream
 * failure and opens its circuit breaker (503s) for timeouts.circuit_breaker.
 */
async function ready(t: Target): Promise<void> {
  const body = JSON.stringify({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'bench' }], stream: false });
  const until = Date.now() + 40_000;
  for (;;) {
    const status = await new Promise<number>((resolve) => {
      const mod = t.url.startsWith('https:') ? https : http;
      const req = mod.request(t.url, { method: 'POST', ca: fs.readFileSync(cert), headers: { 'content-type': 'application/json', authorization: 'Bearer bench' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', () => resolve(0));
      req.end(body);
    });
    if (status === 200) return;
    if (Date.now() > until) throw new Error(`${t.name}: no 200 in 40 s (last status ${status})`);
    await sleep(200);
  }
}

async function measure(t: Target, stream: boolean): Promise<Sample> {
  await ready(t);
  const pids = t.proc ? procTree(t.proc.pid) : [];
  const c0 = treeCpuMs(pids);
  let peak = treeRssMb(pids);
  const timer = setInterval(() => (peak = Math.max(peak, treeRssMb(pids))), 100);
  try {
    const w = await wrk(t.url, stream, CONNS, SECS);
    const c1 = treeCpuMs(pids);
    return { ...w, cpuMsPerReq: t.proc ? (c1 - c0) / Math.max(1, w.requests) : NaN, peakRssMb: t.proc ? Math.max(peak, treeRssMb(pids)) : NaN };
  } finally {
    clearInterval(timer);
  }
}

interface Row {
  load: string;
  target: string;
  rps: number;
  p50: number;
  p99: number;
  cpuMsPerReq: number;
  idleRssMb: number;
  peakRssMb: number;
  errors: number;
  requests: number;
}

async function runInner(plan: Plan): Promise<void> {
  const started = Date.now();
  const skipped = { ...plan.skipped };
  makeCert(HOSTS.map((h) => `DNS:${h}`));
  const up = await startUpstream(plan.isolated ? ['--port', '443'] : []);
  const targets: Target[] = [{ name: 'direct', url: `${up.url}/chat/completions`, proc: null, idleRssMb: NaN, how: 'wrk straight at the stand-in' }];
  try {
    await configure(up.url, { chunks: CHUNKS });
    const ours = await startProxy(up.url);
    targets.push({ name: 'ours', url: `${ours.url}/v1/chat/completions`, proc: ours.proc, idleRssMb: NaN, how: `${BIN} run; GITHUB_COPILOT_SVCS_*_URL=${up.url}` });
    if (plan.copilotApiMain) {
      try {
        targets.push(await startCopilotApi(plan.copilotApiMain, plan.homes.copilotApi));
      } catch (e) {
        skipped['copilot-api'] = `could not run: ${(e as Error).message}`;
      }
    }
    if (plan.goBin) {
      try {
        targets.push(await startGoTool(plan.goBin, plan.homes.goTool));
      } catch (e) {
        skipped['Go tool'] = `could not run: ${(e as Error).message}`;
      }
    }
    await sleep(quick ? 1000 : 3000);
    for (const t of targets) if (t.proc) t.idleRssMb = treeRssMb(procTree(t.proc.pid));

    const rows: Row[] = [];
    for (const stream of [false, true]) {
      const load = stream ? `stream (${CHUNKS} events)` : 'non-stream';
      for (const t of targets) {
        await ready(t);
        await wrk(t.url, stream, CONNS, 1); // warm-up: connections, JIT, model lists
      }
      const samples = new Map<string, Sample[]>(targets.map((t) => [t.name, []]));
      for (let r = 0; r < ROUNDS; r++) {
        for (const t of targets) {
          const s = await measure(t, stream);
          samples.get(t.name)!.push(s);
          process.stderr.write(`bench peers: ${load}, round ${r + 1}/${ROUNDS}: ${t.name} ${s.rps.toFixed(0)} req/s${t.proc ? `, ${s.cpuMsPerReq.toFixed(3)} ms CPU/req` : ''}${s.bad ? `, ${s.bad} errors` : ''}\n`);
        }
      }
      for (const t of targets) {
        const s = samples.get(t.name)!;
        rows.push({ load, target: t.name, rps: median(s.map((x) => x.rps)), p50: median(s.map((x) => x.p50)), p99: median(s.map((x) => x.p99)), cpuMsPerReq: median(s.map((x) => x.cpuMsPerReq)), idleRssMb: t.idleRssMb, peakRssMb: Math.max(...s.map((x) => x.peakRssMb)), errors: s.reduce((n, x) => n + x.bad, 0), requests: s.reduce((n, x) => n + x.requests, 0) });
      }
    }

    const f = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '-');
    console.log(`\nours beside its peers (${CONNS} connections, wrk; ${ROUNDS} alternating round(s) of ${SECS} s, medians; ${os.cpus().length} cores, node ${process.version}; all on this machine, with the stand-in and wrk)\n`);
    for (const t of targets) console.log(`  ${t.name}: ${t.how}`);
    for (const [name, why] of Object.entries(skipped)) console.log(`  ${name}: ${why}`);
    console.log('\n| load | target | req/s | p50 / p99 ms | CPU ms/req | RSS idle MB | peak RSS MB | errors |\n|---|---|---:|---:|---:|---:|---:|---:|');
    for (const r of rows) console.log(`| ${r.load} | ${r.target} | ${f(r.rps)} | ${f(r.p50, 2)} / ${f(r.p99, 2)} | ${f(r.cpuMsPerReq, 3)} | ${f(r.idleRssMb, 1)} | ${f(r.peakRssMb, 1)} | ${r.errors} |`);
    if (rows.some((r) => r.errors > 0)) console.log('(errors: non-2xx answers and socket errors, from wrk; a row with errors counts their requests in its CPU per request)');
    const cpu = (load: string, target: string) => rows.find((r) => r.load === load && r.target === target)?.cpuMsPerReq ?? NaN;
    const loads = [...new Set(rows.map((r) => r.load))];
    const ratios: Record<string, Record<string, number>> = {};
    console.log('');
    for (const peer of targets.filter((t) => t.proc && t.name !== 'ours')) {
      ratios[peer.name] = Object.fromEntries(loads.map((l) => [l, cpu(l, 'ours') / cpu(l, peer.name)]));
      console.log(`ours ÷ ${peer.name}, CPU per request: ${loads.map((l) => `${l} ${f(ratios[peer.name]![l]!, 2)}×`).join(', ')}`);
    }
    const goRatios = ratios['Go tool'];
    const target = goRatios ? (Object.values(goRatios).every((x) => x <= 1) ? 'met' : 'missed') : 'not measured (Go tool not run)';
    console.log(`target: ours ≤ 1.0× Go tool CPU/request: ${target}`);
    console.log(`bench peers finished in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    fs.mkdirSync(path.join(root, 'bench-results'), { recursive: true });
    fs.writeFileSync(
      path.join(root, 'bench-results', 'peers.json'),
      `${JSON.stringify({ node: process.version, cores: os.cpus().length, rounds: ROUNDS, secs: SECS, connections: CONNS, stream_events: CHUNKS, isolated: plan.isolated, targets: targets.map((t) => ({ name: t.name, how: t.how, idle_rss_mb: t.idleRssMb })), go_tool_sha256: plan.goSha256, skipped, rows, ours_cpu_ratio: ratios, target_ours_le_go_cpu: target }, null, 2)}\n`,
    );
  } finally {
    for (const t of targets) await stop(t.proc);
    await stop(up.proc);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- the outer run

/** copilot-api from npm, installed once into a cache folder outside the repo. */
function copilotApiMain(): { main: string } | { reason: string } {
  const cache = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'github-copilot-svcs-bench', COPILOT_API.replace('@', '-'));
  const pkg = path.join(cache, 'node_modules', 'copilot-api');
  const version = () => {
    try {
      return String(JSON.parse(fs.readFileSync(path.join(pkg, 'package.json'), 'utf8')).version);
    } catch {
      return '';
    }
  };
  if (version() !== COPILOT_API.split('@')[1]) {
    process.stderr.write(`bench peers: installing ${COPILOT_API} into ${cache}\n`);
    const r = spawnSync('npm', ['install', '--prefix', cache, '--no-audit', '--no-fund', '--ignore-scripts', '--omit=dev', COPILOT_API], { encoding: 'utf8' });
    if (r.status !== 0) return { reason: `npm install ${COPILOT_API} failed: ${(r.stderr || r.stdout || String(r.error)).trim().split('\n').slice(-3).join(' ')}` };
  }
  const main = path.join(pkg, 'dist', 'main.js');
  return fs.existsSync(main) ? { main } : { reason: `${main} is missing after npm install` };
}

/** A network namespace with only loopback and private /etc/hosts, /etc/passwd: root, unshare(1) and ip(8). */
function isolation(): string | null {
  if (process.getuid?.() !== 0) return 'needs root';
  const r = spawnSync('unshare', ['--net', '--mount', '--propagation', 'private', '--', 'sh', '-c', 'ip link set lo up && mount --bind /etc/hosts /etc/hosts'], { encoding: 'utf8' });
  return r.status === 0 ? null : `unshare --net --mount with ip link and mount --bind failed: ${(r.stderr || String(r.error)).trim()}`;
}

export async function runPeers(): Promise<boolean> {
  need('wrk', 'wrk');
  need('openssl', 'openssl');
  if (!fs.existsSync(BIN)) throw new Error('dist/ is missing: run npm run build first');
  const skipped: Record<string, string> = {};
  const noIsolation = isolation();
  const api = copilotApiMain();
  const goArg = flagValue('--go-tool') ?? process.env.GO_TOOL_BIN;
  let goBin: string | null = goArg ? path.resolve(goArg) : null;
  if (!goBin) skipped['Go tool'] = GO_SKIPPED;
  else if (!fs.existsSync(goBin)) {
    skipped['Go tool'] = `skipped (${goBin} does not exist)`;
    goBin = null;
  }
  let copilotApi = 'main' in api ? api.main : null;
  if ('reason' in api) skipped['copilot-api'] = `skipped (${api.reason})`;
  if (noIsolation) {
    for (const [name, on] of [['copilot-api', copilotApi], ['Go tool', goBin]] as const) {
      if (on) skipped[name] = `skipped (its Copilot and GitHub URLs are hard-coded: the bench answers them in its own network namespace, which ${noIsolation})`;
    }
    copilotApi = null;
    goBin = null;
  }
  const homes = { copilotApi: path.join(tmp, 'home-copilot-api'), goTool: path.join(tmp, 'home-go-tool') };
  for (const h of Object.values(homes)) fs.mkdirSync(h, { recursive: true });
  const plan: Plan = { isolated: !noIsolation, copilotApiMain: copilotApi, goBin, goSha256: goBin ? crypto.createHash('sha256').update(fs.readFileSync(goBin)).digest('hex') : null, skipped, homes };
  try {
    if (noIsolation) {
      await runInner(plan);
      return true;
    }
    const hosts = path.join(tmp, 'hosts');
    fs.writeFileSync(hosts, `127.0.0.1 localhost\n::1 localhost\n${HOSTS.map((h) => `127.0.0.1 ${h}`).join('\n')}\n`);
    const passwd = path.join(tmp, 'passwd');
    const uid = String(process.getuid?.());
    fs.writeFileSync(passwd, `${fs.readFileSync('/etc/passwd', 'utf8').split('\n').map((l) => {
      const f = l.split(':');
      return f[2] === uid && f.length >= 7 ? [...f.slice(0, 5), homes.goTool, ...f.slice(6)].join(':') : l;
    }).join('\n')}`);
    const script = 'set -e; ip link set lo up; mount --bind "$1" /etc/hosts; mount --bind "$2" /etc/passwd; shift 2; exec "$@"';
    const inner = spawn('unshare', ['--net', '--mount', '--propagation', 'private', '--', 'sh', '-c', script, 'sh', hosts, passwd, process.execPath, '--expose-gc', '--import', 'tsx', path.join(root, 'bench', 'peers.ts'), INNER, ...(quick ? ['--quick'] : [])], { cwd: root, env: { ...process.env, BENCH_PEERS_PLAN: JSON.stringify(plan) }, stdio: 'inherit' });
    const code = await new Promise<number | null>((resolve) => inner.on('exit', resolve));
    if (code !== 0) throw new Error(`bench peers: the run in its network namespace exited ${code}`);
    return true;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv.includes(INNER)) {
  const plan = JSON.parse(process.env.BENCH_PEERS_PLAN ?? '') as Plan;
  runInner(plan).then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}
