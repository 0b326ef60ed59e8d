import fs from 'node:fs';
import path from 'node:path';
import electronLog from 'electron-log/node';
import type { LogLevel } from './config/schema.ts';

export interface Logger {
  error(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  info(...args: unknown[]): void;
  debug(...args: unknown[]): void;
  /** Register a value (a token, an API key) that must never be written, whatever its shape. Kept for the life of the process. */
  addSecret(secret: string): void;
  /** Every secret registered so far, current and past (heap-snapshot redaction uses them). */
  knownSecrets(): string[];
}

/** The app name electron-log needs for its path variables; given, never discovered from a package.json (none above `/`). */
export const APP_NAME = 'github-copilot-svcs';

export interface LoggerOptions {
  level: LogLevel;
  /** Log file path; omitted = no file (CLI one-shots). */
  file?: string;
  /** Console output; default true. Goes to stderr so stdout stays clean for command output. */
  console?: boolean;
  /** Tag printed in every line, e.g. "proxy" or "tray". */
  scope?: string;
  maxFileBytes?: number;
  /** Rotated files kept beside the log (`name.1.log` newest … `name.N.log`); default 3. */
  maxArchives?: number;
}

// Shapes of GitHub and Copilot credentials. Anything matching is cut before any transport sees it.
const SECRET_PATTERNS: Array<[RegExp, string]> = [
  [/\bgh[opsur]_[A-Za-z0-9_]{6,}/g, 'gh*_[REDACTED]'],
  [/\bgithub_pat_[A-Za-z0-9_]{10,}/g, 'github_pat_[REDACTED]'],
  [/\btid=[^\s"'`,]+/g, 'tid=[REDACTED]'],
  [/\b(Bearer|token)\s+[A-Za-z0-9._~+/=;:-]{8,}/gi, '$1 [REDACTED]'],
  [/("(?:access_token|token|github_token|copilot_token|api_key|device_code)"\s*:\s*")[^"]*"/g, '$1[REDACTED]"'],
];

export function redact(text: string, secrets: Iterable<string> = []): string {
  let out = text;
  for (const s of secrets) if (s.length >= 6) out = out.split(s).join('[REDACTED]');
  for (const [re, rep] of SECRET_PATTERNS) out = out.replace(re, rep);
  return out;
}

function redactValue(v: unknown, secrets: Set<string>): unknown {
  if (typeof v === 'string') return redact(v, secrets);
  if (v instanceof Error) {
    const e = new Error(redact(v.message, secrets));
    e.name = v.name;
    e.stack = v.stack === undefined ? undefined : redact(v.stack, secrets);
    return e;
  }
  if (typeof v === 'object' && v !== null) {
    try {
      return redact(JSON.stringify(v), secrets);
    } catch {
      return '[unserialisable]';
    }
  }
  return v;
}

let instanceCounter = 0;

export function createLogger(opts: LoggerOptions): Logger {
  instanceCounter += 1;
  // electron-log works out path variables from the app name on first file write and, when it cannot
  // find a package.json (a global install run from ~ or /, the autostart entry), throws on every line
  // and drops it. The path comes from resolvePathFn below; the name is given here.
  electronLog.transports.file.setAppName(APP_NAME);
  const log = electronLog.create({ logId: `${APP_NAME}-${process.pid}-${instanceCounter}` });
  const secrets = new Set<string>();
  // A transport that throws (file not writable, disk full) is said once on stderr, not swallowed.
  let reportedFailure = false;
  // Not in electron-log's type definitions; Logger.processMessage calls it when a transport throws.
  Object.assign(log, { processInternalErrorFn: (e: unknown) => {
    if (reportedFailure) return;
    reportedFailure = true;
    const file = opts.file ? ` to ${opts.file}` : '';
    process.stderr.write(`log: cannot write${file} (${redact(e instanceof Error ? e.message : String(e), secrets)}); further log-file errors are not shown\n`);
  } });
  const scope = opts.scope ? ` [${opts.scope}]` : '';
  const format = `[{y}-{m}-{d} {h}:{i}:{s}.{ms}] [{level}]${scope} {text}`;

  const consoleT = log.transports.console;
  if (consoleT) {
    if (opts.console === false) consoleT.level = false;
    else {
      consoleT.level = opts.level;
      (consoleT as unknown as { format: string }).format = format;
      // stderr for every level: stdout belongs to command output. When stderr goes away (the tray
      // that forked us died, a closed pipe), console lines stop: an EPIPE must never become a
      // log line that writes to stderr again. The file keeps every line.
      let stderrGone = !process.stderr.writable;
      process.stderr.on('error', () => {
        stderrGone = true;
      });
      (consoleT as unknown as { writeFn: (o: { message: { data: unknown[] } }) => void }).writeFn = ({ message }) => {
        if (stderrGone || !process.stderr.writable) return;
        process.stderr.write(`${message.data.map((d) => (typeof d === 'string' ? d : String(d))).join(' ')}\n`);
      };
    }
  }
  const fileT = log.transports.file as unknown as
    | {
        level: LogLevel | false;
        format: string;
        resolvePathFn: () => string;
        maxSize: number;
        writeOptions: { flag: string; mode: number; encoding: BufferEncoding };
        archiveLogFn: (file: { toString(): string }) => void;
      }
    | null
    | undefined;
  if (fileT) {
    if (opts.file) {
      const file = opts.file;
      prepareLogFile(file);
      fileT.level = opts.level;
      fileT.format = format;
      fileT.resolvePathFn = () => file;
      fileT.maxSize = opts.maxFileBytes ?? 5 * 1024 * 1024;
      // Created 0600 like every file in the data dir (electron-log's default is 0666 minus umask).
      fileT.writeOptions = { flag: 'a', mode: 0o600, encoding: 'utf8' };
      const keep = opts.maxArchives ?? 3;
      // electron-log checks the size before each (synchronous) write and calls this, then
      // writes the line to a fresh file: nothing is lost, and the last `keep` files are kept.
      fileT.archiveLogFn = (f) => rotateLogFile(f.toString(), keep);
    } else fileT.level = false;
  }
  for (const name of Object.keys(log.transports)) {
    if (name !== 'console' && name !== 'file') {
      const t = log.transports[name];
      if (t) t.level = false;
    }
  }
  log.hooks.push((message) => {
    message.data = message.data.map((d: unknown) => redactValue(d, secrets));
    return message;
  });

  return {
    error: (...a) => log.error(...a),
    warn: (...a) => log.warn(...a),
    info: (...a) => log.info(...a),
    debug: (...a) => log.debug(...a),
    addSecret: (s) => {
      if (s) secrets.add(s);
    },
    knownSecrets: () => [...secrets],
  };
}

/** `dir/name.log` -> `dir/name.<n>.log` (n = 1 is the newest archive). */
export function archivedLogPath(file: string, n: number): string {
  const p = path.parse(file);
  return path.join(p.dir, `${p.name}.${n}${p.ext}`);
}

/** Shift `name.1.log … name.(keep-1).log` up by one (the oldest falls off) and move the live file to `name.1.log`. */
export function rotateLogFile(file: string, keep: number): void {
  try {
    if (keep <= 0) {
      fs.rmSync(file, { force: true });
      return;
    }
    fs.rmSync(archivedLogPath(file, keep), { force: true });
    for (let n = keep - 1; n >= 1; n--) {
      const from = archivedLogPath(file, n);
      if (fs.existsSync(from)) fs.renameSync(from, archivedLogPath(file, n + 1));
    }
    fs.renameSync(file, archivedLogPath(file, 1));
  } catch (err) {
    process.stderr.write(`log rotation of ${file} failed: ${err instanceof Error ? err.message : String(err)}\n`);
  }
}

/** The log's dir 0700 and file 0600 before electron-log first opens it. */
function prepareLogFile(file: string): void {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.closeSync(fs.openSync(file, 'a', 0o600));
  } catch {
    // electron-log reports its own write errors; a log file is never a reason to fail start-up.
  }
}

/** A logger that drops everything: for unit tests and pure code paths. */
export const silentLogger: Logger = {
  error() {},
  warn() {},
  info() {},
  debug() {},
  addSecret() {},
  knownSecrets: () => [],
};
