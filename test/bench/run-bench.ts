import { spawn } from 'node:child_process';
import path from 'node:path';

/** The repository root, where `bench/run.ts` and `bench-results/` are. */
export const root = path.resolve(import.meta.dirname, '../..');

/** `npm run bench -- <args>` as its own process (extra env on top of ours); its exit code and stdout, which is also echoed. */
export async function runBench(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string }> {
  const out = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', 'bench/run.ts', ...args], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.on('exit', (code) => resolve({ code, stdout }));
  });
  process.stdout.write(out.stdout);
  return out;
}
