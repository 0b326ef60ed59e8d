import { Command, Option } from 'commander';
import { updateConfigFile } from '../auth/config-file.ts';
import { openInBrowser, runDeviceFlow, type DeviceFlowOptions } from '../auth/device-flow.ts';
import { ENV_GITHUB_TOKEN, flagName } from '../config/env.ts';
import type { OAuthApp } from '../auth/types.ts';
import type { ConfigFlags } from '../config/load.ts';
import { AppError, DeviceFlowError, ExitError, GithubAuthRejectedError, UpstreamNetworkError, UpstreamTimeoutError } from '../errors.ts';
import { OAUTH_CLIENT_IDS, exchangeCopilotToken } from '../upstream/github-client.ts';
import { addCommonOptions, commonFlags, withCliContext, type CliContext, type CliDeps, type CommonOptions } from './context.ts';
import { paint } from './format.ts';
import { formatDuration } from '../text/duration.ts';
import { otherProxyLine, proxyJson } from './proxy-client.ts';
import { OAUTH_APPS } from '../config/schema.ts';
import { proxyFix, proxyForUrl } from '../upstream/proxy-env.ts';

export interface AuthOptions extends CommonOptions {
  oauthApp?: OAuthApp;
  enterprise?: string;
  /** An existing GitHub token to import; `-` reads it from stdin (keeps it out of `ps`). */
  token?: string;
  /** false with --no-browser. */
  browser?: boolean;
}

export interface AuthDeps extends CliDeps {
  stdin?: NodeJS.ReadableStream;
  /** Tests: replace the browser opener. */
  openBrowser?: (url: string) => Promise<void> | void;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** Sign in (device flow) or import a token; save it; record the app and enterprise in config.json. */
export async function auth(options: AuthOptions, deps: AuthDeps = {}): Promise<void> {
  const flags: ConfigFlags = commonFlags(options);
  if (options.oauthApp) flags.oauth_app = options.oauthApp;
  if (options.enterprise !== undefined) flags.enterprise_url = options.enterprise;
  await withCliContext(deps, flags, async (ctx) => {
    const app = ctx.config.oauth_app;
    const githubToken = options.token !== undefined ? await importedToken(options.token, deps) : await deviceFlow(ctx, options, deps, app);
    ctx.log.addSecret(githubToken);

    // Check an imported vscode token before it replaces a working one (opencode tokens cannot be exchanged).
    if (options.token !== undefined && app === 'vscode') {
      try {
        await exchangeCopilotToken({ dispatcher: ctx.dispatcher(), config: ctx.config }, githubToken);
      } catch (err) {
        if (err instanceof GithubAuthRejectedError) {
          throw new ExitError(`The token was not saved: ${err.message}. Check the token, or sign in with \`${ctx.command} auth\``, 1);
        }
        throw new ExitError(`The token was not saved: cannot check it with GitHub (${err instanceof Error ? err.message : String(err)})`, 1);
      }
    }

    const tm = await ctx.tokens();
    await tm.load();
    const s = await tm.setGithubToken(githubToken, app);
    const enterprise = ctx.config.enterprise_url;
    updateConfigFile(ctx.config.paths.configFile, (o) => {
      o.oauth_app = app;
      if (enterprise) o.enterprise_url = enterprise;
      else delete o.enterprise_url;
    });

    if (s.state === 'needs_auth' || s.state === 'error') {
      throw new ExitError(`Signed in to GitHub, but the Copilot token could not be obtained: ${s.lastError ?? 'unknown error'}`, 1);
    }
    const where = s.store === 'keychain' ? 'the OS keychain' : `${ctx.config.paths.tokenFile} (mode 0600)`;
    ctx.out(paint(ctx.colour, 'green', `✓ Signed in to GitHub Copilot${enterprise ? ` on ${enterprise}` : ''} (OAuth app: ${app}).`));
    ctx.out(`Token saved to ${where}.`);
    if (s.expiresAt !== null) ctx.out(`Copilot token expires: in ${formatDuration(s.expiresAt - Math.floor(Date.now() / 1000))}`);
    ctx.out(`Recorded oauth_app${enterprise ? ' and enterprise_url' : ''} in ${ctx.config.paths.configFile}.`);
    if (ctx.env[ENV_GITHUB_TOKEN]) ctx.err(`note: ${ENV_GITHUB_TOKEN} is set and takes precedence over the saved token.`);

    const holder = await ctx.portHolder();
    if (holder.kind === 'other') ctx.err(`note: ${otherProxyLine(holder.proxy, ctx.config.port)}`);
    const running = holder.kind === 'ours' ? holder.proxy : null;
    if (running) {
      try {
        await proxyJson(running, ctx.loopback(), '/admin/refresh', { method: 'POST', ...(ctx.config.api_key ? { apiKey: ctx.config.api_key } : {}) });
        ctx.out(`The running proxy on ${running.url} now uses the new sign-in.`);
      } catch (err) {
        ctx.err(`note: could not tell the running proxy on ${running.url} (${err instanceof Error ? err.message : String(err)}); run '${ctx.command} refresh'.`);
      }
    }
  });
}

async function importedToken(value: string, deps: AuthDeps): Promise<string> {
  let token = value;
  if (value === '-') {
    const chunks: Buffer[] = [];
    for await (const c of deps.stdin ?? process.stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
    token = Buffer.concat(chunks).toString('utf8');
  }
  token = token.trim();
  if (!token || /\s/.test(token)) throw new ExitError('--token needs a GitHub token such as gho_… (or - to read it from stdin)', 2);
  return token;
}

async function deviceFlow(ctx: CliContext, options: AuthOptions, deps: AuthDeps, app: OAuthApp): Promise<string> {
  const ac = new AbortController();
  const onSigint = () => ac.abort();
  process.once('SIGINT', onSigint);
  const tty = ctx.stderr.isTTY === true;
  const route = proxyForUrl(ctx.config.github_url, ctx.env);
  const host = new URL(ctx.config.github_url).host;
  let spinner: NodeJS.Timeout | null = null;
  let expiresAt = 0;
  const stopSpinner = () => {
    if (spinner) {
      clearInterval(spinner);
      spinner = null;
      ctx.stderr.write('\r\u001b[K');
    }
  };
  try {
    const flow: DeviceFlowOptions = {
      config: ctx.config,
      dispatcher: ctx.dispatcher(),
      clientId: OAUTH_CLIENT_IDS[app],
      signal: ac.signal,
      onCode: (p) => {
        expiresAt = p.expiresAt;
        ctx.out(`To sign in, open ${paint(ctx.colour, 'cyan', p.verificationUri)} and enter the code: ${paint(ctx.colour, 'bold', p.userCode)}`);
        if (options.browser !== false) ctx.out('(opening your browser; if nothing opens, use the link above)');
        if (tty) {
          let i = 0;
          spinner = setInterval(() => {
            const left = Math.max(0, Math.round((expiresAt - Date.now()) / 1000));
            ctx.stderr.write(`\r${SPINNER[i++ % SPINNER.length] ?? ''} Waiting for you to enter the code… ${formatDuration(left)} left  `);
          }, 120);
          spinner.unref();
        } else {
          ctx.err('Waiting for the code to be entered (Ctrl-C to cancel)…');
        }
      },
    };
    if (options.browser !== false) flow.openBrowser = deps.openBrowser ?? openInBrowser;
    if (tty) ctx.err(`Asking ${host} for a sign-in code (${route.why})…`);
    const r = await runDeviceFlow(flow);
    return r.accessToken;
  } catch (err) {
    stopSpinner();
    if (err instanceof DeviceFlowError) throw new ExitError(err.message, 1);
    // Through a proxy, the proxy is the first suspect (doctor says the same per host).
    if (err instanceof AppError) {
      const unreached = err instanceof UpstreamNetworkError || err instanceof UpstreamTimeoutError;
      throw new ExitError(`Sign-in failed: ${err.message}${unreached && route.proxy ? ` (${route.why}: ${proxyFix(route, host)})` : ''}`, 1);
    }
    throw err;
  } finally {
    stopSpinner();
    process.off('SIGINT', onSigint);
  }
}

export function authCommand(deps: AuthDeps = {}): Command {
  const cmd = new Command('auth')
    .description('sign in to GitHub Copilot with the device flow (or import a token) and store the token')
    .addOption(new Option('--oauth-app <app>', 'OAuth app: vscode (token exchange) or opencode (GitHub token used directly)').choices(OAUTH_APPS))
    .option(`${flagName('enterprise_url')} <domain>`, 'GitHub Enterprise (data residency) domain, e.g. company.ghe.com')
    .option('--token <token>', 'import an existing GitHub token (gho_…) instead of the device flow; - reads it from stdin')
    .option('--no-browser', 'do not open a browser; just print the link and code');
  return addCommonOptions(cmd).action(async (opts: AuthOptions) => auth(opts, deps));
}
