/**
 * The proxy a request to `url` goes through under HTTPS_PROXY / HTTP_PROXY /
 * NO_PROXY, as undici's EnvHttpProxyAgent decides it: null for a direct
 * connection. Its rules: the lower-case name first (set but empty included),
 * and an empty HTTPS proxy falls back to the HTTP one. Pure.
 */
export function proxyForUrl(url: string, env: NodeJS.ProcessEnv): { proxy: string | null; why: string } {
  const u = new URL(url);
  const get = (k: string) => env[k.toLowerCase()] ?? env[k];
  const httpProxy = get('HTTP_PROXY');
  const proxy = u.protocol === 'https:' ? get('HTTPS_PROXY') || httpProxy : httpProxy;
  if (!proxy) return { proxy: null, why: 'direct (no HTTP(S)_PROXY)' };
  const port = u.port || (u.protocol === 'https:' ? '443' : '80');
  for (const raw of (get('NO_PROXY') ?? '').split(/[,\s]+/).filter(Boolean)) {
    if (raw === '*') return { proxy: null, why: 'direct (NO_PROXY=*)' };
    const [hostPart = '', portPart] = raw.replace(/^\*?\./, '.').split(':');
    if (portPart && portPart !== port) continue;
    const host = u.hostname.toLowerCase();
    const entry = hostPart.toLowerCase();
    if (host === entry.replace(/^\./, '') || (entry.startsWith('.') ? host.endsWith(entry) : host.endsWith(`.${entry}`))) return { proxy: null, why: `direct (NO_PROXY has ${raw})` };
  }
  return { proxy, why: `through ${redactProxy(proxy)}` };
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
