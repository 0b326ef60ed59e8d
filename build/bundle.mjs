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
import { UNDICI_LOADER, UNDICI_SLICE, buildDefines, packageJson, root } from './defines.mjs';

const outdir = path.join(root, 'dist');
/**
 * npm packages left to node_modules: what package.json installs with the app
 * (dependencies, optionalDependencies). Everything else the app imports is a
 * devDependency, bundled (see the comment at `external` below).
 */
const pkg = packageJson();
const EXTERNAL = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {})];

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
  // (below), `run`'s idle heap went 16.9 -> 12.9 MB (#22, heap snapshots).
  // Packages with files of their own are dependencies and stay external:
  // native (keytar), helper binaries and scripts found beside their code
  // (systray2, node-notifier, open, clipboardy). The slice of undici the app
  // uses (UNDICI_SLICE) is minified into a file of its own (below), which
  // src/upstream/undici.ts requires on first use: the tray never loads it.
  // Their licences go to dist/THIRD-PARTY-LICENSES.txt.
  external: EXTERNAL,
  plugins: [
    {
      name: 'vendored-undici',
      setup(b) {
        b.onLoad({ filter: UNDICI_LOADER }, () => ({
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
// '../vendor/undici.cjs' above is relative to dist/chunks/: the build fails if the loader lands elsewhere.
const undiciLoader = Object.entries(result.metafile.outputs).find(([, o]) => Object.keys(o.inputs).some((i) => UNDICI_LOADER.test(i)));
if (!undiciLoader || path.dirname(path.resolve(root, undiciLoader[0])) !== path.join(outdir, 'chunks')) {
  throw new Error(`build: src/upstream/undici.ts must be in a chunk under dist/chunks/ (it is in ${undiciLoader?.[0] ?? 'no output'})`);
}
const vendor = await esbuild.build({
  absWorkingDir: root,
  entryPoints: [UNDICI_SLICE],
  outfile: path.join(outdir, 'vendor', 'undici.cjs'),
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
});
writeThirdPartyLicenses([result.metafile, vendor.metafile], path.join(outdir, 'THIRD-PARTY-LICENSES.txt'));
await buildDashboard(path.join(outdir, 'dashboard'));
const bin = path.join(outdir, 'github-copilot-svcs.mjs');
fs.chmodSync(bin, 0o755);
const js = [result, vendor].flatMap((r) => Object.entries(r.metafile.outputs)).filter(([f]) => /\.(mjs|cjs)$/.test(f));
const bytes = js.reduce((n, [, o]) => n + o.bytes, 0);
if (!process.argv.includes('--quiet')) {
  process.stderr.write(`build: dist/ (${js.length} files, ${(bytes / 1024).toFixed(0)} KiB JS) in ${Date.now() - started} ms\n`);
}

/** The licence of every npm package bundled into dist/, from its own files. */
function writeThirdPartyLicenses(metafiles, file) {
  const dirs = new Set();
  for (const m of metafiles) {
    for (const input of Object.keys(m.inputs)) {
      const at = input.lastIndexOf('node_modules/');
      if (at < 0) continue;
      const rest = input.slice(at + 'node_modules/'.length).split('/');
      dirs.add(path.join(root, input.slice(0, at), 'node_modules', ...rest.slice(0, rest[0].startsWith('@') ? 2 : 1)));
    }
  }
  const parts = [...dirs].sort().map((dir) => {
    const meta = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
    const licence = fs.readdirSync(dir).find((f) => /^(licen[cs]e|copying)(\.|$)/i.test(f));
    if (!licence) throw new Error(`build: ${meta.name} is bundled into dist/ but has no licence file`);
    return `${meta.name} ${meta.version} (${meta.license})\n\n${fs.readFileSync(path.join(dir, licence), 'utf8').trim()}\n`;
  });
  fs.writeFileSync(file, `npm packages bundled into dist/ and their licences\n\n${parts.join(`\n${'-'.repeat(72)}\n\n`)}`);
}
