import fs from 'node:fs';
import path from 'node:path';
import type { LogLevel } from './config/schema.ts';

export interface Logger {
  error(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  info(...args: unknown[]): void;
  debug(...args: unknown[]): void;
  /** Register a value (a token, an API key) that must never be written, whatever its shape. Copilot tokens: the most recent MAX_COPILOT_SECRETS. */
  addSecret(secret: string): void;
  /** Every secret registered so far, current and past (heap-snapshot redaction uses them). */
  knownSecrets(): string[];
}

export interface LoggerOptions {
  level: LogLevel;
  /** Log file path; omitted = no file (CLI one-shots). */
  file?: string;
  /** Console output; default true. Goes to stderr so stdout stays clean for command output. */
  console?: boolean;
  /** Where console output goes (tests); default stderr (processConsole). */
  consoleDeps?: ConsoleSinkDeps;
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
  [/\b(Bearer)\s+[A-Za-z0-9._~+/=;:-]{8,}/gi, '$1 [REDACTED]'],
  // "token <value>" (an Authorization scheme), unless the value is a plain lowercase word under 20 letters: prose ("the token exchange").
  [/\b([Tt]oken|TOKEN)\s+(?![a-z]{8,19}(?![A-Za-z0-9._~+/=;:-]))[A-Za-z0-9._~+/=;:-]{8,}/g, '$1 [REDACTED]'],
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

/** How many Copilot tokens a logger keeps redacting (the most recent): hours of 25-minute refreshes; older ones have expired. */
export const MAX_COPILOT_SECRETS = 16;

const LEVEL_RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** `2026-11-30 03:09:50.123` in local time, as the log has always shown it. */
export function logTimestamp(d: Date): string {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** The longest text one log line carries; the rest is counted, not written (a client-chosen 1 MB name must not fill the log). */
export const LOG_LINE_MAX_CHARS = 8192;

/**
 * Text as exactly one log line: control characters (CR, LF, ESC, the C1 set,
 * Unicode line separators) are written as escapes, so no value, client-chosen
 * or not, can start a forged line or drive the terminal; overlong text is cut.
 * Pure.
 */
export function oneLogLine(text: string): string {
  const cut = text.length > LOG_LINE_MAX_CHARS ? `${text.slice(0, LOG_LINE_MAX_CHARS)}… (${text.length - LOG_LINE_MAX_CHARS} more characters)` : text;
  // eslint-disable-next-line no-control-regex
  return cut.replace(/[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => (c === '\n' ? '\\n' : c === '\r' ? '\\r' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}

/** One argument as log text: strings as they are, errors with their stack, anything else as JSON. */
function argText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v instanceof Error) return v.stack ?? `${v.name}: ${v.message}`;
  return String(v);
}

/**
 * The log file: kept open (O_APPEND, 0600), one write(2) per line, the size
 * tracked in memory and the file rotated (rotateLogFile) before a line would
 * take it past `maxBytes`. Synchronous on purpose: a line is in the kernel's
 * page cache before the call returns, so a crash loses nothing, and the cost
 * is one system call (a few microseconds), not a formatter and an
 * open/stat/close per line as before.
 */
function fileSink(file: string, maxBytes: number, keep: number, onError: (e: unknown) => void): (line: string) => void {
  prepareLogFile(file);
  let fd: number | null = null;
  let size = 0;
  const open = (): number => {
    const f = fs.openSync(file, 'a', 0o600);
    size = fs.fstatSync(f).size;
    fd = f;
    return f;
  };
  return (line) => {
    try {
      let f = fd ?? open();
      const bytes = Buffer.byteLength(line);
      if (size > 0 && size + bytes > maxBytes) {
        fs.closeSync(f);
        fd = null;
        rotateLogFile(file, keep);
        f = open();
      }
      fs.writeSync(f, line);
      size += bytes;
    } catch (e) {
      if (fd !== null) {
        try {
          fs.closeSync(fd);
        } catch {
          /* already gone */
        }
        fd = null;
      }
      onError(e);
    }
  };
}

/** Where the console copy of the log goes and how it waits: stderr, setImmediate and process 'exit' in the app. */
export interface ConsoleSinkDeps {
  stream: {
    readonly writable: boolean;
    readonly destroyed: boolean;
    write(text: string): unknown;
    on(event: 'error', listener: (err: Error) => void): unknown;
    listenerCount(event: 'error'): number;
  };
  /** Runs `fn` once the current turn of the event loop is done. */
  later(fn: () => void): void;
  /** Runs `fn` when the process exits; the returned function cancels that. */
  atExit(fn: () => void): () => void;
}

export const processConsole = (): ConsoleSinkDeps => ({
  stream: process.stderr,
  later: (fn) => setImmediate(fn),
  atExit: (fn) => {
    process.once('exit', fn);
    return () => process.off('exit', fn);
  },
});

/**
 * The console copy of the log. Errors and warnings are written at once: an
 * exit may follow them. Info and debug lines, the request log, wait for the
 * end of the current turn of the event loop, or for a normal exit
 * (`process.exit` included), with at most 64 Ki characters waiting: under load
 * one write(2) carries every request that ended in that turn. Each line was
 * its own write, and with stderr a pipe (the load bench, a desktop session's
 * journal) that made the request log cost 15-20 % of the CPU per request (the
 * README's Performance section). The log file still takes each line as it
 * comes, so what a signal or a crash cuts short on the console is in the file.
 *
 * When the stream goes away (the tray that forked us died, a closed pipe),
 * console lines stop: an EPIPE must never become a log line that writes to
 * it again. One do-nothing error listener keeps an EPIPE from being thrown;
 * a stream that already has one (another logger's) gets no second.
 */
export function consoleSink(deps: ConsoleSinkDeps): (line: string, now: boolean) => void {
  const { stream } = deps;
  if (stream.listenerCount('error') === 0) stream.on('error', () => undefined);
  let pending = '';
  let cancelExit: (() => void) | null = null;
  const flush = () => {
    cancelExit?.();
    cancelExit = null;
    const text = pending;
    pending = '';
    if (text && stream.writable && !stream.destroyed) stream.write(text);
  };
  return (line, now) => {
    if (!now && !pending) {
      deps.later(flush);
      cancelExit = deps.atExit(flush);
    }
    pending += line;
    if (now || pending.length >= 65_536) flush();
  };
}

export function createLogger(opts: LoggerOptions): Logger {
  const secrets = new Set<string>();
  const maxRank = LEVEL_RANK[opts.level];
  const scope = opts.scope ? ` [${opts.scope}]` : '';
  // stderr for every level: stdout belongs to command output.
  const toConsole = opts.console !== false ? consoleSink(opts.consoleDeps ?? processConsole()) : null;
  // A file that cannot be written (not writable, disk full) is said once on stderr, not swallowed:
  // through the console sink when there is one, after the lines that wait there.
  let reportedFailure = false;
  const reportFileError = (e: unknown) => {
    if (reportedFailure) return;
    reportedFailure = true;
    const line = `log: cannot write to ${opts.file ?? 'the log file'} (${redact(e instanceof Error ? e.message : String(e), secrets)}); further log-file errors are not shown\n`;
    if (toConsole) toConsole(line, true);
    else process.stderr.write(line);
  };
  const toFile = opts.file ? fileSink(opts.file, opts.maxFileBytes ?? 5 * 1024 * 1024, opts.maxArchives ?? 3, reportFileError) : null;

  const write = (level: LogLevel, args: unknown[]) => {
    if (LEVEL_RANK[level] > maxRank) return;
    const text = oneLogLine(args.map((a) => argText(redactValue(a, secrets))).join(' '));
    const line = `[${logTimestamp(new Date())}] [${level}]${scope} ${text}\n`;
    toConsole?.(line, LEVEL_RANK[level] <= LEVEL_RANK.warn);
    toFile?.(line);
  };

  return {
    error: (...a) => write('error', a),
    warn: (...a) => write('warn', a),
    info: (...a) => write('info', a),
    debug: (...a) => write('debug', a),
    addSecret: (s) => {
      if (!s) return;
      // Most recent last. Copilot tokens (`tid=…`, one per refresh, each dead within 30 minutes)
      // are kept to the last MAX_COPILOT_SECRETS: a set that grew by every refresh cost each line
      // 341 µs after 30 days (#22). GitHub tokens and the api_key are few and are all kept.
      secrets.delete(s);
      secrets.add(s);
      if (!s.startsWith('tid=')) return;
      const copilot = [...secrets].filter((x) => x.startsWith('tid='));
      for (const old of copilot.slice(0, Math.max(0, copilot.length - MAX_COPILOT_SECRETS))) secrets.delete(old);
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

/** The log's dir 0700 and file 0600 before it is first opened. */
function prepareLogFile(file: string): void {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.closeSync(fs.openSync(file, 'a', 0o600));
  } catch {
    // The first write reports what went wrong; a log file is never a reason to fail start-up.
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
