#!/usr/bin/env node
// Runs every *.test.ts under src/ and test/ with node's test runner (through tsx).
// Usage: npm test [-- <file or folder filter>...]
// In CI (CI=true) a skipped or todo test is a failure: nothing may pass by not running.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const filters = process.argv.slice(2);

function walk(dir) {
  const out = [];
  if (!fs.existsSync(dir)) return out;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p));
    else if (/\.test\.ts$/.test(e.name)) out.push(path.relative(root, p));
  }
  return out;
}

let files = [...walk(path.join(root, 'src')), ...walk(path.join(root, 'test'))].sort();
if (filters.length > 0) files = files.filter((f) => filters.some((flt) => f.includes(flt)));
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}

// The integration suites use real system parts (a Secret Service, an X server, a tray host).
// Say up front what is missing rather than failing deep inside a test.
const SYSTEM_TOOLS = {
  'dbus-run-session': 'dbus',
  'dbus-daemon': 'dbus',
  'gnome-keyring-daemon': 'gnome-keyring',
  Xvfb: 'xvfb',
  trayer: 'trayer',
  xdotool: 'xdotool',
  xclip: 'xclip',
  import: 'imagemagick',
  chromium: 'chromium',
};
if (process.platform === 'linux') {
  const dirs = (process.env.PATH ?? '').split(path.delimiter);
  const missing = Object.entries(SYSTEM_TOOLS).filter(([bin]) => !dirs.some((d) => fs.existsSync(path.join(d, bin))));
  const needed = files.some((f) => /^test\/(tray|auth|dashboard)\//.test(f));
  if (missing.length > 0 && needed) {
    const pkgs = [...new Set(missing.map(([, pkg]) => pkg)), 'libsecret-1-dev', 'libayatana-appindicator3-1'];
    console.error(`missing system tools: ${missing.map(([b]) => b).join(', ')}`);
    console.error(`install them with: sudo apt-get install ${pkgs.join(' ')}   (or run: bash .ci/run)`);
    process.exit(1);
  }
}

// The CLI and tray suites run the built bin (dist/), as users do: build it from the current sources first.
execFileSync(process.execPath, [path.join(root, 'build', 'bundle.mjs')], { stdio: 'inherit' });

const tapFile = path.join(os.tmpdir(), `gcs-tests-${process.pid}.tap`);
const args = [
  '--import', 'tsx',
  '--test',
  '--test-reporter=spec', '--test-reporter-destination=stdout',
  '--test-reporter=tap', `--test-reporter-destination=${tapFile}`,
  ...files,
];
const child = spawn(process.execPath, args, { cwd: root, stdio: 'inherit', env: { ...process.env, NODE_ENV: 'test' } });
child.on('exit', (code, signal) => {
  let tap = '';
  try {
    tap = fs.readFileSync(tapFile, 'utf8');
    fs.rmSync(tapFile, { force: true });
  } catch {
    /* no tap output */
  }
  const count = (name) => Number((tap.match(new RegExp(`^# ${name} (\\d+)$`, 'm')) ?? [])[1] ?? 0);
  const pass = count('pass');
  // A test cancelled because its suite's hook failed did not pass either.
  const fail = count('fail') + count('cancelled');
  const skipped = count('skipped') + count('todo');
  let exit = code ?? (signal ? 1 : 0);
  if (process.env.CI === 'true' && skipped > 0) {
    console.error(`CI: ${skipped} test(s) skipped or todo; in CI that is a failure.`);
    exit = exit || 1;
  }
  if (pass === 0 && exit === 0) {
    console.error('no test ran');
    exit = 1;
  }
  console.log(`${pass} passed, ${fail} failed${skipped ? `, ${skipped} skipped` : ''}`);
  process.exit(exit);
});
