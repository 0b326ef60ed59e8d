import type { Dispatcher } from 'undici';
import { ensureDataDir } from '../auth/config-file.ts';
import { createTokenManager, type AutoSignInOptions, type ManagedTokenManager } from '../auth/token-manager.ts';
import { createTokenStore, type TokenStore } from '../auth/token-store.ts';
import { loadConfig, type ConfigFlags } from '../config/load.ts';
import { describeRepairs, removeStaleTempFiles, repairDataDirPermissions } from '../config/permissions.ts';
import { exposedHost, type ResolvedConfig } from '../config/schema.ts';
import { ExitError } from '../errors.ts';
import { createLogger, type Logger } from '../log.ts';
import type { ResilienceOptions } from '../upstream/gateway.ts';
import { createDispatcher } from '../upstream/http.ts';
import { ListenError } from './server.ts';
import { FOREIGN_HOLDER_FIX, createLoopbackClient, findPortHolder } from '../cli/proxy-client.ts';
import { startProxy, type ProxyHandle } from './start-proxy.ts';
import { envName } from '../config/env.ts';
import { commandName } from '../runtime/self.ts';
import { tuneProxyHeap } from '../runtime/heap.ts';

export interface ProxyRuntime {
  config: ResolvedConfig;
  log: Logger;
  store: TokenStore;
  tokens: ManagedTokenManager;
  dispatcher: Dispatcher;
  proxy: ProxyHandle;
  /** Graceful stop of everything: server (in-flight requests up to the deadline), timers, pools. Idempotent. */
  shutdown(deadlineMs?: number): Promise<void>;
}

export interface RuntimeOptions {
  config: ResolvedConfig;
  log: Logger;
  /** `run`: start a device flow itself when no usable GitHub token exists. The tray child leaves it to the tray. */
  autoSignIn: boolean | AutoSignInOptions;
  env?: NodeJS.ProcessEnv;
  /** Tests: shorter refresh retry delays. */
  retryDelaysMs?: readonly number[];
  /** Upstream retry/breaker knobs beyond config.json (tests, benchmarks: short backoff). */
  resilience?: Partial<ResilienceOptions>;
}

/** Refuses configurations that would expose the token to the network. */
export function assertSafeBinding(config: ResolvedConfig): void {
  const exposed = exposedHost(config);
  if (exposed !== null) {
    throw new ExitError(
      `Refusing to listen on ${exposed}: that address is reachable from other machines, and anyone who reaches it could spend your Copilot subscription. ` +
        `Set api_key (config.json or ${envName('api_key')}) so clients must authenticate, or listen on 127.0.0.1.`,
      2,
    );
  }
}

/** The composition root shared by `run` and the tray's proxy child. */
export async function startRuntime(opts: RuntimeOptions): Promise<ProxyRuntime> {
  const { config, log } = opts;
  assertSafeBinding(config);
  tuneProxyHeap();
  // Before ensureDataDir, which would tighten the dir silently: a loosened mode is worth a warning.
  for (const line of describeRepairs(repairDataDirPermissions(config.paths.dataDir))) log.warn(`permissions: ${line}`);
  ensureDataDir(config.paths.dataDir);
  removeStaleTempFiles(config.paths.dataDir);
  for (const w of config.warnings) log.warn(w);
  if (config.api_key) log.addSecret(config.api_key);
  const dispatcher = createDispatcher(config);
  const store = await createTokenStore({ config, log });
  const tokens = createTokenManager({ config, store, dispatcher, log, env: opts.env, command: commandName(opts.env), autoSignIn: opts.autoSignIn, retryDelaysMs: opts.retryDelaysMs });
  let proxy: ProxyHandle;
  try {
    proxy = await startProxy({ config, log, tokens, dispatcher, resilience: opts.resilience });
  } catch (err) {
    tokens.stop();
    await dispatcher.close().catch(() => undefined);
    throw err;
  }
  await tokens.start();
  const removeGuard = installCrashGuard(log);
  let done: Promise<void> | undefined;
  return {
    config,
    log,
    store,
    tokens,
    dispatcher,
    proxy,
    shutdown(deadlineMs) {
      done ??= (async () => {
        await proxy.stop(deadlineMs);
        tokens.stop();
        await dispatcher.destroy().catch(() => undefined);
        removeGuard();
      })();
      return done;
    },
  };
}

/**
 * A proxy serves many streams at once: one unexpected throw in an event
 * listener (a bug, a library's surprise) must not end all of them mid-stream.
 * It is logged as an error and the process goes on.
 */
export function installCrashGuard(log: Logger, proc: Pick<NodeJS.Process, 'on' | 'off'> = process): () => void {
  let reporting = false;
  const onError = (err: unknown, origin: string) => {
    // A closed stdout/stderr (whoever read our output went away) is not the proxy's trouble, and
    // reporting it could write to the same closed pipe again: it is dropped. Nor may a report re-enter.
    const code = typeof err === 'object' && err !== null && 'code' in err ? err.code : undefined;
    if (code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED' || reporting) return;
    reporting = true;
    try {
      log.error(`unexpected ${origin === 'unhandledRejection' ? 'unhandled rejection' : 'exception'} (the proxy keeps running): ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    } finally {
      reporting = false;
    }
  };
  const onRejection = (reason: unknown) => onError(reason, 'unhandledRejection');
  proc.on('uncaughtException', onError);
  proc.on('unhandledRejection', onRejection);
  return () => {
    proc.off('uncaughtException', onError);
    proc.off('unhandledRejection', onRejection);
  };
}

/** A port in use: when the program holding it is one of our proxies, say so (and whether it serves this data dir). */
async function whoHoldsThePort(config: ResolvedConfig, err: ListenError): Promise<string> {
  if (err.code !== 'EADDRINUSE') return err.message;
  const agent = createLoopbackClient();
  try {
    const holder = await findPortHolder(config, agent);
    if (holder.kind === 'none') return err.message;
    if (holder.kind === 'foreign') return `Port ${config.port} on ${config.host} is already in use by another program (${holder.detail}). ${FOREIGN_HOLDER_FIX}`;
    const who =
      holder.kind === 'ours'
        ? `this data dir's own github-copilot-svcs proxy (version ${holder.proxy.version}): it is already running (see: ${commandName()} status)`
        : `another github-copilot-svcs proxy (version ${holder.proxy.version}, of another data dir or user)`;
    return `Port ${config.port} on ${config.host} is already in use by ${who}. Stop it, or choose another port with --port or ${envName('port')}.`;
  } finally {
    agent.destroy();
  }
}

/** `github-copilot-svcs run`: serve in the foreground until SIGINT/SIGTERM, then stop gracefully. */
export async function runCommand(flags: ConfigFlags): Promise<void> {
  const config = loadConfig({ flags });
  const log = createLogger({ level: config.log_level, file: config.paths.logFile, scope: 'proxy' });
  let runtime: ProxyRuntime;
  try {
    runtime = await startRuntime({ config, log, autoSignIn: true });
  } catch (err) {
    if (err instanceof ListenError) throw new ExitError(await whoHoldsThePort(config, err), 1);
    throw err;
  }
  const s = runtime.tokens.snapshot();
  log.info(`github-copilot-svcs listening on ${runtime.proxy.url}/v1 (token: ${s.health}, store: ${s.store}, API: ${s.apiBase})`);
  await new Promise<void>((resolve) => {
    let signalled = false;
    const onSignal = (sig: NodeJS.Signals) => {
      if (signalled) {
        log.warn(`${sig} again: exiting now`);
        process.exit(1);
      }
      signalled = true;
      log.info(`${sig}: stopping; waiting up to ${config.timeouts.shutdown} s for ${runtime.proxy.ctx.stats.inFlight} in-flight request(s)`);
      runtime.shutdown().then(resolve, resolve);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  log.info('stopped');
}
