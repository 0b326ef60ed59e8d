import { PROXY_CHILD_COMMAND } from '../../src/ipc/child.ts';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProxySupervisor, STOP_MARGIN_MS, forkPlan, stopDeadlineMs, type SupervisorStatus } from '../../src/tray/proxy-supervisor.ts';
import { TIMEOUT_DEFAULTS } from '../../src/config/schema.ts';
import { childLaunch } from '../../src/tray/tray-main.ts';
import type { ChildMessage } from '../../src/ipc/messages.ts';
import { FakeClock, fakeFork, flush } from './fakes.ts';

function setup(extra: Partial<ConstructorParameters<typeof ProxySupervisor>[0]> = {}) {
  const clock = new FakeClock();
  const f = fakeFork();
  const statuses: SupervisorStatus[] = [];
  const messages: ChildMessage[] = [];
  const crashes: Array<{ portTaken: boolean; holder: { version: string } | null }> = [];
  const sup = new ProxySupervisor({
    modulePath: '/x/bin.js',
    args: [PROXY_CHILD_COMMAND],
    port: 8081,
    fork: f.fork,
    clock,
    onStatus: (s) => statuses.push(s),
    onMessage: (m) => messages.push(m),
    onCrash: (c) => crashes.push(c),
    ...extra,
  });
  return { sup, clock, ...f, statuses, messages, crashes };
}

describe('ProxySupervisor', () => {
  it('forks the child with the given script and args and reports running on ready', () => {
    const { sup, children, calls } = setup();
    sup.start();
    assert.deepEqual(calls, [{ modulePath: '/x/bin.js', args: [PROXY_CHILD_COMMAND] }]);
    assert.equal(sup.status.kind, 'starting');
    children[0]!.ready(8081);
    assert.deepEqual(sup.status, { kind: 'running', url: 'http://127.0.0.1:8081', port: 8081, pid: children[0]!.pid });
    sup.start(); // already running: no second child
    assert.equal(children.length, 1);
  });

  it('passes valid messages on and drops invalid ones', () => {
    const { sup, children, messages } = setup();
    sup.start();
    children[0]!.say({ type: 'token', snapshot: { nope: true } });
    children[0]!.say({ type: 'log', level: 'info', message: 'hi' });
    assert.deepEqual(messages, [{ type: 'log', level: 'info', message: 'hi' }]);
  });

  it('restarts a crashed child with backoff 1, 2, 4, 8, 16, 30, 30 s', () => {
    const { sup, clock, children, statuses } = setup({ maxFastCrashes: 100 });
    sup.start();
    const delays: number[] = [];
    for (let i = 0; i < 7; i++) {
      children.at(-1)!.ready();
      children.at(-1)!.exit(1);
      const s = sup.status;
      assert.equal(s.kind, 'restarting');
      if (s.kind === 'restarting') delays.push(s.delayMs);
      assert.deepEqual(clock.pending(), [s.kind === 'restarting' ? s.delayMs : -1]);
      clock.advance(delays.at(-1)!);
    }
    assert.deepEqual(delays, [1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    assert.equal(children.length, 8);
    assert.ok(statuses.some((s) => s.kind === 'restarting' && s.attempt === 7));
  });

  it('resets the backoff after a minute healthy', () => {
    const { sup, clock, children } = setup();
    sup.start();
    children[0]!.exit(1);
    clock.advance(1000);
    children[1]!.ready();
    children[1]!.exit(1);
    assert.equal(sup.status.kind === 'restarting' && sup.status.delayMs, 2000);
    clock.advance(2000);
    children[2]!.ready();
    clock.advance(60_000);
    children[2]!.exit(1);
    assert.equal(sup.status.kind === 'restarting' && sup.status.delayMs, 1000);
    assert.equal(sup.status.kind === 'restarting' && sup.status.attempt, 1);
  });

  it('gives up after repeated fast crashes', () => {
    const { sup, clock, children } = setup({ maxFastCrashes: 3 });
    sup.start();
    children[0]!.exit(1);
    clock.advance(1000);
    children[1]!.exit(1);
    clock.advance(2000);
    children[2]!.exit(1);
    assert.equal(sup.status.kind, 'gave-up');
    assert.equal(sup.status.kind === 'gave-up' && sup.status.portTaken, false);
    assert.deepEqual(clock.pending(), []);
    assert.equal(children.length, 3);
  });

  it('does not count a crash after a long healthy run as fast', () => {
    const { sup, clock, children } = setup({ maxFastCrashes: 2 });
    sup.start();
    children[0]!.exit(1);
    clock.advance(1000);
    children[1]!.ready();
    clock.advance(30_000);
    children[1]!.exit(1);
    assert.equal(sup.status.kind, 'restarting');
  });

  it('reports a port held by another program as such', () => {
    const { sup, clock, children, crashes } = setup({ maxFastCrashes: 2 });
    sup.start();
    children[0]!.say({ type: 'listen-failed', code: 'EADDRINUSE', message: 'port 8081 is in use by another program' });
    children[0]!.exit(3);
    assert.equal(sup.status.kind === 'restarting' && sup.status.portTaken, true);
    clock.advance(1000);
    children[1]!.exit(3); // exit code 3 alone also means "port taken"
    assert.deepEqual(sup.status, { kind: 'gave-up', reason: 'port 8081 is in use by another program', portTaken: true, port: 8081, holder: null });
    assert.deepEqual(
      crashes.map((c) => c.portTaken),
      [true, true],
    );
  });

  it('a port held by another github-copilot-svcs proxy is named as such (it answered our /health)', async () => {
    const asked: number[] = [];
    const { sup, clock, children, crashes, statuses } = setup({
      maxFastCrashes: 2,
      identifyPortHolder: async () => {
        asked.push(clock.now());
        return { kind: 'github-copilot-svcs', version: '0.9.1' };
      },
    });
    sup.start();
    children[0]!.say({ type: 'listen-failed', code: 'EADDRINUSE', message: 'Port 8081 on 127.0.0.1 is already in use by another program.' });
    children[0]!.exit(3);
    await flush();
    assert.deepEqual(sup.status, {
      kind: 'restarting',
      attempt: 1,
      delayMs: 1000,
      reason: 'port 8081 is in use by another github-copilot-svcs proxy (version 0.9.1)',
      portTaken: true,
      holder: { kind: 'github-copilot-svcs', version: '0.9.1' },
    });
    clock.advance(1000);
    children[1]!.exit(3);
    await flush();
    assert.deepEqual(sup.status, {
      kind: 'gave-up',
      reason: 'port 8081 is in use by another github-copilot-svcs proxy (version 0.9.1)',
      portTaken: true,
      port: 8081,
      holder: { kind: 'github-copilot-svcs', version: '0.9.1' },
    });
    assert.equal(asked.length, 2, 'asked once per failed listen');
    assert.deepEqual(
      crashes.map((c) => c.holder?.version ?? null),
      ['0.9.1', '0.9.1'],
    );
    assert.ok(!statuses.some((s) => s.kind === 'gave-up' && s.holder === null), 'never said "another program" first');
  });

  it('when the port holder does not answer our /health (or the question fails), it is "another program"', async () => {
    for (const identifyPortHolder of [async () => null, async () => Promise.reject(new Error('boom'))]) {
      const { sup, children } = setup({ maxFastCrashes: 1, identifyPortHolder });
      sup.start();
      children[0]!.say({ type: 'listen-failed', code: 'EADDRINUSE', message: 'port 8081 is in use by another program' });
      children[0]!.exit(3);
      await flush();
      assert.deepEqual(sup.status, { kind: 'gave-up', reason: 'port 8081 is in use by another program', portTaken: true, port: 8081, holder: null });
    }
  });

  it('a crash that is not about the port does not ask who holds it', async () => {
    let asked = 0;
    const { sup, children } = setup({ identifyPortHolder: async () => (asked++, null) });
    sup.start();
    children[0]!.exit(1);
    assert.equal(sup.status.kind, 'restarting', 'decided at once');
    await flush();
    assert.equal(asked, 0);
  });

  it('an answer about the port that comes after stop() changes nothing', async () => {
    let answer: (h: null) => void = () => {};
    const { sup, clock, children } = setup({ identifyPortHolder: () => new Promise((r) => (answer = r)) });
    sup.start();
    children[0]!.exit(3);
    await sup.stop();
    answer(null);
    await flush();
    assert.equal(sup.status.kind, 'stopped');
    assert.deepEqual(clock.pending(), []);
  });

  it('restart() after giving up starts again with the counters reset', async () => {
    const { sup, clock, children } = setup({ maxFastCrashes: 1 });
    sup.start();
    children[0]!.exit(1);
    assert.equal(sup.status.kind, 'gave-up');
    await sup.restart();
    assert.equal(children.length, 2);
    children[1]!.exit(1);
    assert.equal(sup.status.kind, 'gave-up');
    assert.deepEqual(clock.pending(), []);
  });

  it('restart() of a running child stops it first and does not count it as a crash', async () => {
    const { sup, children, crashes } = setup();
    sup.start();
    children[0]!.ready();
    await sup.restart();
    assert.deepEqual(children[0]!.signals, ['SIGTERM']);
    assert.equal(children.length, 2);
    assert.equal(sup.status.kind, 'starting');
    assert.deepEqual(crashes, []);
  });

  it('stop() sends SIGTERM, and SIGKILL after the deadline; twice is safe', async () => {
    const { sup, clock, children, crashes } = setup({ stopTimeoutMs: 5000 });
    sup.start();
    const c = children[0]!;
    c.ready();
    c.obeysSigterm = false;
    const p1 = sup.stop();
    const p2 = sup.stop();
    assert.equal(p1, p2);
    assert.deepEqual(c.signals, ['SIGTERM']);
    clock.advance(4999);
    assert.deepEqual(c.signals, ['SIGTERM']);
    clock.advance(1);
    assert.deepEqual(c.signals, ['SIGTERM', 'SIGKILL']);
    await p1;
    assert.equal(sup.status.kind, 'stopped');
    assert.deepEqual(crashes, []);
    assert.deepEqual(clock.pending(), []);
    await sup.stop();
    sup.start(); // stopped for good
    assert.equal(children.length, 1);
  });

  it('stop() waits for the child\'s own drain deadline (timeouts.shutdown) before SIGKILL, not 5 s', async () => {
    const { sup, clock, children } = setup({ stopTimeoutMs: stopDeadlineMs(10) });
    sup.start();
    const c = children[0]!;
    c.ready();
    c.obeysSigterm = false; // still draining a stream
    const stopped = sup.stop();
    clock.advance(5000);
    clock.advance(5000);
    assert.deepEqual(c.signals, ['SIGTERM'], 'not killed while it may still drain (10 s)');
    // The child finishes its drain and exits by itself inside the margin: never killed.
    clock.advance(STOP_MARGIN_MS - 1);
    c.exit(0);
    await stopped;
    assert.deepEqual(c.signals, ['SIGTERM']);
    assert.equal(sup.status.kind, 'stopped');
  });

  it('the default deadline is the default timeouts.shutdown plus the margin', async () => {
    const { sup, clock, children } = setup();
    sup.start();
    const c = children[0]!;
    c.obeysSigterm = false;
    const stopped = sup.stop();
    clock.advance(TIMEOUT_DEFAULTS.shutdown * 1000);
    assert.deepEqual(c.signals, ['SIGTERM']);
    clock.advance(STOP_MARGIN_MS);
    assert.deepEqual(c.signals, ['SIGTERM', 'SIGKILL']);
    await stopped;
  });

  it('childLaunch: one source for both deadlines, the config\'s timeouts.shutdown', () => {
    const l = childLaunch({ flags: { port: 9000, log_level: 'debug' } }, { PATH: '/bin' }, { timeouts: { ...TIMEOUT_DEFAULTS, shutdown: 25 } });
    assert.deepEqual(l.args, [PROXY_CHILD_COMMAND, '--port', '9000']);
    assert.equal(l.env.GITHUB_COPILOT_SVCS_TIMEOUTS_SHUTDOWN, '25', 'the child drains for the value the tray resolved');
    assert.equal(l.env.GITHUB_COPILOT_SVCS_LOG_LEVEL, 'debug');
    assert.equal(l.stopTimeoutMs, 25_000 + STOP_MARGIN_MS);
  });

  it('forkPlan: node options go to fork as execArgv after our own, to the single-file binary as NODE_OPTIONS after the user\'s; the user\'s own value of one wins', () => {
    const base = { modulePath: '/x/bin.mjs', args: [PROXY_CHILD_COMMAND], nodeOptions: ['--max-semi-space-size=8'] };
    const env = { PATH: '/bin', NODE_OPTIONS: '--trace-warnings' };
    const f = forkPlan({ ...base, sea: false, options: { env }, execArgv: ['--import', 'tsx'] });
    assert.equal(f.how, 'fork');
    assert.deepEqual(f.options.execArgv, ['--import', 'tsx', '--max-semi-space-size=8']);
    assert.equal(f.options.env?.NODE_OPTIONS, '--trace-warnings', 'the user\'s NODE_OPTIONS is left as it was');
    const s = forkPlan({ ...base, sea: true, options: { env }, execArgv: [] });
    assert.equal(s.how, 'spawn');
    assert.deepEqual(s.args, [PROXY_CHILD_COMMAND], 'the binary gets the child\'s arguments alone');
    assert.equal(s.options.env?.NODE_OPTIONS, '--trace-warnings --max-semi-space-size=8');
    assert.equal(s.options.env?.PATH, '/bin');
    assert.equal(s.options.execArgv, undefined);
    assert.equal(forkPlan({ ...base, sea: true, options: { env: { PATH: '/bin' } } }).options.env?.NODE_OPTIONS, '--max-semi-space-size=8');
    const mine = { PATH: '/bin', NODE_OPTIONS: '--max-semi-space-size=32' };
    assert.equal(forkPlan({ ...base, sea: true, options: { env: mine } }).options.env?.NODE_OPTIONS, '--max-semi-space-size=32');
    assert.deepEqual(forkPlan({ ...base, sea: false, options: { env: mine }, execArgv: [] }).options.execArgv, []);
  });

  it('stop() while a restart is pending cancels it', async () => {
    const { sup, clock, children } = setup();
    sup.start();
    children[0]!.exit(1);
    assert.equal(clock.pending().length, 1);
    await sup.stop();
    assert.deepEqual(clock.pending(), []);
    clock.advance(60_000);
    assert.equal(children.length, 1);
  });

  it('send() reaches the connected child only', async () => {
    const { sup, children } = setup();
    assert.equal(sup.send({ type: 'refresh', requestId: '1' }), false);
    sup.start();
    assert.equal(sup.send({ type: 'refresh', requestId: '1' }), true);
    assert.deepEqual(children[0]!.sent, [{ type: 'refresh', requestId: '1' }]);
    children[0]!.exit(0);
    await flush();
    assert.equal(sup.send({ type: 'refresh', requestId: '2' }), false);
    await sup.stop();
  });

  it('a fork that throws counts as a crash and is retried', () => {
    const clock = new FakeClock();
    let calls = 0;
    const sup = new ProxySupervisor({
      modulePath: 'x',
      args: [],
      clock,
      fork: () => {
        calls++;
        throw new Error('EMFILE');
      },
    });
    sup.start();
    assert.equal(sup.status.kind, 'restarting');
    clock.advance(1000);
    assert.equal(calls, 2);
  });
});
