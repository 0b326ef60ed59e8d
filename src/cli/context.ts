import { Option, type Command } from 'commander';
import type { Dispatcher } from 'undici';
import { createTokenManager, type ManagedTokenManager } from '../auth/token-manager.ts';
import { createTokenStore, type TokenStore } from '../auth/token-store.ts';
import { loadConfig, type ConfigFlags } from '../config/load.ts';
import { ExitError } from '../errors.ts';
import { createLogger, type Logger } from '../log.ts';
import { createDispatcher } from '../upstream/http.ts';
import { paint, useColour } from './format.ts';
import { commandName } from '../runtime/self.ts';
import { createLoopbackClient, findPortHolder, type LoopbackClient, type PortHolder, type RunningProxy } from './proxy-client.ts';
import { LOG_LEVELS, type ResolvedConfig } from '../config/schema.ts';

export interface Output {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

/** What a command needs from the outside world; tests may replace any of it. */
export interface CliDeps {
  env?: NodeJS.ProcessEnv;
  stdout?: Output;
  stderr?: Output;
}

export interface CliContext {
  config: ResolvedConfig;
  log: Logger;
  env: NodeJS.ProcessEnv;
  stdout: Output;
  stderr: Output;
  /** The command as the user started it (runtime/self.ts), for "run '<command> auth'". */
  command: string;
  /** Colour on stdout (TTY and no NO_COLOR). */
  colour: boolean;
  out(line?: string): void;
  err(line: string): void;
  /** For GitHub and Copilot. */
  dispatcher(): Dispatcher;
  /** For the running proxy on loopback. */
  loopback(): LoopbackClient;
  store(): Promise<TokenStore>;
  tokens(): Promise<ManagedTokenManager>;
  /** This data dir's proxy answering /health on the configured port, or null. Looked up once. */
  proxy(): Promise<RunningProxy | null>;
  /** Whoever answers /health on the configured port (this data dir's proxy or another's). Looked up once. */
  portHolder(): Promise<PortHolder>;
}

/** Flags shared by the commands, named like config keys. */
export interface CommonOptions {
  port?: number;
  logLevel?: string;
}

export function parsePort(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new ExitError(`--port must be a whole number from 1 to 65535 (got ${JSON.stringify(v)})`, 2);
  return n;
}

export function addCommonOptions(cmd: Command, opts: { port?: boolean } = {}): Command {
  if (opts.port !== false) cmd.option('-p, --port <port>', 'port of the proxy (default: config, else 8081)', parsePort);
  return cmd.addOption(new Option('--log-level <level>', 'log level for messages on stderr').choices(LOG_LEVELS));
}

export function commonFlags(opts: CommonOptions): ConfigFlags {
  const flags: ConfigFlags = {};
  if (opts.port !== undefined) flags.port = opts.port;
  if (opts.logLevel === 'error' || opts.logLevel === 'warn' || opts.logLevel === 'info' || opts.logLevel === 'debug') flags.log_level = opts.logLevel;
  return flags;
}

/**
 * Build the context, run `fn`, and release everything (timers, sockets) however
 * it ends. Log lines go to stderr at `warn` unless --log-level says otherwise;
 * stdout is the command's output.
 */
export async function withCliContext<T>(deps: CliDeps, flags: ConfigFlags, fn: (ctx: CliContext) => Promise<T>, opts: { warnings?: boolean } = {}): Promise<T> {
  const env = deps.env ?? process.env;
  const stdout = deps.stdout ?? process.stdout;
  const stderr = deps.stderr ?? process.stderr;
  const config = loadConfig({ env, flags });
  const level = flags.log_level ?? (config.log_level === 'debug' ? 'debug' : 'warn');
  const log = createLogger({ level, scope: 'cli' });
  if (config.api_key) log.addSecret(config.api_key);

  // Created on first use, released in `finally`.
  const held: {
    dispatcher?: Dispatcher;
    loopback?: LoopbackClient;
    store?: Promise<TokenStore>;
    tokens?: ManagedTokenManager;
    holder?: Promise<PortHolder>;
  } = {};

  const ctx: CliContext = {
    config,
    log,
    env,
    stdout,
    stderr,
    command: commandName(env),
    colour: useColour(stdout, env),
    out: (line = '') => {
      stdout.write(`${line}\n`);
    },
    err: (line) => {
      stderr.write(`${line}\n`);
    },
    dispatcher: () => (held.dispatcher ??= createDispatcher(config)),
    loopback: () => (held.loopback ??= createLoopbackClient()),
    store: () => (held.store ??= createTokenStore({ config, log })),
    async tokens() {
      const s = await ctx.store();
      held.tokens ??= createTokenManager({ config, store: s, dispatcher: ctx.dispatcher, log, env, command: ctx.command });
      return held.tokens;
    },
    portHolder: () => (held.holder ??= findPortHolder(config, ctx.loopback())),
    proxy: async () => {
      const h = await ctx.portHolder();
      return h.kind === 'ours' ? h.proxy : null;
    },
  };
  // What the configuration ignored (an unknown key, the Go tool's cors "*"), said by every command
  // that runs in this context but `config get`, whose one value scripts read. Colour as stderr allows.
  const errColour = useColour(stderr, env);
  if (opts.warnings !== false) for (const w of config.warnings) ctx.err(paint(errColour, 'yellow', `warning: ${w}`));
  try {
    return await fn(ctx);
  } finally {
    held.tokens?.stop();
    await Promise.all([held.dispatcher?.destroy().catch(() => undefined), Promise.resolve(held.loopback?.destroy())]);
  }
}
