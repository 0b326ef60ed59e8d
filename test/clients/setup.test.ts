import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { clientSnippets } from '../../src/clients/setup.ts';

// The README's set-up blocks are the ones the dashboard offers and the real-client suite runs (src/clients/setup.ts).
test('every client set-up snippet is in the README, word for word, in a code block', () => {
  const readme = fs.readFileSync(path.resolve(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/^```\w*\n([\s\S]*?)^```$/gm)].map((m) => m[1] ?? '');
  for (const s of clientSnippets({ origin: 'http://localhost:8081' })) {
    assert.ok(
      blocks.some((b) => b.includes(s.text)),
      `README.md has no code block with the ${s.title} snippet:\n${s.text}`,
    );
  }
});
