import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { compileRoutes } from '../../src/proxy/routes/table.ts';
import { errors, startFakeUpstream, type FakeUpstream } from '../fake-upstream/index.ts';
import { runCli, startCli } from '../helpers/cli.ts';
import { fakeEnv, tempHome } from '../helpers/harness.ts';
import { request } from './util.ts';

/**
 * Secret hygiene, end to end: the real `run` process and every CLI command,
 * with a recognisable GitHub token (migrated from a Go-tool config.json) and the
 * Copilot tokens the fake issues, at log_level debug. Every byte a user or
 * another program can see — stdout/stderr of every process, HTTP bodies and
 * headers of every route, every file in the data dir except the token file —
 * is searched for the tokens, whole and in 12-character pieces.
 */

interface Output {
  what: string;
  text: string;
}

/** Every route the proxy answers, as [method, path pattern]: read from the one route table. */
function registeredRoutes(): Array<[string, string]> {
  return compileRoutes({ debug: true }).routes.flatMap((r) => r.methods.flatMap((m) => r.paths.map((p): [string, string] => [m, p])));
}

/** Substantial pieces of a secret: the whole and every `n`-char window of its secret part. */
function pieces(secret: string, n = 12): string[] {
  const out = new Set([secret]);
  for (let i = 0; i + n <= secret.length; i++) out.add(secret.slice(i, i + n));
  return [...out];
}

/** Commands listed by `--help`, as `name` and whether they take a required argument. */
function commandsFromHelp(help: string): Array<{ name: string; args: string }> {
  const section = help.split(/^Commands:$/m)[1] ?? '';
  const out: Array<{ name: string; args: string }> = [];
  for (const m of section.matchAll(/^ {2}([a-z][\w-]*)((?: [[<][^\]>]+[\]>])*)/gm)) out.push({ name: m[1] ?? '', args: m[2] ?? '' });
  return out;
}

/** Runs `fn` over `items`, `n` at a time (CLI processes start slowly; the order does not matter here). */
async function pool<T>(items: readonly T[], fn: (item: T) => Promise<void>, n = 4): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const item = items[next++] as T;
        await fn(item);
      }
    }),
  );
}

// Long-running or interactive: covered by `--help` only (run is the proxy process itself).
// logout signs out: it runs last, after every other command has spoken (below).
const NOT_RUN_PLAIN = new Set(['run', 'start', 'tray', 'auth', 'logout', '__proxy-child']);
// Safe arguments for commands that need one.
// (dashboard: print the address only; no test may launch a real browser.)
const SAFE_ARGS: Record<string, string[]> = { autostart: ['status'], help: ['run'], dashboard: ['--no-browser'], uninstall: ['--dry-run'] };
// Routes that end the sign-in: hit after every other route, in the last pass.
const SIGN_OUT_ROUTES = new Set(['POST /admin/sign-out']);

describe('secret hygiene: no token in any output, any route, any log', () => {
  let fake: FakeUpstream;
  let home: string;
  let githubToken: string;
  let env: NodeJS.ProcessEnv;
  const outputs: Output[] = [];
  const add = (what: string, text: string) => outputs.push({ what, text });

  before(async () => {
    fake = await startFakeUpstream();
    githubToken = `gho_SeCrEt${randomBytes(16).toString('hex')}`;
    fake.addGithubToken(githubToken, { app: 'vscode' });
    home = tempHome();
    // The Go tool kept the token in config.json: it is migrated to the token store and must vanish from the file.
    fs.writeFileSync(path.join(home, 'config.json'), JSON.stringify({ port: 0, log_level: 'debug', github_token: githubToken }), { mode: 0o600 });
    env = { ...fakeEnv(fake, home), HOME: home, XDG_CONFIG_HOME: path.join(home, 'xdg') };
  });
  after(async () => {
    await fake.close();
    fs.rmSync(home, { recursive: true, force: true });
  });

  test('every route of the running proxy, then every CLI command with and without it', { timeout: 300_000 }, async () => {
    const proc = startCli(['run'], env);
    let url = '';
    try {
      const m = await proc.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)\/v1/);
      url = m[1] ?? '';
      const json = { 'content-type': 'application/json' };
      const chat = { model: 'gpt-4.1', messages: [{ role: 'user', content: 'hello' }] };
      const cases: Array<{ method: string; path: string; headers?: Record<string, string>; body?: string }> = [
        { method: 'POST', path: '/v1/chat/completions', headers: json, body: JSON.stringify(chat) },
        { method: 'POST', path: '/v1/chat/completions', headers: json, body: JSON.stringify({ ...chat, stream: true, stream_options: { include_usage: true } }) },
        { method: 'POST', path: '/v1/embeddings', headers: json, body: JSON.stringify({ model: 'text-embedding-3-small', input: 'x' }) },
        { method: 'POST', path: '/v1/responses', headers: json, body: JSON.stringify({ model: 'gpt-5.1-codex', input: 'hi' }) },
        { method: 'POST', path: '/v1/responses', headers: json, body: JSON.stringify({ model: 'gpt-5.1-codex', input: 'hi', stream: true }) },
        { method: 'POST', path: '/v1/messages', headers: json, body: JSON.stringify({ model: 'claude-sonnet-4', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] }) },
        { method: 'POST', path: '/v1/messages', headers: json, body: JSON.stringify({ model: 'claude-sonnet-4', max_tokens: 20, stream: true, messages: [{ role: 'user', content: 'hi' }] }) },
        { method: 'POST', path: '/v1/messages/count_tokens', headers: json, body: JSON.stringify({ model: 'claude-sonnet-4', messages: [{ role: 'user', content: 'hi' }] }) },
        { method: 'GET', path: '/v1/models/gpt-4.1' },
        { method: 'GET', path: '/v1/models/no-such-model' },
        { method: 'GET', path: '/debug/cpu-profile?seconds=0.3' },
        { method: 'POST', path: '/v1/chat/completions', headers: json, body: '{"model":' },
        { method: 'POST', path: '/v1/chat/completions', headers: { ...json, authorization: `Bearer ${githubToken}` }, body: JSON.stringify({ model: 5 }) },
        { method: 'GET', path: '/nowhere' },
        { method: 'GET', path: '/health', headers: { host: 'evil.example' } },
      ];
      // Every registered route is hit at least once: new routes are covered without editing this test.
      const routes = registeredRoutes();
      assert.ok(routes.length >= 10, `routes found: ${routes.length}`);
      for (const [method, pattern] of routes) {
        const p = pattern.replace('*id', 'gpt-4.1').replace(/:\w+/g, 'x');
        if (!cases.some((c) => c.method === method && c.path.split('?')[0] === p)) cases.push({ method, path: p, ...(method === 'POST' ? { headers: json, body: '{}' } : {}) });
      }
      const run = async (last = false) => {
        for (const c of cases) {
          if (SIGN_OUT_ROUTES.has(`${c.method} ${c.path}`) !== last) continue;
          // A live feed (GET /usage/events) never ends: read until it has been silent for 2 s.
          const r = await request(url, { ...c, idleMs: 2000 });
          add(`${c.method} ${c.path} -> ${r.status}`, `${JSON.stringify(r.headers)}\n${r.text}`);
        }
      };
      await run();
      // Upstream trouble: an expired Copilot token (forced refresh), an upstream error body, then the routes again.
      fake.failNext(1, { ...errors.tokenExpired(), path: '/chat/completions' });
      fake.failNext(1, { ...errors.badRequest('upstream says no'), path: '/chat/completions' });
      await run();
      await run(true);
      const covered = new Set(cases.map((c) => `${c.method} ${c.path.split('?')[0]}`));
      for (const [m, p] of routes) assert.ok(covered.has(`${m} ${p.replace('*id', 'gpt-4.1').replace(/:\w+/g, 'x')}`), `route ${m} ${p} exercised`);

      // Every CLI command (from --help, so new ones are covered), against the running proxy.
      const help = await runCli(['--help'], env);
      add('--help', help.stdout + help.stderr);
      const commands = commandsFromHelp(help.stdout);
      assert.ok(commands.length >= 5, `commands found: ${commands.map((c) => c.name).join(', ')}`);
      for (const want of ['status', 'config', 'models', 'usage', 'refresh', 'version']) {
        if (commands.some((c) => c.name === want)) continue;
        // Still landing: listed so the report shows it, never silently dropped.
        add(`missing command ${want}`, '');
      }
      // Each command's --help once; then the plain command (and --json when offered) in two passes.
      const invocations: string[][] = [];
      await pool(commands, async (c) => {
        const sub = await runCli([c.name, '--help'], env);
        add(`${c.name} --help`, sub.stdout + sub.stderr);
        if (NOT_RUN_PLAIN.has(c.name)) return;
        const args = SAFE_ARGS[c.name] ?? [];
        if (c.args.includes('<') && args.length === 0) return;
        invocations.push([c.name, ...args]);
        if (/--json\b/.test(sub.stdout)) invocations.push([c.name, ...args, '--json']);
      });
      const runAll = (label: string) =>
        pool(invocations, async (argv) => {
          const r = await runCli(argv, env, { timeoutMs: 90_000 });
          add(`${label} ${argv.join(' ')} (exit ${r.code})`, r.stdout + r.stderr);
        });
      await runAll('cli+proxy');
      proc.child.kill('SIGTERM');
      await proc.exited;
      add('run stdout+stderr', proc.output());
      // The same commands with no proxy running: they work on the stored tokens directly.
      await runAll('cli alone');
      // A revoked GitHub token: the failure paths speak too.
      fake.revokeGithubToken(githubToken);
      await pool(
        ['status', 'refresh', 'models', 'usage'].filter((name) => commands.some((c) => c.name === name)),
        async (name) => {
          const r = await runCli([name], env, { timeoutMs: 90_000 });
          add(`revoked: ${name} (exit ${r.code})`, r.stdout + r.stderr);
        },
      );
      const out = await runCli(['logout'], env, { timeoutMs: 90_000 });
      add(`logout (exit ${out.code})`, out.stdout + out.stderr);
    } finally {
      proc.child.kill('SIGKILL');
    }

    // Files in the data dir (logs, config.json, archives), all but the token file itself.
    for (const name of fs.readdirSync(home, { recursive: true }).map(String)) {
      const p = path.join(home, name);
      if (!fs.statSync(p).isFile() || name === 'tokens.json') continue;
      add(`file ${name}`, fs.readFileSync(p, 'utf8'));
    }
    assert.ok(outputs.some((o) => o.what.startsWith('file github-copilot-svcs.log') && o.text.includes('request ')), 'the log file was written (at debug)');
    assert.ok(!fs.readFileSync(path.join(home, 'config.json'), 'utf8').includes('github_token'), 'the token left config.json');

    // The Copilot tokens the fake issued, as the proxy sent them upstream.
    const copilotTokens = new Set<string>();
    for (const r of fake.requests) {
      const m = /^Bearer (tid=\S+)$/.exec(r.headers.authorization ?? '');
      if (m?.[1]) copilotTokens.add(m[1]);
    }
    assert.ok(copilotTokens.size >= 2, `several Copilot tokens were issued (refresh): ${copilotTokens.size}`);
    const needles = new Set(pieces(githubToken.slice(4)).concat([githubToken]));
    for (const t of copilotTokens) {
      needles.add(t);
      for (const part of t.split(';')) {
        // The secret parts: the tracking id and the signature (the rest is public: exp, sku, endpoints).
        const m = /^(?:tid=|8kp=\d+:)([0-9a-f]{16,})$/.exec(part);
        if (m?.[1]) for (const p of pieces(m[1])) needles.add(p);
      }
    }
    assert.ok(needles.size > 30);
    const leaks: string[] = [];
    for (const o of outputs) {
      for (const n of needles) {
        if (o.text.includes(n)) {
          const at = o.text.indexOf(n);
          leaks.push(`${o.what}: ${JSON.stringify(o.text.slice(Math.max(0, at - 60), at + n.length + 20))}`);
          break;
        }
      }
    }
    assert.deepEqual(leaks, [], 'no token (or piece of one) anywhere');
    assert.ok(outputs.length > 40, `outputs checked: ${outputs.length}`);
  });
});
