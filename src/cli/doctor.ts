import fs from 'node:fs';
import os from 'node:os';
import { Command } from 'commander';
import * as z from 'zod';
import { HEALTH_WORDS, isSignedIn, type TokenSnapshot } from '../auth/snapshot.ts';
import { keytarAbsence, resolveKeytar } from '../auth/keychain.ts';
import { DEFAULT_COPILOT_API_URL, type ResolvedConfig } from '../config/schema.ts';
import { resolveModel } from '../proxy/models/resolve.ts';
import { InvalidModelNameError, MODEL_NAME } from '../proxy/models/router.ts';
import { closest } from '../text/closest.ts';
import { probeTrayHost, trayHostLine } from '../tray/tray-host.ts';
import { listModels, type CopilotModel } from '../upstream/copilot-client.ts';
import { createTokenManager } from '../auth/token-manager.ts';
import { proxyFix, proxyForUrl } from '../upstream/proxy-env.ts';
import { requestVia } from '../upstream/request.ts';
import { addCommonOptions, commonFlags, withCliContext, type CliContext, type CliDeps, type CommonOptions } from './context.ts';
import { FOREIGN_HOLDER_FIX, otherProxyLine, proxyOrigin } from './proxy-client.ts';
import { readSetupJournal, setupJournalPath } from './setup.ts';
import { baseUrlFor } from '../clients/setup.ts';
import { clientConfigPath } from '../clients/configure.ts';
import { ExitError } from '../errors.ts';
import { envName } from '../config/env.ts';

/**
 * `doctor`: one line per check, ✅/⚠️/❌, each with its fix. Exit 0 when no
 * check fails (⚠️ is a warning, not a failure), 1 otherwise; `--json` prints
 * the same as JSON (doctorJsonSchema). The checks are pure functions of what
 * was found (proxyCheck, tokenCheck, clockCheck, modelCheck...; proxyForUrl);
 * the command only gathers the facts.
 */

export const CHECK_STATES = ['ok', 'warn', 'fail', 'skip'] as const;
export const checkSchema = z.object({ id: z.string(), state: z.enum(CHECK_STATES), text: z.string(), fix: z.string().nullable() });
export type Check = z.infer<typeof checkSchema>;
export const doctorJsonSchema = z.object({ ok: z.boolean(), checks: z.array(checkSchema) });

const MARK: Record<Check['state'], string> = { ok: '✅', warn: '⚠️ ', fail: '❌', skip: '➖' };

/** How far the clock may be from GitHub's before tokens judged by expiry times go wrong. */
export const CLOCK_SKEW_WARN_SEC = 30;
export const CLOCK_SKEW_FAIL_SEC = 120;

/** Where the user turns models on and off (Copilot settings, "Models"). */
export function copilotSettingsUrl(config: Pick<ResolvedConfig, 'github_url'>): string {
  return `${config.github_url.replace(/\/+$/, '')}/settings/copilot/features`;
}

/** The check lines as text. Pure. */
export function doctorLines(checks: readonly Check[]): string[] {
  const lines: string[] = [];
  for (const c of checks) {
    lines.push(`${MARK[c.state]} ${c.text}`);
    if (c.fix && c.state !== 'ok') lines.push(`   fix: ${c.fix}`);
  }
  const failed = checks.filter((c) => c.state === 'fail').length;
  const warned = checks.filter((c) => c.state === 'warn').length;
  lines.push(failed ? `${failed} check${failed > 1 ? 's' : ''} failed${warned ? `, ${warned} warning${warned > 1 ? 's' : ''}` : ''}.` : warned ? `All checks passed, ${warned} warning${warned > 1 ? 's' : ''}.` : 'All checks passed.');
  return lines;
}

/** The token, in the tray's words. Pure. */
export function tokenCheck(s: TokenSnapshot, command: string): Check {
  const text = `Token: ${HEALTH_WORDS[s.health]} (store: ${s.store})`;
  if (!isSignedIn(s)) return { id: 'token', state: 'fail', text, fix: `run '${command} auth'${s.lastError ? ` (last error: ${s.lastError})` : ''}` };
  if (s.health === 'needs_refresh') return { id: 'token', state: 'warn', text, fix: `run '${command} refresh'${s.lastError ? ` (last error: ${s.lastError})` : ''}` };
  return { id: 'token', state: 'ok', text, fix: null };
}

/** This machine's clock against GitHub's `Date` header. Pure. */
export function clockCheck(githubDate: string | null, nowMs: number): Check {
  if (githubDate === null) return { id: 'clock', state: 'skip', text: "Clock: GitHub's time is unknown (no answer)", fix: null };
  const theirs = Date.parse(githubDate);
  if (Number.isNaN(theirs)) return { id: 'clock', state: 'skip', text: `Clock: GitHub's Date header is unreadable (${JSON.stringify(githubDate.slice(0, 40))})`, fix: null };
  const skew = Math.round((nowMs - theirs) / 1000);
  const text = `Clock: ${skew === 0 ? 'in step with GitHub' : `${Math.abs(skew)} s ${skew > 0 ? 'ahead of' : 'behind'} GitHub`}`;
  const fix = 'turn on network time (Linux: timedatectl set-ntp true; macOS and Windows: set the time automatically in the date settings): Copilot tokens are judged by their expiry time';
  if (Math.abs(skew) > CLOCK_SKEW_FAIL_SEC) return { id: 'clock', state: 'fail', text, fix };
  if (Math.abs(skew) > CLOCK_SKEW_WARN_SEC) return { id: 'clock', state: 'warn', text, fix };
  return { id: 'clock', state: 'ok', text, fix: null };
}

/** Why a model name does or does not work here, and what to do. Pure. */
export function modelCheck(name: string, models: readonly CopilotModel[], config: Pick<ResolvedConfig, 'model_map' | 'model_fallback' | 'allowed_models' | 'github_url'>): Check {
  const r = resolveModel(name, models, { modelMap: new Map(Object.entries(config.model_map)), fallback: config.model_fallback, type: 'chat' });
  const settings = copilotSettingsUrl(config);
  if (!MODEL_NAME.test(name)) {
    // What the proxy answers such a name with (400 invalid_model), in its own words.
    return { id: 'model', state: 'fail', text: `Model ${JSON.stringify(name.slice(0, 80))}: not a model name`, fix: new InvalidModelNameError().message };
  }
  if (r.kind === 'not_found') {
    const near = closest(name, models.map((m) => m.id));
    return {
      id: 'model',
      state: 'fail',
      text: `Model ${JSON.stringify(name)}: not in your plan's model list (Copilot lists ${models.length})`,
      fix: `${near ? `did you mean "${near}"? ` : ''}the models command lists what your plan has; a model it lacks may need another plan, or turning on at ${settings}`,
    };
  }
  const m = r.model;
  const via = r.via === 'exact' ? '' : ` (via ${r.via === 'map' ? 'model_map' : r.via === 'dated' ? 'its dated name' : 'family fallback'})`;
  const allowed = config.allowed_models;
  if (allowed.length > 0 && !allowed.includes(r.id)) {
    return { id: 'model', state: 'fail', text: `Model ${JSON.stringify(name)} -> ${r.id}: not in allowed_models`, fix: 'add it to allowed_models in config.json, or remove that key' };
  }
  if (m?.policy?.state === 'disabled' || m?.policy?.state === 'unconfigured') {
    return {
      id: 'model',
      state: 'fail',
      text: `Model ${JSON.stringify(name)} -> ${r.id}${via}: ${m.policy.state === 'disabled' ? 'disabled by policy' : 'not enabled yet (its terms were never accepted)'}`,
      fix: `enable it in your Copilot settings: ${settings} (an organisation's policy may decide it for you)`,
    };
  }
  const endpoints = m?.supported_endpoints ?? [];
  if (endpoints.length > 0 && !endpoints.includes('/chat/completions') && endpoints.includes('/responses')) {
    return {
      id: 'model',
      state: 'ok',
      text: `Model ${JSON.stringify(name)} -> ${r.id}${via}: served by Copilot on /responses only; this proxy translates /v1/chat/completions and /v1/messages to it`,
      fix: null,
    };
  }
  return { id: 'model', state: 'ok', text: `Model ${JSON.stringify(name)} -> ${r.id}${via}: available`, fix: null };
}

export type DoctorOptions = CommonOptions & { json?: boolean; model?: string };

/** One check per client file `setup` wrote (the latest per client): does it still name this proxy's address and key? */
function setupClientChecks(ctx: CliContext): Check[] {
  const journal = readSetupJournal(setupJournalPath(ctx.config.paths.dataDir));
  // Each client setup configured, by its main file (settings.json, config.toml, opencode.json).
  const latest = new Map(journal.flatMap((e) => (e.client === 'env' ? [] : [[e.client, clientConfigPath(e.client, ctx.env, os.homedir())] as const])));
  const origin = baseUrlFor(proxyOrigin(ctx.config)).replace(/\/v1$/, '');
  const key = ctx.config.api_key ?? 'dummy';
  const checks: Check[] = [];
  for (const [client, file] of latest) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      checks.push({ id: `client:${client}`, state: 'warn', text: `${client}: ${file} is gone`, fix: `run '${ctx.command} setup ${client}' again` });
      continue;
    }
    const points = text.includes(origin);
    const keyed = client === 'codex' ? key === 'dummy' || text.includes(`Bearer ${key}`) : text.includes(key);
    checks.push(
      points && keyed
        ? { id: `client:${client}`, state: 'ok', text: `${client}: ${file} points at ${origin}`, fix: null }
        : { id: `client:${client}`, state: 'fail', text: `${client}: ${file} no longer points at ${origin}${points ? ' with this api_key' : ''}`, fix: `run '${ctx.command} setup ${client}' again` },
    );
  }
  return checks;
}

/** How long doctor waits for each host's answer. */
const PROBE_MS = 8000;
const NO_ANSWER = `no answer within ${PROBE_MS / 1000} s`;

/**
 * HEAD `url` through the upstream pool (HTTP(S)_PROXY honoured): its Date
 * header, or why it did not answer within PROBE_MS. The deadline is a race, not
 * the request's signal: undici does not end a request whose connection is still
 * being made (a proxy that never answers CONNECT).
 */
async function probe(ctx: CliContext, url: string): Promise<{ date: string | null; error: string | null }> {
  const ask = async (): Promise<{ date: string | null; error: string | null }> => {
    try {
      const res = await requestVia(ctx.dispatcher(), url, { method: 'HEAD', headersTimeout: PROBE_MS, bodyTimeout: PROBE_MS });
      await res.body.dump();
      const d = res.headers.date;
      return { date: typeof d === 'string' ? d : null, error: null };
    } catch (err) {
      return { date: null, error: err instanceof Error ? `${err.message}${'code' in err && typeof err.code === 'string' ? ` (${err.code})` : ''}` : String(err) };
    }
  };
  return within(ask(), PROBE_MS, { date: null, error: NO_ANSWER });
}

/** What `p` resolves to, or `late` once `ms` have passed (`p` goes on; the pool is destroyed when doctor ends). */
async function within<T>(p: Promise<T>, ms: number, late: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(late), ms);
  });
  try {
    return await Promise.race([p, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

export async function doctor(options: DoctorOptions, deps: CliDeps = {}): Promise<void> {
  const checks = await withCliContext(deps, commonFlags(options), async (ctx) => {
    const out: Check[] = [];
    const holder = await ctx.portHolder();
    const where = proxyOrigin(ctx.config);
    if (holder.kind === 'ours') out.push({ id: 'proxy', state: 'ok', text: `Proxy: running on ${holder.proxy.url} (version ${holder.proxy.version}), this data dir's`, fix: null });
    else if (holder.kind === 'other') out.push({ id: 'proxy', state: 'fail', text: `Proxy: port ${ctx.config.port} is held by another data dir's proxy`, fix: otherProxyLine(holder.proxy, ctx.config.port) });
    else if (holder.kind === 'foreign') out.push({ id: 'proxy', state: 'fail', text: `Proxy: port ${ctx.config.port} is held by another program (${holder.detail})`, fix: FOREIGN_HOLDER_FIX });
    else out.push({ id: 'proxy', state: 'warn', text: `Proxy: not running on ${where}`, fix: `start it: ${ctx.command} run (or the tray app)` });

    // This data dir's proxy knows the live state; otherwise the stored token is tried for real (an
    // exchange when the Copilot token has expired: free, and the only way to know GitHub still takes it).
    // Tried once, no retry waits: doctor answers in seconds, with the first attempt's error.
    const tm = createTokenManager({ config: ctx.config, store: await ctx.store(), dispatcher: ctx.dispatcher, log: ctx.log, env: ctx.env, command: ctx.command, retryDelaysMs: [] });
    let snapshot = holder.kind === 'ours' ? holder.proxy.snapshot : await tm.load();
    const copilotHost = (sn: TokenSnapshot) => ctx.config.copilot_api_url ?? sn.apiBase ?? DEFAULT_COPILOT_API_URL;
    const hosts = [...new Set([ctx.config.github_url, ctx.config.github_api_url, copilotHost(snapshot)])];
    // The hosts, the exchange and the model list at once, each within PROBE_MS: a network that drops everything costs one PROBE_MS.
    const tried = holder.kind !== 'ours' && snapshot.hasGithubToken ? within(tm.getAuth().then(() => true, () => true), PROBE_MS, false) : null;
    const listed =
      options.model !== undefined && isSignedIn(snapshot)
        ? within(
            tm
              .getAuth()
              .then((auth) => listModels(ctx.dispatcher(), { auth }, ctx.config.headers))
              .then(
                (list): { list: CopilotModel[] } | { error: string } => ({ list }),
                (err: unknown) => ({ error: err instanceof Error ? err.message : String(err) }),
              ),
            PROBE_MS,
            { error: NO_ANSWER },
          )
        : null;
    const [answers, exchanged, models] = await Promise.all([Promise.all(hosts.map(async (url) => ({ url, p: await probe(ctx, url) }))), tried, listed]);
    if (tried !== null) snapshot = tm.snapshot();
    // The exchange can name another Copilot host (a business or enterprise plan): that one is asked too.
    const named = copilotHost(snapshot);
    if (!hosts.includes(named)) answers.push({ url: named, p: await probe(ctx, named) });
    const token = tokenCheck(snapshot, ctx.command);
    out.push(exchanged === false ? { ...token, state: 'warn', fix: `GitHub did not answer the token exchange within ${PROBE_MS / 1000} s: see the network lines below` } : token);
    let githubDate: string | null = null;
    for (const { url, p } of answers) {
      const route = proxyForUrl(url, ctx.env);
      if (url === ctx.config.github_api_url) githubDate = p.date;
      out.push(
        p.error === null
          ? { id: `network:${new URL(url).host}`, state: 'ok', text: `${new URL(url).host}: answers, ${route.why}`, fix: null }
          : {
              id: `network:${new URL(url).host}`,
              state: 'fail',
              text: `${new URL(url).host}: no answer, ${route.why}: ${p.error}`,
              fix: route.proxy ? proxyFix(route, new URL(url).host) : 'check the network and DNS, or set HTTPS_PROXY if this network needs a proxy',
            },
      );
    }
    out.push(clockCheck(githubDate, Date.now()));

    if (ctx.config.keychain === 'off') {
      const by = ctx.config.sources.keychain === 'env' ? `${envName('keychain')}=off` : 'keychain: off in config';
      out.push({ id: 'keychain', state: 'ok', text: `Keychain: off (${by}); tokens in a 0600 file`, fix: null });
    }
    else {
      const store = await ctx.store();
      if (store.kind === 'keychain') out.push({ id: 'keychain', state: 'ok', text: 'Keychain: the OS keychain answers', fix: null });
      else {
        const noModule = resolveKeytar() === null;
        const absent = noModule ? keytarAbsence() : 'the OS keychain did not answer (no Secret Service, or a locked keyring)';
        const fix = noModule ? 'see above for the keychain module, or set keychain: off to silence this' : 'unlock or install a Secret Service (gnome-keyring, KWallet), or set keychain: off to silence this';
        out.push({ id: 'keychain', state: 'warn', text: `Keychain: not used; tokens in a 0600 file (${absent})`, fix });
      }
    }

    const tray = await probeTrayHost({ env: ctx.env });
    const trayText = trayHostLine(tray, ctx.env, ctx.command);
    out.push(
      tray.kind === 'found'
        ? { id: 'tray', state: 'ok', text: trayText, fix: null }
        : tray.kind === 'none'
          ? { id: 'tray', state: 'warn', text: trayText, fix: 'install a tray host (see the line above), or use the dashboard' }
          : { id: 'tray', state: 'skip', text: trayText, fix: null },
    );

    // Each client `setup` configured (its journal in the data dir) still points at this proxy, with its key.
    for (const c of setupClientChecks(ctx)) out.push(c);

    if (options.model !== undefined) {
      if (!isSignedIn(snapshot)) out.push({ id: 'model', state: 'skip', text: `Model ${JSON.stringify(options.model)}: cannot ask Copilot while signed out`, fix: `run '${ctx.command} auth'` });
      else if (exchanged === false) out.push({ id: 'model', state: 'skip', text: `Model ${JSON.stringify(options.model)}: cannot ask Copilot without a Copilot token`, fix: 'see the network and token lines above' });
      else if (models === null || 'error' in models) {
        const why = models === null ? 'not asked' : models.error;
        out.push({ id: 'model', state: 'fail', text: `Model ${JSON.stringify(options.model)}: Copilot's model list could not be read (${why})`, fix: 'see the network and token lines above' });
      } else out.push(modelCheck(options.model, models.list, ctx.config));
    }

    if (options.json) ctx.out(JSON.stringify({ ok: !out.some((c) => c.state === 'fail'), checks: out }, null, 2));
    else for (const line of doctorLines(out)) ctx.out(line);
    tm.stop();
    return out;
  });
  if (checks.some((c) => c.state === 'fail')) throw new ExitError('', 1);
}

export function doctorCommand(deps: CliDeps = {}): Command {
  const cmd = new Command('doctor')
    .description('check the proxy, the sign-in, the clock, the network and proxies, the keychain and the tray host, each with its fix; --model X says why a model does or does not work')
    .option('--model <name>', 'also check one model name: does it resolve, and if not, why')
    .option('--json', 'print JSON');
  return addCommonOptions(cmd).action(async (opts: DoctorOptions) => doctor(opts, deps));
}
