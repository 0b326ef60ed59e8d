import { PROXY_CHILD_COMMAND } from '../../src/ipc/child.ts';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProxySupervisor, type SupervisorStatus } from '../../src/tray/proxy-supervisor.ts';
import type { ChildMessage } from '../../src/ipc/messages.ts';
import { FakeClock, fakeFork, flush } from './fakes.ts';

function setup(extra: Partial<ConstructorParameters<typeof ProxySupervisor>[0]> = {}) {
  const clock = new FakeClock();
  const f = fakeFork();
  const statuses: SupervisorStatus[] = [];
  const messages: ChildMessage[] = [];
  const crashes: Array<{ portTaken: boolean }> = [];
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
    assert.deepEqual(sup.status, { kind: 'gave-up', reason: 'port 8081 is in use by another program', portTaken: true, port: 8081 });
    assert.deepEqual(
      crashes.map((c) => c.portTaken),
      [true, true],
    );
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
