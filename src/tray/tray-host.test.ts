import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  checkStatusNotifierWatcher,
  checkXEmbedTray,
  combineChecks,
  nameHasOwnerCommand,
  noTrayHostAdvice,
  parseNameHasOwner,
  probeTrayHost,
  sessionBusAddress,
  trayHostLine,
  waitForTrayHost,
  type ExecFn,
  type ExecResult,
  type TrayHostProbe,
} from './tray-host.ts';

// What dbus-send 1.14 and gdbus 2.74 print for NameHasOwner (recorded on Debian 12 against a private dbus-daemon).
const DBUS_SEND_TRUE = '   boolean true\n';
const DBUS_SEND_FALSE = '   boolean false\n';
const GDBUS_TRUE = '(true,)\n';
const GDBUS_FALSE = '(false,)\n';
const DBUS_SEND_NO_BUS = 'Failed to open connection to "session" message bus: Failed to connect to socket /tmp/nonexist: No such file or directory\n';

function fakeExec(result: ExecResult): { exec: ExecFn; calls: Array<{ file: string; args: string[]; env: NodeJS.ProcessEnv }> } {
  const calls: Array<{ file: string; args: string[]; env: NodeJS.ProcessEnv }> = [];
  return {
    calls,
    exec: async (file, args, opts) => {
      calls.push({ file, args, env: opts.env });
      return result;
    },
  };
}
const tools = (...present: string[]) => (cmd: string) => (present.includes(cmd) ? `/usr/bin/${cmd}` : null);

describe('tray host: pure parts', () => {
  test('NameHasOwner as dbus-send and gdbus print it', () => {
    assert.equal(parseNameHasOwner(DBUS_SEND_TRUE), true);
    assert.equal(parseNameHasOwner(DBUS_SEND_FALSE), false);
    assert.equal(parseNameHasOwner(GDBUS_TRUE), true);
    assert.equal(parseNameHasOwner(GDBUS_FALSE), false);
    assert.equal(parseNameHasOwner(''), null);
    assert.equal(parseNameHasOwner('   string "true"'), null);
  });

  test('the session bus: from the env, else the systemd user bus; never one that would be autolaunched', () => {
    const none = () => false;
    assert.equal(sessionBusAddress({ DBUS_SESSION_BUS_ADDRESS: 'unix:path=/run/user/1000/bus' }, none), 'unix:path=/run/user/1000/bus');
    assert.equal(sessionBusAddress({ DBUS_SESSION_BUS_ADDRESS: 'disabled:' }, () => true), null);
    assert.equal(sessionBusAddress({ DBUS_SESSION_BUS_ADDRESS: 'autolaunch:' }, () => true), null);
    assert.equal(sessionBusAddress({ XDG_RUNTIME_DIR: '/run/user/1000' }, (p) => p === '/run/user/1000/bus'), 'unix:path=/run/user/1000/bus');
    assert.equal(sessionBusAddress({ XDG_RUNTIME_DIR: '/run/user/1000' }, none), null);
    assert.equal(sessionBusAddress({}, none), null);
  });

  test('the commands carry a reply timeout', () => {
    assert.ok(nameHasOwnerCommand('dbus-send', '/usr/bin/dbus-send', 1500).args.includes('--reply-timeout=1500'));
    const g = nameHasOwnerCommand('gdbus', '/usr/bin/gdbus', 1500).args;
    assert.equal(g[g.indexOf('--timeout') + 1], '2');
    assert.equal(g.at(-1), 'org.kde.StatusNotifierWatcher');
  });

  test('combining: any host found wins; none only when every check said none', () => {
    const sni = { kind: 'found', host: { kind: 'sni' } } as const;
    const noX = { kind: 'none', detail: 'no XEmbed tray on :0' } as const;
    const noBus = { kind: 'none', detail: 'no session bus' } as const;
    const unsure = { kind: 'unknown', reason: 'no dbus-send' } as const;
    assert.deepEqual(combineChecks([sni, noX]), { kind: 'found', hosts: [{ kind: 'sni' }] });
    assert.deepEqual(combineChecks([sni, unsure]), { kind: 'found', hosts: [{ kind: 'sni' }] });
    assert.deepEqual(combineChecks([noBus, noX]), { kind: 'none', checked: ['no session bus', 'no XEmbed tray on :0'] });
    assert.deepEqual(combineChecks([unsure, noX]), { kind: 'unknown', reason: 'no dbus-send' });
  });

  test('status line and advice: GNOME gets the extension to install', () => {
    const both: TrayHostProbe = { kind: 'found', hosts: [{ kind: 'sni' }, { kind: 'xembed', display: ':1' }] };
    assert.equal(trayHostLine(both, {}), 'Tray host: StatusNotifierWatcher (session bus), XEmbed tray on :1');
    assert.equal(trayHostLine({ kind: 'found', hosts: [{ kind: 'xembed', display: ':99' }] }, {}), 'Tray host: XEmbed tray on :99');
    const none: TrayHostProbe = { kind: 'none', checked: [] };
    assert.match(trayHostLine(none, { DISPLAY: ':0', XDG_CURRENT_DESKTOP: 'GNOME' }), /^Tray host: none found — install and enable the GNOME Shell extension "AppIndicator and KStatusNotifierItem Support" \(Debian\/Ubuntu: sudo apt install gnome-shell-extension-appindicator\)/);
    assert.match(noTrayHostAdvice({ WAYLAND_DISPLAY: 'wayland-0', XDG_CURRENT_DESKTOP: 'ubuntu:GNOME' }), /gnome-shell-extension-appindicator/);
    assert.match(noTrayHostAdvice({ DISPLAY: ':0', XDG_CURRENT_DESKTOP: 'i3' }), /^run a panel with a system tray/);
    assert.match(noTrayHostAdvice({}), /needs a desktop session; on a server use `github-copilot-svcs run`$/);
    // The command as the user started it (the CLI's ctx.command), not always the installed name.
    assert.match(trayHostLine({ kind: 'none', checked: [] }, {}, 'npx github-copilot-svcs'), /on a server use `npx github-copilot-svcs run`$/);
    assert.equal(trayHostLine({ kind: 'unknown', reason: 'why' }, {}), 'Tray host: unknown (why)');
  });
});

describe('tray host: the checks, with the OS faked at its edge', () => {
  const bus = { DBUS_SESSION_BUS_ADDRESS: 'unix:path=/run/user/1000/bus' };

  test('StatusNotifierWatcher: asked with dbus-send on the session bus, gdbus when dbus-send is missing', async () => {
    const yes = fakeExec({ code: 0, stdout: DBUS_SEND_TRUE, stderr: '' });
    assert.deepEqual(await checkStatusNotifierWatcher({ env: bus, exec: yes.exec, which: tools('dbus-send', 'gdbus') }), { kind: 'found', host: { kind: 'sni' } });
    assert.equal(yes.calls[0]?.file, '/usr/bin/dbus-send');
    assert.equal(yes.calls[0]?.env.DBUS_SESSION_BUS_ADDRESS, 'unix:path=/run/user/1000/bus');
    const g = fakeExec({ code: 0, stdout: GDBUS_FALSE, stderr: '' });
    assert.deepEqual(await checkStatusNotifierWatcher({ env: bus, exec: g.exec, which: tools('gdbus') }), { kind: 'none', detail: 'no StatusNotifierWatcher on the session bus' });
    assert.equal(g.calls[0]?.file, '/usr/bin/gdbus');
  });

  test('StatusNotifierWatcher: no bus is "none"; no tool or no answer is "unknown"; the systemd user bus is used when the env names none', async () => {
    const never = fakeExec({ code: 0, stdout: DBUS_SEND_TRUE, stderr: '' });
    assert.deepEqual(await checkStatusNotifierWatcher({ env: { DBUS_SESSION_BUS_ADDRESS: 'disabled:' }, exec: never.exec, which: tools('dbus-send') }), { kind: 'none', detail: 'no session bus' });
    assert.equal(never.calls.length, 0, 'nothing run, nothing autolaunched');
    const viaRuntime = fakeExec({ code: 0, stdout: DBUS_SEND_FALSE, stderr: '' });
    await checkStatusNotifierWatcher({ env: { XDG_RUNTIME_DIR: '/run/user/7' }, exec: viaRuntime.exec, which: tools('dbus-send'), fileExists: (p) => p === '/run/user/7/bus' });
    assert.equal(viaRuntime.calls[0]?.env.DBUS_SESSION_BUS_ADDRESS, 'unix:path=/run/user/7/bus');
    assert.deepEqual(await checkStatusNotifierWatcher({ env: bus, exec: never.exec, which: tools() }), {
      kind: 'unknown',
      reason: 'neither dbus-send nor gdbus is installed to ask the session bus',
    });
    const dead = fakeExec({ code: 1, stdout: '', stderr: DBUS_SEND_NO_BUS });
    const r = await checkStatusNotifierWatcher({ env: bus, exec: dead.exec, which: tools('dbus-send') });
    assert.equal(r.kind, 'none');
    const slow = fakeExec({ code: null, stdout: '', stderr: 'killed' });
    assert.deepEqual(await checkStatusNotifierWatcher({ env: bus, exec: slow.exec, which: tools('dbus-send') }), {
      kind: 'unknown',
      reason: 'the session bus did not say whether a StatusNotifierWatcher runs (no answer in time)',
    });
  });

  test('XEmbed: no DISPLAY is "none"; an X server that cannot be reached is "unknown", never a throw', async () => {
    assert.deepEqual(await checkXEmbedTray({ env: {} }), { kind: 'none', detail: 'no X display' });
    const refused = await checkXEmbedTray({ env: { DISPLAY: ':5' }, connect: async () => Promise.reject(new Error('the X server :5 refused the connection: Authorization required')) });
    assert.deepEqual(refused, { kind: 'unknown', reason: 'could not ask the X server: the X server :5 refused the connection: Authorization required' });
    const hung = await checkXEmbedTray({ env: { DISPLAY: ':5' }, timeoutMs: 30, connect: () => new Promise(() => {}) });
    assert.deepEqual(hung, { kind: 'unknown', reason: 'the X server :5 did not answer within 30 ms' });
  });

  test('macOS and Windows always have their own tray', async () => {
    assert.deepEqual(await probeTrayHost({ env: {}, platform: 'darwin' }), { kind: 'found', hosts: [{ kind: 'native', name: 'the macOS menu bar' }] });
    assert.deepEqual(await probeTrayHost({ env: {}, platform: 'win32' }), { kind: 'found', hosts: [{ kind: 'native', name: 'the Windows notification area' }] });
  });

  test('a headless Linux box: none, quickly, with nothing started', async () => {
    const e = fakeExec({ code: 0, stdout: DBUS_SEND_TRUE, stderr: '' });
    assert.deepEqual(await probeTrayHost({ env: {}, platform: 'linux', exec: e.exec, which: tools('dbus-send'), fileExists: () => false }), {
      kind: 'none',
      checked: ['no session bus', 'no X display'],
    });
    assert.equal(e.calls.length, 0);
  });

  test('waitForTrayHost: asks again while "none" until the grace ends; a host that appears ends the wait', async () => {
    let t = 0;
    const sleeps: number[] = [];
    const answers: TrayHostProbe[] = [{ kind: 'none', checked: ['a'] }, { kind: 'none', checked: ['b'] }, { kind: 'found', hosts: [{ kind: 'sni' }] }];
    const o = { graceMs: 10_000, intervalMs: 2000, now: () => t, sleep: async (ms: number) => void (sleeps.push(ms), (t += ms)) };
    assert.deepEqual(await waitForTrayHost(async () => answers.shift()!, o), { kind: 'found', hosts: [{ kind: 'sni' }] });
    assert.deepEqual(sleeps, [2000, 2000]);
    t = 0;
    sleeps.length = 0;
    const none: TrayHostProbe = { kind: 'none', checked: ['x'] };
    assert.deepEqual(await waitForTrayHost(async () => none, { ...o, graceMs: 5000 }), none);
    assert.deepEqual(sleeps, [2000, 2000, 1000]);
    const stop = new AbortController();
    stop.abort();
    sleeps.length = 0;
    assert.deepEqual(await waitForTrayHost(async () => none, { ...o, signal: stop.signal }), none);
    assert.deepEqual(sleeps, [], 'Quit ends the wait');
  });
});
