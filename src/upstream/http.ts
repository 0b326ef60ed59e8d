import type { Dispatcher } from 'undici';
import { undici } from './undici.ts';
import type { ResolvedConfig } from '../config/schema.ts';

/**
 * One keep-alive pool per origin for every upstream call (GitHub and Copilot).
 * No connection cap per origin: a cap would make the 21st concurrent stream wait
 * for a free socket. HTTPS_PROXY / HTTP_PROXY / NO_PROXY are honoured by
 * EnvHttpProxyAgent (plain Agent when none is set).
 */
export function createDispatcher(config: Pick<ResolvedConfig, 'timeouts'>): Dispatcher {
  const t = config.timeouts;
  const { EnvHttpProxyAgent } = undici();
  return new EnvHttpProxyAgent({
    connections: null,
    pipelining: 1,
    keepAliveTimeout: t.keep_alive * 1000,
    keepAliveMaxTimeout: t.idle_conn_timeout * 1000,
    // TCP connect plus TLS handshake.
    connect: { timeout: (t.dial_timeout + t.tls_handshake) * 1000 },
    // Time to the upstream's response headers (its first byte).
    headersTimeout: t.first_byte * 1000,
    // Longest silence between two body chunks (a stalled stream).
    bodyTimeout: t.stream_idle * 1000,
  });
}
