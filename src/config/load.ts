import fs from 'node:fs';
import * as z from 'zod';
import { ConfigError } from '../errors.ts';
import { closest } from '../text/closest.ts';
import { envName, flagName } from './env.ts';
import { refuseSymlink, resolvePaths } from './paths.ts';
import { DEFAULT_EDITOR_IDENTITY, EDITOR_IDENTITY_KEYS, type EditorIdentity } from './editor-identity.ts';
import {
  DEFAULTS,
  DEFAULT_COPILOT_API_URL,
  TIMEOUT_DEFAULTS,
  fileConfigSchema,
  LEGACY_TOKEN_KEYS,
  isLoopbackHost,
  type LegacyTokens,
  type ConfigSource,
  type FileConfig,
  type ResolvedConfig,
  type TimeoutKey,
} from './schema.ts';


/** Flags as the CLI parsed them, already named like config keys. */
export type ConfigFlags = Partial<Pick<FileConfig, 'host' | 'port' | 'oauth_app' | 'enterprise_url' | 'log_level' | 'api_key' | 'keychain'>>;

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  flags?: ConfigFlags;
}

const KNOWN_KEYS = Object.keys(fileConfigSchema.shape) as Array<keyof FileConfig>;

/** Read config.json (if any), env vars and flags; validate; apply defaults once. */
export function loadConfig(opts: LoadOptions = {}): ResolvedConfig {
  const env = opts.env ?? process.env;
  const paths = resolvePaths(env);
  const problems: string[] = [];
  const warnings: string[] = [];

  const fromFile = readConfigFile(paths.configFile, problems, warnings);
  const fromEnv = readEnv(env, problems);
  const fromFlags = validateLayer(opts.flags ?? {}, 'command-line flag', problems, flagName);
  // A misspelt key often explains the error next to it: say both.
  if (problems.length > 0) throw new ConfigError(problems, warnings);

  const sources: Record<string, ConfigSource> = {};
  const layers: Array<[ConfigSource, FileConfig]> = [
    ['file', fromFile],
    ['env', fromEnv],
    ['flag', fromFlags],
  ];
  const pick = <K extends keyof FileConfig>(key: K): FileConfig[K] => {
    let value: FileConfig[K] = undefined;
    sources[key] = 'default';
    for (const [source, layer] of layers) {
      if (layer[key] !== undefined) {
        value = layer[key];
        sources[key] = source;
      }
    }
    return value;
  };

  const timeouts = { ...TIMEOUT_DEFAULTS } as Record<TimeoutKey, number>;
  for (const key of Object.keys(TIMEOUT_DEFAULTS) as TimeoutKey[]) {
    sources[`timeouts.${key}`] = 'default';
    for (const [source, layer] of layers) {
      const v = layer.timeouts?.[key];
      if (v !== undefined) {
        timeouts[key] = v;
        sources[`timeouts.${key}`] = source;
      }
    }
  }

  const enterprise = normaliseDomain(pick('enterprise_url'));
  const githubUrl = pick('github_url') ?? (enterprise ? `https://${enterprise}` : DEFAULTS.github_url);
  if (sources.github_url === 'default' && enterprise) sources.github_url = sources.enterprise_url ?? 'default';
  const githubApiUrl = pick('github_api_url') ?? (enterprise ? `https://api.${enterprise}` : DEFAULTS.github_api_url);
  if (sources.github_api_url === 'default' && enterprise) sources.github_api_url = sources.enterprise_url ?? 'default';
  const copilotApiUrl = pick('copilot_api_url') ?? (enterprise ? `https://copilot-api.${enterprise}` : undefined);
  if (sources.copilot_api_url === 'default' && enterprise) sources.copilot_api_url = sources.enterprise_url ?? 'default';

  const host = pick('host') ?? DEFAULTS.host;

  const headersIn = pick('headers') ?? {};
  const headers: EditorIdentity = { ...DEFAULT_EDITOR_IDENTITY };
  for (const k of EDITOR_IDENTITY_KEYS) {
    const v = headersIn[k];
    if (v !== undefined) headers[k] = v;
  }

  // cors_origins, plus explicit origins from the Go tool's cors.allowed_origins.
  // Its default ["*"] would let every web page spend the subscription: never honoured.
  const corsOrigins = [...(pick('cors_origins') ?? DEFAULTS.cors_origins)];
  for (const o of pick('cors')?.allowed_origins ?? []) {
    if (o === '*' || o === '') warnings.push('cors.allowed_origins "*" (the Go tool\'s default) is ignored: list explicit origins in cors_origins');
    else if (!/^https?:\/\/[^/]+$/.test(o)) warnings.push(`cors.allowed_origins "${o}" is not an origin such as http://localhost:3000; ignored`);
    else if (!corsOrigins.includes(o)) {
      corsOrigins.push(o);
      // An origin taken from the Go tool's key: cors_origins now comes (in part) from there.
      if (sources.cors_origins === 'default') sources.cors_origins = sources.cors ?? 'file';
    }
  }
  const debugEndpoints = pick('debug_endpoints') ?? isLoopbackHost(host);

  const config: ResolvedConfig = {
    host,
    port: pick('port') ?? DEFAULTS.port,
    oauth_app: pick('oauth_app') ?? DEFAULTS.oauth_app,
    enterprise_url: enterprise,
    github_url: githubUrl,
    github_api_url: githubApiUrl,
    copilot_api_url: copilotApiUrl,
    keychain: pick('keychain') ?? DEFAULTS.keychain,
    api_key: pick('api_key'),
    cors_origins: corsOrigins,
    model_map: pick('model_map') ?? DEFAULTS.model_map,
    model_fallback: pick('model_fallback') ?? DEFAULTS.model_fallback,
    monthly_credits: pick('monthly_credits'),
    max_body_bytes: pick('max_body_bytes') ?? DEFAULTS.max_body_bytes,
    max_inflight_body_bytes: pick('max_inflight_body_bytes') ?? DEFAULTS.max_inflight_body_bytes,
    max_concurrency: pick('max_concurrency') ?? DEFAULTS.max_concurrency,
    max_queue: pick('max_queue') ?? DEFAULTS.max_queue,
    log_level: pick('log_level') ?? DEFAULTS.log_level,
    debug_endpoints: debugEndpoints,
    timeouts,
    allowed_models: pick('allowed_models') ?? [],
    headers,
    paths,
    sources,
    legacy_tokens: legacyTokens(fromFile),
    warnings,
  };
  return config;
}

/** The Go tool's token keys as the file holds them (already "" / null / 0 -> unset). Never from env or flags. */
function legacyTokens(fromFile: FileConfig): LegacyTokens {
  const out: LegacyTokens = {};
  for (const k of LEGACY_TOKEN_KEYS) {
    const v = fromFile[k];
    if (v !== undefined) Object.assign(out, { [k]: v });
  }
  return out;
}

export function defaultCopilotApiUrl(config: ResolvedConfig): string {
  return config.copilot_api_url ?? DEFAULT_COPILOT_API_URL;
}

function normaliseDomain(v: string | undefined): string | undefined {
  if (!v) return undefined;
  return v.replace(/^https?:\/\//, '').replace(/\/+$/, '').toLowerCase();
}

function readConfigFile(file: string, problems: string[], warnings: string[]): FileConfig {
  let text: string;
  try {
    refuseSymlink(file);
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (isErrno(err) && err.code === 'ENOENT') return {};
    problems.push(err instanceof ConfigError ? err.message : `${file}: cannot be read (${errorText(err)})`);
    return {};
  }
  if (text.trim() === '') return {};
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    problems.push(`${file}: not valid JSON (${errorText(err)})`);
    return {};
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    problems.push(`${file}: must hold a JSON object`);
    return {};
  }
  const checked = checkConfigObject({ ...raw }, file);
  problems.push(...checked.problems);
  warnings.push(...checked.warnings);
  return checked.config;
}

/**
 * A config.json object as `loadConfig` reads it: what it sets, each problem (a
 * line naming the file, the key and what is allowed) and each unknown key (a
 * warning, with a did-you-mean). `config set` checks a file with it before
 * writing. Pure.
 */
/** `file` starts each problem and warning; '' leaves it out (for a caller that names the file once). */
export function checkConfigObject(raw: Record<string, unknown>, file: string): { config: FileConfig; problems: string[]; warnings: string[] } {
  const problems: string[] = [];
  const warnings: string[] = [];
  const known: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    if ((KNOWN_KEYS as string[]).includes(k)) known[k] = v;
    else {
      const near = closest(k, KNOWN_KEYS);
      warnings.push(`${file === '' ? '' : `${file}: `}unknown key "${k}" ignored${near ? ` (did you mean "${near}"?)` : ''}`);
    }
  }
  return { config: validateLayer(known, file, problems, (k) => k), problems, warnings };
}

function validateLayer(raw: Record<string, unknown>, where: string, problems: string[], name: (key: string) => string): FileConfig {
  const parsed = fileConfigSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) problems.push(describeIssue(issue, where, raw, name));
  return {};
}

function describeIssue(issue: z.core.$ZodIssue, where: string, raw: Record<string, unknown>, name: (key: string) => string): string {
  const keyPath = issue.path.map(String);
  const key = keyPath.join('.');
  let got: unknown = raw;
  for (const p of keyPath) got = typeof got === 'object' && got !== null && Object.hasOwn(got, p) ? Reflect.get(got, p) : undefined;
  const shown = keyPath[0] && /token|api_key/.test(keyPath[0]) ? '(hidden)' : JSON.stringify(got);
  // No `where` when the caller names the file itself (config set: "<file> was not changed").
  const at = where === '' ? '' : `${where}: `;
  if (issue.code === 'unrecognized_keys') {
    const known = keyPath[0] === 'timeouts' ? Object.keys(TIMEOUT_DEFAULTS) : [];
    const each = issue.keys.map((k) => {
      const near = closest(k, known);
      return `"${k}"${near ? ` (did you mean "${near}"?)` : ''}`;
    });
    return `${at}${key ? `${name(key)}: ` : ''}unknown key${each.length > 1 ? 's' : ''} ${each.join(', ')}`;
  }
  return `${at}${name(key)}: ${humanIssue(issue)} (got ${shown})`;
}

/** zod's issue in words a user of a config file reads (zod's own say "must be record", "Too small: expected number to be >=1"). Pure. */
export function humanIssue(issue: z.core.$ZodIssue): string {
  // A message the schema wrote itself (fileConfigSchema) already says it best.
  if (!/^(Invalid|Too (small|big)|Expected|Unrecognized|Number must|String must)/.test(issue.message)) return issue.message;
  switch (issue.code) {
    case 'invalid_type': {
      const what: Record<string, string> = {
        record: 'an object of names to values, like {"name": "value"}',
        object: 'an object, like {"key": value}',
        number: 'a number',
        int: 'a whole number',
        string: 'text in quotes',
        boolean: 'true or false',
        array: 'a list, like ["a", "b"]',
      };
      return `must be ${Object.hasOwn(what, issue.expected) ? what[issue.expected] : issue.expected}`;
    }
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'too_small': {
      const n = Number(issue.minimum);
      if (issue.origin === 'string') return n <= 1 ? 'must not be empty' : `must be at least ${n} characters long`;
      if (issue.origin === 'array' || issue.origin === 'set') return `must hold at least ${n} item${n === 1 ? '' : 's'}`;
      return issue.inclusive === false ? `must be more than ${n}` : `must be ${n} or more`;
    }
    case 'too_big': {
      const n = Number(issue.maximum);
      if (issue.origin === 'string') return `must be at most ${n} characters long`;
      if (issue.origin === 'array' || issue.origin === 'set') return `must hold at most ${n} items`;
      return issue.inclusive === false ? `must be less than ${n}` : `must be ${n} or less`;
    }
    case 'invalid_format':
      return issue.format === 'url' ? 'must be a URL, like https://example.com' : `must be a valid ${issue.format}`;
    case 'not_multiple_of':
      return `must be a multiple of ${String(issue.divisor)}`;
    default:
      return issue.message;
  }
}

/** GITHUB_COPILOT_SVCS_FOO_BAR for every key foo_bar; timeouts as GITHUB_COPILOT_SVCS_TIMEOUTS_X. */
function readEnv(env: NodeJS.ProcessEnv, problems: string[]): FileConfig {
  const raw: Record<string, unknown> = {};
  const envNames: Record<string, string> = {};
  const shape = fileConfigSchema.shape;
  for (const key of KNOWN_KEYS) {
    if (key === 'timeouts') continue;
    const name = envName(key);
    const value = env[name];
    if (value === undefined || value === '') continue;
    envNames[key] = name;
    raw[key] = coerceEnv(value, shape[key]);
  }
  const timeouts: Record<string, unknown> = {};
  for (const key of Object.keys(TIMEOUT_DEFAULTS)) {
    const name = envName(`timeouts.${key}`);
    const value = env[name];
    if (value === undefined || value === '') continue;
    envNames[`timeouts.${key}`] = name;
    timeouts[key] = Number(value);
  }
  if (Object.keys(timeouts).length > 0) raw.timeouts = timeouts;
  return validateLayer(raw, 'environment', problems, (k) => envNames[k] ?? envName(k));
}

function coerceEnv(value: string, schema: z.ZodType): unknown {
  const probe = (candidate: unknown) => schema.safeParse(candidate).success;
  if (probe(value)) return value;
  const n = Number(value);
  if (value.trim() !== '' && !Number.isNaN(n) && probe(n)) return n;
  if (value === 'true' || value === 'false') return value === 'true';
  try {
    const j: unknown = JSON.parse(value);
    if (probe(j)) return j;
  } catch {
    /* not JSON */
  }
  if (probe([])) return value.split(',').map((s) => s.trim()).filter(Boolean);
  return value;
}

function isErrno(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && 'code' in err;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
