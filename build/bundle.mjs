#!/usr/bin/env node
// `npm run build`: bundles src/ with esbuild into dist/ (ESM, Node 20, source
// maps). One entry, dist/github-copilot-svcs.mjs, the bin; code splitting keeps
// each command's code in its own chunk, loaded only when the command runs
// (`version` loads none, the proxy child never loads the tray, the tray never
// loads undici). Pure-JS npm packages are bundled in; those with files of their
// own stay external, installed beside dist/ by npm (the single-file binaries,
// build/sea.mjs, bundle them all). No TypeScript is compiled at run time.
import fs from 'node:fs';
import path from 'node:path';
import * as esbuild from 'esbuild';
import { buildDashboard } from './dashboard.mjs';
import { buildDefines, root } from './defines.mjs';

const outdir = path.join(root, 'dist');
/** npm packages left to node_modules (see the comment at `external` below). */
const EXTERNAL = ['keytar', 'systray2', 'node-notifier', 'open', 'clipboardy'];

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
  // The pure-JS packages are bundled, comments and blanks stripped (names
  // kept): V8 keeps each loaded file's whole text in its heap. With zod
  // imported as a namespace (its unused locales drop out) and undici apart
  // (below), `run`'s idle heap went 16.9 -> 12.9 MB (#22, heap snapshots). Packages
  // with files of their own stay external: native (keytar), helper binaries
  // and scripts found beside their code (systray2, node-notifier, open,
  // clipboardy). undici is minified into a file of its own (below), which
  // src/upstream/undici.ts requires on first use: the tray never loads it.
  external: EXTERNAL,
  plugins: [
    {
      name: 'vendored-undici',
      setup(b) {
        b.onLoad({ filter: /[\\/]src[\\/]upstream[\\/]undici\.ts$/ }, () => ({
          contents: "import { createRequire } from 'node:module'; export function undici() { return createRequire(import.meta.url)('../vendor/undici.cjs'); }",
          loader: 'ts',
        }));
      },
    },
  ],
  // Bundled CommonJS calls require() for Node's built-ins; an ES module has none.
  banner: { js: "import { createRequire as __gcsCreateRequire } from 'node:module'; const require = __gcsCreateRequire(import.meta.url);" },
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: true,
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
  define: buildDefines(),
});
// Every chunk is in dist/chunks/, so '../vendor/undici.cjs' above is this file.
await esbuild.build({
  absWorkingDir: root,
  entryPoints: ['undici'],
  outfile: path.join(outdir, 'vendor', 'undici.cjs'),
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  logLevel: 'warning',
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
