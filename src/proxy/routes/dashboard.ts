import fs from 'node:fs';
import path from 'node:path';
import type { RequestHandler } from '../http.ts';
import { AppError } from '../../errors.ts';
import { packageRoot, seaApi } from '../../runtime/self.ts';

/**
 * The dashboard at `/`: the page's files, built by build/dashboard.mjs into
 * dist/dashboard/ (or carried in the single-file binary as SEA assets). The
 * page only reads the proxy's JSON routes and posts to /admin/*, so it sits
 * behind the same guards as the API (create-app.ts): Host, Origin, api_key.
 */

/** Every file the page is made of, with its type; build/dashboard.mjs writes exactly these (test/dashboard/dashboard.test.ts checks). */
export const DASHBOARD_FILES: ReadonlyMap<string, string> = new Map([
  ['index.html', 'text/html; charset=utf-8'],
  ['dashboard.js', 'text/javascript; charset=utf-8'],
  ['dashboard.css', 'text/css; charset=utf-8'],
]);

/** Nothing from anywhere else, no inline script, never inside another page's frame. */
export const DASHBOARD_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Reads one of the page's files: from the binary's assets, else from dist/dashboard/ beside the package. Null when absent. */
export type DashboardReader = (name: string) => Buffer | null;

export function dashboardReader(): DashboardReader {
  const sea = seaApi();
  if (sea) {
    return (name) => {
      try {
        return Buffer.from(sea.getAsset(`dashboard/${name}`));
      } catch {
        return null;
      }
    };
  }
  const dir = path.join(packageRoot(), 'dist', 'dashboard');
  return (name) => {
    try {
      return fs.readFileSync(path.join(dir, name));
    } catch {
      return null;
    }
  };
}

/** The page's files (the table's `/` and `/dashboard/:file` routes): `/` and `/dashboard` are the page itself. */
export function dashboardHandler(read: DashboardReader = dashboardReader()): RequestHandler {
  // Read once, on first use: the files do not change while the proxy runs.
  const cache = new Map<string, Buffer>();
  return (req, res) => {
    const m = /^\/dashboard\/([^/]+)\/?$/i.exec(req.path);
    const name = m?.[1]?.toLowerCase() ?? 'index.html';
    const type = DASHBOARD_FILES.get(name);
    if (type === undefined) throw new AppError(`No such dashboard file: ${name}`, { status: 404, code: 'unknown_route' });
    let body = cache.get(name);
    if (body === undefined) {
      const loaded = read(name);
      if (loaded === null) throw new AppError('The dashboard is not built: run `npm run build`', { status: 503, code: 'dashboard_not_built' });
      body = loaded;
      cache.set(name, body);
    }
    res.set({
      'content-type': type,
      'cache-control': 'no-cache',
      'content-security-policy': DASHBOARD_CSP,
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
    });
    res.end(body);
  };
}
