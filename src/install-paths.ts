import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where the installed app's own files are, the same whether it runs from
 * src/ (development, through tsx) or from the bundle in dist/: the package
 * root is the nearest directory above this module that holds `assets/`.
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

export function assetsDir(): string {
  return path.join(packageRoot(), 'assets');
}

/** The script this process was started as (the bin in dist/), for the proxy child and the autostart entry. */
export function selfEntry(): string {
  const argv1 = process.argv[1];
  if (argv1 && fs.existsSync(argv1)) return fs.realpathSync(argv1);
  return path.join(packageRoot(), 'dist', 'github-copilot-svcs.mjs');
}
