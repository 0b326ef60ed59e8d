import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CopilotAuth, CopilotTokenSource } from './token-source.ts';
import { UpstreamHttpError } from '../errors.ts';
import { silentLogger } from '../log.ts';
import { upstreamError } from './copilot-client.ts';
import { createGateway } from './gateway.ts';

function fakeTokens(): CopilotTokenSource & { refreshes: number } {
  let n = 0;
  const t = {
    refreshes: 0,
    getAuth: async (): Promise<CopilotAuth> => ({ token: `t${n}`, apiBase: 'http://x' }),
    async handleUnauthorized(): Promise<CopilotAuth> {
      t.refreshes += 1;
      n += 1;
      return { token: `t${n}`, apiBase: 'http://x' };
    },
  };
  return t;
}

/** Calls once with `err` thrown for the first token; says how many token refreshes it caused. */
async function refreshesFor(err: unknown): Promise<number> {
  const tokens = fakeTokens();
  const gw = createGateway({ tokens, log: silentLogger, resilience: { retryDelaysMs: [0], maxAttempts: 1 } });
  await gw
    .call('chat', undefined, async (auth) => {
      if (auth.token === 't0') throw err;
      return 'ok';
    })
    .catch(() => undefined);
  gw.close?.();
  return tokens.refreshes;
}

test('a 403 that names a model or its policy is not an auth problem: no token exchange, the error goes to the client', async () => {
  const bodies = [
    JSON.stringify({ error: { message: 'The requested model is not supported.', code: 'model_not_supported', param: 'model', type: 'invalid_request_error' } }),
    JSON.stringify({ error: { message: 'Access to this model is disabled by your organization policy.', code: 'model_disabled' } }),
    JSON.stringify({ error: { message: 'no endpoints available for this model under your current plan and policies', code: 'no_available_model_endpoints' } }),
  ];
  for (const body of bodies) {
    const err = upstreamError(403, body, { 'content-type': 'application/json' });
    assert.ok(err instanceof UpstreamHttpError);
    assert.equal(await refreshesFor(err), 0, body);
  }
});

test('a 403 that looks like auth (text bodies Copilot sends for tokens and access) refreshes once; 401 always does', async () => {
  // copilot-cli#18 and #149 recorded these texts.
  for (const text of ['unauthorized: not authorized to use this Copilot feature\n', 'forbidden: access denied\n']) {
    assert.equal(await refreshesFor(upstreamError(403, text, {})), 1, text);
  }
  assert.equal(await refreshesFor(upstreamError(401, 'unauthorized: token expired\n', {})), 1);
});
