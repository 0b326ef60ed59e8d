import type { SecureContext } from 'node:tls';
import tls from 'node:tls';
import v8 from 'node:v8';
import type { Dispatcher, EnvHttpProxyAgent } from 'undici';
import { undici } from './undici.ts';
import type { ResolvedConfig } from '../config/schema.ts';

/** The socket options of undici's connector that `timeouts.keep_alive` decides. */
export interface TcpKeepAlive {
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
}

/**
 * `timeouts.keep_alive` as the Go tool meant it (its net.Dialer.KeepAlive): the
 * TCP keep-alive period of upstream sockets in seconds; 0 = the runtime's
 * default (undici: on, first probe after 60 s), negative = off. Off is what
 * Wine needs: undici turns keep-alive on while a TLS socket is still
 * connecting, and under Wine 8.0 that connect then fails with `connect UNKNOWN`
 * (test/install/wine.test.ts). Pure.
 */
export function tcpKeepAlive(seconds: number): TcpKeepAlive {
  if (seconds < 0) return { keepAlive: false };
  if (seconds === 0) return {};
  return { keepAlive: true, keepAliveInitialDelay: seconds * 1000 };
}

/** How long an upstream connection may take to be made: TCP connect plus TLS handshake (or a proxy's CONNECT). Pure. */
export function connectTimeoutMs(t: Pick<ResolvedConfig['timeouts'], 'dial_timeout' | 'tls_handshake'>): number {
  return (t.dial_timeout + t.tls_handshake) * 1000;
}

/**
 * Everything the upstream dispatcher is built with, from the config's timeouts,
 * and the TLS context every upstream connection shares (createDispatcher). Pure.
 */
export function dispatcherOptions(t: ResolvedConfig['timeouts'], secureContext?: SecureContext): EnvHttpProxyAgent.Options {
  const connect = {
    timeout: connectTimeoutMs(t),
    ...tcpKeepAlive(t.keep_alive),
    ...(secureContext ? { secureContext } : {}),
  };
  return {
    connections: null,
    pipelining: 1,
    // Go's IdleConnTimeout: how long an idle pooled socket waits for reuse. A
    // server that says `Keep-Alive: timeout=N` for less is believed (undici
    // subtracts 2 s of margin); a longer hint is capped here.
    keepAliveTimeout: t.idle_conn_timeout * 1000,
    keepAliveMaxTimeout: t.idle_conn_timeout * 1000,
    connect,
    // Through HTTP(S)_PROXY undici dials the proxy with `proxyTls` and wraps the
    // tunnel with `requestTls`, never `connect`: the same socket options there.
    proxyTls: connect,
    requestTls: connect,
    // Time to the upstream's response headers (its first byte).
    headersTimeout: t.first_byte * 1000,
    // Longest silence between two body chunks (a stalled stream).
    bodyTimeout: t.stream_idle * 1000,
  };
}

/**
 * One keep-alive pool per origin for every upstream call (GitHub and Copilot).
 * No connection cap per origin: a cap would make the 21st concurrent stream wait
 * for a free socket. HTTPS_PROXY / HTTP_PROXY / NO_PROXY are honoured by
 * EnvHttpProxyAgent (plain Agent when none is set).
 *
 * undici parses HTTP/1 with llhttp compiled to WebAssembly. V8 compiles it with
 * Liftoff at once and again with TurboFan on a background thread once it is
 * hot; that thread's compiler memory (about 10 MB of malloc) is freed but stays
 * resident for the life of the process. Liftoff alone keeps it out (#22):
 * V8's peak malloc at start-up 43 -> 7 MB, that arena's ~10 MB gone from the
 * idle RSS, 15 MB less under 32 connections, and CPU per request unchanged
 * beyond the noise (0.322 vs 0.346 ms non-stream, 0.672 vs 0.652 ms stream,
 * 4 alternating rounds). `--no-wasm-tier-up` does not stop that compile. Set
 * before the first upstream connection compiles the module; nothing else in
 * the app is WebAssembly.
 */
export function createDispatcher(config: Pick<ResolvedConfig, 'timeouts'>): Dispatcher {
  v8.setFlagsFromString('--liftoff-only');
  const { EnvHttpProxyAgent, Pool } = undici();
  // One TLS context (the default trust: Node's CAs plus NODE_EXTRA_CA_CERTS) for
  // every connection. Without it each tls.connect builds its own, an OpenSSL
  // context per upstream connection: 28 % of the proxy's CPU while a burst of
  // 1,000 streams opened their connections (the README's Performance section).
  const options = dispatcherOptions(config.timeouts, tls.createSecureContext());
  // The client to an HTTP(S)_PROXY sends it CONNECT and waits for the answer
  // with undici's defaults (300 s), whatever `connect.timeout` says, and an
  // abort signal does not end a request whose connection is still being made:
  // a proxy that takes the connection and never answers held `auth` 303 s and
  // `doctor` over 500 s. The proxy gets what a direct connection gets.
  const tunnelTimeout = connectTimeoutMs(config.timeouts);
  return new EnvHttpProxyAgent({
    ...options,
    clientFactory: (origin, opts) => new Pool(origin, { ...opts, headersTimeout: tunnelTimeout, bodyTimeout: tunnelTimeout }),
  });
}
