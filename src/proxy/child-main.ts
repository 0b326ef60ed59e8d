import { loadConfig, type ConfigFlags } from '../config/load.ts';
import { parseTrayMessage, type ChildMessage, type TrayMessage } from '../ipc/messages.ts';
import { createLogger, type Logger } from '../log.ts';
import { ListenError } from './server.ts';
import { usageBody } from './routes/usage.ts';
import { startRuntime, type ProxyRuntime } from './run.ts';
import { EXIT_LISTEN_FAILED, PROXY_CHILD_COMMAND } from '../ipc/child.ts';

/**
 * The proxy as the tray's child process: same runtime as `run`, plus the IPC
 * side of src/ipc/messages.ts. Exits when the tray goes away (IPC disconnect),
 * so no orphan keeps the port.
 */
export async function runProxyChild(flags: ConfigFlags): Promise<void> {
  const send = (msg: ChildMessage): void => {
    if (process.connected && process.send) process.send(msg);
  };
  if (!process.send) throw new Error(`${PROXY_CHILD_COMMAND} must be started by the tray (no IPC channel)`);

  const config = loadConfig({ flags });
  const log = createLogger({ level: config.log_level, file: config.paths.logFile, scope: 'proxy' });
  let runtime: ProxyRuntime;
  try {
    runtime = await startRuntime({ config, log, autoSignIn: false });
  } catch (err) {
    if (err instanceof ListenError) {
      send({ type: 'listen-failed', code: err.code, message: err.message });
      log.error(err.message);
      await disconnectAndWait();
      process.exit(EXIT_LISTEN_FAILED);
    }
    throw err;
  }
  const { tokens, proxy } = runtime;
  log.info(`proxy child listening on ${proxy.url}/v1`);
  tokens.onChange((snapshot) => send({ type: 'token', snapshot }));
  proxy.ctx.gateway.onLimitChange?.((limit) => send({ type: 'limit', limit }));
  send({ type: 'ready', url: `${proxy.url}/v1`, port: proxy.port, pid: process.pid });
  send({ type: 'token', snapshot: tokens.snapshot() });

  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (why: string) => {
      if (stopping) return;
      stopping = true;
      log.info(`proxy child stopping (${why})`);
      runtime.shutdown().then(resolve, resolve);
    };
    process.on('message', (raw: unknown) => {
      const msg = parseTrayMessage(raw);
      if (!msg) {
        log.warn('ignored an invalid IPC message from the tray');
        return;
      }
      if (msg.type === 'shutdown') stop('tray asked');
      else void handle(msg, runtime, send, log);
    });
    process.on('disconnect', () => stop('tray went away'));
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });
}

async function handle(msg: Exclude<TrayMessage, { type: 'shutdown' }>, rt: ProxyRuntime, send: (m: ChildMessage) => void, log: Logger): Promise<void> {
  const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));
  switch (msg.type) {
    case 'refresh':
      try {
        await rt.tokens.refresh();
        rt.proxy.ctx.models.invalidate();
        rt.proxy.ctx.usage.invalidate();
        send({ type: 'refresh-done', requestId: msg.requestId, ok: true, error: null });
      } catch (err) {
        send({ type: 'refresh-done', requestId: msg.requestId, ok: false, error: errorText(err) });
      }
      return;
    case 'get-models':
      try {
        const models = await rt.proxy.ctx.models.get();
        send({
          type: 'models',
          requestId: msg.requestId,
          models: models.map((m) => ({ id: m.id, name: m.name ?? m.id, vendor: m.vendor ?? '' })),
          error: null,
        });
      } catch (err) {
        send({ type: 'models', requestId: msg.requestId, models: null, error: errorText(err) });
      }
      return;
    case 'get-usage':
      try {
        const u = await usageBody(rt.proxy.ctx);
        const c = u.local.credits;
        send({
          type: 'usage',
          requestId: msg.requestId,
          usage: u.quotaError === null ? { remaining: u.remaining, entitlement: u.entitlement, unlimited: u.unlimited, resetDate: u.resetDate } : null,
          credits: { month: c.month, allowance: c.allowance, resetsAt: c.resetsAt },
          error: u.quotaError,
        });
      } catch (err) {
        send({ type: 'usage', requestId: msg.requestId, usage: null, credits: null, error: errorText(err) });
      }
      return;
    case 'sign-in':
      try {
        // The tray opens the browser and copies the code; the child only runs the flow.
        const s = await rt.tokens.signIn({
          onCode: (p) => send({ type: 'sign-in-code', verificationUri: p.verificationUri, userCode: p.userCode, expiresAt: p.expiresAt }),
        });
        rt.proxy.ctx.models.invalidate();
        rt.proxy.ctx.usage.invalidate();
        const ok = s.state === 'ok';
        send({ type: 'sign-in-done', ok, error: ok ? null : (s.lastError ?? 'sign-in did not complete') });
      } catch (err) {
        log.warn(`sign-in failed: ${errorText(err)}`);
        send({ type: 'sign-in-done', ok: false, error: errorText(err) });
      }
      return;
    case 'cancel-sign-in':
      rt.tokens.cancelSignIn();
      return;
    case 'sign-out':
      try {
        await rt.tokens.signOut();
        rt.proxy.ctx.models.invalidate();
        rt.proxy.ctx.usage.invalidate();
      } catch (err) {
        rt.log.warn(`Sign-out failed: ${errorText(err)}`);
      }
      return;
  }
}

function disconnectAndWait(): Promise<void> {
  return new Promise((resolve) => {
    // Let the listen-failed message flush before exiting.
    setTimeout(resolve, 100);
  });
}
