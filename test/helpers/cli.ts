import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

/** The built bin (npm test builds dist/ first): tests run what users install. */
export const BIN = path.resolve(import.meta.dirname, '../../dist/github-copilot-svcs.mjs');

/**
 * Every CLI test runs the command from `/`, as a global install, the autostart
 * entry and the tray do: no package.json above the working directory.
 */
export const CLI_CWD = '/';

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run the real CLI (dist/github-copilot-svcs.mjs) with an env that replaces HOME-related settings. */
export function runCli(args: string[], env: NodeJS.ProcessEnv, opts: { timeoutMs?: number; input?: string; readerQuits?: boolean } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: cleanEnv(env), cwd: CLI_CWD, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    // readerQuits: stdout's reader is gone before the command writes (`| head` that has its lines).
    if (opts.readerQuits) child.stdout.destroy();
    else child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`CLI ${args.join(' ')} timed out\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, opts.timeoutMs ?? 30_000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** A long-running CLI process (run, tray) with helpers to wait for output. */
export function startCli(args: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; output: () => string; waitFor: (re: RegExp, timeoutMs?: number) => Promise<RegExpMatchArray>; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> } {
  const child = spawn(process.execPath, [BIN, ...args], { env: cleanEnv(env), cwd: CLI_CWD, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return {
    child,
    output: () => out,
    exited,
    waitFor(re, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const started = Date.now();
        const tick = setInterval(() => {
          const m = re.exec(out);
          if (m) {
            clearInterval(tick);
            resolve(m);
          } else if (Date.now() - started > timeoutMs || child.exitCode !== null) {
            clearInterval(tick);
            reject(new Error(`did not see ${re} in output:\n${out}`));
          }
        }, 25);
      });
    },
  };
}

/** The test process's env minus anything that would point the CLI at real user data or real GitHub. */
function cleanEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('GITHUB_COPILOT_SVCS_') || k === 'NODE_TEST_CONTEXT' || k === 'NODE_OPTIONS') continue;
    base[k] = v;
  }
  return { ...base, NO_COLOR: '1', ...env };
}
