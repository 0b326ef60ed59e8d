import fs from 'node:fs';
import path from 'node:path';
import { dayOf, fitRecord, readRecord, type UsageRecord } from './record.ts';

/**
 * The usage store: an append-only log of JSON lines in `<data dir>/usage/`,
 * one file a day (`YYYY-MM-DD.jsonl`, 0600, in a 0700 dir), kept for
 * `retentionDays` (90). Why not SQLite: the single-file binaries would have to
 * carry a native module per platform; appending lines needs nothing, a reader
 * can total them in milliseconds, and a kill mid-write leaves at most one torn
 * last line, which readers skip.
 *
 * Each record is written when its request ends, one write(2) on a file kept
 * open (a few microseconds, as a log line): a kill -9 loses no answered
 * request (#20; the 1 s batch it replaces lost up to a second of them). A
 * write that fails (a full disk) is queued and tried again every `flushMs`;
 * at most `maxQueued` records wait, beyond that the oldest are dropped and
 * counted (a disk that stopped taking writes must not grow memory).
 */
export interface UsageStore {
  /** Write one record now (queued only while writes fail); what was kept (cut to the bounds), or null when refused. */
  add(r: UsageRecord): UsageRecord | null;
  /** Write what is queued now. */
  flush(): void;
  /** Flush, stop the retry timer, close the file. */
  close(): void;
  readonly dropped: number;
}

export interface UsageStoreOptions {
  dir: string;
  flushMs?: number;
  maxQueued?: number;
  retentionDays?: number;
  now?: () => number;
  onError?: (err: unknown) => void;
}

/** A day's file name; group 1 is its day. */
export const USAGE_FILE = /^(\d{4}-\d{2}-\d{2})\.jsonl$/;

export function usageDir(dataDir: string): string {
  return path.join(dataDir, 'usage');
}

export function openUsageStore(opts: UsageStoreOptions): UsageStore {
  const now = opts.now ?? Date.now;
  const maxQueued = opts.maxQueued ?? 10_000;
  let queue: UsageRecord[] = [];
  let dropped = 0;
  let reportedError = false;
  let lastPrune = '';
  // Files whose end this store has checked: a line torn by an earlier kill is closed off before new lines go after it.
  const tailChecked = new Set<string>();
  const separatorFor = (file: string): string => {
    if (tailChecked.has(file)) return '';
    tailChecked.add(file);
    let fd: number | undefined;
    try {
      fd = fs.openSync(file, 'r');
      const size = fs.fstatSync(fd).size;
      if (size === 0) return '';
      const last = Buffer.alloc(1);
      fs.readSync(fd, last, 0, 1, size - 1);
      return last[0] === 0x0a ? '' : '\n';
    } catch {
      return ''; // no file yet
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
  };
  const report = (err: unknown) => {
    if (reportedError) return;
    reportedError = true;
    opts.onError?.(err);
  };

  const prune = (today: string) => {
    if (today === lastPrune) return;
    lastPrune = today;
    const cutoff = dayOf(now() - (opts.retentionDays ?? 90) * 86_400_000);
    for (const f of fs.existsSync(opts.dir) ? fs.readdirSync(opts.dir) : []) {
      const m = USAGE_FILE.exec(f);
      if (m?.[1] && m[1] < cutoff) fs.rmSync(path.join(opts.dir, f), { force: true });
    }
  };

  // One append per record as its request ends (like the log): a kill -9 loses no answered request.
  // The day's file stays open (O_APPEND, 0600); a failed write (a full disk) is queued, bounded,
  // and tried again on a timer that runs only while something waits.
  let fd: number | null = null;
  let fdDay = '';
  const closeFd = () => {
    if (fd !== null) {
      try {
        fs.closeSync(fd);
      } catch {
        /* already gone */
      }
    }
    fd = null;
    fdDay = '';
  };
  const fdFor = (day: string): number => {
    if (fd !== null && fdDay === day) return fd;
    closeFd();
    fs.mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
    const file = path.join(opts.dir, `${day}.jsonl`);
    const sep = separatorFor(file);
    const opened = fs.openSync(file, 'a', 0o600);
    if (sep) fs.writeSync(opened, sep);
    fd = opened;
    fdDay = day;
    prune(dayOf(now()));
    return opened;
  };
  const write = (r: UsageRecord): void => {
    fs.writeSync(fdFor(dayOf(r.t)), `${JSON.stringify(r)}\n`);
  };

  let retry: NodeJS.Timeout | null = null;
  const flush = () => {
    while (queue.length > 0) {
      const r = queue[0];
      if (r === undefined) break;
      try {
        write(r);
      } catch (err) {
        closeFd();
        report(err);
        armRetry();
        return;
      }
      queue.shift();
    }
  };
  const armRetry = () => {
    if (retry !== null) return;
    retry = setTimeout(() => {
      retry = null;
      flush();
    }, opts.flushMs ?? 1000);
    retry.unref();
  };

  return {
    add(record) {
      // What a reader would skip is cut to size here, or not written at all (record.ts fitRecord).
      const r = fitRecord(record);
      if (r === null) {
        dropped += 1;
        return null;
      }
      queue.push(r);
      if (queue.length > maxQueued) {
        queue.shift();
        dropped += 1;
      }
      if (retry === null) flush();
      return r;
    },
    flush,
    close() {
      if (retry !== null) clearTimeout(retry);
      retry = null;
      flush();
      if (retry !== null) clearTimeout(retry);
      retry = null;
      closeFd();
    },
    get dropped() {
      return dropped;
    },
  };
}

/** Every valid record in `dir` from `since` on (epoch ms), oldest first. Torn or foreign lines are skipped. */
export function readUsage(dir: string, since: number): UsageRecord[] {
  if (!fs.existsSync(dir)) return [];
  const first = dayOf(since);
  const out: UsageRecord[] = [];
  for (const f of fs.readdirSync(dir).sort()) {
    const m = USAGE_FILE.exec(f);
    if (!m?.[1] || m[1] < first) continue;
    for (const line of fs.readFileSync(path.join(dir, f), 'utf8').split('\n')) {
      const r = parseUsageLine(line);
      if (r && r.t >= since) out.push(r);
    }
  }
  return out;
}

/** One line of a day's file as a record; null for an empty, torn (a kill mid-write) or foreign line. */
export function parseUsageLine(line: string): UsageRecord | null {
  if (!line) return null;
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return null;
  }
  return readRecord(v);
}
