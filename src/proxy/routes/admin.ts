import type { Request, RequestHandler } from '../http.ts';
import { tokenJson } from '../../auth/snapshot.ts';
import { isLoopbackHost } from '../../config/schema.ts';
import { AppError } from '../../errors.ts';
import type { ProxyContext } from '../context.ts';
import { setupRequestSchema, type SetupBody, type SignInBody } from '../../ipc/bodies.ts';

/** How long POST /admin/sign-in waits for GitHub's code before answering without one. */
const SIGN_IN_CODE_WAIT_MS = 30_000;

/** Admin routes (the table's `admin` auth) answer only on loopback connections, and never return a token. */
export function assertLoopback(req: Pick<Request, 'socket'>): void {
  const addr = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
  if (!isLoopbackHost(addr)) throw new AppError('Admin routes are only available from this machine', { code: 'forbidden', status: 403 });
}

export type AdminHandlers = {
  refresh: RequestHandler;
  signIn: RequestHandler;
  cancelSignIn: RequestHandler;
  signOut: RequestHandler;
  setup: RequestHandler;
};

export function adminHandlers(ctx: ProxyContext): AdminHandlers {
  // `github-copilot-svcs refresh` asks the running proxy to refresh, so the
  // next request uses the new token without a restart.
  const refresh: RequestHandler = async (_req, res) => {
    const snapshot = await ctx.tokens.refresh();
    ctx.models.invalidate();
    res.json(tokenJson(snapshot, Math.floor(ctx.now() / 1000)));
  };
  // The dashboard's "Sign in with GitHub": starts the device flow (or joins the one
  // waiting) and answers with the code to enter once GitHub gave one. The code is
  // shown to the user anyway; the device code that redeems it never leaves the process.
  const signIn: RequestHandler = async (_req, res) => {
    const tokens = ctx.tokens;
    if (!tokens.signIn) throw new AppError('This proxy cannot start a sign-in', { code: 'not_supported', status: 501 });
    const begin = tokens.signIn;
    if (tokens.snapshot().pendingSignIn === null) {
      // Until a code is pending (ours, or that of a flow already running), the flow ends, or the wait is over.
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          off();
          resolve();
        };
        const timer = setTimeout(done, SIGN_IN_CODE_WAIT_MS);
        const off = tokens.onChange((s) => {
          if (s.pendingSignIn !== null) done();
        });
        begin.call(tokens).then(done, done);
      });
    }
    const token = tokenJson(tokens.snapshot(), Math.floor(ctx.now() / 1000));
    const body: SignInBody = { sign_in: token.sign_in, token };
    res.set('cache-control', 'no-store').json(body);
  };
  const cancelSignIn: RequestHandler = (_req, res) => {
    ctx.tokens.cancelSignIn?.();
    res.set('cache-control', 'no-store').json(tokenJson(ctx.tokens.snapshot(), Math.floor(ctx.now() / 1000)));
  };
  // `github-copilot-svcs logout` and the tray's "Sign out": the proxy forgets the
  // tokens and removes them from the store at once; /health says needs_auth.
  const signOut: RequestHandler = async (_req, res) => {
    if (!ctx.tokens.signOut) throw new AppError('This proxy cannot sign out', { code: 'not_supported', status: 501 });
    const snapshot = await ctx.tokens.signOut();
    ctx.models.invalidate();
    ctx.usage.invalidate();
    res.set('cache-control', 'no-store').json(tokenJson(snapshot, Math.floor(ctx.now() / 1000)));
  };
  // The dashboard's "Set up" buttons: the CLI's own `setup <client>` (cli/setup.ts), run here, for
  // this user's home; the same code as the command and the tray. Loopback, same-origin and api_key
  // apply as to every /admin route; it writes only client config files, merged and backed up.
  const setup: RequestHandler = async (req, res) => {
    const parsed = setupRequestSchema.safeParse(req.body);
    if (!parsed.success) throw new AppError(`body: ${parsed.error.issues[0]?.message ?? 'invalid'} (want {"client": "claude-code" | "codex" | "opencode"})`, { code: 'invalid_request_error', status: 400 });
    let out = '';
    const sink = { write: (chunk: string) => (out += chunk) };
    let ok = true;
    try {
      const { setup } = await import('../../cli/setup.ts');
      // This proxy's own data dir and port, whatever started it: setup then finds this proxy as its own.
      const env = { ...process.env, GITHUB_COPILOT_SVCS_HOME: ctx.config.paths.dataDir };
      const port = req.socket.localPort ?? ctx.config.port; // the port this request came in on (config may say 0)
      await setup(parsed.data.client, { port, ...(parsed.data.model ? { model: parsed.data.model } : {}) }, { env, stdout: sink, stderr: sink });
    } catch (err) {
      ok = false;
      out += `\n${err instanceof Error ? err.message : String(err)}`;
    }
    const lines = out.split('\n').filter((l) => l.trim() !== '');
    const body: SetupBody = { ok: ok && !lines.some((l) => l.startsWith('❌')), lines };
    res.set('cache-control', 'no-store').json(body);
  };
  return { refresh, signIn, cancelSignIn, signOut, setup };
}
