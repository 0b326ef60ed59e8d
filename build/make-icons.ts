/**
 * Draws the tray icons into assets/ (committed outputs; rerun after changing a shape):
 *   npx tsx build/make-icons.ts            (--out <dir> writes them elsewhere)
 *
 * No image tool needed: shapes are signed-distance functions, supersampled 4x4
 * per pixel, written with a minimal PNG encoder (node:zlib) and packed into ICO
 * files as PNG entries (Windows Vista+ reads those).
 *
 * Colour icons (Linux, Windows): a filled disc in the state's colour with a
 * contrasting glyph and a thin dark rim, so they read on light and dark panels.
 * macOS template icons: black + alpha only; the menu bar recolours them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { isMainModule } from './main-module.mjs';

export type IconState = 'healthy' | 'warning' | 'error' | 'stopped';
type Rgba = readonly [number, number, number, number];
/** Coverage in [0, 1] of a shape at unit coordinates (x, y in 0..1). */
type Shape = (x: number, y: number) => number;
interface Layer {
  shape: Shape;
  color: Rgba;
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outDir = path.join(root, 'assets');

// ---- shapes (distance-based, with a one-sample soft edge) ----
const disc =
  (cx: number, cy: number, r: number): Shape =>
  (x, y) =>
    Math.hypot(x - cx, y - cy) <= r ? 1 : 0;
const ring =
  (cx: number, cy: number, r: number, w: number): Shape =>
  (x, y) =>
    Math.abs(Math.hypot(x - cx, y - cy) - r) <= w / 2 ? 1 : 0;
function segDist(x: number, y: number, ax: number, ay: number, bx: number, by: number): number {
  const dx = bx - ax;
  const dy = by - ay;
  const t = Math.max(0, Math.min(1, ((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy)));
  return Math.hypot(x - (ax + t * dx), y - (ay + t * dy));
}
const stroke =
  (points: Array<[number, number]>, w: number): Shape =>
  (x, y) => {
    for (let i = 0; i + 1 < points.length; i++) {
      const a = points[i]!;
      const b = points[i + 1]!;
      if (segDist(x, y, a[0], a[1], b[0], b[1]) <= w / 2) return 1;
    }
    return 0;
  };
const rect =
  (x0: number, y0: number, x1: number, y1: number): Shape =>
  (x, y) =>
    x >= x0 && x <= x1 && y >= y0 && y <= y1 ? 1 : 0;
const union =
  (...shapes: Shape[]): Shape =>
  (x, y) =>
    shapes.some((s) => s(x, y) > 0) ? 1 : 0;
const minus =
  (a: Shape, b: Shape): Shape =>
  (x, y) =>
    a(x, y) > 0 && !(b(x, y) > 0) ? 1 : 0;

const GLYPH: Record<IconState, Shape> = {
  healthy: stroke(
    [
      [0.28, 0.52],
      [0.43, 0.67],
      [0.72, 0.36],
    ],
    0.13,
  ),
  warning: union(stroke([[0.5, 0.25], [0.5, 0.56]], 0.14), disc(0.5, 0.74, 0.08)),
  error: union(stroke([[0.34, 0.34], [0.66, 0.66]], 0.13), stroke([[0.66, 0.34], [0.34, 0.66]], 0.13)),
  stopped: rect(0.34, 0.34, 0.66, 0.66),
};

// GitHub Primer palette: success, attention, danger, neutral.
const FILL: Record<IconState, Rgba> = {
  healthy: [0x2d, 0xa4, 0x4e, 255],
  warning: [0xd4, 0xa7, 0x2c, 255],
  error: [0xcf, 0x22, 0x2e, 255],
  stopped: [0x6e, 0x77, 0x81, 255],
};
const GLYPH_COLOR: Record<IconState, Rgba> = {
  healthy: [255, 255, 255, 255],
  warning: [0x24, 0x29, 0x2f, 255], // dark on amber: white on amber is illegible
  error: [255, 255, 255, 255],
  stopped: [255, 255, 255, 255],
};
const RIM: Rgba = [0x1f, 0x23, 0x28, 200];

function colourLayers(state: IconState): Layer[] {
  return [
    { shape: disc(0.5, 0.5, 0.47), color: RIM },
    { shape: disc(0.5, 0.5, 0.42), color: FILL[state] },
    { shape: GLYPH[state], color: GLYPH_COLOR[state] },
  ];
}

function templateLayers(state: IconState): Layer[] {
  // Filled disc with the glyph cut out; "stopped" is a hollow ring so it reads as "off".
  const black: Rgba = [0, 0, 0, 255];
  if (state === 'stopped') return [{ shape: union(ring(0.5, 0.5, 0.4, 0.1), rect(0.4, 0.4, 0.6, 0.6)), color: black }];
  return [{ shape: minus(disc(0.5, 0.5, 0.45), GLYPH[state]), color: black }];
}

// ---- raster ----
export function render(size: number, layers: Layer[], ss = 4): Buffer {
  const px = Buffer.alloc(size * size * 4);
  for (let py = 0; py < size; py++) {
    for (let pxX = 0; pxX < size; pxX++) {
      let r = 0;
      let g = 0;
      let b = 0;
      let a = 0; // premultiplied accumulation over subsamples
      for (let sy = 0; sy < ss; sy++) {
        for (let sx = 0; sx < ss; sx++) {
          const x = (pxX + (sx + 0.5) / ss) / size;
          const y = (py + (sy + 0.5) / ss) / size;
          let cr = 0;
          let cg = 0;
          let cb = 0;
          let ca = 0;
          for (const layer of layers) {
            const cov = layer.shape(x, y);
            if (cov <= 0) continue;
            const la = (layer.color[3] / 255) * cov;
            cr = layer.color[0] * la + cr * (1 - la);
            cg = layer.color[1] * la + cg * (1 - la);
            cb = layer.color[2] * la + cb * (1 - la);
            ca = la + ca * (1 - la);
          }
          r += cr;
          g += cg;
          b += cb;
          a += ca;
        }
      }
      const n = ss * ss;
      const i = (py * size + pxX) * 4;
      const alpha = a / n;
      px[i] = alpha > 0 ? Math.round(r / n / alpha) : 0;
      px[i + 1] = alpha > 0 ? Math.round(g / n / alpha) : 0;
      px[i + 2] = alpha > 0 ? Math.round(b / n / alpha) : 0;
      px[i + 3] = Math.round(alpha * 255);
    }
  }
  return px;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();
function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const byte of buf) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

export function encodePng(size: number, rgba: Buffer): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0; // filter: none
    rgba.copy(raw, y * (size * 4 + 1) + 1, y * size * 4, (y + 1) * size * 4);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

export function encodeIco(entries: Array<{ size: number; png: Buffer }>): Buffer {
  const header = Buffer.alloc(6);
  header.writeUInt16LE(0, 0);
  header.writeUInt16LE(1, 2); // type: icon
  header.writeUInt16LE(entries.length, 4);
  const dir = Buffer.alloc(16 * entries.length);
  let offset = 6 + dir.length;
  entries.forEach((e, i) => {
    const o = i * 16;
    dir[o] = e.size >= 256 ? 0 : e.size;
    dir[o + 1] = e.size >= 256 ? 0 : e.size;
    dir[o + 2] = 0; // palette
    dir[o + 3] = 0;
    dir.writeUInt16LE(1, o + 4); // planes
    dir.writeUInt16LE(32, o + 6); // bpp
    dir.writeUInt32LE(e.png.length, o + 8);
    dir.writeUInt32LE(offset, o + 12);
    offset += e.png.length;
  });
  return Buffer.concat([header, dir, ...entries.map((e) => e.png)]);
}

export const ICON_STATES: IconState[] = ['healthy', 'warning', 'error', 'stopped'];

/** Draws every icon into `dir`; returns the file names written. */
export function writeIcons(dir: string = outDir): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  const write = (name: string, data: Buffer) => {
    fs.writeFileSync(path.join(dir, name), data);
    written.push(name);
  };
  for (const state of ICON_STATES) {
    const pngs = [16, 32, 48].map((size) => ({ size, png: encodePng(size, render(size, colourLayers(state))) }));
    for (const { size, png } of pngs) if (size !== 48) write(`tray-${state}-${size}.png`, png);
    write(`tray-${state}.ico`, encodeIco(pngs));
    write(`tray-${state}-Template.png`, encodePng(16, render(16, templateLayers(state))));
    write(`tray-${state}-Template@2x.png`, encodePng(32, render(32, templateLayers(state))));
  }
  return written;
}

function main(): void {
  const i = process.argv.indexOf('--out');
  const arg = i > 0 ? process.argv[i + 1] : undefined;
  const dir = arg ? path.resolve(arg) : outDir;
  writeIcons(dir);
  console.log(`icons written to ${path.relative(process.cwd(), dir) || dir}`);
}

if (isMainModule(import.meta.url)) main();
