import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { invokedAs, type InvocationFacts } from './self.ts';

const facts = (over: Partial<InvocationFacts>): InvocationFacts => ({
  argv: ['/usr/bin/node', '/home/u/src/gcs/dist/github-copilot-svcs.mjs', 'status'],
  env: { PATH: '/usr/local/bin:/usr/bin' },
  execPath: '/usr/bin/node',
  sea: false,
  cwd: '/home/u/src/gcs',
  real: (p) => p,
  ...over,
});

describe('invokedAs: messages name the command as the user started it', () => {
  test('a source checkout: node and the script, relative to the working dir', () => {
    assert.equal(invokedAs(facts({})), 'node dist/github-copilot-svcs.mjs');
    assert.equal(invokedAs(facts({ cwd: '/' })), 'node /home/u/src/gcs/dist/github-copilot-svcs.mjs');
    assert.equal(invokedAs(facts({ cwd: '/elsewhere', argv: ['node', '/my dir/g.mjs'] })), 'node "/my dir/g.mjs"');
  });
  test('npx, and the global command when the one on PATH is this program', () => {
    assert.equal(invokedAs(facts({ env: { npm_command: 'exec' } })), 'npx github-copilot-svcs');
    const real = (p: string) => (p === '/usr/local/bin/github-copilot-svcs' ? '/usr/local/lib/node_modules/github-copilot-svcs/dist/github-copilot-svcs.mjs' : p);
    const global = facts({ argv: ['node', '/usr/local/lib/node_modules/github-copilot-svcs/dist/github-copilot-svcs.mjs'], real });
    // fs.existsSync on a path of this test machine decides the last step; the link does not exist here.
    assert.equal(invokedAs(global), 'node /usr/local/lib/node_modules/github-copilot-svcs/dist/github-copilot-svcs.mjs');
  });
  test('the single-file binary: its path, or ./name in the working dir', () => {
    assert.equal(invokedAs(facts({ sea: true, execPath: '/opt/gcs/github-copilot-svcs-linux-x64', cwd: '/' })), '/opt/gcs/github-copilot-svcs-linux-x64');
    assert.equal(invokedAs(facts({ sea: true, execPath: '/home/u/dl/gcs', cwd: '/home/u/dl' })), './gcs');
    // Windows shells: plain double quotes, backslashes left alone.
    assert.equal(invokedAs(facts({ sea: true, execPath: '/home/u/my dl/gcs.exe', cwd: '/', platform: 'win32' })), '"/home/u/my dl/gcs.exe"');
    assert.equal(invokedAs(facts({ sea: true, execPath: '/opt/a\\b.exe', cwd: '/', platform: 'win32' })), '/opt/a\\b.exe');
  });
});
