import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { archivedLogPath, createLogger, LOG_LINE_MAX_CHARS, MAX_COPILOT_SECRETS, oneLogLine, redact, type ConsoleSinkDeps } from '../../src/log.ts';
import { logfmt } from '../../src/proxy/middleware/request-log.ts';
import { startHarness, suiteHomes, type Harness } from '../helpers/harness.ts';
import { eventually, request } from './util.ts';

/** Parses `request k=v k="quoted v" …` (the request log line) into a record. */
function parseLogfmt(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /(\w+)=("(?:[^"\\]|\\.)*"|\S+)/g;
  for (const m of line.matchAll(re)) {
    const [, k = '', v = ''] = m;
    out[k] = v.startsWith('"') ? (JSON.parse(v) as string) : v;
  }
  return out;
}

describe('structured request log', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ config: { log_level: 'info' } });
  });
  after(async () => {
    await h.close();
  });

  const lineFor = (id: string) =>
    eventually(() => fs.readFileSync(h.logFile, 'utf8').split('\n').find((l) => l.includes(`id=${id}`)), `log line for ${id}`);

  test('one logfmt line per request: method, route, model, status, ttfb, total, tokens, id', async () => {
    const r = await request(h.url, {
      method: 'POST',
      path: '/v1/chat/completions',
      headers: { 'content-type': 'application/json', 'x-request-id': 'log-test-1' },
      body: JSON.stringify({ model: 'gpt-4.1', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'four words right here' }] }),
    });
    assert.equal(r.status, 200);
    const f = parseLogfmt(await lineFor('log-test-1'));
    assert.equal(f.method, 'POST');
    assert.equal(f.route, '/v1/chat/completions');
    assert.equal(f.path, '/v1/chat/completions');
    assert.equal(f.status, '200');
    assert.equal(f.model, 'gpt-4.1');
    assert.equal(f.stream, 'true');
    assert.match(f.ttfb_ms ?? '', /^\d+$/);
    assert.match(f.total_ms ?? '', /^\d+$/);
    assert.ok(Number(f.total_ms) >= Number(f.ttfb_ms));
    assert.ok(Number(f.prompt_tokens) > 0);
    assert.equal(f.completion_tokens, '5'); // "Echo: four words right here"
  });

  test('errors carry their code; hostile paths cannot forge fields or lines', async () => {
    await request(h.url, { path: '/x%20status=200%0Aforged', headers: { 'x-request-id': 'log-test-2' } });
    const line = await lineFor('log-test-2');
    const f = parseLogfmt(line);
    assert.equal(f.status, '404');
    assert.equal(f.error, 'unknown_route');
    assert.equal(f.route, 'unmatched');
    assert.equal(f.path, '/x%20status=200%0Aforged');
    assert.ok(!fs.readFileSync(h.logFile, 'utf8').split('\n').some((l) => l.startsWith('forged')));
  });

  test('hostile model names and client strings cannot forge a line, drive the terminal, or fill the log', async () => {
    const forged = '\n[2026-12-03 06:00:00.000] [error] [proxy] FORGED line';
    const names = [`claude-opus-4${forged}`, 'claude-sonnet-4\u001b[31mred', 'claude-haiku-4\r\u2028x', `claude-opus-4-${'9'.repeat(300_000)}`];
    for (const [i, model] of names.entries()) {
      const r = await request(h.url, {
        method: 'POST',
        path: '/v1/chat/completions',
        headers: { 'content-type': 'application/json', 'x-request-id': `hostile-${i}` },
        body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
      });
      assert.equal(r.status, 400, 'a name outside the alphabet or over 256 characters is refused');
    }
    await lineFor('hostile-3');
    const text = fs.readFileSync(h.logFile, 'utf8');
    for (const line of text.split('\n').filter(Boolean)) {
      assert.match(line, /^\[\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}\] \[(error|warn|info|debug)\]/, `every line is one of ours: ${line.slice(0, 120)}`);
      assert.ok(line.length < 10_000, 'no line carries a 300 kB name');
    }
    assert.doesNotMatch(text, /[\u001b\r\u2028]/, 'no ESC, CR or line separator reaches the file');
    assert.doesNotMatch(text, /^\S*FORGED/m);
  });

  test('oneLogLine escapes controls and cuts long text (pure)', () => {
    assert.equal(oneLogLine('a\nb\r\u001b[0m\u0085\tc'), 'a\\nb\\r\\u001b[0m\\u0085\tc');
    const long = oneLogLine('x'.repeat(LOG_LINE_MAX_CHARS + 5));
    assert.ok(long.endsWith('… (5 more characters)'));
  });

  test('/health and /metrics successes are debug-level (not in an info log)', async () => {
    await request(h.url, { path: '/health', headers: { 'x-request-id': 'log-test-3' } });
    await request(h.url, { path: '/v1/models', headers: { 'x-request-id': 'log-test-4' } });
    await lineFor('log-test-4');
    assert.ok(!fs.readFileSync(h.logFile, 'utf8').includes('id=log-test-3'));
  });

  test('logfmt quotes what needs quoting and clips long values', () => {
    assert.equal(logfmt([['a', 'x y'], ['b', 1], ['c', undefined], ['d', 'q"=']]), 'a="x y" b=1 d="q\\"="');
    assert.ok(logfmt([['m', 'x'.repeat(1000)]]).length < 260);
  });
});

describe('log_level and rotation', () => {
  const newHome = suiteHomes();

  test('log_level debug writes debug lines; info does not', async () => {
    const d = newHome();
    const file = path.join(d, 'a.log');
    const info = createLogger({ level: 'info', file, console: false });
    info.debug('hidden-debug-line');
    info.info('shown-info-line');
    const debug = createLogger({ level: 'debug', file, console: false });
    debug.debug('shown-debug-line');
    const text = fs.readFileSync(file, 'utf8');
    assert.ok(!text.includes('hidden-debug-line'));
    assert.ok(text.includes('shown-info-line') && text.includes('shown-debug-line'));
  });

  test('the log file is created 0600 in a 0700 dir', { skip: process.platform === 'win32' }, () => {
    const d = path.join(newHome(), 'fresh');
    const file = path.join(d, 'x.log');
    createLogger({ level: 'info', file, console: false }).info('hello');
    assert.equal(fs.statSync(d).mode & 0o777, 0o700);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  });

  test('rotation keeps every line: each one is in the live file or an archive, once, in order', () => {
    const d = newHome();
    const file = path.join(d, 'rot.log');
    const log = createLogger({ level: 'info', file, console: false, maxFileBytes: 4096, maxArchives: 5 });
    const N = 250; // ~80 bytes a line: ~20 KB, so 4 rotations, within the 5 archives kept
    for (let i = 0; i < N; i++) log.info(`line-${String(i).padStart(5, '0')} ${'x'.repeat(40)}`);
    const files = [5, 4, 3, 2, 1].map((n) => archivedLogPath(file, n)).filter((f) => fs.existsSync(f));
    assert.ok(files.length >= 3, `rotated several times (${files.length} archives)`);
    for (const f of [...files, file]) {
      assert.equal(fs.statSync(f).mode & 0o777, 0o600, `${path.basename(f)} is 0600`);
      assert.ok(fs.statSync(f).size <= 4096 + 200, `${path.basename(f)} near the size cap`);
    }
    const seen = [...files, file].flatMap((f) => fs.readFileSync(f, 'utf8').split('\n')).flatMap((l) => /line-(\d{5})/.exec(l)?.[1] ?? []);
    assert.deepEqual(
      seen.map(Number),
      Array.from({ length: N }, (_, i) => i),
    );
  });

  test('the oldest archive falls off beyond maxArchives', () => {
    const d = newHome();
    const file = path.join(d, 'rot.log');
    const log = createLogger({ level: 'info', file, console: false, maxFileBytes: 1024, maxArchives: 2 });
    for (let i = 0; i < 200; i++) log.info(`line ${i} ${'y'.repeat(40)}`);
    assert.ok(fs.existsSync(archivedLogPath(file, 2)));
    assert.ok(!fs.existsSync(archivedLogPath(file, 3)));
    assert.ok(fs.readFileSync(file, 'utf8').includes('line 199 '));
  });
});

describe('credential shapes are cut, prose is not', () => {
  test('"token <value>" and "Bearer <value>" lose the value; "the Copilot token exchange" keeps its words', () => {
    assert.equal(redact('GitHub rejected the GitHub token at the Copilot token exchange (401)'), 'GitHub rejected the GitHub token at the Copilot token exchange (401)');
    assert.equal(redact('Authorization: token 0123456789abcdef'), 'Authorization: token [REDACTED]');
    assert.equal(redact('Authorization: token abcdefghijklmnopqrstuvwxyz'), 'Authorization: token [REDACTED]');
    assert.equal(redact('Authorization: Bearer abcdefgh'), 'Authorization: Bearer [REDACTED]');
    assert.equal(redact('token my-secret-key and token CorrectHorse'), 'token [REDACTED] and token [REDACTED]');
    assert.equal(redact('tid=abc;exp=1 and gho_abcdef123456'), 'tid=[REDACTED] and gh*_[REDACTED]');
  });
});

describe('the redaction set stays bounded', () => {
  test('a month of refreshed Copilot tokens keeps only the last 16; GitHub tokens and other secrets stay; a recent token is still cut', () => {
    const log = createLogger({ level: 'error', console: false });
    log.addSecret('gho_github_token_kept_000000000');
    log.addSecret('my-api-key-kept');
    for (let i = 0; i < 30 * 24 * 60 / 25; i++) log.addSecret(`tid=copilot-${i};exp=1`);
    const known = log.knownSecrets();
    assert.equal(known.filter((s) => s.startsWith('tid=')).length, MAX_COPILOT_SECRETS);
    assert.ok(known.includes('gho_github_token_kept_000000000') && known.includes('my-api-key-kept'));
    assert.ok(known.includes(`tid=copilot-${30 * 24 * 60 / 25 - 1};exp=1`), 'the newest is kept');
  });
});

describe('the console copy of the log', () => {
  /** A stream, a turn and an exit of our own: what consoleSink wrote, and when. */
  function fakeConsole() {
    const writes: string[] = [];
    let turn: Array<() => void> = [];
    const exits = new Set<() => void>();
    const stream = Object.assign(new EventEmitter(), {
      writable: true,
      destroyed: false,
      write(text: string) {
        writes.push(text);
        return true;
      },
    });
    const deps: ConsoleSinkDeps = {
      stream,
      later: (fn) => void turn.push(fn),
      atExit: (fn) => {
        exits.add(fn);
        return () => exits.delete(fn);
      },
    };
    const endTurn = () => {
      const run = turn;
      turn = [];
      for (const fn of run) fn();
    };
    const exit = () => {
      for (const fn of [...exits]) fn();
    };
    return { writes, deps, stream, endTurn, exit, exits };
  }
  const lines = (writes: string[]) => writes.join('').split('\n').filter(Boolean).map((l) => l.replace(/^\[[^\]]+\] /, ''));

  test('info lines of one turn of the event loop go out in one write, in order, when the turn ends', () => {
    const c = fakeConsole();
    const log = createLogger({ level: 'info', consoleDeps: c.deps });
    for (let i = 0; i < 50; i++) log.info(`request ${i}`);
    assert.deepEqual(c.writes, []);
    c.endTurn();
    log.info('next turn');
    c.endTurn();
    assert.deepEqual(lines(c.writes), [...Array.from({ length: 50 }, (_, i) => `[info] request ${i}`), '[info] next turn']);
    assert.equal(c.writes.length, 2);
    assert.equal(c.exits.size, 0, 'no exit hook is left behind');
  });

  test('a warning or an error goes out at once, after the info lines before it', () => {
    const c = fakeConsole();
    const log = createLogger({ level: 'info', consoleDeps: c.deps });
    log.info('one');
    log.warn('two');
    log.info('three');
    log.error('four');
    assert.deepEqual(lines(c.writes), ['[info] one', '[warn] two', '[info] three', '[error] four']);
    log.info('five');
    c.endTurn();
    assert.deepEqual(lines(c.writes), ['[info] one', '[warn] two', '[info] three', '[error] four', '[info] five']);
    assert.equal(c.writes.length, 3);
  });

  test('an exit before the turn ends writes what waits', () => {
    const c = fakeConsole();
    const log = createLogger({ level: 'info', consoleDeps: c.deps });
    log.info('last words');
    c.exit();
    assert.deepEqual(lines(c.writes), ['[info] last words']);
    c.endTurn();
    assert.equal(c.writes.length, 1);
  });

  test('a turn that logs more than 64 Ki characters writes as it goes: nothing waits unbounded', () => {
    const c = fakeConsole();
    const log = createLogger({ level: 'info', consoleDeps: c.deps });
    for (let i = 0; i < 400; i++) log.info(`${String(i).padStart(4, '0')} ${'x'.repeat(1000)}`);
    assert.ok(c.writes.length >= 6 && c.writes.every((w) => w.length <= 65_536 + 1100), `${c.writes.length} writes before the turn ended`);
    c.endTurn();
    assert.deepEqual(
      lines(c.writes).map((l) => Number(l.slice(7, 11))),
      Array.from({ length: 400 }, (_, i) => i),
    );
  });

  test('a stream that went away gets nothing more; loggers on one stream add one error listener between them', () => {
    const c = fakeConsole();
    const a = createLogger({ level: 'info', consoleDeps: c.deps });
    createLogger({ level: 'info', consoleDeps: c.deps });
    assert.equal(c.stream.listenerCount('error'), 1);
    // An EPIPE: the stream says so and is destroyed; it must not be thrown, nor written again.
    c.stream.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    c.stream.destroyed = true;
    c.stream.writable = false;
    a.warn('after');
    a.info('after');
    c.endTurn();
    assert.deepEqual(c.writes, []);
  });

  test('a log file that cannot be written is said once on the console, after the lines that wait there', () => {
    const c = fakeConsole();
    // A directory where the file should be: every write fails.
    const file = fs.mkdtempSync(path.join(os.tmpdir(), 'gcs-log-dir-'));
    const log = createLogger({ level: 'info', file, consoleDeps: c.deps });
    log.info('first');
    log.info('second');
    c.endTurn();
    const got = lines(c.writes);
    assert.equal(got[0], '[info] first');
    assert.match(got[1] ?? '', /^log: cannot write to .*further log-file errors are not shown$/);
    assert.equal(got[2], '[info] second');
    assert.equal(got.length, 3);
    fs.rmSync(file, { recursive: true, force: true });
  });

  test('the real process: process.exit right after an info line still writes it to stderr', async () => {
    const script = `
      import { createLogger } from './src/log.ts';
      createLogger({ level: 'info' }).info('last words');
      process.exit(3);`;
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: path.resolve(import.meta.dirname, '../..'), stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 3);
    assert.deepEqual(lines([err]), ['[info] last words']);
  });
});
