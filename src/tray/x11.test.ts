import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import {
  ATOM_NONE,
  FAMILY_INTERNET,
  FAMILY_LOCAL,
  FAMILY_WILD,
  changePropertyRequest,
  createInputOnlyWindowRequest,
  decodeSelectionRequest,
  decodeSetupReply,
  encodeSetupRequest,
  endpointsFor,
  errorText,
  findCookie,
  getSelectionOwnerRequest,
  internAtomRequest,
  parseDisplay,
  parseXauthority,
  peerFor,
  readPackets,
  selectionNotifyEvent,
  sendEventRequest,
  setSelectionOwnerRequest,
  xauthorityPath,
  type XauthEntry,
} from './x11.ts';
import { answerSelectionRequest } from './x11-clipboard.ts';

/** One Xauthority entry as libXau writes it (XauWriteAuth: big-endian u16 lengths). */
function xauthEntry(family: number, address: Buffer | string, number: string, name: string, data: Buffer): Buffer {
  const field = (b: Buffer) => Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
  return Buffer.concat([Buffer.from([family >> 8, family & 0xff]), field(Buffer.from(address)), field(Buffer.from(number)), field(Buffer.from(name)), field(data)]);
}

const COOKIE_A = Buffer.alloc(16, 0xaa);
const COOKIE_B = Buffer.alloc(16, 0xbb);

/** A success setup reply with one screen (root 0x1e3, one depth with one visual), laid out as protocol section 8 says. */
function setupReply(opts: { vendor?: string; formats?: number } = {}): Buffer {
  const vendor = Buffer.from(opts.vendor ?? 'The X.Org Foundation');
  const vpad = (vendor.length + 3) & ~3;
  const formats = opts.formats ?? 2;
  const screen = Buffer.alloc(40 + 8 + 24);
  screen.writeUInt32LE(0x1e3, 0); // root
  screen.writeUInt16LE(1024, 20);
  screen.writeUInt16LE(768, 22);
  screen[38] = 24; // root depth
  screen[39] = 1; // one DEPTH
  screen[40] = 24;
  screen.writeUInt16LE(1, 42); // one VISUALTYPE
  const body = Buffer.alloc(32 + vpad + 8 * formats);
  body.writeUInt32LE(12101007, 0); // release
  body.writeUInt32LE(0x00200000, 4); // resource-id-base
  body.writeUInt32LE(0x001fffff, 8); // resource-id-mask
  body.writeUInt16LE(vendor.length, 16);
  body.writeUInt16LE(65535, 18); // maximum-request-length
  body[20] = 1; // screens
  body[21] = formats;
  vendor.copy(body, 32);
  const rest = Buffer.concat([body, screen]);
  const head = Buffer.alloc(8);
  head[0] = 1;
  head.writeUInt16LE(11, 2);
  head.writeUInt16LE(rest.length / 4, 6);
  return Buffer.concat([head, rest]);
}

describe('x11: DISPLAY and Xauthority', () => {
  test('display names', () => {
    assert.deepEqual(parseDisplay(':0'), { host: '', display: 0, screen: 0 });
    assert.deepEqual(parseDisplay(':99.1'), { host: '', display: 99, screen: 1 });
    assert.deepEqual(parseDisplay('unix:3'), { host: '', display: 3, screen: 0 });
    assert.deepEqual(parseDisplay('localhost:10.0'), { host: 'localhost', display: 10, screen: 0 });
    assert.deepEqual(parseDisplay('[::1]:2'), { host: '::1', display: 2, screen: 0 });
    assert.deepEqual(parseDisplay('box/unix:4'), { host: '', display: 4, screen: 0 });
    assert.equal(parseDisplay(''), null);
    assert.equal(parseDisplay('wayland-0'), null);
    assert.deepEqual(endpointsFor({ host: '', display: 7, screen: 0 }, 'linux'), [
      { kind: 'unix', path: '/tmp/.X11-unix/X7' },
      { kind: 'unix', path: '\0/tmp/.X11-unix/X7' },
    ]);
    assert.deepEqual(endpointsFor({ host: 'localhost', display: 10, screen: 0 }, 'linux'), [{ kind: 'tcp', host: 'localhost', port: 6010 }]);
    assert.deepEqual(endpointsFor(parseDisplay('/private/tmp/com.apple.launchd.x/org.xquartz:0')!, 'darwin'), [{ kind: 'unix', path: '/private/tmp/com.apple.launchd.x/org.xquartz:0' }]);
  });

  test('the Xauthority file: $XAUTHORITY, else ~/.Xauthority', () => {
    assert.equal(xauthorityPath({ XAUTHORITY: '/tmp/xvfb-run.abc/Xauthority', HOME: '/home/u' }), '/tmp/xvfb-run.abc/Xauthority');
    assert.equal(xauthorityPath({ HOME: '/home/u' }), path.join('/home/u', '.Xauthority'));
  });

  test('parses entries; a truncated last entry is dropped', () => {
    const file = Buffer.concat([
      xauthEntry(FAMILY_LOCAL, 'vm', '99', 'MIT-MAGIC-COOKIE-1', COOKIE_A),
      xauthEntry(FAMILY_INTERNET, Buffer.from([10, 0, 0, 5]), '0', 'XDM-AUTHORIZATION-1', Buffer.alloc(8)),
    ]);
    const entries = parseXauthority(Buffer.concat([file, file.subarray(0, 9)]));
    assert.equal(entries.length, 2);
    assert.deepEqual(entries[0], { family: FAMILY_LOCAL, address: Buffer.from('vm'), number: '99', name: 'MIT-MAGIC-COOKIE-1', data: COOKIE_A });
    assert.deepEqual(entries[1]?.address, Buffer.from([10, 0, 0, 5]));
    assert.deepEqual(parseXauthority(Buffer.alloc(0)), []);
  });

  test('picks the cookie as libXau does: family and address, then display number; Wild and "" match anything', () => {
    const local = (number: string, data: Buffer, host = 'vm'): XauthEntry => ({ family: FAMILY_LOCAL, address: Buffer.from(host), number, name: 'MIT-MAGIC-COOKIE-1', data });
    const me = { family: FAMILY_LOCAL, address: Buffer.from('vm'), display: 99 };
    assert.deepEqual(findCookie([local('0', COOKIE_B), local('99', COOKIE_A)], me)?.data, COOKIE_A);
    assert.equal(findCookie([local('99', COOKIE_A, 'other-host')], me), null);
    assert.deepEqual(findCookie([local('', COOKIE_B)], me)?.data, COOKIE_B);
    assert.deepEqual(findCookie([{ family: FAMILY_WILD, address: Buffer.alloc(0), number: '99', name: 'MIT-MAGIC-COOKIE-1', data: COOKIE_B }], me)?.data, COOKIE_B);
    assert.equal(findCookie([{ ...local('99', COOKIE_A), name: 'XDM-AUTHORIZATION-1' }], me), null, 'only MIT-MAGIC-COOKIE-1 is spoken');
  });

  test('who we are to the server: Local + hostname over a unix socket or loopback, the address otherwise', () => {
    const unix = { kind: 'unix' as const, path: '/tmp/.X11-unix/X0' };
    const tcp = { kind: 'tcp' as const, host: 'h', port: 6010 };
    assert.deepEqual(peerFor(unix, undefined, 0, 'vm'), { family: FAMILY_LOCAL, address: Buffer.from('vm'), display: 0 });
    assert.deepEqual(peerFor(tcp, '127.0.0.1', 10, 'vm'), { family: FAMILY_LOCAL, address: Buffer.from('vm'), display: 10 });
    assert.deepEqual(peerFor(tcp, '::ffff:10.1.2.3', 10, 'vm'), { family: FAMILY_INTERNET, address: Buffer.from([10, 1, 2, 3]), display: 10 });
    assert.equal(peerFor(tcp, 'fe80::1', 10, 'vm').address.toString('hex'), 'fe800000000000000000000000000001');
  });
});

describe('x11: connection setup', () => {
  test('the setup request: little-endian, protocol 11.0, the cookie padded to 4 bytes', () => {
    const b = encodeSetupRequest({ name: 'MIT-MAGIC-COOKIE-1', data: COOKIE_A });
    assert.equal(b.length, 12 + 20 + 16);
    assert.deepEqual([...b.subarray(0, 12)], [0x6c, 0, 11, 0, 0, 0, 18, 0, 16, 0, 0, 0]);
    assert.equal(b.subarray(12, 30).toString(), 'MIT-MAGIC-COOKIE-1');
    assert.deepEqual(b.subarray(32), COOKIE_A);
    assert.deepEqual([...encodeSetupRequest(null)], [0x6c, 0, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  });

  test('a success reply: resource ids, request size and each screen\'s root, past vendor and formats', () => {
    const reply = setupReply({ vendor: 'Odd vendor', formats: 3 });
    assert.deepEqual(decodeSetupReply(reply.subarray(0, 7)), { kind: 'incomplete' });
    assert.deepEqual(decodeSetupReply(reply.subarray(0, reply.length - 1)), { kind: 'incomplete' });
    assert.deepEqual(decodeSetupReply(Buffer.concat([reply, Buffer.from([1, 2, 3])])), {
      kind: 'ok',
      setup: { resourceIdBase: 0x00200000, resourceIdMask: 0x001fffff, maxRequestLength: 65535, roots: [0x1e3] },
      size: reply.length,
    });
  });

  test('refused (no or wrong cookie) and "authenticate" replies carry the server\'s reason', () => {
    const reason = Buffer.from('Authorization required, but no authorization protocol specified\n');
    const padded = Buffer.alloc((reason.length + 3) & ~3);
    reason.copy(padded);
    const failed = Buffer.concat([Buffer.from([0, reason.length, 11, 0, 0, 0, padded.length / 4, 0]), padded]);
    assert.deepEqual(decodeSetupReply(failed), { kind: 'refused', reason: 'Authorization required, but no authorization protocol specified', size: failed.length });
    const auth = Buffer.concat([Buffer.from([2, 0, 0, 0, 0, 0, 2, 0]), Buffer.from('more\0\0\0\0')]);
    assert.deepEqual(decodeSetupReply(auth), { kind: 'refused', reason: 'more', size: 16 });
  });
});

describe('x11: requests, replies, events', () => {
  test('requests: opcode, length in 4-byte units, padding', () => {
    const intern = internAtomRequest('CLIPBOARD', true);
    assert.deepEqual([...intern.subarray(0, 8)], [16, 1, 5, 0, 9, 0, 0, 0]);
    assert.equal(intern.subarray(8, 17).toString(), 'CLIPBOARD');
    assert.equal(intern.length, 20);
    assert.deepEqual([...getSelectionOwnerRequest(0x12345678)], [23, 0, 2, 0, 0x78, 0x56, 0x34, 0x12]);
    const set = setSelectionOwnerRequest(0x00200001, 300, 0);
    assert.deepEqual([set[0], set.readUInt16LE(2), set.readUInt32LE(4), set.readUInt32LE(8), set.readUInt32LE(12)], [22, 4, 0x00200001, 300, 0]);
    const win = createInputOnlyWindowRequest(0x00200001, 0x1e3);
    assert.deepEqual([win[0], win.readUInt16LE(2), win.readUInt32LE(4), win.readUInt32LE(8), win.readUInt16LE(16), win.readUInt16LE(18), win.readUInt16LE(22)], [1, 8, 0x00200001, 0x1e3, 1, 1, 2]);
    const prop = changePropertyRequest(7, 8, 9, 8, Buffer.from('hello'));
    assert.deepEqual([prop[0], prop.readUInt16LE(2), prop[16], prop.readUInt32LE(20), prop.subarray(24, 29).toString()], [18, 8, 8, 5, 'hello']);
    const atoms = changePropertyRequest(7, 8, 4, 32, Buffer.alloc(12));
    assert.equal(atoms.readUInt32LE(20), 3, 'length in 32-bit units');
    const ev = sendEventRequest(7, selectionNotifyEvent({ time: 1, requestor: 7, selection: 2, target: 3, property: 4 }));
    assert.deepEqual([ev[0], ev.readUInt16LE(2), ev.readUInt32LE(4), ev[12]], [25, 11, 7, 31]);
  });

  test('readPackets: replies with extra data, errors, events, and a partial packet kept for later', () => {
    const reply = Buffer.alloc(36);
    reply[0] = 1;
    reply.writeUInt16LE(3, 2);
    reply.writeUInt32LE(1, 4);
    reply.writeUInt32LE(0xabc, 8);
    const err = Buffer.alloc(32);
    err[1] = 5; // BadAtom
    err.writeUInt16LE(4, 2);
    err.writeUInt32LE(0x99, 4);
    err[10] = 23;
    const event = Buffer.alloc(32);
    event[0] = 0x80 | 30;
    const { packets, rest } = readPackets(Buffer.concat([reply, err, event, Buffer.alloc(10)]));
    assert.equal(packets.length, 3);
    assert.deepEqual(packets[0], { kind: 'reply', seq: 3, data: reply });
    assert.deepEqual(packets[1], { kind: 'error', seq: 4, code: 5, badValue: 0x99, major: 23 });
    assert.deepEqual(packets[2], { kind: 'event', code: 30, sent: true, data: event });
    assert.equal(rest.length, 10);
    assert.equal(errorText({ code: 5, major: 23, badValue: 0x99 }), 'X error BadAtom (request 23, value 0x99)');
    assert.deepEqual(readPackets(reply.subarray(0, 33)).packets, []);
  });
});

describe('x11 clipboard: answering a paste (ICCCM 2.2)', () => {
  const atoms = { clipboard: 300, targets: 301, utf8: 302, text: 303 };
  const own = { window: 0x00200001, atoms, text: 'http://localhost:8081/v1 ✓', maxBytes: 262_000 };
  const req = (target: number, property = 500) => decodeSelectionRequest(Buffer.from(selectionRequestEvent(target, property)));
  function selectionRequestEvent(target: number, property: number): Buffer {
    const b = Buffer.alloc(32);
    b[0] = 30;
    b.writeUInt32LE(1234, 4);
    b.writeUInt32LE(own.window, 8);
    b.writeUInt32LE(0x00400001, 12);
    b.writeUInt32LE(atoms.clipboard, 16);
    b.writeUInt32LE(target, 20);
    b.writeUInt32LE(property, 24);
    return b;
  }

  test('decodes the request', () => {
    assert.deepEqual(req(atoms.utf8), { time: 1234, owner: own.window, requestor: 0x00400001, selection: 300, target: 302, property: 500 });
  });

  test('TARGETS lists what it can give; UTF8_STRING and TEXT give UTF-8, STRING Latin-1', () => {
    const t = answerSelectionRequest(req(atoms.targets), own);
    assert.equal(t?.format, 32);
    assert.deepEqual([0, 1, 2, 3].map((i) => t?.data.readUInt32LE(i * 4)), [301, 302, 31, 303]);
    assert.deepEqual(answerSelectionRequest(req(atoms.utf8), own), { property: 500, type: 302, format: 8, data: Buffer.from(own.text, 'utf8') });
    assert.equal(answerSelectionRequest(req(atoms.text), own)?.data.toString('utf8'), own.text);
    assert.equal(answerSelectionRequest(req(31), own)?.data.toString('latin1'), 'http://localhost:8081/v1 ?');
  });

  test('an obsolete requestor (property None) gets the answer in the target atom', () => {
    assert.equal(answerSelectionRequest(req(atoms.utf8, ATOM_NONE), own)?.property, atoms.utf8);
  });

  test('refused: unknown target, nothing copied, another window, too big for one request', () => {
    assert.equal(answerSelectionRequest(req(999), own), null);
    assert.equal(answerSelectionRequest(req(atoms.utf8), { ...own, text: null }), null);
    assert.equal(answerSelectionRequest(req(atoms.utf8), { ...own, window: 1 }), null);
    assert.equal(answerSelectionRequest(req(atoms.utf8), { ...own, maxBytes: 10 }), null);
  });
});
