/**
 * `npm run bench`: the benchmarks.
 *   npm run bench                     all of them: load, then soak (under 10 minutes on 2 cores)
 *   npm run bench -- load [--quick]   proxy cost per request beside the direct baseline (bench/load.ts)
 *   npm run bench -- load --profile   CPU profiles of the proxy under load, summarised (bench-results/profiles/)
 *   npm run bench -- soak [--requests 10000 --concurrency 32]   the soak check (bench/soak.ts)
 *   npm run bench -- startup          start-up time and idle memory (bench/startup.ts)
 *   npm run bench -- usage [--per-day 5000]   GET /usage's totals with and without the daily roll-ups (bench/usage.ts)
 *   npm run bench -- idle [--seconds 60]      CPU and wake-ups of an idle proxy beside a bare node (bench/idle.ts)
 *   npm run bench -- hostile                  /health while the proxy takes the red team's heavy inputs (bench/hostile.ts)
 *   npm run bench -- peers [--quick] [--go-tool PATH]   ours beside copilot-api and the Go tool, CPU/request, RSS, latency (bench/peers.ts); exit 0 when it ran
 * Exit code 1 when a check failed or a target was missed.
 */
import { DEFAULT_SOAK, runSoak } from './soak.ts';

const args = process.argv.slice(2);
const started = Date.now();

if (args.includes('startup')) {
  const { startupOk } = await import('./startup.ts');
  process.exit(startupOk ? 0 : 1);
}

if (args.includes('idle')) {
  const { runIdleBench } = await import('./idle.ts');
  process.exit((await runIdleBench()) ? 0 : 1);
}

if (args.includes('hostile')) {
  const { runHostileBench } = await import('./hostile.ts');
  process.exit((await runHostileBench()) ? 0 : 1);
}

if (args.includes('peers')) {
  const { runPeers } = await import('./peers.ts');
  process.exit((await runPeers()) ? 0 : 1);
}

if (args.includes('usage')) {
  const { runUsageBench } = await import('./usage.ts');
  await runUsageBench();
  process.exit(0);
}

function intFlag(name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  const v = i >= 0 ? Number(args[i + 1]) : fallback;
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} must be a positive integer`);
  return v;
}

if (args.includes('--profile')) {
  const { runProfile } = await import('./load.ts');
  await runProfile();
  process.exit(0);
}

const only = args.find((a) => a === 'load' || a === 'soak');
let ok = true;
if (only !== 'soak') {
  const { runLoad } = await import('./load.ts');
  ok = (await runLoad()) && ok;
}
if (only !== 'load') {
  const opts = { ...DEFAULT_SOAK, requests: intFlag('requests', DEFAULT_SOAK.requests), concurrency: intFlag('concurrency', DEFAULT_SOAK.concurrency) };
  ok = (await runSoak(opts)) && ok;
}
console.log(`bench finished in ${((Date.now() - started) / 1000).toFixed(1)} s: ${ok ? 'all checks passed, all targets met' : 'SOME CHECKS FAILED OR TARGETS MISSED'}`);
process.exitCode = ok ? 0 : 1;
