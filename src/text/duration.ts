/**
 * Durations for people, one function for every surface. `precise` is the Go
 * tool's `29m 53s` (CLI); `short` rounds to the largest unit (`24m`, `1h 5m`:
 * the tray menu, where the text is re-rendered every half minute).
 */
export function formatDuration(totalSec: number, style: 'precise' | 'short' = 'precise'): string {
  const s = Math.max(0, style === 'precise' ? Math.floor(totalSec) : Math.round(totalSec));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (style === 'precise') return h > 0 ? `${h}h ${m}m ${sec}s` : `${m}m ${sec}s`;
  if (s < 60) return `${s}s`;
  if (h === 0) return `${m}m`;
  return m === 0 ? `${h}h` : `${h}h ${m}m`;
}
