/** Small, pure output helpers shared by the commands. */

export type Colour = 'green' | 'yellow' | 'red' | 'bold' | 'dim' | 'cyan';

const CODES: Record<Colour, [number, number]> = {
  green: [32, 39],
  yellow: [33, 39],
  red: [31, 39],
  cyan: [36, 39],
  bold: [1, 22],
  dim: [2, 22],
};

export function paint(enabled: boolean, colour: Colour, text: string): string {
  if (!enabled) return text;
  const [open, close] = CODES[colour];
  return `\u001b[${open}m${text}\u001b[${close}m`;
}

/** Colour only on a TTY, and never when NO_COLOR is set (https://no-color.org). */
export function useColour(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '' && env.FORCE_COLOR !== '0') return true;
  return stream.isTTY === true;
}

/** `gho_…abcd` at most: the kind prefix and the last 4 characters, only for long secrets. */
export function maskSecret(secret: string | undefined | null): string {
  if (!secret) return '(not set)';
  const prefix = /^([a-z]{2,4}_|github_pat_)/.exec(secret)?.[1] ?? '';
  if (secret.length < 16) return `${prefix}…`;
  return `${prefix}…${secret.slice(-4)}`;
}

/** A plain left-aligned table; columns listed in `right` are right-aligned. */
export function table(headers: string[], rows: string[][], right: ReadonlySet<number> = new Set()): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (right.has(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function formatCount(n: number | null | undefined): string {
  if (n === null || n === undefined) return '-';
  return n.toLocaleString('en-US');
}
