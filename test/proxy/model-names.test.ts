import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { startHarness, type Harness } from '../helpers/harness.ts';

/**
 * Model names are bounded at the edge (#20, item 1): at most 256 characters of a
 * conservative alphabet, else a 400 naming the limit, before anything is billed,
 * logged or recorded; family fallback takes only names that look like a Claude id.
 */
describe('hostile model names', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => h.close());

  const post = (p: string, model: string) =>
    fetch(`${h.url}${p}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model, max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }),
    });

  test('too long, or with CR/LF/ESC/spaces: 400 in the caller\'s shape, nothing upstream, no forged log line', async () => {
    const before = h.fake.counts.chat + h.fake.counts.messages;
    const names = [
      `claude-opus-${'x'.repeat(300)}`,
      'claude-opus-4\n[2026-12-02 10:00:00] [error] [proxy] FORGED line',
      'claude-opus-4\u001b[31mred',
      'claude opus',
      '',
    ];
    for (const name of names) {
      const openai = await post('/v1/chat/completions', name);
      assert.equal(openai.status, 400, JSON.stringify(name).slice(0, 40));
      const body = z400(await openai.json());
      assert.equal(body.error.code, name === '' ? body.error.code : 'invalid_model');
      const anthropic = await post('/v1/messages', name);
      assert.equal(anthropic.status, 400);
      assert.match(JSON.stringify(await anthropic.json()), /"type":"error"/);
    }
    assert.equal(h.fake.counts.chat + h.fake.counts.messages, before, 'never reached Copilot');
    // count_tokens calls no model, and still takes no name past the bound.
    for (const name of names.slice(0, 3)) assert.equal((await post('/v1/messages/count_tokens', name)).status, 400, JSON.stringify(name).slice(0, 40));
    await new Promise((r) => setTimeout(r, 200));
    const log = fs.existsSync(h.logFile) ? fs.readFileSync(h.logFile, 'utf8') : '';
    assert.ok(!/^\[2026-12-02 10:00:00\] \[error\] \[proxy\] FORGED/m.test(log), 'no forged line');
    assert.ok(!log.includes('\u001b'), 'no raw ESC');
  });

  test('a name that only starts like a Claude family but is not an id is not a fallback: 404 listing the models', async () => {
    const r = await post('/v1/chat/completions', 'claude-opus-/../../etc');
    assert.equal(r.status, 404);
    const ok = await post('/v1/chat/completions', 'claude-opus-4-6');
    assert.equal(ok.status, 200, 'a real-looking newer name still falls back');
  });
});

function z400(v: unknown): { error: { code: string } } {
  assert.ok(typeof v === 'object' && v !== null && 'error' in v);
  const e: unknown = v.error;
  assert.ok(typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string');
  return { error: { code: e.code } };
}
