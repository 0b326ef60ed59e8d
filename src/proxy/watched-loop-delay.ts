import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/**
 * Node's event-loop delay monitor, running only while someone watches: a
 * `/metrics` scrape or a `/debug` call starts it (or keeps it running), and
 * it stops after `idleMs` without one. A 10 ms monitor wakes the process 100
 * times a second; a tray app idles all day on laptops (#22: the two monitors
 * that ran for the life of the process were most of its idle wake-ups).
 */
export interface WatchedLoopDelay {
  /** Someone is watching: start the monitor (or keep it running) for another `idleMs`. */
  touch(): IntervalHistogram;
  /** Whether it runs now. */
  readonly running: boolean;
  stop(): void;
}

export function createWatchedLoopDelay(opts: { idleMs?: number; resolutionMs?: number } = {}): WatchedLoopDelay {
  const idleMs = opts.idleMs ?? 5 * 60_000;
  let hist: IntervalHistogram | null = null;
  let timer: NodeJS.Timeout | null = null;
  const stop = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    hist?.disable();
    hist = null;
  };
  return {
    touch() {
      if (hist === null) {
        hist = monitorEventLoopDelay({ resolution: opts.resolutionMs ?? 10 });
        hist.enable();
      }
      if (timer !== null) clearTimeout(timer);
      timer = setTimeout(stop, idleMs);
      timer.unref();
      return hist;
    },
    get running() {
      return hist !== null;
    },
    stop,
  };
}
