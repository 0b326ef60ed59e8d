import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IpcTokenSnapshot } from '../../src/ipc/messages.ts';
import { baseUrlFor, dashboardUrlFor } from '../../src/clients/setup.ts';
import {
  MAX_MODEL_SLOTS,
  assignIds,
  buildMenu,
  changedKeys,
  flattenItems,
  initialTrayState,
  type ItemKey,
  type TrayMenu,
  type TrayState,
} from '../../src/tray/tray-menu.ts';

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);

function snapshot(over: Partial<IpcTokenSnapshot> = {}): IpcTokenSnapshot {
  return {
    state: 'ok',
    health: 'healthy',
    expiresAt: NOW / 1000 + 24 * 60,
    refreshIn: 1500,
    hasGithubToken: true,
    oauthApp: 'vscode',
    store: 'file',
    apiBase: 'https://api.githubcopilot.com',
    lastError: null,
    pendingSignIn: null,
    ...over,
  };
}

const running = { kind: 'running' as const, url: 'http://127.0.0.1:8081', port: 8081, pid: 42 };

function state(over: Partial<TrayState> = {}): TrayState {
  return { ...initialTrayState(NOW), proxy: running, token: snapshot(), autostart: false, ...over };
}

function find(menu: TrayMenu, key: ItemKey) {
  const it = flattenItems(menu.items).find((i) => i.key === key);
  assert.ok(it, `no item ${key}`);
  return it;
}
const visibleTitles = (m: TrayMenu) => m.items.filter((i) => !i.hidden).map((i) => i.title);

describe('buildMenu', () => {
  it('healthy: status with expiry, proxy URL, refresh enabled, green icon', () => {
    const m = buildMenu(state());
    assert.equal(m.icon, 'healthy');
    assert.deepEqual(visibleTitles(m), [
      '✅ Token is healthy — expires in 24m',
      'Proxy: http://localhost:8081/v1 (running)',
      '<SEPARATOR>',
      'Sign in again with GitHub…',
      'Refresh token now',
      'Sign out',
      'Models',
      'Premium requests: …',
      'AI credits: …',
      'Open dashboard',
      'Set up a client…',
      '<SEPARATOR>',
      'Open logs',
      'Start at login',
      'Restart proxy',
      '<SEPARATOR>',
      'Quit',
    ]);
    assert.equal(find(m, 'status').enabled, false);
    assert.equal(find(m, 'proxy').enabled, true);
    assert.equal(find(m, 'refresh').enabled, true);
    assert.equal(find(m, 'dashboard').enabled, true);
    assert.match(find(m, 'dashboard').tooltip, /^http:\/\/localhost:8081\/: /);
    assert.equal(find(m, 'sign-in-code').hidden, true);
    assert.match(m.tooltip, /✅ Token is healthy/);
  });

  it('soon: the warning words and icon', () => {
    const m = buildMenu(state({ token: snapshot({ health: 'refresh_soon', expiresAt: NOW / 1000 + 120 }) }));
    assert.equal(find(m, 'status').title, '⚠️ Token will be refreshed soon');
    assert.equal(m.icon, 'warning');
  });

  it('needs refresh: the error words and icon, last error as tooltip', () => {
    const m = buildMenu(state({ token: snapshot({ state: 'error', health: 'needs_refresh', lastError: 'network down' }) }));
    assert.equal(find(m, 'status').title, '❌ Token needs refresh');
    assert.equal(find(m, 'status').tooltip, 'Last error: network down');
    assert.equal(m.icon, 'error');
  });

  it('signed out: "Not signed in", Sign in offered, refresh and usage disabled', () => {
    const m = buildMenu(state({ token: snapshot({ state: 'not_signed_in', health: 'not_signed_in', hasGithubToken: false, expiresAt: null }) }));
    assert.equal(find(m, 'status').title, '❌ Not signed in');
    assert.equal(find(m, 'sign-in').title, 'Sign in with GitHub…');
    assert.equal(find(m, 'sign-in').enabled, true);
    assert.equal(find(m, 'refresh').enabled, false);
    assert.equal(find(m, 'usage').enabled, false);
    assert.equal(m.icon, 'error');
  });

  it('GitHub token rejected (needs_auth): offers a fresh sign-in', () => {
    const m = buildMenu(state({ token: snapshot({ state: 'needs_auth', health: 'needs_refresh' }) }));
    assert.equal(find(m, 'sign-in').title, 'Sign in with GitHub…');
  });

  it('signing in: the code is shown and Sign in becomes Cancel', () => {
    const asking = buildMenu(state({ token: snapshot({ health: 'not_signed_in', hasGithubToken: false }), signInStarting: true }));
    assert.equal(find(asking, 'sign-in').title, 'Cancel sign-in');
    assert.equal(find(asking, 'sign-in-code').title, 'Asking GitHub for a code…');
    assert.equal(find(asking, 'sign-in-code').hidden, false);

    const m = buildMenu(
      state({ token: snapshot({ health: 'not_signed_in', hasGithubToken: false }), signIn: { userCode: 'ABCD-1234', verificationUri: 'https://github.com/login/device' } }),
    );
    assert.equal(find(m, 'sign-in').title, 'Cancel sign-in');
    const code = find(m, 'sign-in-code');
    assert.equal(code.title, 'Enter code ABCD-1234 at github.com/login/device');
    assert.equal(code.hidden, false);
    assert.equal(code.enabled, true);
  });

  it('restarting: proxy line says when, icon stopped, proxy-dependent items disabled', () => {
    const m = buildMenu(state({ proxy: { kind: 'restarting', attempt: 2, delayMs: 2000, reason: 'exited with code 1' } }));
    assert.equal(find(m, 'proxy').title, 'Proxy: restarting in 2s (attempt 2)');
    assert.equal(find(m, 'proxy').enabled, false);
    assert.equal(m.icon, 'stopped');
    assert.equal(find(m, 'refresh').enabled, false);
    assert.equal(find(m, 'sign-in').enabled, false);
    assert.equal(find(m, 'model-0').title, 'Proxy not running');
    assert.equal(find(m, 'restart').enabled, true);
    assert.equal(find(m, 'quit').enabled, true);
  });

  it('gave up: a clear line pointing at the logs', () => {
    const m = buildMenu(state({ proxy: { kind: 'gave-up', reason: 'exited with code 1', portTaken: false, port: 8081, holder: null } }));
    assert.equal(find(m, 'proxy').title, 'Proxy: stopped — it kept crashing (see Open logs)');
    assert.equal(m.icon, 'stopped');
  });

  it('port taken: says which port and that another program holds it', () => {
    const m = buildMenu(state({ proxy: { kind: 'gave-up', reason: 'EADDRINUSE', portTaken: true, port: 8081, holder: null } }));
    assert.equal(find(m, 'proxy').title, 'Proxy: stopped — port 8081 is in use by another program');
    assert.match(find(m, 'proxy').tooltip, /Restart proxy/);
  });

  it('port taken by another github-copilot-svcs proxy: says so, with its version', () => {
    const m = buildMenu(state({ proxy: { kind: 'gave-up', reason: 'x', portTaken: true, port: 8081, holder: { kind: 'github-copilot-svcs', version: '0.9.1' } } }));
    assert.equal(find(m, 'proxy').title, 'Proxy: stopped — port 8081 is in use by another github-copilot-svcs proxy (version 0.9.1)');
    assert.match(find(m, 'proxy').tooltip, /^Stop that proxy .*Restart proxy$/);
    assert.match(m.tooltip, /port 8081 is in use by another github-copilot-svcs proxy \(version 0\.9\.1\)/);
  });

  it('starting: no token yet', () => {
    const m = buildMenu(initialTrayState(NOW));
    assert.equal(find(m, 'status').title, 'Token: unknown (proxy not running)');
    assert.equal(find(m, 'proxy').title, 'Proxy: starting…');
    assert.equal(find(m, 'autostart').enabled, false);
    assert.equal(m.icon, 'stopped');
  });

  it('models: one slot per model, the rest hidden; overflow summarised', () => {
    const models = [
      { id: 'gpt-4o', name: 'GPT-4o', vendor: 'Azure OpenAI' },
      { id: 'claude-sonnet-4', name: 'Claude Sonnet 4', vendor: 'Anthropic' },
    ];
    const m = buildMenu(state({ models }));
    const sub = find(m, 'models').items!;
    assert.equal(sub.length, MAX_MODEL_SLOTS);
    assert.deepEqual(
      sub.filter((i) => !i.hidden).map((i) => [i.title, i.enabled]),
      [
        ['gpt-4o', true],
        ['claude-sonnet-4', true],
      ],
    );
    assert.equal(find(buildMenu(state({ models: null })), 'model-0').title, 'Loading models…');
    assert.equal(find(buildMenu(state({ models: null, modelsError: 'boom' })), 'model-0').title, 'Could not load models: boom');
    assert.equal(find(buildMenu(state({ models: [] })), 'model-0').title, 'No models available');

    const many = Array.from({ length: 50 }, (_, i) => ({ id: `m${i}`, name: `M${i}`, vendor: 'v' }));
    const big = find(buildMenu(state({ models: many })), 'models').items!;
    assert.equal(big.length, MAX_MODEL_SLOTS);
    assert.equal(big.at(-1)!.title, `… and ${50 - (MAX_MODEL_SLOTS - 1)} more (see /v1/models)`);
  });

  it('premium requests line', () => {
    const u = (over: object) => find(buildMenu(state({ usage: { remaining: 250, entitlement: 300, unlimited: false, resetDate: '2026-02-01T00:00:00Z', ...over } })), 'usage').title;
    assert.equal(u({}), 'Premium requests: 250 of 300 left (resets 2026-02-01)');
    assert.equal(u({ entitlement: null }), 'Premium requests: 250 left (resets 2026-02-01)');
    assert.equal(u({ unlimited: true }), 'Premium requests: unlimited');
    assert.equal(u({ resetDate: null }), 'Premium requests: 250 of 300 left');
    assert.equal(find(buildMenu(state({ usageError: 'x' })), 'usage').title, 'Premium requests: unavailable');
  });

  it('start at login checkbox follows the real state', () => {
    assert.equal(find(buildMenu(state({ autostart: true })), 'autostart').checked, true);
    assert.equal(find(buildMenu(state({ autostart: false })), 'autostart').checked, false);
  });

  it('refresh in flight: disabled with a progress title', () => {
    const r = find(buildMenu(state({ refreshing: true })), 'refresh');
    assert.equal(r.title, 'Refreshing token…');
    assert.equal(r.enabled, false);
  });

  it('every state has the same shape (systray2 cannot add items later)', () => {
    const shapes = [
      buildMenu(initialTrayState(NOW)),
      buildMenu(state()),
      buildMenu(state({ signIn: { userCode: 'X', verificationUri: 'u' }, models: [{ id: 'a', name: 'a', vendor: 'v' }] })),
      buildMenu(state({ proxy: { kind: 'gave-up', reason: '', portTaken: true, port: 1, holder: null } })),
    ].map((m) => flattenItems(m.items).map((i) => i.key).join(','));
    assert.equal(new Set(shapes).size, 1);
    // Submenu parents are never hidden (systray2 drops the submenu when toggled).
    assert.equal(find(buildMenu(state({ proxy: { kind: 'stopped' } })), 'models').hidden, false);
  });

  it('ids follow systray2 numbering and changedKeys lists only what changed', () => {
    const a = buildMenu(state());
    const ids = assignIds(a.items);
    assert.equal(ids.get('status'), 1);
    assert.equal(ids.get('limit'), 2);
    assert.equal(ids.get('sign-out'), 8);
    assert.equal(ids.get('models'), 9);
    assert.equal(ids.get('model-0'), 10);
    assert.equal(ids.get('usage'), 10 + MAX_MODEL_SLOTS);
    assert.equal(ids.get('credits'), 11 + MAX_MODEL_SLOTS);
    assert.equal(ids.get('quit'), flattenItems(a.items).length);
    const b = buildMenu(state({ token: snapshot({ health: 'refresh_soon' }) }));
    assert.deepEqual(changedKeys(a, b), ['status']);
    assert.deepEqual(changedKeys(a, a), []);
  });

  it('AI credits and a Copilot limit: the credits line, a ⚠️ limit line under the status, a warning icon', () => {
    const credits = { month: { since: '2026-12-01T00:00:00.000Z', nanoAiu: 312_400_000_000, nanoAiuEstimated: 0, unknown: 0 }, allowance: 1500, resetsAt: '2027-01-01T00:00:00.000Z' };
    const until = new Date(2026, 11, 3, 14, 5).getTime();
    const m = buildMenu(state({ credits, limit: { kind: 'weekly', until, code: 'user_weekly_rate_limited', message: 'wait' } }));
    assert.equal(find(m, 'credits').title, 'AI credits: 312 of 1,500 used · resets Jan 1');
    const limit = find(m, 'limit');
    assert.equal(limit.hidden, false);
    assert.match(limit.title, /^⚠️ Rate-limited \(weekly\) until (Thu|2026-12-03) 14:05$/);
    assert.equal(m.icon, 'warning');
    assert.equal(find(buildMenu(state({ credits })), 'limit').hidden, true);
    assert.equal(buildMenu(state({ credits })).icon, 'healthy');
  });

  it('baseUrlFor shows the address clients paste', () => {
    assert.equal(baseUrlFor('http://127.0.0.1:8081'), 'http://localhost:8081/v1');
    assert.equal(baseUrlFor('http://127.0.0.1:8081/v1'), 'http://localhost:8081/v1');
    assert.equal(baseUrlFor('http://[::1]:9000/'), 'http://localhost:9000/v1');
    assert.equal(baseUrlFor('http://192.168.1.5:8081'), 'http://192.168.1.5:8081/v1');
    assert.equal(dashboardUrlFor('http://127.0.0.1:8081'), 'http://localhost:8081/');
    assert.equal(dashboardUrlFor('http://192.168.1.5:8081'), 'http://192.168.1.5:8081/');
  });
});
