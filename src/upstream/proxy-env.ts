/**
 * The proxy a request to `url` goes through under HTTPS_PROXY / HTTP_PROXY /
 * NO_PROXY, as undici's EnvHttpProxyAgent decides it: null for a direct
 * connection. Its rules: the lower-case name first (set but empty included),
 * and an empty HTTPS proxy falls back to the HTTP one. Pure.
 */
export interface ProxyRoute {
  proxy: string | null;
  why: string;
  variable: string | null;
}

export function proxyForUrl(url: string, env: NodeJS.ProcessEnv): ProxyRoute {
  const u = new URL(url);
  /** The variable undici reads for `name`, and its value. */
  const get = (name: string): [string, string | undefined] => {
    const lower = name.toLowerCase();
    return env[lower] !== undefined ? [lower, env[lower]] : [name, env[name]];
  };
  const http = get('HTTP_PROXY');
  const https = get('HTTPS_PROXY');
  const [variable, proxy] = u.protocol === 'https:' && https[1] ? https : http;
  if (!proxy) return { proxy: null, why: 'direct (no HTTP(S)_PROXY)', variable: null };
  const port = u.port || (u.protocol === 'https:' ? '443' : '80');
  for (const raw of (get('NO_PROXY')[1] ?? '').split(/[,\s]+/).filter(Boolean)) {
    if (raw === '*') return { proxy: null, why: 'direct (NO_PROXY=*)', variable: null };
    const [hostPart = '', portPart] = raw.replace(/^\*?\./, '.').split(':');
    if (portPart && portPart !== port) continue;
    const host = u.hostname.toLowerCase();
    const entry = hostPart.toLowerCase();
    if (host === entry.replace(/^\./, '') || (entry.startsWith('.') ? host.endsWith(entry) : host.endsWith(`.${entry}`))) return { proxy: null, why: `direct (NO_PROXY has ${raw})`, variable: null };
  }
  return { proxy, why: `through ${redactProxy(proxy)} (${variable})`, variable };
}

/** What to check when `host` did not answer through a proxy: one wording for auth, refresh and doctor. Pure. */
export function proxyFix(route: ProxyRoute, host: string): string {
  return `check ${route.variable ?? 'HTTPS_PROXY'} (is that proxy up, and does it allow ${host}?) or add ${host} to NO_PROXY`;
}

/** A proxy URL without its password. */
function redactProxy(p: string): string {
  try {
    const u = new URL(p);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return '(unparsable proxy URL)';
  }
}
