#!/usr/bin/env node
/**
 * The bin entry, and the only place that calls process.exit. `version` is
 * answered before anything else loads; every other command loads the CLI
 * (program.ts), which imports each command's code only when it runs.
 */
import { PROXY_CHILD_COMMAND } from './ipc/child.ts';
import { versionLine } from './version.ts';

const command = process.argv[2];
process.title = command === PROXY_CHILD_COMMAND ? 'github-copilot-svcs-proxy' : 'github-copilot-svcs';
let code: number;
if (command === 'version' || command === '--version' || command === '-V') {
  process.stdout.write(`${versionLine()}\n`);
  code = 0;
} else {
  const { main } = await import('./program.ts');
  code = await main(process.argv);
}
// Commands that keep serving (run, tray) resolve only when they are done. Exit
// explicitly: a pending keychain call or a keep-alive socket must not keep a
// finished command alive.
process.exit(code);
