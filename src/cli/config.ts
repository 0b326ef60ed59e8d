import { Command } from 'commander';
import { DEFAULT_COPILOT_API_URL, LEGACY_TOKEN_KEYS, SECRET_KEYS, TIMEOUT_DEFAULTS, fileConfigSchema, type ConfigKey, type ConfigSource, type ResolvedConfig } from '../config/schema.ts';
import { ENV_GITHUB_TOKEN } from '../config/env.ts';
import { addCommonOptions, commonFlags, withCliContext, type CliDeps, type CommonOptions } from './context.ts';
import { maskSecret, paint, table } from './format.ts';

export type ConfigOptions = CommonOptions & { json?: boolean };

export interface ConfigEntry {
  key: string;
  /** Display value: secrets masked (`gho_…abcd` at most). */
  value: unknown;
  source: ConfigSource | 'derived';
}

/** The blocks shown key by key below (headers, timeouts), the Go tool's CORS block (read into cors_origins) and its token keys. */
type NotListed = 'headers' | 'timeouts' | 'cors' | (typeof LEGACY_TOKEN_KEYS)[number];
const NOT_LISTED: ReadonlySet<string> = new Set<NotListed>(['headers', 'timeouts', 'cors', ...LEGACY_TOKEN_KEYS]);
const isListed = (k: string): k is Exclude<ConfigKey, NotListed> => !NOT_LISTED.has(k);

/** Every key a file, env var or flag may set, in the schema's order (one list: the schema). */
const KEYS = Object.keys(fileConfigSchema.shape).filter(isListed);

/** Effective configuration with where each value came from. Pure; never holds a secret in full. */
export function configEntries(config: ResolvedConfig, env: NodeJS.ProcessEnv): ConfigEntry[] {
  const out: ConfigEntry[] = [];
  for (const key of KEYS) {
    let value: unknown = config[key];
    if (SECRET_KEYS.has(key)) value = value === undefined ? null : maskSecret(String(value));
    if (key === 'copilot_api_url' && value === undefined) value = `(token endpoints.api, else ${DEFAULT_COPILOT_API_URL})`;
    out.push({ key, value: value ?? null, source: config.sources[key] ?? 'default' });
  }
  for (const [k, v] of Object.entries(config.headers)) {
    out.push({ key: `headers.${k}`, value: v, source: config.sources.headers ?? 'default' });
  }
  for (const key of Object.keys(TIMEOUT_DEFAULTS)) {
    const k = key as keyof typeof TIMEOUT_DEFAULTS;
    out.push({ key: `timeouts.${key}`, value: config.timeouts[k], source: config.sources[`timeouts.${key}`] ?? 'default' });
  }
  const envToken = env[ENV_GITHUB_TOKEN];
  if (envToken) out.push({ key: 'github_token', value: maskSecret(envToken), source: 'env' });
  else if (config.legacy_tokens.github_token) out.push({ key: 'github_token', value: maskSecret(config.legacy_tokens.github_token), source: 'file' });
  out.push({ key: 'paths.data_dir', value: config.paths.dataDir, source: 'derived' });
  out.push({ key: 'paths.config_file', value: config.paths.configFile, source: 'derived' });
  out.push({ key: 'paths.token_file', value: config.paths.tokenFile, source: 'derived' });
  out.push({ key: 'paths.log_file', value: config.paths.logFile, source: 'derived' });
  return out;
}

function show(v: unknown): string {
  if (v === null || v === undefined) return '(not set)';
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

export async function configCommandAction(options: ConfigOptions, deps: CliDeps = {}): Promise<void> {
  await withCliContext(deps, commonFlags(options), async (ctx) => {
    const entries = configEntries(ctx.config, ctx.env);
    if (options.json) {
      ctx.out(JSON.stringify(Object.fromEntries(entries.map((e) => [e.key, { value: e.value, source: e.source }])), null, 2));
      return;
    }
    ctx.out(table(['KEY', 'VALUE', 'SOURCE'], entries.map((e) => [e.key, show(e.value), e.source])));
    for (const w of ctx.config.warnings) ctx.err(paint(ctx.colour, 'yellow', `warning: ${w}`));
  });
}

export function configCommand(deps: CliDeps = {}): Command {
  const cmd = new Command('config')
    .description('show the effective configuration and where each value comes from (default, file, env, flag); secrets masked')
    .option('--json', 'print JSON');
  return addCommonOptions(cmd).action(async (opts: ConfigOptions) => configCommandAction(opts, deps));
}
