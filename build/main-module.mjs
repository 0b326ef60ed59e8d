// Is this module the script node was started with? For the build scripts that
// are both a module (tests import them) and a command.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * True when the module at `metaUrl` (its `import.meta.url`) is `argv1` (the
 * script node was started with). Compares file paths, not URL text: `new URL(u).pathname`
 * keeps %20 for a space and gives `/C:/...` on Windows, and `file://${argv1}`
 * is no URL at all for `C:\\...`. Symlinks are resolved on both sides, as node
 * resolves the main module's.
 */
export function isMainModule(metaUrl, argv1 = process.argv[1]) {
  if (!argv1) return false;
  return realPath(path.resolve(argv1)) === realPath(fileURLToPath(metaUrl));
}

function realPath(p) {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
}
