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
