import fs from 'node:fs';
import path from 'node:path';
import { emptyDay, tallyRecord, type DayTally, type UsageRecord } from './record.ts';
import { USAGE_FILE, parseUsageLine } from './store.ts';

/**
 * Daily roll-ups of the usage files, for `GET /usage` (the dashboard asks for
 * it every few seconds while requests flow). Totalling 30 days of a busy
 * agent's records from scratch takes hundreds of milliseconds of the proxy's
 * only thread (150,000 records: about 0.5 s), so each day's totals are kept
 * and a file is read again only where it grew since: the day being written
 * costs the lines appended since the last call; a finished day costs nothing.
 * Files are read 128 KiB per turn of the event loop (about 500 records), so
 * even the first read of 150,000 records never blocks requests for long.
 */

export interface UsageRollups {
  /** Each day's totals from `firstDay` (YYYY-MM-DD, local) on, oldest first. The tallies are the cache's own: read, do not change. */
  days(firstDay: string): Promise<DayTally[]>;
}

interface Entry {
  ino: number;
  /** Bytes counted so far: up to the last complete line. */
  offset: number;
  tally: DayTally;
}

/** How much of a usage file is totalled per turn of the event loop. */
const CHUNK_BYTES = 128 * 1024;

export function createUsageRollups(dir: string): UsageRollups {
  const cache = new Map<string, Entry>();
  return {
    async days(firstDay) {
      let names: string[];
      try {
        names = fs.readdirSync(dir).sort();
      } catch {
        return [];
      }
      const present = new Set(names);
      for (const f of cache.keys()) if (!present.has(f)) cache.delete(f); // pruned by the store
      const out: DayTally[] = [];
      for (const f of names) {
        const day = USAGE_FILE.exec(f)?.[1];
        if (!day || day < firstDay) continue;
        const file = path.join(dir, f);
        let st: fs.Stats;
        try {
          st = fs.statSync(file);
        } catch {
          continue;
        }
        let e = cache.get(f);
        if (!e || e.ino !== st.ino || st.size < e.offset) {
          e = { ino: st.ino, offset: 0, tally: emptyDay(day) };
          cache.set(f, e);
        }
        // At most CHUNK_BYTES per turn of the event loop (about 500 records, a few ms):
        // requests waiting on the loop go first, however big one day's file is.
        const entry = e;
        while (st.size > entry.offset) {
          const upTo = Math.min(st.size, entry.offset + CHUNK_BYTES);
          const took = readCompleteLines(file, entry.offset, upTo, (r) => tallyRecord(entry.tally, r));
          if (took === 0 && upTo === st.size) break; // only a line still being written
          // A window with no newline (one line longer than a chunk) is skipped whole: no record is that long.
          entry.offset += took === 0 ? upTo - entry.offset : took;
          await new Promise((r) => setImmediate(r));
        }
        out.push(e.tally);
      }
      return out;
    },
  };
}

/** The records in `file` between byte `from` and `to`, complete lines only; returns how many bytes those lines took. */
function readCompleteLines(file: string, from: number, to: number, each: (r: UsageRecord) => void): number {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return 0;
  }
  try {
    const buf = Buffer.allocUnsafe(to - from);
    let n = 0;
    while (n < buf.length) {
      const k = fs.readSync(fd, buf, n, buf.length - n, from + n);
      if (k === 0) break;
      n += k;
    }
    // A last line without its newline is being written (or was torn): count it once it is complete.
    const end = buf.subarray(0, n).lastIndexOf(0x0a);
    if (end < 0) return 0;
    for (const line of buf.subarray(0, end).toString('utf8').split('\n')) {
      const r = parseUsageLine(line);
      if (r) each(r);
    }
    return end + 1;
  } finally {
    fs.closeSync(fd);
  }
}
