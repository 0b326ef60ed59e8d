import { createRequire } from 'node:module';
import vm from 'node:vm';

/** The hidden command that runs the keychain helper in the single-file binary. */
export const KEYCHAIN_HELPER_COMMAND = '__keychain-helper';

/*
 * Why a child process: a keytar call is native work on libuv's thread pool and
 * cannot be cancelled. When the Secret Service never answers (a D-Bus socket that
 * accepts and stays silent, a locked keyring waiting on a prompt) that pending
 * work keeps the event loop alive: an in-process call, or one in a worker thread
 * (worker teardown waits for it too), stops the process from exiting. A child
 * process can be killed. Each call costs one short-lived `node` process, which is
 * cheap next to how rarely tokens are read or written (start-up, every ~25 min).
 * The password travels over the child's stdin/stdout, never its argv.
 */
export const KEYCHAIN_HELPER_CODE = `
const chunks = [];
process.stdin.on('data', (c) => chunks.push(c));
process.stdin.on('end', async () => {
  let out;
  try {
    const req = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const k = require(req.module);
    if (req.op === 'get') out = { ok: true, value: await k.getPassword(req.service, req.account) };
    else if (req.op === 'set') { await k.setPassword(req.service, req.account, req.password); out = { ok: true, value: null }; }
    else out = { ok: true, value: await k.deletePassword(req.service, req.account) };
  } catch (e) {
    out = { ok: false, error: String((e && e.message) || e).slice(0, 300) };
  }
  process.stdout.write(JSON.stringify(out), () => process.exit(0));
});
`;

/**
 * The helper inside the single-file binary (which takes no `-e`): the same
 * code, compiled as Node compiles a CommonJS module, with a `require` that
 * loads files from disk (keytar's extracted .node).
 */
export function runKeychainHelper(): void {
  const fn: unknown = vm.compileFunction(KEYCHAIN_HELPER_CODE, ['require']);
  if (typeof fn === 'function') fn(createRequire(process.execPath));
}
