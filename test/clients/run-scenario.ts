/**
 * One client scenario, run inside a network namespace that has only loopback
 * (`unshare --net`, started by clients.test.ts): the fake GitHub/Copilot, the
 * real proxy runtime and the real client program all live on 127.0.0.1, so
 * nothing a client tries to phone home can leave the machine.
 *
 * Reads a ScenarioSpec (JSON) on stdin; prints `@@RESULT@@` + a ScenarioResult.
 * `{{PROXY}}` (http://127.0.0.1:PORT), `{{HOME}}` and `{{WORK}}` are filled in
 * the client's args, env and files.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startFakeUpstream } from '../fake-upstream/index.ts';
import { startHarness } from '../helpers/harness.ts';
import { scenarioSpecSchema, type ScenarioResult } from './scenario.ts';

const spec = scenarioSpecSchema.parse(JSON.parse(fs.readFileSync(0, 'utf8')));
execFileSync('ip', ['link', 'set', 'lo', 'up']);

const fake = await startFakeUpstream();
if (spec.fake?.acceptSystemRole !== undefined) fake.acceptSystemRole = spec.fake.acceptSystemRole;
const h = await startHarness({ upstream: fake, config: { log_level: 'info', ...(spec.config ?? {}) } });
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'gcs-client-home-'));
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'gcs-client-work-'));
const fill = (s: string) => s.replaceAll('{{PROXY}}', h.url).replaceAll('{{HOME}}', home).replaceAll('{{WORK}}', work);
for (const [rel, content] of Object.entries(spec.files ?? {})) {
  const file = fill(rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, fill(content));
}

const env: NodeJS.ProcessEnv = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: home,
  USER: 'tester',
  LANG: 'C.UTF-8',
  TERM: 'dumb',
  NO_COLOR: '1',
  CI: 'true',
  XDG_CONFIG_HOME: path.join(home, '.config'),
  XDG_DATA_HOME: path.join(home, '.local', 'share'),
  XDG_CACHE_HOME: path.join(home, '.cache'),
  XDG_STATE_HOME: path.join(home, '.local', 'state'),
  ...Object.fromEntries(Object.entries(spec.env ?? {}).map(([k, v]) => [k, fill(v)])),
};
// `setup <client>` from the built CLI, against this data dir's running proxy (async: the proxy answers from this process).
let setupOutput = '';
if (spec.setup) {
  const BIN = path.resolve(import.meta.dirname, '../../dist/github-copilot-svcs.mjs');
  const args = [BIN, 'setup', spec.setup.client, ...(spec.setup.model ? ['--model', spec.setup.model] : [])];
  const setupEnv = { ...env, ...h.env, GITHUB_COPILOT_SVCS_PORT: new URL(h.url).port };
  const code = await new Promise<number | null>((resolve) => {
    const p = spawn(process.execPath, args, { cwd: '/', env: setupEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout.setEncoding('utf8').on('data', (d: string) => (setupOutput += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (setupOutput += d));
    p.on('exit', resolve);
  });
  if (code !== 0) setupOutput += `\n[run-scenario] setup exited ${code}`;
}
const started = Date.now();
const child = spawn(spec.command, spec.args.map(fill), { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'] });
let stdout = '';
let stderr = '';
child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
const timer = setTimeout(() => child.kill('SIGKILL'), spec.timeoutMs ?? 120_000);
const exit = await new Promise<{ code: number | null; signal: string | null }>((resolve) => {
  child.on('exit', (code, signal) => resolve({ code, signal }));
  child.on('error', (err) => {
    stderr += `\n[run-scenario] cannot start ${spec.command}: ${err.message}`;
    resolve({ code: null, signal: null });
  });
});
clearTimeout(timer);

const files: Record<string, string> = {};
for (const name of fs.readdirSync(work, { recursive: true, encoding: 'utf8' })) {
  const p = path.join(work, name);
  if (fs.statSync(p).isFile() && fs.statSync(p).size < 10_000) files[name] = fs.readFileSync(p, 'utf8');
}
const headerKeys = ['x-initiator', 'anthropic-beta', 'anthropic-version', 'copilot-vision-request', 'editor-version'];
const result: ScenarioResult = {
  ...exit,
  ms: Date.now() - started,
  stdout,
  stderr,
  files,
  requests: fake.requests
    .filter((r) => !r.path.startsWith('/login') && !r.path.startsWith('/copilot_internal'))
    .map((r) => ({ method: r.method, path: r.path, headers: Object.fromEntries(headerKeys.flatMap((k) => (r.headers[k] ? [[k, r.headers[k]]] : []))), body: r.body })),
  proxyLog: fs.readFileSync(h.logFile, 'utf8').split('\n').filter((l) => l.includes('request method=') || /\] \[(warn|error)\]/.test(l)),
  setupOutput,
};
process.stdout.write(`\n@@RESULT@@${JSON.stringify(result)}\n`);
await h.close();
await fake.close();
fs.rmSync(home, { recursive: true, force: true });
fs.rmSync(work, { recursive: true, force: true });
process.exit(0);

