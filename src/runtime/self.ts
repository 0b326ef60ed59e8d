import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * How this program is running and how to start it again: as the npm package
 * (node + dist/github-copilot-svcs.mjs), from the sources (tsx, development
 * and tests), or as the single-file binary (Node's single executable
 * application, build/sea.mjs), where the executable is the whole program and
 * every argument goes to it.
 */

type SeaApi = typeof import('node:sea');

/** node:sea when this process is the single-file binary, else null. */
export function seaApi(): SeaApi | null {
  // getBuiltinModule: no static import of node:sea, and no import.meta (the binary's bundle is CommonJS).
  const sea = process.getBuiltinModule('node:sea');
  return sea?.isSea() ? sea : null;
}

export function isSea(): boolean {
  return seaApi() !== null;
}

/**
 * The package root: the nearest directory above this module that holds
 * `assets/` and `package.json` (the same from src/ and from dist/).
 */
export function packageRoot(from: string = path.dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (let i = 0; i < 6; i++) {
    if (fs.existsSync(path.join(dir, 'assets')) && fs.existsSync(path.join(dir, 'package.json'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return path.resolve(from, '..');
}

/** The script this process was started as (the bin in dist/); meaningless in the binary. */
export function selfEntry(): string {
  const argv1 = process.argv[1];
  if (argv1 && fs.existsSync(argv1)) return fs.realpathSync(argv1);
  return path.join(packageRoot(), 'dist', 'github-copilot-svcs.mjs');
}

/**
 * The command line that runs this program with `args`: `[node, script, ...args]`
 * for the package, `[binary, ...args]` for the single-file binary.
 */
export function selfCommand(args: readonly string[], entry: string = selfEntry()): { file: string; args: string[] } {
  return isSea() ? { file: process.execPath, args: [...args] } : { file: process.execPath, args: [entry, ...args] };
}

export interface InvocationFacts {
  argv: readonly string[];
  env: NodeJS.ProcessEnv;
  execPath: string;
  sea: boolean;
  cwd: string;
  /** realpath, or the path itself when it cannot be resolved. */
  real: (p: string) => string;
  /** Whose shell quoting to use; this process's platform by default. */
  platform?: NodeJS.Platform;
}

/**
 * The command as the user started it, for messages that say what to run next
 * ("run '<this> auth'"): `npx github-copilot-svcs` under npx, the global
 * command when the one on PATH is this program, else the binary's path or
 * `node <script>` (a source checkout, where no global command exists). Pure.
 */
export function invokedAs(f: InvocationFacts): string {
  const NAME = 'github-copilot-svcs';
  if (f.env.npm_command === 'exec') return `npx ${NAME}`;
  const self = f.sea ? f.execPath : f.argv[1];
  if (!self) return NAME;
  const selfReal = f.real(self);
  const dirs = (f.env.PATH ?? f.env.Path ?? '').split(path.delimiter).filter(Boolean);
  for (const d of dirs) {
    for (const name of f.sea ? [path.basename(f.execPath)] : [NAME, `${NAME}.cmd`]) {
      const onPath = path.join(d, name);
      if (f.real(onPath) === selfReal && fs.existsSync(onPath)) return f.sea ? path.basename(f.execPath).replace(/\.exe$/i, '') : NAME;
    }
  }
  const rel = path.relative(f.cwd, self);
  // Relative to the working dir when it is inside it (a checkout); from / the full path reads better.
  const shown = rel && !rel.startsWith('..') && !path.isAbsolute(rel) && path.dirname(f.cwd) !== f.cwd ? rel : self;
  // A shell's quoting: POSIX sh takes a JSON-escaped string; cmd.exe and PowerShell plain "…" (backslashes are path separators there).
  const win = (f.platform ?? process.platform) === 'win32';
  const quoted = win ? (/[\s"&()^%!']/.test(shown) ? `"${shown}"` : shown) : /[\s"'$`\\]/.test(shown) ? JSON.stringify(shown) : shown;
  return f.sea ? (shown === rel ? `${win ? '.\\' : './'}${quoted}` : quoted) : `node ${quoted}`;
}

/** invokedAs() for this process. */
export function commandName(env: NodeJS.ProcessEnv = process.env): string {
  return invokedAs({
    argv: process.argv,
    env,
    execPath: process.execPath,
    sea: isSea(),
    cwd: process.cwd(),
    real: (p) => {
      try {
        return fs.realpathSync(p);
      } catch {
        return p;
      }
    },
  });
}
