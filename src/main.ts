#!/usr/bin/env node
/**
 * The bin entry, and the only place that calls process.exit. `version` is
 * answered before anything else loads; every other command loads the CLI
 * (program.ts), which imports each command's code only when it runs.
 * No top-level await: the single-file binary's bundle is CommonJS.
 */
import { KEYCHAIN_HELPER_COMMAND, runKeychainHelper } from './auth/keychain-helper.ts';
import { PROXY_CHILD_COMMAND } from './ipc/child.ts';
import { versionLine } from './version.ts';

async function main(argv: string[]): Promise<number> {
  const command = argv[2];
  if (command === 'version' || command === '--version' || command === '-V') {
    process.stdout.write(`${versionLine()}\n`);
    return 0;
  }
  const program = await import('./program.ts');
  return program.main(argv);
}

// stdout's reader quit early (`usage | head`): the rest of the output has nowhere to go, but the
// command still does its work and ends as it would (a sign-in, an uninstall are not cut halfway).
// EPIPE, and the writes after it that find the stream destroyed, are not errors; anything else is said once.
function onStdoutError(err: NodeJS.ErrnoException): void {
  if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') return;
  process.stdout.off('error', onStdoutError);
  process.stdout.on('error', () => undefined);
  process.stderr.write(`github-copilot-svcs: cannot write the output: ${err.message}\n`);
}
process.stdout.on('error', onStdoutError);

const command = process.argv[2];
process.title = command === PROXY_CHILD_COMMAND ? 'github-copilot-svcs-proxy' : 'github-copilot-svcs';
if (command === KEYCHAIN_HELPER_COMMAND) {
  // The keychain helper (single-file binary only) exits by itself once it has answered.
  runKeychainHelper();
} else {
  // Commands that keep serving (run, tray) resolve only when they are done. Exit
  // explicitly: a pending keychain call or a keep-alive socket must not keep a
  // finished command alive.
  main(process.argv).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`github-copilot-svcs: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
