// Run the fake GitHub + Copilot upstream as a standalone process.
//   npx tsx test/fake-upstream/serve.ts [--port 8999] [--chunk-delay 5] [--token-lifetime 1800]
//                                       [--github-token gho_x] [--opencode-token gho_y]
// PORT in the environment works too. Prints `FAKE_UPSTREAM_URL=http://127.0.0.1:<port>` on stdout
// once listening; /__fake/* control routes are on (see README.md). SIGINT/SIGTERM stop it.

import { startFakeUpstream } from './index.ts';

function flag(args: string[], name: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === `--${name}`) return args[i + 1];
    if (a !== undefined && a.startsWith(`--${name}=`)) return a.slice(name.length + 3);
  }
  return undefined;
}

function intOf(v: string | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`fake-upstream: ${what} must be a non-negative integer, got "${v}"`);
  return n;
}

const args = process.argv.slice(2);
const positional = args.find((a) => /^\d+$/.test(a));
const port = intOf(flag(args, 'port') ?? positional ?? process.env['PORT'], 'port') ?? 0;
const chunkDelayMs = intOf(flag(args, 'chunk-delay'), '--chunk-delay');
const tokenLifetimeSec = intOf(flag(args, 'token-lifetime'), '--token-lifetime');

const fake = await startFakeUpstream({
  port,
  controlRoutes: true,
  ...(chunkDelayMs === undefined ? {} : { chunkDelayMs }),
  ...(tokenLifetimeSec === undefined ? {} : { tokenLifetimeSec }),
});

const gh = flag(args, 'github-token') ?? process.env['FAKE_GITHUB_TOKEN'];
if (gh !== undefined) fake.addGithubToken(gh, { app: 'vscode' });
const oc = flag(args, 'opencode-token') ?? process.env['FAKE_OPENCODE_TOKEN'];
if (oc !== undefined) fake.addGithubToken(oc, { app: 'opencode' });

process.stdout.write(`FAKE_UPSTREAM_URL=${fake.url}\n`);

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  void fake.close().then(() => {
    process.stdout.write('fake upstream stopped\n');
  });
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
