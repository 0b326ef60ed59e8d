import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/**
 * A minimal X11 protocol client: what the tray needs and nothing more (is
 * there an XEmbed tray? own the CLIPBOARD selection). Encoders and decoders
 * are pure functions over Buffers; connectX11() is the only I/O.
 *
 * Sources: "X Window System Protocol" (X Consortium Standard, X11R7.7),
 * sections 8 (connection setup) and 9 (requests), and the Xau file format of
 * libXau (AuRead.c, AuGetBest.c). We always speak little-endian ('l').
 */

export const ATOM_NONE = 0;
export const CURRENT_TIME = 0;
export const ATOM_ATOM = 4;
export const ATOM_STRING = 31;

// ---- DISPLAY ----

export interface DisplayName {
  /** '' for this machine over a unix socket; a hostname or address for TCP; an absolute socket path (XQuartz). */
  host: string;
  display: number;
  screen: number;
}

/** `:0`, `:0.1`, `unix:0`, `localhost:10.0`, `[::1]:0`, `/private/tmp/…/org.xquartz:0`. Null when it is not a display name. */
export function parseDisplay(name: string): DisplayName | null {
  const m = /^(.*):(\d+)(?:\.(\d+))?$/.exec(name.trim());
  if (!m) return null;
  let host = m[1] ?? '';
  if (host === 'unix') host = '';
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  // `host/unix:0` (protocol/host): only the host part names where to go.
  const slash = host.indexOf('/');
  if (slash > 0) host = host.slice(slash + 1) === 'unix' ? '' : host.slice(0, slash);
  return { host, display: Number(m[2]), screen: m[3] === undefined ? 0 : Number(m[3]) };
}

export type XEndpoint = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

/** Where to connect, in the order to try (the socket file, then Linux's abstract namespace, as libxcb does in reverse). */
export function endpointsFor(d: DisplayName, platform: NodeJS.Platform = process.platform): XEndpoint[] {
  if (d.host.startsWith('/')) return [{ kind: 'unix', path: `${d.host}:${d.display}` }];
  if (d.host === '') {
    const file = `/tmp/.X11-unix/X${d.display}`;
    return platform === 'linux' ? [{ kind: 'unix', path: file }, { kind: 'unix', path: `\0${file}` }] : [{ kind: 'unix', path: file }];
  }
  return [{ kind: 'tcp', host: d.host, port: 6000 + d.display }];
}

// ---- Xauthority ----

export const FAMILY_INTERNET = 0;
export const FAMILY_INTERNET6 = 6;
export const FAMILY_LOCAL = 256;
export const FAMILY_WILD = 65535;
export const MIT_MAGIC_COOKIE = 'MIT-MAGIC-COOKIE-1';

export interface XauthEntry {
  family: number;
  address: Buffer;
  /** The display number as text; '' matches any display. */
  number: string;
  name: string;
  data: Buffer;
}

/** The entries of an Xauthority file (big-endian lengths, libXau AuRead.c). A truncated last entry is dropped. */
export function parseXauthority(buf: Buffer): XauthEntry[] {
  const out: XauthEntry[] = [];
  let o = 0;
  const field = (): Buffer | null => {
    if (o + 2 > buf.length) return null;
    const n = buf.readUInt16BE(o);
    if (o + 2 + n > buf.length) return null;
    const b = buf.subarray(o + 2, o + 2 + n);
    o += 2 + n;
    return b;
  };
  while (o + 2 <= buf.length) {
    const family = buf.readUInt16BE(o);
    o += 2;
    const address = field();
    const number = field();
    const name = field();
    const data = field();
    if (!address || !number || !name || !data) break;
    out.push({ family, address: Buffer.from(address), number: number.toString('latin1'), name: name.toString('latin1'), data: Buffer.from(data) });
  }
  return out;
}

/** Who we are to the server, for choosing a cookie: Local + hostname for a unix socket or loopback TCP. */
export interface XauthPeer {
  family: number;
  address: Buffer;
  display: number;
}

/** The first MIT-MAGIC-COOKIE-1 entry that matches, by libXau's XauGetBestAuthByAddr rules (Wild matches any address, '' any display). */
export function findCookie(entries: readonly XauthEntry[], peer: XauthPeer): { name: string; data: Buffer } | null {
  const number = String(peer.display);
  for (const e of entries) {
    if (e.name !== MIT_MAGIC_COOKIE) continue;
    const addressOk = e.family === FAMILY_WILD || (e.family === peer.family && e.address.equals(peer.address));
    const numberOk = e.number === '' || e.number === number;
    if (addressOk && numberOk) return { name: e.name, data: e.data };
  }
  return null;
}

/** The Xauthority file: $XAUTHORITY, else ~/.Xauthority. */
export function xauthorityPath(env: NodeJS.ProcessEnv): string | null {
  if (env.XAUTHORITY) return env.XAUTHORITY;
  const home = env.HOME ?? os.homedir();
  return home ? path.join(home, '.Xauthority') : null;
}

/** The peer identity libxcb uses: loopback and unix sockets are Local + hostname; other TCP peers by address. */
export function peerFor(endpoint: XEndpoint, remoteAddress: string | undefined, display: number, hostname: string): XauthPeer {
  const local = { family: FAMILY_LOCAL, address: Buffer.from(hostname, 'latin1'), display };
  if (endpoint.kind === 'unix' || !remoteAddress) return local;
  const v4 = /^(?:::ffff:)?(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(remoteAddress);
  if (v4) {
    const bytes = v4.slice(1, 5).map(Number);
    if (bytes[0] === 127) return local;
    return { family: FAMILY_INTERNET, address: Buffer.from(bytes), display };
  }
  if (remoteAddress === '::1') return local;
  return { family: FAMILY_INTERNET6, address: ipv6Bytes(remoteAddress), display };
}

function ipv6Bytes(a: string): Buffer {
  const [head = '', tail = ''] = a.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = a.includes('::') ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
  const b = Buffer.alloc(16);
  groups.slice(0, 8).forEach((g, i) => b.writeUInt16BE(parseInt(g, 16) || 0, i * 2));
  return b;
}

// ---- connection setup ----

const pad4 = (n: number): number => (n + 3) & ~3;

export function encodeSetupRequest(auth: { name: string; data: Buffer } | null): Buffer {
  const name = Buffer.from(auth?.name ?? '', 'latin1');
  const data = auth?.data ?? Buffer.alloc(0);
  const b = Buffer.alloc(12 + pad4(name.length) + pad4(data.length));
  b[0] = 0x6c; // 'l': little-endian
  b.writeUInt16LE(11, 2);
  b.writeUInt16LE(0, 4);
  b.writeUInt16LE(name.length, 6);
  b.writeUInt16LE(data.length, 8);
  name.copy(b, 12);
  data.copy(b, 12 + pad4(name.length));
  return b;
}

export interface X11Setup {
  resourceIdBase: number;
  resourceIdMask: number;
  /** In 4-byte units. */
  maxRequestLength: number;
  /** Root window of each screen. */
  roots: number[];
}

export type SetupReply = { kind: 'incomplete' } | { kind: 'ok'; setup: X11Setup; size: number } | { kind: 'refused'; reason: string; size: number };

/** The server's answer to the setup request (protocol section 8). */
export function decodeSetupReply(buf: Buffer): SetupReply {
  if (buf.length < 8) return { kind: 'incomplete' };
  const size = 8 + 4 * buf.readUInt16LE(6);
  if (buf.length < size) return { kind: 'incomplete' };
  const status = buf[0];
  if (status === 0) return { kind: 'refused', reason: buf.subarray(8, 8 + (buf[1] ?? 0)).toString('latin1').trim() || 'refused', size };
  if (status === 2) return { kind: 'refused', reason: buf.subarray(8, size).toString('latin1').replace(/\0+$/, '').trim() || 'further authentication required', size };
  if (status !== 1 || size < 40) return { kind: 'refused', reason: `unexpected setup status ${status ?? '?'}`, size };
  const vendorLength = buf.readUInt16LE(24);
  const screens = buf[28] ?? 0;
  const formats = buf[29] ?? 0;
  let o = 40 + pad4(vendorLength) + 8 * formats;
  const roots: number[] = [];
  for (let i = 0; i < screens; i++) {
    if (o + 40 > size) return { kind: 'refused', reason: 'malformed setup reply', size };
    roots.push(buf.readUInt32LE(o));
    const depths = buf[o + 39] ?? 0;
    o += 40;
    for (let d = 0; d < depths; d++) {
      if (o + 8 > size) return { kind: 'refused', reason: 'malformed setup reply', size };
      o += 8 + 24 * buf.readUInt16LE(o + 2);
    }
  }
  return {
    kind: 'ok',
    setup: { resourceIdBase: buf.readUInt32LE(12), resourceIdMask: buf.readUInt32LE(16), maxRequestLength: buf.readUInt16LE(26), roots },
    size,
  };
}

// ---- what the server sends after setup ----

export type XPacket =
  | { kind: 'reply'; seq: number; data: Buffer }
  | { kind: 'error'; seq: number; code: number; badValue: number; major: number }
  | { kind: 'event'; code: number; sent: boolean; data: Buffer };

/** Whole packets at the front of `buf`, and the bytes of a packet not complete yet. */
export function readPackets(buf: Buffer): { packets: XPacket[]; rest: Buffer } {
  const packets: XPacket[] = [];
  let o = 0;
  while (o + 32 <= buf.length) {
    const type = buf[o] ?? 0;
    // Replies and GenericEvents (35) carry a length; everything else is 32 bytes.
    const long = type === 1 || (type & 0x7f) === 35;
    const n = long ? 32 + 4 * buf.readUInt32LE(o + 4) : 32;
    if (o + n > buf.length) break;
    const p = buf.subarray(o, o + n);
    if (type === 0) packets.push({ kind: 'error', seq: p.readUInt16LE(2), code: p[1] ?? 0, badValue: p.readUInt32LE(4), major: p[10] ?? 0 });
    else if (type === 1) packets.push({ kind: 'reply', seq: p.readUInt16LE(2), data: Buffer.from(p) });
    else packets.push({ kind: 'event', code: type & 0x7f, sent: (type & 0x80) !== 0, data: Buffer.from(p) });
    o += n;
  }
  return { packets, rest: buf.subarray(o) };
}

const ERROR_NAMES = ['', 'Request', 'Value', 'Window', 'Pixmap', 'Atom', 'Cursor', 'Font', 'Match', 'Drawable', 'Access', 'Alloc', 'Colormap', 'GContext', 'IDChoice', 'Name', 'Length', 'Implementation'];

export function errorText(e: { code: number; major: number; badValue: number }): string {
  return `X error Bad${ERROR_NAMES[e.code] ?? String(e.code)} (request ${e.major}, value 0x${e.badValue.toString(16)})`;
}

// ---- requests (protocol section 9; opcode, then length in 4-byte units) ----

function header(opcode: number, data: number, bytes: number): Buffer {
  const b = Buffer.alloc(bytes);
  b[0] = opcode;
  b[1] = data;
  b.writeUInt16LE(bytes / 4, 2);
  return b;
}

export function internAtomRequest(name: string, onlyIfExists: boolean): Buffer {
  const n = Buffer.from(name, 'latin1');
  const b = header(16, onlyIfExists ? 1 : 0, 8 + pad4(n.length));
  b.writeUInt16LE(n.length, 4);
  n.copy(b, 8);
  return b;
}

export function getSelectionOwnerRequest(selection: number): Buffer {
  const b = header(23, 0, 8);
  b.writeUInt32LE(selection, 4);
  return b;
}

export function setSelectionOwnerRequest(owner: number, selection: number, time: number): Buffer {
  const b = header(22, 0, 16);
  b.writeUInt32LE(owner, 4);
  b.writeUInt32LE(selection, 8);
  b.writeUInt32LE(time, 12);
  return b;
}

/** An unmapped 1x1 InputOnly window: something to own a selection with. */
export function createInputOnlyWindowRequest(wid: number, parent: number): Buffer {
  const b = header(1, 0, 32);
  b.writeUInt32LE(wid, 4);
  b.writeUInt32LE(parent, 8);
  b.writeUInt16LE(1, 16); // width
  b.writeUInt16LE(1, 18); // height
  b.writeUInt16LE(2, 22); // class InputOnly; border 0, visual CopyFromParent, no values
  return b;
}

/** ChangeProperty, mode Replace. `format` 8 (bytes) or 32 (CARD32s, e.g. atoms). */
export function changePropertyRequest(window: number, property: number, type: number, format: 8 | 32, data: Buffer): Buffer {
  const b = header(18, 0, 24 + pad4(data.length));
  b.writeUInt32LE(window, 4);
  b.writeUInt32LE(property, 8);
  b.writeUInt32LE(type, 12);
  b[16] = format;
  b.writeUInt32LE(data.length / (format / 8), 20);
  data.copy(b, 24);
  return b;
}

export function sendEventRequest(destination: number, event: Buffer): Buffer {
  const b = header(25, 0, 44);
  b.writeUInt32LE(destination, 4);
  b.writeUInt32LE(0, 8); // event mask 0: to the client that created the window
  event.copy(b, 12, 0, 32);
  return b;
}

/** A round trip: its reply means every earlier request was processed. */
export function getInputFocusRequest(): Buffer {
  return header(43, 0, 4);
}

// ---- events ----

export const EVENT_SELECTION_CLEAR = 29;
export const EVENT_SELECTION_REQUEST = 30;
export const EVENT_SELECTION_NOTIFY = 31;

export interface SelectionRequest {
  time: number;
  owner: number;
  requestor: number;
  selection: number;
  target: number;
  /** ATOM_NONE from an obsolete client: answer in `target` then (ICCCM 2.2). */
  property: number;
}

export function decodeSelectionRequest(ev: Buffer): SelectionRequest {
  return {
    time: ev.readUInt32LE(4),
    owner: ev.readUInt32LE(8),
    requestor: ev.readUInt32LE(12),
    selection: ev.readUInt32LE(16),
    target: ev.readUInt32LE(20),
    property: ev.readUInt32LE(24),
  };
}

export function decodeSelectionClear(ev: Buffer): { time: number; owner: number; selection: number } {
  return { time: ev.readUInt32LE(4), owner: ev.readUInt32LE(8), selection: ev.readUInt32LE(12) };
}

/** The SelectionNotify the owner sends the requestor; property ATOM_NONE means "refused". */
export function selectionNotifyEvent(r: { time: number; requestor: number; selection: number; target: number; property: number }): Buffer {
  const b = Buffer.alloc(32);
  b[0] = EVENT_SELECTION_NOTIFY;
  b.writeUInt32LE(r.time, 4);
  b.writeUInt32LE(r.requestor, 8);
  b.writeUInt32LE(r.selection, 12);
  b.writeUInt32LE(r.target, 16);
  b.writeUInt32LE(r.property, 20);
  return b;
}

// ---- the connection (I/O) ----

export interface X11Connection {
  readonly setup: X11Setup;
  /** Send a request that has a reply; resolves with the reply, rejects with the X error or when the connection closes. */
  request(req: Buffer): Promise<Buffer>;
  /** Send a request without a reply; an error for it goes to `onError`. */
  send(req: Buffer): void;
  /** Resolves once the server has processed everything sent so far. */
  sync(): Promise<void>;
  /** A fresh resource id (window, pixmap…) from this client's range. */
  newId(): number;
  readonly closed: boolean;
  close(): void;
}

export interface ConnectOptions {
  env: NodeJS.ProcessEnv;
  /** For connecting and the setup handshake. */
  timeoutMs: number;
  onEvent?: (code: number, data: Buffer) => void;
  /** Errors for requests without a reply. */
  onError?: (message: string) => void;
  onClose?: () => void;
  /** Tests. */
  hostname?: string;
  platform?: NodeJS.Platform;
}

function openSocket(e: XEndpoint, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = e.kind === 'unix' ? net.createConnection({ path: e.path }) : net.createConnection({ host: e.host, port: e.port });
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error(`no answer from ${describe(e)} within ${timeoutMs} ms`));
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(t);
      resolve(s);
    });
    s.once('error', (err) => {
      clearTimeout(t);
      s.destroy();
      reject(new Error(`${describe(e)}: ${err.message}`));
    });
  });
}

const describe = (e: XEndpoint): string => (e.kind === 'unix' ? e.path.replace('\0', '@') : `${e.host}:${e.port}`);

function readCookies(env: NodeJS.ProcessEnv): XauthEntry[] {
  const file = xauthorityPath(env);
  if (!file) return [];
  try {
    return parseXauthority(fs.readFileSync(file));
  } catch {
    return []; // none: servers started without -auth accept anyone local
  }
}

/** The server hung up without answering: what Xvfb does to a client that arrives while it resets (its last client just left). */
class HandshakeDropped extends Error {}

/** Open a socket to the display and do the setup handshake; `rest` is what came after the setup reply. */
async function handshake(name: string, d: DisplayName, o: ConnectOptions, deadline: number): Promise<{ sock: net.Socket; setup: X11Setup; rest: Buffer }> {
  let socket: net.Socket | null = null;
  let endpoint: XEndpoint | null = null;
  const failures: string[] = [];
  for (const e of endpointsFor(d, o.platform)) {
    try {
      socket = await openSocket(e, Math.max(1, deadline - Date.now()));
      endpoint = e;
      break;
    } catch (err) {
      failures.push(err instanceof Error ? err.message : String(err));
    }
  }
  if (!socket || !endpoint) throw new Error(`cannot connect to the X server ${name}: ${failures.join('; ')}`);
  const sock = socket;
  const cookie = findCookie(readCookies(o.env), peerFor(endpoint, sock.remoteAddress, d.display, o.hostname ?? os.hostname()));
  let buf: Buffer = Buffer.alloc(0);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => fail(new Error(`the X server ${name} did not finish the handshake within ${o.timeoutMs} ms`)), Math.max(1, deadline - Date.now()));
    const fail = (err: Error): void => {
      cleanup();
      sock.destroy();
      reject(err);
    };
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      const r = decodeSetupReply(buf);
      if (r.kind === 'incomplete') return;
      if (r.kind === 'refused') return fail(new Error(`the X server ${name} refused the connection: ${r.reason}`));
      cleanup();
      resolve({ sock, setup: r.setup, rest: buf.subarray(r.size) });
    };
    const onError = (err: Error): void => fail(err);
    const onClose = (): void => fail(new HandshakeDropped(`the X server ${name} closed the connection during the handshake`));
    const cleanup = (): void => {
      clearTimeout(t);
      sock.off('data', onData);
      sock.off('error', onError);
      sock.off('close', onClose);
    };
    sock.on('data', onData);
    sock.on('error', onError);
    sock.on('close', onClose);
    sock.write(encodeSetupRequest(cookie));
  });
}

/** Connect to the X server in $DISPLAY (with its MIT-MAGIC-COOKIE-1 from the Xauthority file when there is one). */
export async function connectX11(o: ConnectOptions): Promise<X11Connection> {
  const name = o.env.DISPLAY;
  if (!name) throw new Error('no DISPLAY');
  const d = parseDisplay(name);
  if (!d) throw new Error(`DISPLAY=${JSON.stringify(name)} is not a display name`);
  const deadline = Date.now() + o.timeoutMs;
  let opened: { sock: net.Socket; setup: X11Setup; rest: Buffer };
  try {
    opened = await handshake(name, d, o, deadline);
  } catch (err) {
    // Dropped while the server reset: it answers again a moment later.
    if (!(err instanceof HandshakeDropped) || deadline - Date.now() < 200) throw err;
    await new Promise((r) => setTimeout(r, 100));
    opened = await handshake(name, d, o, deadline);
  }
  const { sock, setup } = opened;
  let buf: Buffer = opened.rest;

  let seq = 0;
  let nextId = 0;
  let closed = false;
  const pending = new Map<number, { resolve: (b: Buffer) => void; reject: (e: Error) => void }>();
  const dispatch = (p: XPacket): void => {
    if (p.kind === 'event') {
      o.onEvent?.(p.code, p.data);
      return;
    }
    const waiter = pending.get(p.seq);
    if (p.kind === 'reply') {
      pending.delete(p.seq);
      waiter?.resolve(p.data);
    } else if (waiter) {
      pending.delete(p.seq);
      waiter.reject(new Error(errorText(p)));
    } else o.onError?.(errorText(p));
  };
  const shut = (): void => {
    if (closed) return;
    closed = true;
    for (const w of pending.values()) w.reject(new Error('the X connection closed'));
    pending.clear();
    o.onClose?.();
  };
  const consume = (chunk: Buffer): void => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    const { packets, rest } = readPackets(buf);
    buf = Buffer.from(rest);
    for (const p of packets) dispatch(p);
  };
  sock.on('data', consume);
  sock.on('error', () => sock.destroy());
  sock.on('close', shut);
  consume(Buffer.alloc(0)); // anything that came with the end of the handshake

  const write = (req: Buffer): number => {
    if (closed) throw new Error('the X connection is closed');
    seq = (seq + 1) & 0xffff;
    sock.write(req);
    return seq;
  };
  const request = (req: Buffer): Promise<Buffer> =>
    new Promise<Buffer>((resolve, reject) => {
      if (closed) return reject(new Error('the X connection is closed'));
      pending.set(write(req), { resolve, reject });
    });
  return {
    setup,
    get closed() {
      return closed;
    },
    request,
    send(req) {
      write(req);
    },
    async sync() {
      await request(getInputFocusRequest());
    },
    newId() {
      // The mask's lowest set bit is the step between ids (protocol section 8).
      const mask = setup.resourceIdMask;
      const step = mask & -mask;
      const id = (setup.resourceIdBase | (nextId & mask)) >>> 0;
      nextId += step;
      return id;
    },
    close() {
      sock.destroy();
      shut();
    },
  };
}

// ---- the few calls the tray makes ----

export async function internAtom(c: X11Connection, name: string, onlyIfExists: boolean): Promise<number> {
  return (await c.request(internAtomRequest(name, onlyIfExists))).readUInt32LE(8);
}

export async function getSelectionOwner(c: X11Connection, selection: number): Promise<number> {
  return (await c.request(getSelectionOwnerRequest(selection))).readUInt32LE(8);
}
