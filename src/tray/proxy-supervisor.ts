import { fork as nodeFork, spawn as nodeSpawn, type ForkOptions } from 'node:child_process';
import { parseChildMessage, type ChildMessage, type TrayMessage } from '../ipc/messages.ts';
import { silentLogger, type Logger } from '../log.ts';
import { EXIT_LISTEN_FAILED } from '../ipc/child.ts';
import { TIMEOUT_DEFAULTS } from '../config/schema.ts';
import { isSea } from '../runtime/self.ts';
import { PROXY_NODE_OPTIONS } from '../runtime/heap.ts';
import { portHolderText, type PortHolder } from './port-holder.ts';

/**
 * Forks the proxy child and keeps it alive: restart with backoff (1 s, 2 s,
 * 4 s … 30 s), backoff reset after a minute healthy, give up after repeated
 * fast crashes (a port held by another program is reported as such, naming
 * another github-copilot-svcs proxy when that is who holds it). stop() is
 * SIGTERM, then SIGKILL once the child's own drain deadline has passed
 * (stopDeadlineMs); calling it twice is safe.
 * The child exits by itself when the IPC channel closes, so a dead tray
 * leaves no orphan holding the port.
 */

/** What the supervisor needs from a forked process; node's ChildProcess fits, so does a test fake. */
export interface ChildHandle {
  readonly pid?: number | undefined;
  readonly connected: boolean;
  readonly exitCode: number | null;
  readonly signalCode: NodeJS.Signals | null;
  send(message: TrayMessage, callback?: (error: Error | null) => void): boolean;
  kill(signal?: NodeJS.Signals): boolean;
  on(event: 'message', listener: (message: unknown) => void): this;
  on(event: 'exit', listener: (code: number | null, signal: NodeJS.Signals | null) => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
}

export type ForkFn = (modulePath: string, args: string[], options: ForkOptions) => ChildHandle;

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** Past the child's drain deadline: time to flush its usage records, close its pools and exit. */
export const STOP_MARGIN_MS = 2000;

/**
 * How long stop() waits after SIGTERM before SIGKILL. The child drains
 * in-flight requests for `timeouts.shutdown` seconds (start-proxy.ts stop())
 * and flushes queued usage records after that; killing it sooner cuts streams
 * and loses records. The tray hands the child the same value it derives this
 * from (tray-main.ts childLaunch), so both deadlines have one source.
 */
export function stopDeadlineMs(shutdownSeconds: number): number {
  return shutdownSeconds * 1000 + STOP_MARGIN_MS;
}

export type SupervisorStatus =
  | { kind: 'idle' }
  | { kind: 'starting'; pid: number | null }
  | { kind: 'running'; url: string; port: number; pid: number }
  | { kind: 'restarting'; attempt: number; delayMs: number; reason: string; portTaken: boolean; holder: PortHolder | null }
  | { kind: 'gave-up'; reason: string; portTaken: boolean; port: number | null; holder: PortHolder | null }
  | { kind: 'stopping' }
  | { kind: 'stopped' };

export interface SupervisorOptions {
  /** The script to fork, e.g. <package>/dist/github-copilot-svcs.mjs. */
  modulePath: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** Port the child will try, for the "port in use" message before it says so itself. */
  port?: number | null;
  fork?: ForkFn;
  clock?: Clock;
  log?: Logger;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Healthy this long -> the next crash starts the backoff from the beginning again. */
  resetAfterMs?: number;
  /** A child that dies sooner than this after start (or never became ready) counts as a fast crash. */
  fastCrashMs?: number;
  /** This many fast crashes in a row -> give up. */
  maxFastCrashes?: number;
  /** SIGTERM, then SIGKILL after this long; default stopDeadlineMs(the default timeouts.shutdown). */
  stopTimeoutMs?: number;
  /**
   * When the child could not listen because the port is taken: is it another
   * github-copilot-svcs proxy? (tray-main asks /health.) Null: another program.
   */
  identifyPortHolder?: () => Promise<PortHolder | null>;
  onStatus?: (status: SupervisorStatus) => void;
  onMessage?: (message: ChildMessage) => void;
  /** The child exited while it should have been running (before any restart is scheduled). */
  onCrash?: (info: { code: number | null; signal: NodeJS.Signals | null; portTaken: boolean; holder: PortHolder | null; uptimeMs: number }) => void;
}

type Resolved = Required<Omit<SupervisorOptions, 'env' | 'port' | 'onStatus' | 'onMessage' | 'onCrash' | 'identifyPortHolder'>> &
  Pick<SupervisorOptions, 'env' | 'onStatus' | 'onMessage' | 'onCrash' | 'identifyPortHolder'> & { port: number | null };

/**
 * How the proxy child is started. The single-file binary is the whole
 * program: it is started with the child's arguments alone (fork would pass the
 * script path as the first argument), and spawn with an 'ipc' stdio slot gives
 * the same channel fork does. Node options (the proxy's heap,
 * PROXY_NODE_OPTIONS) go to fork as execArgv, after this process's own (tsx in
 * development); the binary takes them from NODE_OPTIONS only. An option the
 * user already set in NODE_OPTIONS is left to the user's value.
 */
export function forkPlan(p: {
  sea: boolean;
  modulePath: string;
  args: string[];
  options: ForkOptions;
  nodeOptions: readonly string[];
  execArgv?: readonly string[];
}): { how: 'fork'; modulePath: string; args: string[]; options: ForkOptions } | { how: 'spawn'; args: string[]; options: ForkOptions } {
  const env = p.options.env ?? process.env;
  const userOptions = env.NODE_OPTIONS ?? '';
  const ours = p.nodeOptions.filter((o) => !userOptions.includes(o.split('=')[0] ?? o));
  if (!p.sea) return { how: 'fork', modulePath: p.modulePath, args: p.args, options: { ...p.options, execArgv: [...(p.options.execArgv ?? p.execArgv ?? process.execArgv), ...ours] } };
  const nodeOptions = [userOptions, ...ours].filter((o) => o !== '').join(' ');
  return { how: 'spawn', args: p.args, options: { ...p.options, env: { ...env, NODE_OPTIONS: nodeOptions } } };
}

const defaultFork: ForkFn = (modulePath, args, options) => {
  const plan = forkPlan({ sea: isSea(), modulePath, args, options, nodeOptions: PROXY_NODE_OPTIONS });
  return plan.how === 'fork' ? nodeFork(plan.modulePath, plan.args, plan.options) : nodeSpawn(process.execPath, plan.args, plan.options);
};

export class ProxySupervisor {
  private readonly o: Resolved;
  private child: ChildHandle | null = null;
  private childStartedAt = 0;
  private childPortTaken = false;
  private listenFailure: string | null = null;
  private attempt = 0;
  private fastCrashes = 0;
  private restartTimer: unknown = null;
  private healthyTimer: unknown = null;
  private killTimer: unknown = null;
  private stopping: Promise<void> | null = null;
  private statusValue: SupervisorStatus = { kind: 'idle' };
  /** Resolves the in-flight stop of the current child (restart or stop). */
  private exitWaiters: Array<() => void> = [];

  constructor(opts: SupervisorOptions) {
    this.o = {
      modulePath: opts.modulePath,
      args: opts.args,
      env: opts.env,
      port: opts.port ?? null,
      fork: opts.fork ?? defaultFork,
      clock: opts.clock ?? systemClock,
      log: opts.log ?? silentLogger,
      initialBackoffMs: opts.initialBackoffMs ?? 1000,
      maxBackoffMs: opts.maxBackoffMs ?? 30_000,
      resetAfterMs: opts.resetAfterMs ?? 60_000,
      fastCrashMs: opts.fastCrashMs ?? 10_000,
      maxFastCrashes: opts.maxFastCrashes ?? 5,
      stopTimeoutMs: opts.stopTimeoutMs ?? stopDeadlineMs(TIMEOUT_DEFAULTS.shutdown),
      identifyPortHolder: opts.identifyPortHolder,
      onStatus: opts.onStatus,
      onMessage: opts.onMessage,
      onCrash: opts.onCrash,
    };
  }

  get status(): SupervisorStatus {
    return this.statusValue;
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  /** Start the child. No-op when one is already running or a restart is pending. */
  start(): void {
    if (this.stopping) return;
    if (this.child || this.restartTimer !== null) return;
    this.spawn();
  }

  /** Send a message to the child; false when no child is connected. */
  send(message: TrayMessage): boolean {
    const c = this.child;
    if (!c || !c.connected) return false;
    try {
      return c.send(message, (err) => {
        if (err) this.o.log.debug(`IPC send failed: ${err.message}`);
      });
    } catch (err) {
      this.o.log.debug(`IPC send failed: ${(err as Error).message}`);
      return false;
    }
  }

  /** Stop the current child (if any) and start a fresh one with the backoff and crash count reset. */
  async restart(): Promise<void> {
    if (this.stopping) return;
    this.clearTimer('restartTimer');
    this.clearTimer('healthyTimer');
    this.attempt = 0;
    this.fastCrashes = 0;
    const c = this.child;
    if (c) {
      this.expectedExit.add(c);
      await this.terminate(c);
    }
    if (this.stopping) return;
    this.spawn();
  }

  /** SIGTERM, then SIGKILL after the deadline. Idempotent: every call returns the same promise. */
  stop(): Promise<void> {
    if (this.stopping) return this.stopping;
    this.clearTimer('restartTimer');
    this.clearTimer('healthyTimer');
    this.setStatus({ kind: 'stopping' });
    const c = this.child;
    this.stopping = (async () => {
      if (c) {
        this.expectedExit.add(c);
        await this.terminate(c);
      }
      this.setStatus({ kind: 'stopped' });
    })();
    return this.stopping;
  }

  // Children whose exit we caused (stop/restart): not crashes.
  private readonly expectedExit = new WeakSet<ChildHandle>();
  /** One per spawn: an answer about the port that arrives after the next spawn is stale. */
  private generation = 0;

  private spawn(): void {
    this.generation += 1;
    this.restartTimer = null;
    this.childPortTaken = false;
    this.listenFailure = null;
    let child: ChildHandle;
    try {
      child = this.o.fork(this.o.modulePath, this.o.args, {
        env: this.o.env ?? process.env,
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        serialization: 'json',
      });
    } catch (err) {
      // fork() itself failing (EMFILE, missing node) is a crash like any other.
      this.o.log.error(`Could not start the proxy: ${(err as Error).message}`);
      this.childStartedAt = this.o.clock.now();
      this.handleExit(null, null, null, (err as Error).message);
      return;
    }
    this.child = child;
    this.childStartedAt = this.o.clock.now();
    this.setStatus({ kind: 'starting', pid: child.pid ?? null });
    let exited = false;
    child.on('message', (raw) => this.onChildMessage(child, raw));
    child.on('error', (err) => {
      this.o.log.warn(`Proxy child error: ${err.message}`);
      // 'error' without a pid means it never started; no 'exit' will follow.
      if (child.pid === undefined && !exited) {
        exited = true;
        this.handleExit(child, null, null, err.message);
      }
    });
    child.on('exit', (code, signal) => {
      if (exited) return;
      exited = true;
      this.handleExit(child, code, signal, null);
    });
  }

  private onChildMessage(child: ChildHandle, raw: unknown): void {
    if (child !== this.child) return;
    const msg = parseChildMessage(raw);
    if (!msg) {
      this.o.log.warn('Ignoring an invalid message from the proxy child');
      return;
    }
    if (msg.type === 'ready') {
      this.setStatus({ kind: 'running', url: msg.url, port: msg.port, pid: msg.pid });
      this.clearTimer('healthyTimer');
      this.healthyTimer = this.o.clock.setTimeout(() => {
        this.healthyTimer = null;
        if (this.child === child) {
          this.attempt = 0;
          this.fastCrashes = 0;
        }
      }, this.o.resetAfterMs);
    } else if (msg.type === 'listen-failed') {
      this.childPortTaken = msg.code === 'EADDRINUSE';
      this.listenFailure = msg.message;
    }
    this.o.onMessage?.(msg);
  }

  private handleExit(child: ChildHandle | null, code: number | null, signal: NodeJS.Signals | null, spawnError: string | null): void {
    const waiters = this.exitWaiters;
    if (child && child === this.child) {
      this.child = null;
      this.clearTimer('healthyTimer');
      this.clearTimer('killTimer');
      this.exitWaiters = [];
      for (const w of waiters) w();
    }
    if (child && this.expectedExit.has(child)) return;
    if (this.stopping) return;

    const uptimeMs = this.o.clock.now() - this.childStartedAt;
    const portTaken = this.childPortTaken || code === EXIT_LISTEN_FAILED;
    const exit = { code, signal, spawnError, portTaken, uptimeMs, neverReady: this.statusValue.kind !== 'running' };
    const identify = this.o.identifyPortHolder;
    if (!portTaken || !identify) {
      this.afterCrash(exit, null);
      return;
    }
    // Ask who holds the port before saying so: "another program" is wrong when it is another of us.
    const generation = this.generation;
    void identify()
      .catch(() => null)
      .then((holder) => {
        if (this.stopping || this.generation !== generation || this.child !== null || this.restartTimer !== null) return;
        this.afterCrash(exit, holder);
      });
  }

  private afterCrash(
    e: { code: number | null; signal: NodeJS.Signals | null; spawnError: string | null; portTaken: boolean; uptimeMs: number; neverReady: boolean },
    holder: PortHolder | null,
  ): void {
    const { code, signal, spawnError, portTaken, uptimeMs } = e;
    const fast = e.neverReady || uptimeMs < this.o.fastCrashMs;
    this.fastCrashes = fast ? this.fastCrashes + 1 : 0;
    const port = this.o.port;
    const taken = `port ${port ?? '?'} is in use by ${portHolderText(holder)}`;
    const reason = spawnError
      ? `could not start: ${spawnError}`
      : portTaken
        ? holder
          ? taken
          : (this.listenFailure ?? taken)
        : signal
          ? `killed by ${signal}`
          : `exited with code ${code ?? '?'}`;
    this.o.log.warn(`Proxy child ${reason} after ${Math.round(uptimeMs / 1000)}s`);
    this.o.onCrash?.({ code, signal, portTaken, holder, uptimeMs });

    if (this.fastCrashes >= this.o.maxFastCrashes) {
      this.o.log.error(portTaken ? `Giving up: ${taken}.` : `Giving up: the proxy crashed ${this.fastCrashes} times in a row.`);
      this.setStatus({ kind: 'gave-up', reason, portTaken, port, holder });
      return;
    }
    const delayMs = Math.min(this.o.initialBackoffMs * 2 ** this.attempt, this.o.maxBackoffMs);
    this.attempt += 1;
    this.setStatus({ kind: 'restarting', attempt: this.attempt, delayMs, reason, portTaken, holder });
    this.restartTimer = this.o.clock.setTimeout(() => {
      this.restartTimer = null;
      if (!this.stopping) this.spawn();
    }, delayMs);
  }

  private terminate(child: ChildHandle): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null || this.child !== child) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.exitWaiters.push(resolve);
      if (this.killTimer !== null) return; // already terminating
      try {
        child.kill('SIGTERM');
      } catch {
        /* already gone */
      }
      this.killTimer = this.o.clock.setTimeout(() => {
        this.killTimer = null;
        if (this.child === child) {
          this.o.log.warn(`Proxy child did not stop within ${this.o.stopTimeoutMs} ms; killing it`);
          try {
            child.kill('SIGKILL');
          } catch {
            /* already gone */
          }
        }
      }, this.o.stopTimeoutMs);
    });
  }

  private clearTimer(name: 'restartTimer' | 'healthyTimer' | 'killTimer'): void {
    const h = this[name];
    if (h !== null) this.o.clock.clearTimeout(h);
    this[name] = null;
  }

  private setStatus(s: SupervisorStatus): void {
    this.statusValue = s;
    this.o.onStatus?.(s);
  }
}
