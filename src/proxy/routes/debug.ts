import { Session } from 'node:inspector/promises';
import { performance } from 'node:perf_hooks';
import { createWatchedLoopDelay } from '../watched-loop-delay.ts';
import { Transform, pipeline, type TransformCallback } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import v8 from 'node:v8';
import type { RequestHandler } from '../http.ts';
import { AppError, InvalidRequestError } from '../../errors.ts';
import type { ProxyContext } from '../context.ts';
import { CPU_PROFILE_MAX_SECONDS, ROUTES } from './table.ts';

/**
 * Node's counterparts of Go's net/http/pprof, for `debug_endpoints` (default on
 * when bound to loopback) and loopback connections only (and the api_key when
 * one is set). A heap snapshot is a copy of the process's memory, tokens
 * included: it is streamed through `redactingLines`, which cuts the known
 * secrets and anything token-shaped, line by line (V8 writes one string per line).
 *
 *   GET /debug                      this list
 *   GET /debug/heap-snapshot        a .heapsnapshot (Chrome DevTools > Memory > Load)
 *   GET /debug/cpu-profile?seconds=N a .cpuprofile (DevTools > Performance > Load profile)
 *   GET /debug/event-loop           event-loop delay percentiles and utilisation
 *   GET /debug/handles              active handles/resources (what keeps the process alive)
 *   GET /debug/memory               process.memoryUsage() and V8 heap statistics
 */


export type DebugHandlers = {
  index: RequestHandler;
  heapSnapshot: RequestHandler;
  cpuProfile: RequestHandler;
  eventLoop: RequestHandler;
  handles: RequestHandler;
  memory: RequestHandler;
};

/** The /debug routes (the table's `debug` entries; loopback and the api_key are the table's `admin` auth). */
export function debugHandlers(ctx: ProxyContext): DebugHandlers {
  // The delay monitor (10 ms) runs only while /debug is in use: the first call starts it, and it
  // stops 5 minutes after the last (an idle proxy must not wake 100 times a second).
  const watched = createWatchedLoopDelay();
  let eluSince = performance.eventLoopUtilization();
  let delaySince = ctx.now();
  let profiling = false;
  // One heap snapshot at a time: each pauses the proxy while V8 writes it, and several at once
  // also held several copies in memory (8 in parallel kept /health waiting 5 s).
  let snapshotting = false;

  // Every /debug call keeps the monitor running and is never cached.
  const watch =
    (h: RequestHandler): RequestHandler =>
    (req, res, next) => {
      if (!watched.running) delaySince = ctx.now();
      watched.touch();
      res.set('cache-control', 'no-store');
      return h(req, res, next);
    };

  const index: RequestHandler = (_req, res) => {
    res.json({ endpoints: Object.fromEntries(ROUTES.flatMap((r) => (r.debug && r.about !== undefined ? [[r.about.usage, r.about.what]] : []))) });
  };

  const heapSnapshot: RequestHandler = async (_req, res) => {
    if (snapshotting) throw new AppError('A heap snapshot is already being taken; try again when it is done', { code: 'snapshot_in_progress', status: 409 });
    snapshotting = true;
    // Every token this process has held (current and past, any shape), the current GitHub token and the api_key.
    try {
      const secrets = [...ctx.log.knownSecrets(), ctx.config.api_key, await ctx.tokens.getGithubToken().catch(() => undefined)].filter((s): s is string => Boolean(s));
      const name = `github-copilot-svcs-${stamp(ctx.now())}.heapsnapshot`;
      res.set('content-type', 'application/json');
      res.set('content-disposition', `attachment; filename="${name}"`);
      pipeline(v8.getHeapSnapshot(), redactingLines(secrets), res, (err) => {
        snapshotting = false;
        if (err && !res.destroyed) res.destroy();
      });
    } catch (err) {
      // Nothing was started (the pipeline's callback resets the flag once it runs).
      snapshotting = false;
      throw err;
    }
  };

  const cpuProfile: RequestHandler = async (req, res) => {
    const asked = req.query.get('seconds');
    const seconds = asked === null ? 10 : Number(asked);
    if (!Number.isFinite(seconds) || seconds < 0.1 || seconds > CPU_PROFILE_MAX_SECONDS) {
      throw new InvalidRequestError(`seconds must be a number from 0.1 to ${CPU_PROFILE_MAX_SECONDS}`, { param: 'seconds' });
    }
    if (profiling) throw new AppError('A CPU profile is already being taken; try again when it is done', { code: 'profile_in_progress', status: 409 });
    profiling = true;
    const session = new Session();
    try {
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: 1000 });
      await session.post('Profiler.start');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, seconds * 1000);
        // A client that gives up stops the profile early.
        res.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      const { profile } = await session.post('Profiler.stop');
      if (res.destroyed || res.writableEnded) return;
      const name = `github-copilot-svcs-${stamp(ctx.now())}.cpuprofile`;
      res.set('content-disposition', `attachment; filename="${name}"`);
      res.text(JSON.stringify(profile), 'application/json; charset=utf-8');
    } finally {
      profiling = false;
      session.disconnect();
    }
  };

  const eventLoop: RequestHandler = (req, res) => {
    const loopDelay = watched.touch();
    const ms = (ns: number) => Math.round((ns / 1e6) * 1000) / 1000;
    const elu = performance.eventLoopUtilization(eluSince);
    const body = {
      since: new Date(delaySince).toISOString(),
      delay_ms: {
        min: ms(loopDelay.min),
        mean: ms(loopDelay.mean),
        stddev: ms(loopDelay.stddev),
        p50: ms(loopDelay.percentile(50)),
        p90: ms(loopDelay.percentile(90)),
        p99: ms(loopDelay.percentile(99)),
        max: ms(loopDelay.max),
      },
      samples: loopDelay.count,
      resolution_ms: 10,
      utilization: Math.round(elu.utilization * 10_000) / 10_000,
    };
    if (req.query.get('reset') === '1' || req.query.get('reset') === 'true') {
      loopDelay.reset();
      eluSince = performance.eventLoopUtilization();
      delaySince = ctx.now();
    }
    res.json(body);
  };

  const handles: RequestHandler = (_req, res) => {
    const resources = process.getActiveResourcesInfo();
    const counts: Record<string, number> = {};
    for (const r of resources) counts[r] = (counts[r] ?? 0) + 1;
    res.json({ total: resources.length, by_type: counts, resources, in_flight_requests: ctx.stats.inFlight, in_flight_streams: ctx.stats.inFlightStreams });
  };

  const memory: RequestHandler = (_req, res) => {
    res.json({ memory: process.memoryUsage(), heap: v8.getHeapStatistics(), uptime_s: Math.round(process.uptime()) });
  };

  return {
    index: watch(index),
    heapSnapshot: watch(heapSnapshot),
    cpuProfile: watch(cpuProfile),
    eventLoop: watch(eventLoop),
    handles: watch(handles),
    memory: watch(memory),
  };
}

// Token shapes as in log.ts, but never eating a backslash or a quote: the text is JSON and must stay JSON.
const HEAP_SECRET_PATTERNS: Array<[RegExp, string]> = [
  [/\bgh[opsur]_[A-Za-z0-9_]{6,}/g, 'gh*_[REDACTED]'],
  [/\bgithub_pat_[A-Za-z0-9_]{10,}/g, 'github_pat_[REDACTED]'],
  [/\btid=[A-Za-z0-9._~+/=;:-]+/g, 'tid=[REDACTED]'],
  [/\b(Bearer|token)\s+[A-Za-z0-9._~+/=;:-]{8,}/gi, '$1 [REDACTED]'],
];

/** Pure: `text` (a piece of JSON) with the given secrets and anything token-shaped replaced; JSON-safe. */
export function redactJsonText(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 6) out = out.split(s).join('[REDACTED]');
  for (const [re, rep] of HEAP_SECRET_PATTERNS) out = out.replace(re, rep);
  return out;
}

/** Redacts each complete line (secrets never span lines: V8 writes one heap string per line). */
export function redactingLines(secrets: readonly string[]): Transform {
  let tail = '';
  const decoder = new StringDecoder('utf8');
  return new Transform({
    decodeStrings: false,
    transform(chunk: Buffer | string, _enc, cb: TransformCallback) {
      const text = tail + (typeof chunk === 'string' ? chunk : decoder.write(chunk));
      const cut = text.lastIndexOf('\n') + 1;
      tail = text.slice(cut);
      cb(null, cut > 0 ? redactJsonText(text.slice(0, cut), secrets) : undefined);
    },
    flush(cb: TransformCallback) {
      const rest = tail + decoder.end();
      cb(null, rest ? redactJsonText(rest, secrets) : undefined);
    },
  });
}

function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[:.]/g, '-');
}
