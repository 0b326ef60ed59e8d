// The dashboard's page (src/dashboard/page/): one HTML file, one stylesheet and
// one script bundled by esbuild for the browser (no framework, no CDN). Written
// into dist/dashboard/ by build/bundle.mjs and carried as SEA assets by
// build/sea.mjs; src/proxy/routes/dashboard.ts serves them.
import fs from 'node:fs';
import path from 'node:path';
import * as esbuild from 'esbuild';
import { buildDefines, root } from './defines.mjs';

const pageDir = path.join(root, 'src', 'dashboard', 'page');

/** Builds the page into `outdir`; returns the file names written. */
export async function buildDashboard(outdir) {
  fs.mkdirSync(outdir, { recursive: true });
  await esbuild.build({
    absWorkingDir: root,
    entryPoints: [path.join(pageDir, 'main.ts')],
    outfile: path.join(outdir, 'dashboard.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome111', 'firefox111', 'safari16.4'],
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
    define: buildDefines(),
    plugins: [
      {
        // zod re-exports every locale (260 KiB) as `z.locales`; the page never uses them (English is built in).
        name: 'zod-without-locales',
        setup(b) {
          b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) => (/[\\/]zod[\\/]/.test(args.importer) ? { path: 'zod-locales', namespace: 'stub' } : undefined));
          b.onLoad({ filter: /.*/, namespace: 'stub' }, () => ({ contents: 'export {};', loader: 'js' }));
        },
      },
    ],
  });
  fs.copyFileSync(path.join(pageDir, 'index.html'), path.join(outdir, 'index.html'));
  fs.copyFileSync(path.join(pageDir, 'dashboard.css'), path.join(outdir, 'dashboard.css'));
  return ['index.html', 'dashboard.css', 'dashboard.js'];
}
