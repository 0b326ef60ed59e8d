import fs from 'node:fs';

/** Resident memory of a process in MB: all of it, its own (anonymous: heaps, buffers) and file-backed (the node binary's pages, shared). */
export interface Rss {
  rss: number;
  anon: number;
  file: number;
}

/** A process's resident memory now, from /proc/<pid>/status (Linux). */
export function rssOf(pid: number): Rss {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const mb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN) / 1024;
  return { rss: mb('VmRSS'), anon: mb('RssAnon'), file: mb('RssFile') + mb('RssShmem') };
}
