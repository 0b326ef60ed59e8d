import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { freePort } from './helpers/desktop.ts';
// @ts-expect-error: a plain .mjs build script without types
import { startUserGuard } from '../build/user-guard.mjs';

/** What startUserGuard gives back, checked rather than assumed. */
interface Guard {
  held: boolean;
  finish(): Promise<string[]>;
}
function isGuard(v: unknown): v is Guard {
  return typeof v === 'object' && v !== null && 'held' in v && 'finish' in v && typeof v.finish === 'function';
}

// npm test runs the whole suite with this guard on 8081 and the default data dir; here it is shown to catch a trespass.
describe('the user guard of npm test', () => {
  test('a request to the held port, or a new default data dir, fails the run; a quiet run passes', async () => {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'gcs-guard-'));
    try {
      const port = await freePort();
      const dataDir = path.join(base, 'data');
      const quiet: unknown = await startUserGuard({ port, dataDir });
      assert.ok(isGuard(quiet));
      assert.equal(quiet.held, true);
      assert.deepEqual(await quiet.finish(), []);

      const loud: unknown = await startUserGuard({ port, dataDir });
      assert.ok(isGuard(loud));
      const res = await fetch(`http://127.0.0.1:${port}/health`);
      assert.notEqual(res.status, 0);
      fs.mkdirSync(dataDir);
      fs.writeFileSync(path.join(dataDir, 'config.json'), '{}');
      const problems = await loud.finish();
      assert.equal(problems.length, 2, problems.join('\n'));
      assert.match(problems[0] ?? '', new RegExp(`a test reached port ${port}: GET /health`));
      assert.match(problems[1] ?? '', /created the user's data dir/);
    } finally {
      fs.rmSync(base, { recursive: true, force: true });
    }
  });
});
