// The test run must never touch the user's own proxy or data: `npm test` holds
// the default port (8081) with a decoy for the whole run, and watches the
// default data dir. A test that forgets its own port or data dir fails the run
// here, instead of signing out, refreshing or reading a real proxy.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

export const DEFAULT_PORT = 8081;

/** The default data dir (src/config/paths.ts), which the tests must leave alone. */
export function defaultDataDir(home = os.homedir()) {
  return path.join(home, '.local', 'share', 'github-copilot-svcs');
}

function fingerprint(dir) {
  if (!fs.existsSync(dir)) return null;
  const h = createHash('sha256');
  for (const name of ['config.json', 'tokens.json']) {
    try {
      h.update(name).update(fs.readFileSync(path.join(dir, name)));
    } catch {
      h.update(`${name}: none`);
    }
  }
  return h.digest('hex');
}

/**
 * Start the guard. `finish()` says what went wrong (lines), or [] when the run
 * kept away from 8081 and the data dir.
 */
export async function startUserGuard({ port = DEFAULT_PORT, dataDir = defaultDataDir() } = {}) {
  const seen = [];
  const before = fingerprint(dataDir);
  // Answers like a signed-in proxy of another data dir: a CLI that trusted it would be fooled, and is caught here.
  const server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url} (user-agent: ${req.headers['user-agent'] ?? '-'})`);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ error: { message: 'npm test holds port 8081: no test may use it', type: 'decoy' } }));
  });
  const held = await new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => resolve(true));
  });
  if (!held) console.error(`note: port ${port} is in use (your own proxy?); the tests do not use it, but this run cannot prove it.`);
  return {
    held,
    async finish() {
      if (held) await new Promise((r) => server.close(() => r()));
      const problems = seen.map((s) => `a test reached port ${port}: ${s}`);
      const after = fingerprint(dataDir);
      if (before === null && after !== null) problems.push(`a test created the user's data dir ${dataDir}`);
      else if (before !== after) problems.push(`a test changed config.json or tokens.json in the user's data dir ${dataDir}`);
      return problems;
    },
  };
}
