// What the build stamps into the code (version, commit, date) and the module
// each build replaces (UNDICI_LOADER), for both
// bundles: dist/ (build/bundle.mjs) and the single-file binaries (build/sea.mjs).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// fileURLToPath, not URL#pathname: that keeps %20 for a space and gives /C:/... on Windows.
export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function commit() {
  try {
    return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

export function packageJson() {
  return JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
}

/** esbuild `define`s read by src/version.ts. GCS_COMMIT / GCS_BUILD_DATE override (reproducible release builds). */
export function buildDefines() {
  return {
    __GCS_VERSION__: JSON.stringify(process.env.GCS_VERSION ?? packageJson().version),
    __GCS_COMMIT__: JSON.stringify(process.env.GCS_COMMIT ?? commit()),
    __GCS_BUILD_DATE__: JSON.stringify(process.env.GCS_BUILD_DATE ?? new Date().toISOString().slice(0, 10)),
  };
}

/**
 * src/upstream/undici.ts, the one module that loads undici (lazily, with
 * createRequire). Each bundle replaces it (build/bundle.mjs, build/sea.mjs).
 */
export const UNDICI_LOADER = /(^|[\\/])src[\\/]upstream[\\/]undici\.ts$/;

/**
 * The slice of undici the app uses (the file says what it holds), which
 * src/upstream/undici.ts loads; both builds bundle it in place of undici's
 * index.
 */
export const UNDICI_SLICE = path.join(root, 'src', 'upstream', 'undici-slice.cjs');
