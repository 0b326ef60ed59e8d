import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { z } from 'zod';

/**
 * keytar's three calls, as the token store uses them. Tests inject an in-memory one.
 */
export interface KeytarLike {
  getPassword(service: string, account: string): Promise<string | null>;
  setPassword(service: string, account: string, password: string): Promise<void>;
  deletePassword(service: string, account: string): Promise<boolean>;
}

export class KeychainTimeoutError extends Error {
  constructor(ms: number) {
    super(`the keychain did not answer within ${ms} ms`);
    this.name = 'KeychainTimeoutError';
  }
}

/**
 * Where keytar lives, or null when the optional dependency is not installed.
 * Resolving does not load the native module.
 */
export function resolveKeytar(): string | null {
  try {
    return createRequire(import.meta.url).resolve('keytar');
  } catch {
    return null;
  }
}

/*
 * Why a child process: a keytar call is native work on libuv's thread pool and
 * cannot be cancelled. When the Secret Service never answers (a D-Bus socket that
 * accepts and stays silent, a locked keyring waiting on a prompt) that pending
 * work keeps the event loop alive: an in-process call, or one in a worker thread
 * (worker teardown waits for it too), stops the process from exiting. A child
 * process can be killed. Each call costs one short-lived `node` process, which is
 * cheap next to how rarely tokens are read or written (start-up, every ~25 min).
 * The password travels over the child's stdin/stdout, never its argv.
 */
const CHILD_CODE = `
const chunks = [];
process.stdin.on('data', (c) => chunks.push(c));
process.stdin.on('end', async () => {
  let out;
  try {
    const req = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const k = require(req.module);
    if (req.op === 'get') out = { ok: true, value: await k.getPassword(req.service, req.account) };
    else if (req.op === 'set') { await k.setPassword(req.service, req.account, req.password); out = { ok: true, value: null }; }
    else out = { ok: true, value: await k.deletePassword(req.service, req.account) };
  } catch (e) {
    out = { ok: false, error: String((e && e.message) || e).slice(0, 300) };
  }
  process.stdout.write(JSON.stringify(out), () => process.exit(0));
});
`;

const childAnswer = z.union([
  z.object({ ok: z.literal(true), value: z.union([z.string(), z.boolean(), z.null()]) }),
  z.object({ ok: z.literal(false), error: z.string() }),
]);

/** keytar run in a killable child process; every call is killed after `timeoutMs`. */
export function createChildProcessKeytar(opts: { modulePath: string; timeoutMs: number }): KeytarLike {
  const run = (req: Record<string, string>): Promise<string | boolean | null> =>
    new Promise((resolve, reject) => {
      const env = { ...process.env };
      // The child is plain CommonJS: no loader (tsx) needed, and none wanted for speed.
      delete env.NODE_OPTIONS;
      const child = spawn(process.execPath, ['-e', CHILD_CODE], { stdio: ['pipe', 'pipe', 'ignore'], env, windowsHide: true });
      let out = '';
      let settled = false;
      const finish = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        fn();
      };
      const timer = setTimeout(() => {
        finish(() => reject(new KeychainTimeoutError(opts.timeoutMs)));
        child.kill('SIGKILL');
      }, opts.timeoutMs);
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (d: string) => {
        out += d;
      });
      child.on('error', (err) => finish(() => reject(new Error(`cannot start the keychain helper: ${err.message}`))));
      child.on('close', () =>
        finish(() => {
          let json: unknown;
          try {
            json = JSON.parse(out);
          } catch {
            json = undefined;
          }
          const r = childAnswer.safeParse(json);
          if (!r.success) reject(new Error('the keychain helper gave no answer'));
          else if (!r.data.ok) reject(new Error(`keychain: ${r.data.error}`));
          else resolve(r.data.value);
        }),
      );
      child.stdin.on('error', () => {
        /* child died early; 'close' reports it */
      });
      child.stdin.end(JSON.stringify({ ...req, module: opts.modulePath }));
    });

  return {
    async getPassword(service, account) {
      const v = await run({ op: 'get', service, account });
      return typeof v === 'string' ? v : null;
    },
    async setPassword(service, account, password) {
      await run({ op: 'set', service, account, password });
    },
    async deletePassword(service, account) {
      return (await run({ op: 'delete', service, account })) === true;
    },
  };
}

/** Resolve `p` or reject with KeychainTimeoutError after `ms`; the timer never outlives the call. */
export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new KeychainTimeoutError(ms)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
