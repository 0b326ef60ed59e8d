/**
 * The build scripts as commands and modules: they find the checkout and know
 * when they are the script node was started with, from a path with a space,
 * `%`, `#` (and under Wine from Z:\..., test/install/wine.test.ts). The
 * scripts run from a copy of build/ in such a path inside this checkout (under
 * the ignored test-artifacts/), where they find its node_modules and its
 * package.json without a symlink (Wine makes none; node strips no types under
 * node_modules/).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { root as definesRoot } from '../../build/defines.mjs';
import { isMainModule } from '../../build/main-module.mjs';
import { bumpOf, latestTag, nextVersion } from '../../build/next-version.ts';

const root = path.resolve(import.meta.dirname, '../..');
const which = (cmd: string) =>
  (process.env.PATH ?? '').split(path.delimiter).some((d) => ['', '.exe'].some((ext) => fs.existsSync(path.join(d, `${cmd}${ext}`))));

/** node's arguments to run a script: TypeScript natively where node strips types (22.18+), else through tsx. */
function nodeArgs(script: string): string[] {
  const strip = Reflect.get(process.features, 'typescript');
  if (!script.endsWith('.ts') || strip === 'strip' || strip === 'transform') return [script];
  return ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href, script];
}

function runNode(script: string, args: string[], cwd: string) {
  return spawnSync(process.execPath, [...nodeArgs(script), ...args], { cwd, encoding: 'utf8', timeout: 120_000, env: { ...process.env, NODE_OPTIONS: '' } });
}

describe('build scripts from a checkout at an awkward path', () => {
  let tmp = '';
  /** A checkout whose path has a space, %20 and #. */
  let checkout = '';
  let copies = '';
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gcs-build-'));
    fs.mkdirSync(path.join(root, 'test-artifacts'), { recursive: true });
    copies = fs.mkdtempSync(path.join(root, 'test-artifacts', 'build-scripts-'));
    checkout = path.join(copies, 'my checkout%20#1');
    fs.mkdirSync(path.join(checkout, 'build'), { recursive: true });
    for (const f of fs.readdirSync(path.join(root, 'build'))) fs.copyFileSync(path.join(root, 'build', f), path.join(checkout, 'build', f));
  });
  after(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.rmSync(copies, { recursive: true, force: true });
  });

  test('isMainModule: the same file by absolute or relative path, not another file, not without argv[1]', () => {
    const file = path.join(checkout, 'build', 'sea.mjs');
    const url = pathToFileURL(file).href;
    assert.equal(isMainModule(url, file), true);
    assert.equal(isMainModule(url, path.relative(process.cwd(), file)), true);
    assert.equal(isMainModule(url, path.join(checkout, 'build', 'defines.mjs')), false);
    assert.equal(isMainModule(url, undefined), false);
    // What the scripts compared before: URL text is not a path.
    assert.notEqual(path.resolve(new URL(url).pathname), path.resolve(file));
  });

  test('defines.mjs finds the checkout it is in', () => {
    assert.equal(definesRoot, root);
    assert.ok(fs.existsSync(path.join(definesRoot, 'package.json')));
  });

  test('sea.mjs runs as a command: --help prints its usage', () => {
    const r = runNode(path.join(checkout, 'build', 'sea.mjs'), ['--help'], checkout);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /usage: npm run build:binary -- --target <linux-x64\|linux-arm64\|darwin-x64\|darwin-arm64\|win32-x64\|win32-arm64\|all>/);
  });

  test('make-icons.ts runs as a command and draws exactly the committed icons', () => {
    const out = path.join(tmp, 'icons out');
    const r = runNode(path.join(checkout, 'build', 'make-icons.ts'), ['--out', out], checkout);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^icons written to /);
    const committed = fs.readdirSync(path.join(root, 'assets')).filter((f) => f.startsWith('tray-')).sort();
    assert.deepEqual(fs.readdirSync(out).sort(), committed);
    for (const f of committed) assert.ok(fs.readFileSync(path.join(out, f)).equals(fs.readFileSync(path.join(root, 'assets', f))), `${f} as committed`);
  });

  test('next-version.ts: tags and conventional commits', () => {
    assert.deepEqual(latestTag(['v1.2.3', 'v1.10.0', 'v1.9.9', 'release-2', 'v2.0.0-rc.1']), [1, 10, 0]);
    assert.equal(latestTag(['nightly']), null);
    assert.equal(bumpOf('fix: a'), 'patch');
    assert.equal(bumpOf('feat(cli): b'), 'minor');
    assert.equal(bumpOf('refactor!: c'), 'major');
    assert.equal(bumpOf('chore: d\n\nBREAKING CHANGE: the config moves'), 'major');
    assert.equal(nextVersion([], ['feat: x']), '0.0.1');
    assert.equal(nextVersion(['v0.3.1'], ['fix: y', 'feat: x']), '0.4.0');
    assert.equal(nextVersion(['v0.3.1'], ['fix: y']), '0.3.2');
    assert.equal(nextVersion(['v0.3.1'], ['feat: x', 'fix!: z']), '1.0.0');
  });

  test('next-version.ts runs as a command in a repository: the GITHUB_OUTPUT lines', { skip: which('git') ? false : 'no git on this PATH (Wine has none)' }, () => {
    const repo = path.join(tmp, 'repo');
    fs.mkdirSync(repo);
    const git = (...args: string[]) => {
      const r = spawnSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', '-c', 'commit.gpgsign=false', '-c', 'tag.gpgsign=false', ...args], { cwd: repo, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    };
    git('init', '-q');
    git('commit', '-q', '--allow-empty', '-m', 'fix: first');
    git('tag', 'v1.2.3');
    git('commit', '-q', '--allow-empty', '-m', 'feat: second');
    const r = runNode(path.join(checkout, 'build', 'next-version.ts'), [], repo);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'version=1.3.0\ntag=v1.3.0\n');
  });
});
