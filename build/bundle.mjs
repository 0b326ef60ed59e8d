#!/usr/bin/env node
// `npm run build`: bundles src/ with esbuild into dist/ (ESM, Node 20, source
// maps). One entry, dist/github-copilot-svcs.mjs, the bin; code splitting keeps
// each command's code in its own chunk, loaded only when the command runs
// (`version` loads none, the proxy child never loads the tray, the tray never
// loads express or undici). npm packages stay external: they are installed
// beside dist/ by npm (the single-file binaries, build/sea.mjs, bundle them all). No TypeScript is
// compiled at run time.
import fs from 'node:fs';
import path from 'node:path';
import * as esbuild from 'esbuild';
import { buildDashboard } from './dashboard.mjs';
import { buildDefines, root } from './defines.mjs';

const outdir = path.join(root, 'dist');

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
  define: buildDefines(),
});
await buildDashboard(path.join(outdir, 'dashboard'));
const bin = path.join(outdir, 'github-copilot-svcs.mjs');
fs.chmodSync(bin, 0o755);
const bytes = Object.entries(result.metafile.outputs)
  .filter(([f]) => f.endsWith('.mjs'))
  .reduce((n, [, o]) => n + o.bytes, 0);
if (!process.argv.includes('--quiet')) {
  process.stderr.write(`build: dist/ (${Object.keys(result.metafile.outputs).filter((f) => f.endsWith('.mjs')).length} files, ${(bytes / 1024).toFixed(0)} KiB JS) in ${Date.now() - started} ms\n`);
}
