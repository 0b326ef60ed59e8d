#!/usr/bin/env node
// `npm run build`: bundles src/ with esbuild into dist/ (ESM, Node 20, source
// maps). One entry, dist/github-copilot-svcs.mjs, the bin; code splitting keeps
// each command's code in its own chunk, loaded only when the command runs
// (`version` loads none, the proxy child never loads the tray, the tray never
// loads express or undici). npm packages stay external: they are installed
// beside dist/ (npm) or next to the binary (build/sea.mjs). No TypeScript is
// compiled at run time.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as esbuild from 'esbuild';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const outdir = path.join(root, 'dist');

function commit() {
  try {
    return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

const started = Date.now();
fs.rmSync(outdir, { recursive: true, force: true });
const result = await esbuild.build({
  absWorkingDir: root,
  entryPoints: { 'github-copilot-svcs': 'src/main.ts' },
  outdir,
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
  define: {
    __GCS_VERSION__: JSON.stringify(JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version),
    __GCS_COMMIT__: JSON.stringify(process.env.GCS_COMMIT ?? commit()),
    __GCS_BUILD_DATE__: JSON.stringify(process.env.GCS_BUILD_DATE ?? new Date().toISOString().slice(0, 10)),
  },
});
const bin = path.join(outdir, 'github-copilot-svcs.mjs');
fs.chmodSync(bin, 0o755);
const bytes = Object.entries(result.metafile.outputs)
  .filter(([f]) => f.endsWith('.mjs'))
  .reduce((n, [, o]) => n + o.bytes, 0);
if (!process.argv.includes('--quiet')) {
  process.stderr.write(`build: dist/ (${Object.keys(result.metafile.outputs).filter((f) => f.endsWith('.mjs')).length} files, ${(bytes / 1024).toFixed(0)} KiB JS) in ${Date.now() - started} ms\n`);
}
