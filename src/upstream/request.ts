import type { Dispatcher } from 'undici';

/** One request to `url` through `dispatcher` (always ours, never undici's global one); a bad URL rejects, it never throws. */
export async function requestVia(dispatcher: Dispatcher, url: string, opts: Omit<Dispatcher.RequestOptions, 'origin' | 'path'>): Promise<Dispatcher.ResponseData> {
  const u = new URL(url);
  return dispatcher.request({ ...opts, origin: u.origin, path: `${u.pathname}${u.search}` });
}
