import type { AddressInfo } from 'node:net';
import { createHttpServer, type ProxyServer, type RequestListener } from './http.ts';
import type { ResolvedConfig } from '../config/schema.ts';
import type { Logger } from '../log.ts';
import type { ProxyStats } from './context.ts';
import { envName } from '../config/env.ts';

export interface RunningServer {
  server: ProxyServer;
  url: string;
  port: number;
  /** Stop accepting, let in-flight requests finish up to `deadlineMs`, then cut the rest. Idempotent. */
  close(deadlineMs: number): Promise<{ cut: number }>;
}

export class ListenError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/**
 * Connections the kernel holds for us before we accept them (it caps this at
 * net.core.somaxconn). Node's default is 511; Go, and so the Go tool, asks for
 * somaxconn (4096 on current Linux). With 511, a burst of a thousand clients
 * overflowed the queue, and each connection that overflowed waited a second
 * for its SYN to be sent again (the README's Performance section).
 */
export const LISTEN_BACKLOG = 4096;

/**
 * How often Node looks for requests past `timeouts.server_read` (its default is
 * 30 s, so a request could hold its body budget up to 30 s longer than the
 * timeout says). Every 5 s (or server_read, if shorter): 0.2 wake-ups a second when idle.
 */
export function timeoutCheckMs(serverReadSec: number): number {
  return Math.max(1000, Math.min(5000, serverReadSec * 1000));
}

export async function startServer(app: RequestListener, config: ResolvedConfig, stats: ProxyStats, log: Logger): Promise<RunningServer> {
  const t = config.timeouts;
  const server = createHttpServer(app, { connectionsCheckingInterval: timeoutCheckMs(t.server_read) });
  // The Go tool's server_* timeouts: reading a request, idle keep-alive, socket inactivity while writing.
  server.requestTimeout = t.server_read * 1000;
  server.headersTimeout = Math.min(t.server_read * 1000, 60_000);
  server.keepAliveTimeout = t.server_idle * 1000;
  server.timeout = t.server_write * 1000;
  // Headers over 16 KiB get 431 from Node itself.
  server.maxHeadersCount = 200;

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      const code = err.code ?? 'ELISTEN';
      const message =
        code === 'EADDRINUSE'
          ? `Port ${config.port} on ${config.host} is already in use by another program. Stop it, or choose another port with --port or ${envName('port')}.`
          : code === 'EACCES'
            ? `Not allowed to listen on ${config.host}:${config.port}. Choose a port above 1024.`
            : `Cannot listen on ${config.host}:${config.port}: ${err.message}`;
      reject(new ListenError(code, message));
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ port: config.port, host: config.host, backlog: LISTEN_BACKLOG });
  });
  const port = (server.address() as AddressInfo).port;
  const hostForUrl = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${hostForUrl}:${port}`;

  let closing: Promise<{ cut: number }> | undefined;
  return {
    server,
    url,
    port,
    close(deadlineMs) {
      closing ??= new Promise((resolve) => {
        server.close();
        server.closeIdleConnections();
        const started = Date.now();
        const tick = setInterval(() => {
          server.closeIdleConnections();
          if (stats.inFlight === 0 || Date.now() - started >= deadlineMs) {
            clearInterval(tick);
            const cut = stats.inFlight;
            if (cut > 0) log.warn(`shutdown deadline reached: cutting ${cut} request(s) still in flight`);
            server.closeAllConnections();
            resolve({ cut });
          }
        }, 50);
      });
      return closing;
    },
  };
}
