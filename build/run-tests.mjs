#!/usr/bin/env node
// Runs every *.test.ts under src/ and test/ with node's test runner (through tsx).
// Usage: npm test [-- <file or folder filter>...]
// In CI (CI=true) a skipped or todo test is a failure: nothing may pass by not running.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startUserGuard } from './user-guard.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
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

// The integration suites use real system parts (a Secret Service, an X server, a tray host,
// Chromium, wrk...). Say up front what is missing, and how to fix it, rather than failing deep inside a test.
const problems = systemProblems();
if (problems.length > 0) {
  for (const p of problems) console.error(`npm test: ${p}`);
  process.exit(1);
}

/** What the whole suite needs and this machine lacks, each with its fix. Only a run of every test needs everything. */
function systemProblems() {
  if (process.platform !== 'linux') return [];
  const out = [];
  const hasDpkg = (process.env.PATH ?? '').split(path.delimiter).some((d) => fs.existsSync(path.join(d, 'dpkg-query')));
  if (hasDpkg && filters.length === 0) {
    try {
      execFileSync('bash', [path.join(root, 'build', 'system-packages.sh'), '--check'], { stdio: ['ignore', 'pipe', 'ignore'] });
    } catch (err) {
      const missing = String(err.stdout ?? '').trim();
      out.push(`missing system packages: ${missing || '(unknown)'} (see build/apt-packages.txt for what each is for)`);
      out.push('  fix: bash build/system-packages.sh   (then npm ci again if libsecret-1-dev was missing: keytar is built by npm ci)');
    }
  }
  // npm drops an optional dependency whose native build failed: keytar is then absent, and the keychain tests would fail.
  const keytarBuilt = fs.existsSync(path.join(root, 'node_modules', 'keytar', 'build', 'Release', 'keytar.node'));
  const keychainTests = filters.length === 0 || filters.some((f) => /test\/(auth|cli)|keychain/.test(f));
  if (!keytarBuilt && keychainTests) {
    out.push("keytar (the OS keychain module) was not built by npm ci: its native build needs libsecret-1-dev and Node's headers, which node-gyp downloads (npm ci's log says which failed)");
    out.push('  fix: bash build/system-packages.sh && npm ci   (npm rebuild keytar does not bring back a dropped optional dependency)');
    out.push("  offline: npm_config_nodedir=/usr npm ci   (Node's headers as installed with node, in /usr/include/node)");
  }
  return out;
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
// Port 8081 and the user's data dir are off limits for the whole run (build/user-guard.mjs).
const guard = await startUserGuard();
const child = spawn(process.execPath, args, { cwd: root, stdio: 'inherit', env: { ...process.env, NODE_ENV: 'test' } });
child.on('exit', async (code, signal) => {
  const trespass = await guard.finish();
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
  if (!guard.held && process.env.CI === 'true') trespass.push('CI could not hold port 8081, so it cannot show that no test uses it');
  if (trespass.length > 0) {
    for (const t of trespass) console.error(`user guard: ${t}`);
    exit = exit || 1;
  }
  if (pass === 0 && exit === 0) {
    console.error('no test ran');
    exit = 1;
  }
  console.log(`${pass} passed, ${fail} failed${skipped ? `, ${skipped} skipped` : ''}`);
  process.exit(exit);
});
