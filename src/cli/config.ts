import { Command } from 'commander';
import { DEFAULT_COPILOT_API_URL, HEADER_KEYS, LEGACY_TOKEN_KEYS, SECRET_KEYS, TIMEOUT_DEFAULTS, fileConfigSchema, exposedHost, API_KEY_MIN_LENGTH, type ConfigKey, type ConfigSource, type ResolvedConfig } from '../config/schema.ts';
import { ENV_GITHUB_TOKEN, envName } from '../config/env.ts';
import { checkConfigObject, loadConfig } from '../config/load.ts';
import { resolvePaths } from '../config/paths.ts';
import { readConfigObject, writeFileAtomic } from '../auth/config-file.ts';
import { ConfigError, ExitError } from '../errors.ts';
import { closest } from '../text/closest.ts';
import { addCommonOptions, commonFlags, withCliContext, type CliDeps, type CommonOptions } from './context.ts';
import { maskSecret, table } from './format.ts';
import { createLoopbackClient, findPortHolder } from './proxy-client.ts';

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
  });
}

/** The Go tool's key the loader adds to cors_origins. */
const GO_CORS_ORIGINS = 'cors.allowed_origins';

/** The keys `config set` and `config unset` take: every key of config.json but the Go tool's token keys and its cors block; timeouts and headers key by key. */
export const SETTABLE_KEYS: readonly string[] = [
  ...KEYS,
  ...Object.keys(TIMEOUT_DEFAULTS).map((k) => `timeouts.${k}`),
  ...HEADER_KEYS.map((k) => `headers.${k}`),
];

/** The blocks of keys (`timeouts.first_byte`, `headers.user_agent`...): `config get timeouts` shows all of one. */
const BLOCKS: readonly string[] = [...new Set(SETTABLE_KEYS.filter((k) => k.includes('.')).map((k) => k.split('.')[0] ?? k))];

/** `key` when `config set`/`unset` take it, else an exit-2 error with the nearest key. Pure. */
function settableKey(key: string): string {
  if (SETTABLE_KEYS.includes(key)) return key;
  if ((LEGACY_TOKEN_KEYS as readonly string[]).includes(key)) throw new ExitError(`${key} is not kept in config.json: sign in with 'auth' (tokens go to the OS keychain or tokens.json)`, 2);
  throw unknownKey(key, SETTABLE_KEYS);
}

/** A key no `config` subcommand takes: exit 2, with the nearest one. Pure. */
function unknownKey(key: string, known: readonly string[]): ExitError {
  const near = closest(key, known);
  return new ExitError(`unknown config key ${JSON.stringify(key)}${near ? ` (did you mean "${near}"?)` : ''}; 'config' lists them`, 2);
}

/** `obj` with `key` (`timeouts.x` and `headers.x` inside their block) set to `value`, or removed when `value` is undefined. Pure. */
export function withKey(obj: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  const out = { ...obj };
  const [block, inner] = key.includes('.') ? key.split('.', 2) : [key, undefined];
  if (block === undefined) return out;
  if (inner === undefined) {
    if (value === undefined) delete out[block];
    else out[block] = value;
    return out;
  }
  const current = Object.hasOwn(out, block) ? out[block] : undefined;
  const nested: Record<string, unknown> = typeof current === 'object' && current !== null && !Array.isArray(current) ? { ...current } : {};
  if (value === undefined) delete nested[inner];
  else nested[inner] = value;
  if (Object.keys(nested).length === 0) delete out[block];
  else out[block] = nested;
  return out;
}

/**
 * What `config set KEY VALUE` writes: VALUE read as JSON when that is what the
 * key takes (8082, true, ["a","b"], {"x":"y"}), else as the text itself (debug,
 * an api_key of digits), else as a comma-separated list (a,b). The whole file is checked as the loader checks it; a
 * change is refused only for a problem it adds, so a file with a wrong key can
 * be mended one key at a time (`remaining`: what is still wrong). The problems
 * do not name the file: the caller does. Pure.
 */
export function configWithValue(
  obj: Record<string, unknown>,
  key: string,
  text: string,
): { obj: Record<string, unknown>; remaining: string[] } | { problems: string[] } {
  const before = new Set(checkConfigObject(obj, '').problems);
  const candidates: unknown[] = [];
  try {
    candidates.push(JSON.parse(text));
  } catch {
    // not JSON: the text itself
  }
  candidates.push(text);
  // A list as the env vars take it: gpt-4.1,gpt-4o, or one name (taken only by a key whose value is a list).
  candidates.push(text.split(',').map((x) => x.trim()).filter((x) => x !== ''));
  let first: string[] | null = null;
  for (const v of candidates) {
    const next = withKey(obj, key, v);
    const { problems } = checkConfigObject(next, '');
    const added = problems.filter((p) => !before.has(p));
    if (added.length === 0) return { obj: next, remaining: problems };
    first ??= added;
  }
  return { problems: first ?? [] };
}

/** Whether `key` (`block.inner` too) is in the file as written, known or not. Pure. */
function inFile(obj: Record<string, unknown>, key: string): boolean {
  if (Object.hasOwn(obj, key)) return true;
  const [block = '', inner] = key.split('.', 2);
  const nested = Object.hasOwn(obj, block) ? obj[block] : undefined;
  return inner !== undefined && typeof nested === 'object' && nested !== null && Object.hasOwn(nested, inner);
}

/** After a change to config.json: where the key's value now comes from, when the file does not decide it. */
function overriddenNote(key: string, env: NodeJS.ProcessEnv): string | null {
  // The headers block comes from one place as a whole (GITHUB_COPILOT_SVCS_HEADERS or the file).
  const sourceKey = key.startsWith('headers.') ? 'headers' : key;
  try {
    const source = loadConfig({ env }).sources[sourceKey];
    return source === 'env' ? `note: ${envName(sourceKey)} is set and wins over config.json` : null;
  } catch {
    return null;
  }
}

async function setAction(key: string, value: string | undefined, deps: CliDeps): Promise<void> {
  const env = deps.env ?? process.env;
  const out = (line: string) => (deps.stdout ?? process.stdout).write(`${line}\n`);
  const err = (line: string) => (deps.stderr ?? process.stderr).write(`${line}\n`);
  const file = resolvePaths(env).configFile;
  let before: Record<string, unknown>;
  try {
    before = readConfigObject(file);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    const why = e instanceof Error ? e.message : String(e);
    throw new ConfigError([`${why.startsWith(file) ? why : `${file}: cannot be read (${why})`}; nothing was changed`]);
  }
  // unset also takes a key the file has that the loader does not know (the one its warning names).
  const k = value === undefined && inFile(before, key) ? key : settableKey(key);
  const write = (obj: Record<string, unknown>) => writeFileAtomic(file, `${JSON.stringify(obj, null, 2)}\n`);
  let remaining: string[];
  if (value === undefined) {
    // cors_origins is also read from the Go tool's cors.allowed_origins: unsetting it clears both.
    const also = k === 'cors_origins' ? [GO_CORS_ORIGINS].filter((g) => inFile(before, g)) : [];
    const next = [k, ...also].reduce((obj, key) => withKey(obj, key, undefined), before);
    remaining = checkConfigObject(next, '').problems;
    if (JSON.stringify(next) === JSON.stringify(before)) {
      out(`${k} is not set in ${file}: nothing changed.`);
      return;
    }
    write(next);
    out(`Removed ${[k, ...also].join(' and ')} from ${file}: the default (or an env var or flag) applies.`);
  } else {
    const r = configWithValue(before, k, value);
    if ('problems' in r) {
      // The loader's own words: the value is what is wrong, not the file.
      throw new ExitError(`config set: ${k} not set: ${r.problems.join('; ')}. ${file} was not changed.`, 2);
    }
    write(r.obj);
    remaining = r.remaining;
    const shown = SECRET_KEYS.has(k) ? maskSecret(value) : value;
    out(`Set ${k} = ${shown} in ${file}.`);
  }
  if (remaining.length > 0) {
    err(`${file} still has ${remaining.length === 1 ? 'a problem' : `${remaining.length} problems`} (mend each with config set or unset):`);
    for (const p of remaining) err(`  ${p}`);
    return;
  }
  const note = overriddenNote(k, env);
  if (note) err(note);
  const exposed = exposedNow(env);
  if (exposed) err(`note: host ${exposed} is reachable from other machines and no api_key is set, so run will refuse to start: set one (config set api_key <a secret of ${API_KEY_MIN_LENGTH}+ characters>), or set host back to 127.0.0.1.`);
  const running = await runningProxyUrl(env);
  if (running) err(`The proxy running on ${running} read config.json when it started: restart it (the tray's Quit, or stop run) to use this.`);
}

/** exposedHost of the configuration as it now stands (file, env); null when it does not load. */
function exposedNow(env: NodeJS.ProcessEnv): string | null {
  try {
    return exposedHost(loadConfig({ env }));
  } catch {
    return null;
  }
}

/** This data dir's running proxy, when there is one (after a change, the file is valid; else null). */
async function runningProxyUrl(env: NodeJS.ProcessEnv): Promise<string | null> {
  let config: ResolvedConfig;
  try {
    config = loadConfig({ env });
  } catch {
    return null;
  }
  const agent = createLoopbackClient();
  try {
    const holder = await findPortHolder(config, agent);
    return holder.kind === 'ours' ? holder.proxy.url : null;
  } finally {
    agent.destroy();
  }
}

async function getAction(key: string, options: ConfigOptions, deps: CliDeps): Promise<void> {
  await withCliContext(deps, commonFlags(options), async (ctx) => {
    const all = configEntries(ctx.config, ctx.env);
    const entries = new Map(all.map((e) => [e.key, e]));
    const e = entries.get(key);
    if (e) {
      ctx.out(options.json ? JSON.stringify({ key: e.key, value: e.value, source: e.source }) : show(e.value));
      return;
    }
    // A block (`timeouts`, `headers`): each of its keys, as `config` shows them.
    if (!BLOCKS.includes(key)) throw unknownKey(key, [...entries.keys(), ...BLOCKS]);
    const inBlock = all.filter((x) => x.key.startsWith(`${key}.`));
    if (options.json) ctx.out(JSON.stringify(Object.fromEntries(inBlock.map((x) => [x.key, { value: x.value, source: x.source }]))));
    else if (inBlock.length === 0) ctx.out(`(no ${key} set)`);
    else ctx.out(table(['KEY', 'VALUE', 'SOURCE'], inBlock.map((x) => [x.key, show(x.value), x.source])));
  }, { warnings: false });
}

export function configCommand(deps: CliDeps = {}): Command {
  const cmd = new Command('config')
    .description('show the effective configuration and where each value comes from (default, file, env, flag); secrets masked. config get/set/unset read and change one key')
    .option('--json', 'print JSON');
  const get = new Command('get')
    .description('print one key\'s effective value (secrets masked), e.g. config get port, config get timeouts.first_byte; config get timeouts (or headers) shows the whole block')
    .argument('<key>', 'a key as config lists it, or a block: timeouts, headers')
    .option('--json', 'print {key, value, source}; for a block, {key: {value, source}}');
  // `config get port --json`: the parent's --json is parsed first, so read both.
  addCommonOptions(get).action(async (key: string, _opts: ConfigOptions, self: Command) => getAction(key, self.optsWithGlobals<ConfigOptions>(), deps));
  const set = new Command('set')
    .description('set one key in config.json, checked as the loader checks it (a change that adds a problem is refused, nothing written), e.g. config set port 8082, config set allowed_models \'["gpt-4.1"]\'')
    .argument('<key>', `a key of config.json, or timeouts.<name>, headers.<name>`)
    .argument('<value>', 'JSON (8082, true, ["a","b"]) or plain text (debug)')
    .action(async (key: string, value: string) => setAction(key, value, deps));
  const unset = new Command('unset')
    .description('remove one key from config.json (its default applies); an unknown key the file has is taken too')
    .argument('<key>', 'a key of config.json, or timeouts.<name>, headers.<name>')
    .action(async (key: string) => setAction(key, undefined, deps));
  return addCommonOptions(cmd)
    .addCommand(get)
    .addCommand(set)
    .addCommand(unset)
    .action(async (opts: ConfigOptions) => configCommandAction(opts, deps));
}
