import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TokenSnapshot } from '../auth/snapshot.ts';
import { initialControllerState, onChildMessage, onMenuClick, onProxyCrash, onProxyStatus, onTrayHost, type ControllerState, type TrayEffect } from './tray-controller.ts';
import type { TrayHostProbe } from './tray-host.ts';

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const running = { kind: 'running' as const, url: 'http://127.0.0.1:8081', port: 8081, pid: 42 };

function snap(over: Partial<TokenSnapshot> = {}): TokenSnapshot {
  return { state: 'ok', health: 'healthy', expiresAt: NOW / 1000 + 1500, refreshIn: 1500, hasGithubToken: true, oauthApp: 'vscode', store: 'file', apiBase: 'https://api.githubcopilot.com', lastError: null, pendingSignIn: null, ...over };
}

function ids(): () => string {
  let n = 0;
  return () => `id-${++n}`;
}

function runningState(over: Partial<ControllerState['tray']> = {}): ControllerState {
  const s = initialControllerState(NOW);
  return { ...s, lastProxyKind: 'running', tray: { ...s.tray, proxy: running, token: snap(), ...over } };
}

const kinds = (effects: TrayEffect[]) => effects.map((e) => (e.kind === 'send' ? `send:${e.message.type}` : e.kind));

describe('tray controller (pure: event + state -> state + effects)', () => {
  test('a token that needs sign-in notifies once, not on every snapshot', () => {
    const notSignedIn = snap({ hasGithubToken: false, state: 'not_signed_in', health: 'not_signed_in' });
    const a = onChildMessage(runningState({ token: null }), { type: 'token', snapshot: notSignedIn }, ids());
    assert.deepEqual(kinds(a.effects), ['notify']);
    const b = onChildMessage(a.state, { type: 'token', snapshot: notSignedIn }, ids());
    assert.deepEqual(b.effects, []);
    assert.equal(b.state.tray.token, notSignedIn);
  });

  test('becoming signed in asks for models and usage', () => {
    const s = runningState({ token: snap({ hasGithubToken: false, state: 'not_signed_in', health: 'not_signed_in' }) });
    const step = onChildMessage(s, { type: 'token', snapshot: snap() }, ids());
    assert.deepEqual(kinds(step.effects), ['send:get-models', 'send:get-usage']);
  });

  test('Sign in: sends sign-in when the proxy runs; nothing when it does not; a second click cancels', () => {
    const go = onMenuClick(runningState(), 'sign-in', ids());
    assert.deepEqual(kinds(go.effects), ['send:sign-in']);
    assert.equal(go.state.tray.signInStarting, true);
    const cancel = onMenuClick(go.state, 'sign-in', ids());
    assert.deepEqual(kinds(cancel.effects), ['send:cancel-sign-in']);
    assert.equal(cancel.state.tray.signInStarting, false);
    const stopped = onMenuClick(runningState({ proxy: { kind: 'stopped' } }), 'sign-in', ids());
    assert.deepEqual(stopped.effects, []);
  });

  test('a sign-in begun elsewhere (the dashboard) shows its code in the menu, and the code goes when it ends', () => {
    const pending = { verificationUri: 'https://github.com/login/device', userCode: 'WXYZ-9876', expiresAt: NOW + 900_000 };
    const notSignedIn = snap({ hasGithubToken: false, state: 'not_signed_in', health: 'not_signed_in' });
    const a = onChildMessage(runningState({ token: notSignedIn }), { type: 'token', snapshot: { ...notSignedIn, pendingSignIn: pending } }, ids());
    assert.deepEqual(a.state.tray.signIn, { userCode: 'WXYZ-9876', verificationUri: 'https://github.com/login/device' });
    const b = onChildMessage(a.state, { type: 'token', snapshot: snap() }, ids());
    assert.equal(b.state.tray.signIn, null);
    assert.deepEqual(kinds(b.effects), ['send:get-models', 'send:get-usage']);
  });

  test('the sign-in code: copied, browser opened, notified', () => {
    const step = onChildMessage(runningState({ signInStarting: true }), { type: 'sign-in-code', userCode: 'ABCD-1234', verificationUri: 'https://github.com/login/device', expiresAt: NOW + 900_000 }, ids());
    assert.deepEqual(step.effects.slice(0, 2), [
      { kind: 'copy', text: 'ABCD-1234', what: 'the sign-in code' },
      { kind: 'open', target: 'https://github.com/login/device' },
    ]);
    assert.equal(step.effects[2]?.kind, 'notify');
    assert.deepEqual(step.state.tray.signIn, { userCode: 'ABCD-1234', verificationUri: 'https://github.com/login/device' });
  });

  test('Refresh: one request id, its answer (and only its) ends the progress; a failure notifies', () => {
    assert.deepEqual(onMenuClick(runningState(), 'setup-codex', ids()).effects, [{ kind: 'setup-client', client: 'codex' }]);
    const out = onMenuClick(runningState(), 'sign-out', ids());
    assert.deepEqual(out.effects.filter((e) => e.kind === 'send'), [{ kind: 'send', message: { type: 'sign-out' } }]);
    const go = onMenuClick(runningState(), 'refresh', ids());
    assert.deepEqual(go.effects, [{ kind: 'send', message: { type: 'refresh', requestId: 'id-1' } }]);
    assert.equal(go.state.tray.refreshing, true);
    const other = onChildMessage(go.state, { type: 'refresh-done', requestId: 'someone-else', ok: true, error: null }, ids());
    assert.equal(other.state.tray.refreshing, true);
    const failed = onChildMessage(go.state, { type: 'refresh-done', requestId: 'id-1', ok: false, error: 'HTTP 502' }, ids());
    assert.equal(failed.state.tray.refreshing, false);
    assert.deepEqual(failed.effects, [{ kind: 'notify', title: 'Token refresh failed', message: 'HTTP 502', icon: 'error' }]);
  });

  test('the proxy stopping clears what was in flight; giving up notifies with the reason', () => {
    const busy = onMenuClick(runningState(), 'refresh', ids()).state;
    const gave = onProxyStatus(busy, { kind: 'gave-up', reason: 'EADDRINUSE', portTaken: true, port: 8081, holder: null });
    assert.equal(gave.state.tray.refreshing, false);
    assert.equal(gave.state.refreshRequestId, null);
    assert.deepEqual(gave.effects, [{ kind: 'notify', title: 'GitHub Copilot proxy stopped', message: 'Port 8081 is in use by another program.', icon: 'stopped' }]);
  });

  test('another github-copilot-svcs proxy on the port is named in the notifications', () => {
    const holder = { kind: 'github-copilot-svcs' as const, version: '0.9.1' };
    const gave = onProxyStatus(runningState(), { kind: 'gave-up', reason: 'x', portTaken: true, port: 8081, holder });
    assert.deepEqual(gave.effects, [
      { kind: 'notify', title: 'GitHub Copilot proxy stopped', message: 'Port 8081 is in use by another github-copilot-svcs proxy (version 0.9.1).', icon: 'stopped' },
    ]);
    const crash = onProxyCrash(runningState(), { portTaken: true, holder, code: 3, signal: null });
    assert.equal(crash.effects[0]?.kind === 'notify' && crash.effects[0].message, 'Its port is in use by another github-copilot-svcs proxy (version 0.9.1); retrying.');
  });

  test('every notification carries the icon of the state it is about, not always the healthy one', () => {
    const icons = (effects: TrayEffect[]) => effects.flatMap((e) => (e.kind === 'notify' ? [[e.title, e.icon]] : []));
    const notSignedIn = snap({ hasGithubToken: false, state: 'not_signed_in', health: 'not_signed_in' });
    const limit = { kind: 'weekly' as const, until: NOW + 3_600_000, code: 'user_weekly_rate_limited', message: 'wait' };
    const limited = onChildMessage(runningState(), { type: 'limit', limit }, ids());
    const cases: Array<[string, TrayEffect[]]> = [
      ['sign-in needed', onChildMessage(runningState({ token: null }), { type: 'token', snapshot: notSignedIn }, ids()).effects],
      ['limit reached', limited.effects],
      ['limit ended', onChildMessage(limited.state, { type: 'limit', limit: null }, ids()).effects],
      ['refresh failed', onChildMessage({ ...runningState({ refreshing: true }), refreshRequestId: 'r' }, { type: 'refresh-done', requestId: 'r', ok: false, error: 'HTTP 502' }, ids()).effects],
      ['sign-in code', onChildMessage(runningState(), { type: 'sign-in-code', userCode: 'C', verificationUri: 'https://github.com/login/device', expiresAt: 0 }, ids()).effects],
      ['signed in', onChildMessage(runningState(), { type: 'sign-in-done', ok: true, error: null }, ids()).effects],
      ['sign-in failed', onChildMessage(runningState(), { type: 'sign-in-done', ok: false, error: 'denied' }, ids()).effects],
      ['gave up', onProxyStatus(runningState(), { kind: 'gave-up', reason: 'x', portTaken: false, port: 8081, holder: null }).effects],
      ['crashed', onProxyCrash(runningState(), { portTaken: false, holder: null, code: 1, signal: null }).effects],
    ];
    assert.deepEqual(
      cases.map(([what, effects]) => [what, icons(effects)]),
      [
        ['sign-in needed', [['GitHub Copilot: sign-in needed', 'error']]],
        ['limit reached', [['Copilot weekly limit reached', 'warning']]],
        ['limit ended', [['Copilot weekly limit ended', 'healthy']]],
        ['refresh failed', [['Token refresh failed', 'error']]],
        ['sign-in code', [['Sign in to GitHub', 'warning']]],
        ['signed in', [['Signed in to GitHub Copilot', 'healthy']]],
        ['sign-in failed', [['GitHub sign-in failed', 'error']]],
        ['gave up', [['GitHub Copilot proxy stopped', 'stopped']]],
        ['crashed', [['GitHub Copilot proxy crashed', 'stopped']]],
      ],
    );
  });

  test('tray host found: "Tray icon ready" names it; unknown: says so; neither warns', () => {
    const found = onTrayHost(runningState(), { kind: 'found', hosts: [{ kind: 'xembed', display: ':99' }] }, {});
    assert.deepEqual(found.effects, [{ kind: 'log', level: 'info', message: 'Tray icon ready (XEmbed tray on :99)' }]);
    const unknown = onTrayHost(runningState(), { kind: 'unknown', reason: 'neither dbus-send nor gdbus is installed to ask the session bus' }, {});
    assert.deepEqual(kinds(unknown.effects), ['log']);
    assert.doesNotMatch(unknown.effects[0]?.kind === 'log' ? unknown.effects[0].message : '', /ready/);
  });

  test('no tray host: warn and notify once with what to install, open the dashboard once when the proxy runs', () => {
    const none: TrayHostProbe = { kind: 'none', checked: ['no StatusNotifierWatcher on the session bus', 'no XEmbed tray on :0'] };
    const gnome = { DISPLAY: ':0', XDG_CURRENT_DESKTOP: 'ubuntu:GNOME' };
    // The proxy is still starting: say it now, open the dashboard once it runs.
    const starting = initialControllerState(NOW);
    const a = onTrayHost(starting, none, gnome);
    assert.deepEqual(kinds(a.effects), ['log', 'notify']);
    const [log, note] = a.effects;
    assert.ok(log?.kind === 'log' && log.level === 'warn');
    assert.match(log.message, /^No tray host found \(no StatusNotifierWatcher on the session bus; no XEmbed tray on :0\): the tray icon will not show/);
    assert.doesNotMatch(log.message, /Tray icon ready/);
    assert.ok(note?.kind === 'notify' && note.icon === 'warning');
    assert.match(note.message, /gnome-shell-extension-appindicator/);
    assert.match(note.message, /AppIndicator and KStatusNotifierItem Support/);
    assert.deepEqual(onTrayHost(a.state, none, gnome).effects, [], 'said once');
    const up = onProxyStatus(a.state, running);
    assert.deepEqual(up.effects, [{ kind: 'open', target: 'http://localhost:8081/' }]);
    // Restarts of the proxy do not open it again.
    const again = onProxyStatus(onProxyStatus(up.state, { kind: 'restarting', attempt: 1, delayMs: 1000, reason: 'x' }).state, running);
    assert.deepEqual(again.effects, []);
    // Already running when the answer comes: all at once.
    assert.deepEqual(kinds(onTrayHost(runningState(), none, {}).effects), ['log', 'notify', 'open']);
    // With a tray host the dashboard is not opened by itself.
    assert.deepEqual(onProxyStatus(onTrayHost(starting, { kind: 'found', hosts: [{ kind: 'sni' }] }, {}).state, running).effects, []);
  });

  test('a crash notifies once per outage (only when it was running)', () => {
    const crash = { portTaken: false, holder: null, code: 1, signal: null };
    assert.equal(onProxyCrash(runningState(), crash).effects.length, 1);
    const restarting = onProxyStatus(runningState(), { kind: 'restarting', attempt: 1, delayMs: 1000, reason: 'exit 1' }).state;
    assert.deepEqual(onProxyCrash(restarting, crash).effects, []);
  });

  test('clicks: base URL and model ids copied, autostart toggled, restart and quit', () => {
    const s = runningState({ models: [{ id: 'gpt-4.1', name: 'GPT-4.1', vendor: 'OpenAI' }], autostart: false });
    assert.deepEqual(onMenuClick(s, 'proxy', ids()).effects, [{ kind: 'copy', text: 'http://localhost:8081/v1', what: 'the base URL' }]);
    assert.deepEqual(onMenuClick(s, 'dashboard', ids()).effects, [{ kind: 'open', target: 'http://localhost:8081/' }], 'Open dashboard opens the page in the browser');
    assert.deepEqual(onMenuClick(s, 'model-0', ids()).effects, [{ kind: 'copy', text: 'gpt-4.1', what: 'model id gpt-4.1' }]);
    assert.deepEqual(onMenuClick(s, 'model-7', ids()).effects, []);
    assert.deepEqual(onMenuClick(s, 'autostart', ids()).effects, [{ kind: 'set-autostart', enable: true }]);
    assert.deepEqual(kinds(onMenuClick(s, 'restart', ids()).effects), ['log', 'restart-proxy']);
    assert.deepEqual(onMenuClick(s, 'quit', ids()).effects, [{ kind: 'quit' }]);
    assert.deepEqual(onMenuClick(s, 'nonsense', ids()).effects, []);
  });
});
