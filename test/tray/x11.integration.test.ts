/**
 * The X11 client (src/tray/x11.ts) against a real Xvfb that requires a
 * MIT-MAGIC-COOKIE-1, set up the way xvfb-run does it (`xauth -f FILE add :N .
 * COOKIE`, `Xvfb :N -auth FILE`): the cookie is found through $XAUTHORITY,
 * the XEmbed tray check sees trayer come and go, and the tray's own
 * CLIPBOARD owner serves xclip and leaves nothing behind when closed.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkXEmbedTray, probeTrayHost } from '../../src/tray/tray-host.ts';
import { createX11Clipboard } from '../../src/tray/x11-clipboard.ts';
import { FAMILY_LOCAL, connectX11, parseXauthority } from '../../src/tray/x11.ts';
import { alive, desktopSkip, killAndWait, run, startTrayer, waitUntil, which } from '../helpers/desktop.ts';

const skip = desktopSkip() || (!which('xauth') && 'needs xauth (apt-get install xauth)');

/** Xvfb on a free display number with an auth file, as xvfb-run starts it. */
async function startXvfbWithCookie(procs: ChildProcess[], authFile: string, cookie: string): Promise<string> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const n = 300 + crypto.randomInt(0, 3000);
    if (fs.existsSync(`/tmp/.X11-unix/X${n}`) || fs.existsSync(`/tmp/.X${n}-lock`)) continue;
    fs.rmSync(authFile, { force: true });
    // A decoy for another display first: the right one must be picked by display number.
    assert.equal((await run('xauth', ['-f', authFile, 'add', `:${n + 1}`, '.', 'ff'.repeat(16)], process.env)).code, 0);
    assert.equal((await run('xauth', ['-f', authFile, 'add', `:${n}`, '.', cookie], process.env)).code, 0);
    // -noreset, as a desktop's server: by default Xvfb resets when its last client goes, and a client
    // that connects during the reset is dropped without an answer (these tests connect one at a time).
    const xvfb = spawn('Xvfb', [`:${n}`, '-auth', authFile, '-noreset', '-nolisten', 'tcp', '-screen', '0', '640x480x24'], { stdio: 'ignore' });
    const started = await waitUntil(
      `Xvfb :${n}`,
      () => (xvfb.exitCode !== null ? 'exited' : fs.existsSync(`/tmp/.X11-unix/X${n}`) ? 'up' : null),
      30_000,
    );
    if (started === 'up') {
      procs.push(xvfb);
      return `:${n}`;
    }
  }
  throw new Error('no free display number');
}

describe('x11 client against Xvfb with an auth cookie', { skip, timeout: 120_000 }, () => {
  const procs: ChildProcess[] = [];
  let tmp = '';
  let display = '';
  let env: NodeJS.ProcessEnv = {};
  const cookie = crypto.randomBytes(16).toString('hex');

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gcs-x11-'));
    const authFile = path.join(tmp, 'Xauthority');
    display = await startXvfbWithCookie(procs, authFile, cookie);
    env = { PATH: process.env.PATH, HOME: tmp, DISPLAY: display, XAUTHORITY: authFile, DBUS_SESSION_BUS_ADDRESS: 'disabled:' };
  });
  after(async () => {
    for (const p of procs.reverse()) await killAndWait(p);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('reads the file xauth wrote: Local family, this host, the display number, the cookie', () => {
    const entries = parseXauthority(fs.readFileSync(env.XAUTHORITY!));
    const mine = entries.find((e) => e.number === display.slice(1));
    assert.ok(mine, JSON.stringify(entries));
    assert.equal(mine.family, FAMILY_LOCAL);
    assert.equal(mine.address.toString(), os.hostname());
    assert.equal(mine.name, 'MIT-MAGIC-COOKIE-1');
    assert.equal(mine.data.toString('hex'), cookie);
  });

  it('connects with the cookie from $XAUTHORITY (or ~/.Xauthority)', async () => {
    const c = await connectX11({ env, timeoutMs: 5000 });
    assert.equal(c.setup.roots.length, 1);
    await c.sync();
    c.close();
    fs.copyFileSync(env.XAUTHORITY!, path.join(tmp, '.Xauthority'));
    const viaHome = await connectX11({ env: { ...env, XAUTHORITY: undefined }, timeoutMs: 5000 });
    viaHome.close();
  });

  it('without the cookie the server refuses, and the tray host check answers "unknown" with the reason instead of throwing', async () => {
    const noCookie = { ...env, XAUTHORITY: path.join(tmp, 'missing'), HOME: path.join(tmp, 'nowhere') };
    await assert.rejects(connectX11({ env: noCookie, timeoutMs: 5000 }), /refused the connection: .*[Aa]uthorization/);
    const check = await checkXEmbedTray({ env: noCookie, timeoutMs: 5000 });
    assert.equal(check.kind, 'unknown');
    assert.match(check.kind === 'unknown' ? check.reason : '', /could not ask the X server: .*refused/);
    assert.equal((await probeTrayHost({ env: noCookie, platform: 'linux' })).kind, 'unknown');
    await assert.rejects(connectX11({ env: { ...env, DISPLAY: ':4999' }, timeoutMs: 2000 }), /cannot connect to the X server :4999/);
  });

  it('sees an XEmbed tray (trayer) only while one runs', async () => {
    assert.deepEqual(await probeTrayHost({ env, platform: 'linux' }), { kind: 'none', checked: ['no session bus', `no XEmbed tray on ${display}`] });
    const before = procs.length;
    await startTrayer(procs, env);
    const trayer = procs[before]!;
    // trayer maps its window first and takes the tray selection a moment later.
    const found = await waitUntil('the tray selection owned', async () => {
      const p = await probeTrayHost({ env, platform: 'linux' });
      return p.kind === 'found' && p;
    }, 10_000);
    assert.deepEqual(found, { kind: 'found', hosts: [{ kind: 'xembed', display }] });
    await killAndWait(trayer);
    await waitUntil('tray selection released', async () => (await checkXEmbedTray({ env })).kind === 'none', 10_000);
  });

  it('owns CLIPBOARD in-process: xclip pastes it, another copy takes it over, close leaves no owner', async () => {
    const errors: string[] = [];
    const cb = createX11Clipboard({ env, onError: (m) => errors.push(m) });
    const text = 'http://localhost:8081/v1 — ✓';
    await cb.copy(text);
    const paste = async (target = 'UTF8_STRING') => {
      const r = await run('xclip', ['-o', '-selection', 'clipboard', '-t', target], env);
      return r.code === 0 ? r.stdout : null;
    };
    assert.equal(await paste(), text);
    assert.deepEqual((await paste('TARGETS'))?.trim().split('\n'), ['TARGETS', 'UTF8_STRING', 'STRING', 'TEXT']);
    // Someone else copies: xclip owns it until it served one paste (-loops 1).
    const other = spawn('xclip', ['-i', '-selection', 'clipboard', '-loops', '1'], { env, stdio: ['pipe', 'ignore', 'ignore'] });
    other.stdin.end('from another app');
    await waitUntil('the other app owns the clipboard', async () => (await paste()) === 'from another app', 10_000);
    await waitUntil('xclip served its paste and exited', () => other.exitCode !== null || !alive(other.pid!), 10_000);
    await cb.copy('ours again');
    assert.equal(await paste(), 'ours again');
    cb.close();
    await waitUntil('no owner once closed', async () => (await paste()) === null, 5000);
    await assert.rejects(cb.copy('after close'), /closed/);
    assert.deepEqual(errors, []);
  });
});
