import * as z from 'zod';
import { HEALTH_TEXT } from '../../auth/snapshot.ts';
import { clientSnippets } from '../../clients/setup.ts';
import { healthBodySchema, setupBodySchema, signInBodySchema, type HealthBody } from '../../ipc/bodies.ts';
import { toModelRows, type ModelRow } from '../../proxy/transform/model-rows.ts';
import { CHART_DAYS, creditsLine, formatCredits, premiumLine, usageBodySchema, type UsageBody } from '../../usage/api.ts';
import { creditsOf } from '../../usage/record.ts';
import { usageLimitLine } from '../../upstream/usage-limit.ts';
import { FEED_LIMIT } from '../../usage/feed.ts';
import { clippedRecord, type UsageRecord } from '../../usage/record.ts';
import { drawStackedBars } from './charts.ts';
import { METRICS, topSeries, type Metric } from '../series.ts';
import { byId, facts, fill, h, s } from './dom.ts';
import { clock, count, ms, span } from './format.ts';
import { readSse } from './sse.ts';

/**
 * The dashboard's page. It reads the proxy's own JSON routes with the same
 * schemas the proxy builds them with (/health, /usage, /v1/models), follows
 * /usage/events for the live table, and posts to /admin/sign-in and
 * /admin/refresh. Same origin only; no polling storm: /health every 5 s
 * (2 s while a sign-in waits), /usage when requests ended (at most every 5 s),
 * neither while the tab is hidden.
 */

const HEALTH_EVERY_MS = 5_000;
const SIGN_IN_POLL_MS = 2_000;
const USAGE_DEBOUNCE_MS = 5_000;

interface PageState {
  health: HealthBody | null;
  usage: UsageBody | null;
  usageError: string | null;
  models: ModelRow[] | null;
  live: UsageRecord[];
  liveState: 'connecting' | 'live' | 'reconnecting';
  signingIn: boolean;
  accountError: string | null;
}


const errorEnvelope = z.object({ error: z.object({ message: z.string() }) });

async function getJson<T>(url: string, schema: z.ZodType<T>): Promise<T> {
  const r = await fetch(url, { headers: { accept: 'application/json' }, cache: 'no-store' });
  const body: unknown = await r.json().catch(() => null);
  if (!r.ok) throw new Error(errorEnvelope.safeParse(body).data?.error.message ?? `${url}: HTTP ${r.status}`);
  return schema.parse(body);
}

/** The page's writes: JSON POSTs (the proxy refuses simple content types, so no other page can forge them). */
async function postJson<T>(url: string, schema: z.ZodType<T>): Promise<T> {
  return postBody(url, {}, schema);
}

async function postBody<T>(url: string, payload: unknown, schema: z.ZodType<T>): Promise<T> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(payload), cache: 'no-store' });
  const body: unknown = await r.json().catch(() => null);
  if (!r.ok) throw new Error(errorEnvelope.safeParse(body).data?.error.message ?? `${url}: HTTP ${r.status}`);
  return schema.parse(body);
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** The page: its state lives here, in this call, not in the module. */
function main(): void {
  const state: PageState = { health: null, usage: null, usageError: null, models: null, live: [], liveState: 'connecting', signingIn: false, accountError: null };

  // ------------------------------------------------------------------ render

  function renderHealth(): void {
    const hb = state.health;
    const pill = byId('status-pill', HTMLElement);
    const banner = byId('banner', HTMLElement);
    if (!hb) {
      pill.textContent = 'not reachable';
      pill.className = 'pill down';
      return;
    }
    banner.hidden = true;
    byId('version', HTMLElement).textContent = `v${hb.version}`;
    pill.textContent = hb.status === 'ok' ? 'running' : hb.status === 'degraded' ? 'degraded' : 'needs sign-in';
    pill.className = `pill ${hb.status}`;
    const t = hb.token;
    byId('token-health', HTMLElement).textContent = HEALTH_TEXT[t.health];
    facts(byId('token-facts', HTMLElement), [
      ['expires in', t.expires_in_s === null ? '–' : t.expires_in_s > 0 ? span(t.expires_in_s) : 'expired'],
      ['token store', t.store],
      ['GitHub app', t.oauth_app],
      ['Copilot API', t.api_base],
      ...(t.last_error ? ([['last error', h('span', { class: 'error' }, t.last_error)]] as const) : []),
    ]);
    byId('sign-in', HTMLButtonElement).textContent = t.signed_in ? 'Sign in again with GitHub' : 'Sign in with GitHub';
    byId('sign-in', HTMLButtonElement).disabled = state.signingIn;
    byId('refresh', HTMLButtonElement).disabled = !t.has_github_token;
    const box = byId('sign-in-box', HTMLElement);
    box.hidden = t.sign_in === null;
    if (t.sign_in) {
      const link = byId('sign-in-link', HTMLAnchorElement);
      link.href = /^https:\/\//.test(t.sign_in.verification_uri) ? t.sign_in.verification_uri : '#';
      link.textContent = t.sign_in.verification_uri;
      byId('sign-in-code', HTMLElement).textContent = t.sign_in.user_code;
      byId('sign-in-expiry', HTMLElement).textContent = `The code is valid for ${span((t.sign_in.expires_at - Date.now()) / 1000)}.`;
    }
    if (state.usage === null) renderUsage();
    const err = byId('account-error', HTMLElement);
    err.hidden = state.accountError === null;
    err.textContent = state.accountError ?? '';
    const u = hb.upstream;
    facts(byId('proxy-facts', HTMLElement), [
      ['state', hb.status],
      ['up for', span(hb.uptime_s)],
      ['circuit', u.circuit === 'closed' ? 'closed (healthy)' : u.circuit === 'open' ? 'open: Copilot is failing, requests get 503' : 'half open: trying Copilot again'],
      // This page's own feed is a request too: count the calls to Copilot.
      ['in flight', `${u.inFlight} of ${u.maxConcurrency} to Copilot (${hb.in_flight_streams} streaming)`],
      ['queued', `${u.queued} of ${u.maxQueue}`],
      ['requests', count(hb.requests_total)],
      ['retries / failures', `${u.retries} / ${u.failures}`],
      ['Copilot limit', u.limit ? `⚠️ ${usageLimitLine(u.limit)} (${u.limit.code}); ${count(u.limitRejections)} answered 429 here` : 'none'],
    ]);
  }

  function renderGauge(fraction: number | null, id = 'gauge', usedUp = false): void {
    const g = byId(id, SVGSVGElement);
    const arc = (f: number) => {
      const a = Math.PI * (1 - f);
      return `M 10 60 A 50 50 0 ${f > 0.5 ? 0 : 0} 1 ${60 + 50 * Math.cos(a)} ${60 - 50 * Math.sin(a)}`;
    };
    const f = fraction === null ? 0 : Math.max(0, Math.min(1, fraction));
    // The premium gauge shows what is left (green when much is); the credits gauge what is used (red when much is).
    const left = usedUp ? 1 - f : f;
    const colour = left > 0.5 ? '#1a7f37' : left > 0.2 ? '#9a6700' : '#cf222e';
    fill(
      g,
      s('path', { d: arc(1), fill: 'none', stroke: '#8c959f44', 'stroke-width': 10 }),
      f > 0 ? s('path', { d: arc(f), fill: 'none', stroke: colour, 'stroke-width': 10, 'data-fraction': f.toFixed(3) }) : null,
      s('text', { x: 60, y: 58, 'text-anchor': 'middle', 'font-size': 16, fill: 'currentColor' }, fraction === null ? '–' : `${Math.round(f * 100)}%`),
    );
  }

  function renderCredits(u: UsageBody): void {
    const c = u.local.credits;
    byId('credits-line', HTMLElement).textContent = creditsLine(c);
    const used = creditsOf(c.month.nanoAiu);
    const parts = [
      c.allowance === null ? 'No allowance known: set monthly_credits in config.json.' : `Allowance from ${c.allowanceSource === 'config' ? 'monthly_credits' : `the plan (${u.plan ?? '?'})`}.`,
      `Through this proxy since ${c.month.since.slice(0, 10)} (UTC); today ${formatCredits(creditsOf(c.today.nanoAiu))}.`,
      c.month.nanoAiuEstimated > 0 ? `${formatCredits(creditsOf(c.month.nanoAiuEstimated))} of it estimated from the price table.` : '',
      c.month.unknown > 0 ? `${count(c.month.unknown)} requests of unknown cost.` : '',
    ];
    byId('credits-note', HTMLElement).textContent = parts.filter((p) => p !== '').join(' ');
    renderGauge(c.allowance ? used / c.allowance : null, 'credits-gauge', true);
    const row = (what: string, t: { key: string; requests: number; nanoAiu: number }) =>
      h('tr', {}, h('td', {}, what), h('td', {}, t.key), h('td', { class: 'num' }, count(t.requests)), h('td', { class: 'num' }, formatCredits(creditsOf(t.nanoAiu))));
    fill(
      byId('credits-by', HTMLTableElement),
      h('thead', {}, h('tr', {}, h('th', {}, 'by (this period)'), h('th', {}, 'name'), h('th', { class: 'num' }, 'requests'), h('th', { class: 'num' }, 'credits'))),
      h('tbody', {}, ...u.local.period.byModel.map((t) => row('model', t)), ...u.local.period.byClient.map((t) => row('client', t))),
    );
  }

  function renderUsage(): void {
    const u = state.usage;
    if (u) renderCredits(u);
    if (!u || u.quotaError !== null) {
      const signedOut = state.health !== null && !state.health.token.signed_in;
    byId('premium-line', HTMLElement).textContent = state.usageError ? `Premium requests: unavailable (${state.usageError})` : signedOut ? 'Premium requests: sign in to see them' : 'Premium requests: …';
      if (u) renderCharts();
      return;
    }
    byId('premium-line', HTMLElement).textContent = premiumLine(u);
    byId('premium-plan', HTMLElement).textContent = `${u.plan ? `Plan: ${u.plan}. ` : ''}Through this proxy this period: ${count(u.local.period.byClient.reduce((a, t) => a + t.premium, 0))} premium, today ${count(u.local.today.byClient.reduce((a, t) => a + t.premium, 0))}.`;
    renderGauge(u.unlimited ? 1 : u.remaining !== null && u.entitlement ? u.remaining / u.entitlement : null);
    const rows = u.local.period.byClient;
    fill(
      byId('premium-by-client', HTMLTableElement),
      h('thead', {}, h('tr', {}, h('th', {}, 'client (this period)'), h('th', { class: 'num' }, 'requests'), h('th', { class: 'num' }, 'premium'))),
      h('tbody', {}, ...rows.map((t) => h('tr', {}, h('td', {}, t.key), h('td', { class: 'num' }, count(t.requests)), h('td', { class: 'num' }, count(t.premium))))),
    );
    renderCharts();
  }

  function metricChoice(): Metric {
    const v = byId('chart-metric', HTMLSelectElement).value;
    return METRICS.find((m) => m === v) ?? 'credits';
  }

  function renderCharts(): void {
    const u = state.usage;
    if (!u) return;
    const days = u.local.days;
    const labels = days.map((d) => d.day);
    const metric = metricChoice();
    drawStackedBars(byId('chart-model', SVGSVGElement), byId('legend-model', HTMLElement), labels, topSeries(days, 'byModel', metric));
    drawStackedBars(byId('chart-client', SVGSVGElement), byId('legend-client', HTMLElement), labels, topSeries(days, 'byClient', metric));
  }

  function setOptions(select: HTMLSelectElement, values: readonly string[]): void {
    const keep = select.value;
    fill(select, h('option', { value: '' }, 'all'), ...values.map((v) => h('option', { value: v }, v)));
    select.value = values.includes(keep) ? keep : '';
  }

  function renderLive(): void {
    byId('live-state', HTMLElement).textContent = state.liveState === 'live' ? '● live' : state.liveState === 'connecting' ? 'connecting…' : 'reconnecting…';
    const clientSel = byId('filter-client', HTMLSelectElement);
    const modelSel = byId('filter-model', HTMLSelectElement);
    setOptions(clientSel, [...new Set(state.live.map((r) => r.client))].sort());
    setOptions(modelSel, [...new Set(state.live.map((r) => r.upstream_model ?? r.model ?? '(none)'))].sort());
    const client = clientSel.value;
    const model = modelSel.value;
    const errorsOnly = byId('filter-errors', HTMLInputElement).checked;
    const text = byId('filter-text', HTMLInputElement).value.trim().toLowerCase();
    const rows = state.live
      .filter((r) => (client === '' || r.client === client) && (model === '' || (r.upstream_model ?? r.model ?? '(none)') === model) && (!errorsOnly || r.status >= 400))
      .filter((r) => text === '' || `${r.route} ${r.model ?? ''} ${r.upstream_model ?? ''} ${r.client}`.toLowerCase().includes(text))
      .reverse();
    const body = byId('live-table', HTMLTableElement).tBodies[0];
    if (!body) return;
    fill(
      body,
      ...rows.map((r) =>
        h(
          'tr',
          { class: r.status >= 400 ? 'err' : '', 'data-client': r.client },
          h('td', {}, clock(r.t)),
          h('td', {}, r.client),
          h('td', {}, r.route),
          h('td', {}, r.model === r.upstream_model || r.upstream_model === null ? (r.model ?? '–') : `${r.model ?? '–'} → ${r.upstream_model}`),
          h('td', {}, r.initiator ?? '–'),
          h('td', { class: 'num', 'data-testid': 'cost' }, r.nano_aiu === null ? '?' : `${r.cost_source === 'estimated' ? '~' : ''}${formatCredits(creditsOf(r.nano_aiu))}`),
          h('td', { class: 'num' }, r.premium === null ? '?' : count(r.premium)),
          h('td', { class: 'num' }, `${r.prompt_tokens ?? '–'} / ${r.cached_tokens ?? '–'} / ${r.completion_tokens ?? '–'}`),
          h('td', { class: 'num' }, String(r.status)),
          h('td', { class: 'num' }, ms(r.ttfb_ms)),
          h('td', { class: 'num' }, `${ms(r.duration_ms)}${r.stream ? ' ⇣' : ''}`),
        ),
      ),
    );
  }

  function renderModels(): void {
    const body = byId('models-table', HTMLTableElement).tBodies[0];
    if (!body || !state.models) return;
    const yn = (b: boolean | null) => (b === null ? '–' : b ? 'yes' : 'no');
    fill(
      body,
      ...state.models.map((m) =>
        h(
          'tr',
          {},
          h('td', { title: m.name ?? '' }, m.id),
          h('td', {}, m.vendor ?? '–'),
          h('td', { class: 'num' }, m.contextWindow === null ? '–' : count(m.contextWindow)),
          h('td', { class: 'num' }, m.maxOutput === null ? '–' : count(m.maxOutput)),
          h('td', {}, yn(m.toolCalls)),
          h('td', {}, yn(m.vision)),
          h('td', { class: 'num' }, m.premiumMultiplier === null ? '?' : m.premiumMultiplier === 0 ? 'free' : `${m.premiumMultiplier}×`),
          h('td', {}, yn(m.enabled)),
        ),
      ),
    );
  }

  function renderSnippets(): void {
    const out = byId('snippets', HTMLElement);
    fill(
      out,
      ...clientSnippets({ origin: location.origin }).map((sn) => {
        const pre = h('pre', { 'data-snippet': sn.id }, sn.text);
        const button = h('button', { type: 'button' }, 'Copy');
        button.addEventListener('click', () => {
          void copyText(sn.text).then((ok) => {
            button.textContent = ok ? 'Copied' : 'Select and copy';
            setTimeout(() => (button.textContent = 'Copy'), 1500);
          });
        });
        // Clients with a config file of their own: "Set up" writes it (setup <client>, the same code as the CLI and the tray).
        const client = sn.id === 'claude-code' || sn.id === 'codex' || sn.id === 'opencode' ? sn.id : null;
        const result = h('div', { class: 'muted', 'data-setup-result': sn.id });
        const setupButton = client ? h('button', { type: 'button', 'data-setup': client }, 'Set up') : null;
        setupButton?.addEventListener('click', () => {
          setupButton.textContent = 'Setting up…';
          void postBody('/admin/setup', { client }, setupBodySchema).then(
            (r) => {
              fill(result, ...r.lines.map((l) => h('div', {}, l)));
              setupButton.textContent = r.ok ? 'Set up ✓' : 'Set up';
            },
            (e: unknown) => {
              fill(result, h('div', {}, message(e)));
              setupButton.textContent = 'Set up';
            },
          );
        });
        return h('div', { class: 'snippet' }, h('header', {}, h('strong', {}, sn.title), h('span', { class: 'muted' }, sn.where), ...(setupButton ? [setupButton] : []), button), pre, result);
      }),
      h('p', { class: 'muted' }, 'If you set api_key in the config, use it where these say dummy.'),
    );
  }

  async function copyText(text: string): Promise<boolean> {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      return false;
    }
  }

  // ------------------------------------------------------------------ data

  async function loadHealth(): Promise<void> {
    try {
      const wasSignedIn = state.health?.token.signed_in === true;
      state.health = await getJson('/health', healthBodySchema);
      // Quota and models need a signed-in proxy: ask for them once it is (and not before, which only gives 401s).
      if (state.health.token.signed_in && !wasSignedIn) {
        void loadUsage();
        void loadModels();
      }
    } catch (e) {
      state.health = null;
      const banner = byId('banner', HTMLElement);
      banner.hidden = false;
      banner.textContent = `The proxy does not answer: ${message(e)}`;
    }
    renderHealth();
  }

  async function loadUsage(): Promise<void> {
    try {
      state.usage = await getJson('/usage', usageBodySchema);
      state.usageError = null;
    } catch (e) {
      state.usageError = message(e);
    }
    renderUsage();
  }

  async function loadModels(): Promise<void> {
    try {
      const json: unknown = await getJson('/v1/models', z.unknown());
      state.models = toModelRows(json);
    } catch (e) {
      const body = byId('models-table', HTMLTableElement).tBodies[0];
      if (body) fill(body, h('tr', {}, h('td', { colspan: '8', class: 'muted' }, `Models unavailable: ${message(e)}`)));
      return;
    }
    renderModels();
  }

  let usageTimer: ReturnType<typeof setTimeout> | null = null;
  function usageSoon(): void {
    if (state.health?.token.signed_in !== true || document.hidden) return;
    usageTimer ??= setTimeout(() => {
      usageTimer = null;
      void loadUsage();
    }, USAGE_DEBOUNCE_MS);
  }

  // Each row is read on its own (clippedRecord): one the page cannot fully validate shows clipped, and never empties the table.
  const snapshotSchema = z.object({ requests: z.array(z.unknown()) });
  const liveRow = (v: unknown): UsageRecord => {
    const { record, clipped } = clippedRecord(v);
    return clipped ? { ...record, model: `${record.model ?? ''} (clipped)` } : record;
  };

  /** The live feed, reconnecting with a growing pause when it drops. */
  async function follow(): Promise<void> {
    let pause = 1000;
    for (;;) {
      try {
        const r = await fetch('/usage/events', { headers: { accept: 'text/event-stream' }, cache: 'no-store' });
        if (!r.ok || !r.body) throw new Error(`HTTP ${r.status}`);
        await readSse(r.body, (e) => {
          if (e.event === 'snapshot') {
            const snap = snapshotSchema.safeParse(JSON.parse(e.data));
            if (snap.success) state.live = snap.data.requests.slice(-FEED_LIMIT).map(liveRow);
            state.liveState = 'live';
            pause = 1000;
          } else if (e.event === 'request') {
            state.live.push(liveRow(JSON.parse(e.data)));
            if (state.live.length > FEED_LIMIT) state.live.splice(0, state.live.length - FEED_LIMIT);
            usageSoon();
          }
          renderLive();
        });
      } catch {
        /* dropped: reconnect below */
      }
      state.liveState = 'reconnecting';
      renderLive();
      await new Promise((r) => setTimeout(r, pause));
      pause = Math.min(pause * 2, 30_000);
    }
  }

  async function signIn(): Promise<void> {
    state.signingIn = true;
    state.accountError = null;
    renderHealth();
    byId('token-health', HTMLElement).textContent = 'Asking GitHub for a code…';
    try {
      const r = await postJson('/admin/sign-in', signInBodySchema);
      if (state.health) state.health = { ...state.health, token: r.token };
      if (r.sign_in === null && !r.token.signed_in) state.accountError = r.token.last_error ?? 'GitHub gave no code; try again.';
    } catch (e) {
      state.accountError = message(e);
    }
    state.signingIn = false;
    renderHealth();
  }

  async function refresh(): Promise<void> {
    const button = byId('refresh', HTMLButtonElement);
    button.disabled = true;
    button.textContent = 'Refreshing…';
    try {
      await postJson('/admin/refresh', z.unknown());
      state.accountError = null;
    } catch (e) {
      state.accountError = message(e);
    }
    button.textContent = 'Refresh token';
    await loadHealth();
  }

  function healthLoop(): void {
    const waiting = state.health?.token.sign_in != null;
    setTimeout(() => {
      // Hidden tab: skip this round (visibilitychange catches up when it is shown again).
      if (document.hidden) healthLoop();
      else void loadHealth().then(healthLoop);
    }, waiting ? SIGN_IN_POLL_MS : HEALTH_EVERY_MS);
  }

  async function cancelSignIn(): Promise<void> {
    try {
      await postJson('/admin/sign-in/cancel', z.unknown());
    } catch (e) {
      state.accountError = message(e);
    }
    await loadHealth();
  }

  function start(): void {
    byId('sign-in', HTMLButtonElement).addEventListener('click', () => void signIn());
    byId('refresh', HTMLButtonElement).addEventListener('click', () => void refresh());
    byId('copy-code', HTMLButtonElement).addEventListener('click', () => void copyText(byId('sign-in-code', HTMLElement).textContent ?? ''));
    byId('cancel-sign-in', HTMLButtonElement).addEventListener('click', () => void cancelSignIn());
    document.addEventListener('visibilitychange', () => {
      if (document.hidden) return;
      void loadHealth();
      if (state.health?.token.signed_in) void loadUsage();
    });
    byId('chart-metric', HTMLSelectElement).addEventListener('change', renderCharts);
    for (const id of ['filter-client', 'filter-model', 'filter-errors']) byId(id, HTMLElement).addEventListener('change', renderLive);
    byId('filter-text', HTMLInputElement).addEventListener('input', renderLive);
    byId('history-h', HTMLElement).textContent = `Last ${CHART_DAYS} days`;
    byId('live-h-text', HTMLElement).textContent = `Last ${FEED_LIMIT} requests`;
    renderSnippets();
    renderLive();
    void loadHealth().then(healthLoop);
    void follow();
  }
  start();
}

main();
