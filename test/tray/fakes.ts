import { EventEmitter } from 'node:events';
import type { TrayMessage } from '../../src/ipc/messages.ts';
import type { ChildHandle, Clock, ForkFn } from '../../src/tray/proxy-supervisor.ts';

/** An in-process stand-in for a forked proxy child. */
export class FakeChild extends EventEmitter implements ChildHandle {
  static nextPid = 5000;
  readonly pid: number = FakeChild.nextPid++;
  connected = true;
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  readonly sent: TrayMessage[] = [];
  readonly signals: NodeJS.Signals[] = [];
  /** When false, SIGTERM is ignored (a hung child); SIGKILL always works. */
  obeysSigterm = true;

  send(message: TrayMessage, callback?: (error: Error | null) => void): boolean {
    this.sent.push(message);
    callback?.(null);
    return true;
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    this.signals.push(signal);
    if (this.exitCode !== null || this.signalCode !== null) return false;
    if (signal === 'SIGTERM' && !this.obeysSigterm) return true;
    queueMicrotask(() => this.exit(null, signal));
    return true;
  }

  /** The child says something to the tray. */
  say(message: unknown): void {
    this.emit('message', message);
  }

  ready(port = 8081): void {
    this.say({ type: 'ready', url: `http://127.0.0.1:${port}`, port, pid: this.pid });
  }

  exit(code: number | null, signal: NodeJS.Signals | null = null): void {
    if (this.exitCode !== null || this.signalCode !== null) return;
    this.exitCode = code;
    this.signalCode = signal;
    this.connected = false;
    this.emit('exit', code, signal);
  }

  override on(event: string, listener: (...args: never[]) => void): this {
    return super.on(event, listener as (...args: unknown[]) => void);
  }
}

export function fakeFork(): { fork: ForkFn; children: FakeChild[]; calls: Array<{ modulePath: string; args: string[] }> } {
  const children: FakeChild[] = [];
  const calls: Array<{ modulePath: string; args: string[] }> = [];
  const fork: ForkFn = (modulePath, args) => {
    calls.push({ modulePath, args });
    const c = new FakeChild();
    children.push(c);
    return c;
  };
  return { fork, children, calls };
}

/** A manual clock: timers run only when the test advances time. */
export class FakeClock implements Clock {
  private t = 0;
  private seq = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  /** Pending timer delays from now, soonest first. */
  pending(): number[] {
    return [...this.timers.values()].map((x) => x.at - this.t).sort((a, b) => a - b);
  }

  /** Advance time, firing due timers in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | null = null;
      for (const e of this.timers) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e;
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = next[1].at;
      next[1].fn();
    }
    this.t = end;
  }
}

export const flush = (): Promise<void> => new Promise((r) => setImmediate(r));
