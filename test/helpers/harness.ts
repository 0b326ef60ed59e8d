import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import OpenAI from 'openai';
import { loadConfig } from '../../src/config/load.ts';
import type { FileConfig } from '../../src/config/schema.ts';
import { createLogger } from '../../src/log.ts';
import { startRuntime, type ProxyRuntime } from '../../src/proxy/run.ts';
import type { ProxyHandle } from '../../src/proxy/start-proxy.ts';
import type { ResilienceOptions } from '../../src/upstream/gateway.ts';
import { startFakeUpstream, type FakeOptions, type FakeUpstream } from '../fake-upstream/index.ts';

export interface Harness {
  fake: FakeUpstream;
  runtime: ProxyRuntime;
  proxy: ProxyHandle;
  /** http://127.0.0.1:PORT (no /v1) */
  url: string;
  /** Official OpenAI SDK pointed at the proxy, retries off so tests see each status. */
  openai: OpenAI;
  home: string;
  /** Env that points a CLI process at the same home and fake upstream. */
  env: NodeJS.ProcessEnv;
  githubToken: string;
  logFile: string;
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** Extra config.json keys. */
  config?: Partial<FileConfig>;
  fake?: FakeOptions;
  /** Reuse a running fake upstream (the caller closes it). */
  upstream?: FakeUpstream;
  /** Sign in as this GitHub token instead of a fresh one; null = not signed in. */
  githubToken?: string | null;
  /**
   * Upstream retry/breaker knobs. Tests default to short backoff (20/40/60 ms
   * instead of 1/4/9 s) and wait out an upstream Retry-After only up to 5 s.
   */
  resilience?: Partial<ResilienceOptions>;
}

export const TEST_RESILIENCE: Partial<ResilienceOptions> = { retryDelaysMs: [20, 40, 60], retryAfterCapMs: 5000 };

/** Env vars that point the app at a fake upstream and a temp data dir. */
export function fakeEnv(fake: FakeUpstream, home: string, githubToken?: string | null): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    GITHUB_COPILOT_SVCS_HOME: home,
    GITHUB_COPILOT_SVCS_GITHUB_URL: fake.url,
    GITHUB_COPILOT_SVCS_GITHUB_API_URL: fake.url,
    GITHUB_COPILOT_SVCS_KEYCHAIN: 'off',
  };
  if (githubToken) env.GITHUB_COPILOT_SVCS_GITHUB_TOKEN = githubToken;
  return env;
}

export function tempHome(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'gcs-test-'));
}

/** Call inside a describe: a maker of temp data dirs, all removed after the suite. */
export function suiteHomes(): () => string {
  const homes: string[] = [];
  after(() => {
    for (const d of homes.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });
  return () => {
    const d = tempHome();
    homes.push(d);
    return d;
  };
}

/** The fake upstream plus the real proxy runtime (same composition root as `run`) on free loopback ports. */
export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const ownFake = !opts.upstream;
  const fake = opts.upstream ?? (await startFakeUpstream(opts.fake));
  const home = tempHome();
  const githubToken = opts.githubToken === undefined ? fake.createGithubToken() : opts.githubToken;
  fs.writeFileSync(path.join(home, 'config.json'), JSON.stringify({ port: 0, log_level: 'warn', ...opts.config }), { mode: 0o600 });
  const env = fakeEnv(fake, home, githubToken);
  const config = loadConfig({ env });
  const log = createLogger({ level: config.log_level, file: config.paths.logFile, console: process.env.TEST_LOG === '1', scope: 'proxy' });
  const runtime = await startRuntime({ config, log, autoSignIn: false, env, retryDelaysMs: [10, 20, 30], resilience: { ...TEST_RESILIENCE, ...opts.resilience } });
  const url = runtime.proxy.url;
  const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: opts.config?.api_key ?? 'dummy', maxRetries: 0, timeout: 30_000 });
  return {
    fake,
    runtime,
    proxy: runtime.proxy,
    url,
    openai,
    home,
    env: { ...env, GITHUB_COPILOT_SVCS_PORT: String(runtime.proxy.port) },
    githubToken: githubToken ?? '',
    logFile: config.paths.logFile,
    async close() {
      await runtime.shutdown(2000);
      if (ownFake) await fake.close();
      fs.rmSync(home, { recursive: true, force: true });
    },
  };
}
