/**
 * `npm run bench`: the benchmarks.
 *   npm run bench [-- --requests 10000 --concurrency 32]   the soak check (bench/soak.ts)
 *   npm run bench -- startup                                start-up time and idle memory (bench/startup.ts)
 * Exit code 1 when a check failed.
 */
import { DEFAULT_SOAK, runSoak } from './soak.ts';

if (process.argv.includes('startup')) {
  const { startupOk } = await import('./startup.ts');
  process.exit(startupOk ? 0 : 1);
}

function intFlag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} must be a positive integer`);
  return v;
}

const opts = { ...DEFAULT_SOAK, requests: intFlag('requests', DEFAULT_SOAK.requests), concurrency: intFlag('concurrency', DEFAULT_SOAK.concurrency) };
const started = Date.now();
const ok = await runSoak(opts);
console.log(`bench finished in ${((Date.now() - started) / 1000).toFixed(1)} s: ${ok ? 'all checks passed' : 'SOME CHECKS FAILED'}`);
process.exitCode = ok ? 0 : 1;
