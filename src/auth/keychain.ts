import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import * as z from 'zod';
import { extractedPath, extractSeaAssets } from '../runtime/sea-assets.ts';
import { isSea, packageRoot } from '../runtime/self.ts';
import { KEYCHAIN_HELPER_CODE, KEYCHAIN_HELPER_COMMAND } from './keychain-helper.ts';

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
/**
 * Why keytar is absent, in words that say what to do. npm drops an optional
 * dependency whose native build failed, so "declared but absent" means it did
 * not build: libsecret-1-dev missing on Linux, no compiler, or node-gyp could
 * not download Node's headers (a new HOME offline has no npm cache).
 */
export function keytarAbsence(sea: boolean = isSea(), declared: boolean = declaresKeytar()): string {
  if (sea) return 'this binary carries no keychain module for its platform (it is built only on its own platform)';
  if (declared) {
    return "keytar did not build when this package was installed (its native build needs a C++ compiler, Node's headers, which node-gyp downloads unless npm's cache has them, and on Linux libsecret-1-dev; npm's install log says which failed): fix that, then run npm ci (or npm install -g github-copilot-svcs) again";
  }
  return 'keytar is not installed';
}

function declaresKeytar(): boolean {
  try {
    const pkg: unknown = JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8'));
    const optional = typeof pkg === 'object' && pkg !== null && 'optionalDependencies' in pkg ? pkg.optionalDependencies : undefined;
    return typeof optional === 'object' && optional !== null && Object.hasOwn(optional, 'keytar');
  } catch {
    return false;
  }
}

export function resolveKeytar(): string | null {
  // The single-file binary carries keytar's .node only when it was built on its own platform.
  const assets = extractSeaAssets();
  if (assets) return assets.manifest.keytar ? extractedPath(assets, assets.manifest.keytar) : null;
  try {
    return createRequire(import.meta.url).resolve('keytar');
  } catch {
    return null;
  }
}

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
      // The binary takes no `-e`: it runs the same code through its hidden helper command.
      const args = isSea() ? [KEYCHAIN_HELPER_COMMAND] : ['-e', KEYCHAIN_HELPER_CODE];
      const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'ignore'], env, windowsHide: true });
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
