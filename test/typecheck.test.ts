import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';

// Strict TypeScript is part of the contract (no `any` at boundaries): the suite fails on any type error.
test('the whole tree type-checks under strict tsconfig', () => {
  const root = path.resolve(import.meta.dirname, '..');
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '--noEmit', '-p', root], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, `tsc reported:\n${r.stdout}${r.stderr}`);
});

test('the dashboard\'s page type-checks under its own strict tsconfig (DOM types)', () => {
  const root = path.resolve(import.meta.dirname, '..');
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '--noEmit', '-p', path.join(root, 'tsconfig.page.json')], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, `tsc reported:\n${r.stdout}${r.stderr}`);
});
