import assert from 'node:assert/strict';
import { test } from 'node:test';
import { redact } from '../../log.ts';
import { bodyForLog } from './debug-bodies.ts';

test('bodyForLog elides data URLs, cuts long bodies, and the logger redaction still removes tokens', () => {
  const img = `data:image/png;base64,${'A'.repeat(10_000)}`;
  const line = bodyForLog({ model: 'gpt-4.1', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: img } }] }] });
  assert.ok(line.includes('data:image/png;base64,…(10022 chars)'));
  assert.ok(line.length < 500);
  const long = bodyForLog({ text: 'x'.repeat(10_000) });
  assert.ok(long.endsWith('chars)'));
  assert.ok(long.length < 4200);
  const token = ['ghu', 'abcdefghijklmnopqrstuvwxyz0123'].join('_');
  assert.ok(!redact(bodyForLog({ note: `my token is ${token}` })).includes(token));
});
