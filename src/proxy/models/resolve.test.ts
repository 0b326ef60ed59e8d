import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CopilotModel } from '../../upstream/copilot-client.ts';
import { resolveModel } from './resolve.ts';

/** Claude ids as Copilot's /models really lists them (a two-digit run such as `41` is Opus 4.1). */
const COPILOT_CLAUDE_IDS = [
  'claude-3.5-sonnet',
  'claude-3.7-sonnet',
  'claude-3.7-sonnet-thought',
  'claude-sonnet-4',
  'claude-sonnet-4.5',
  'claude-opus-41',
  'claude-opus-4.5',
  'claude-haiku-4.5',
];
const models: CopilotModel[] = [...COPILOT_CLAUDE_IDS, 'gpt-4.1'].map((id) => ({ id, capabilities: { type: 'chat' } }));
const opts = { modelMap: new Map<string, string>(), fallback: true, type: 'chat' as const };
const idFor = (name: string, list: readonly CopilotModel[] = models): string | undefined => {
  const r = resolveModel(name, list, opts);
  return r.kind === 'found' ? r.id : undefined;
};

describe('resolveModel with Copilot\'s Claude ids', () => {
  test('an unknown newer Opus falls back to claude-opus-4.5, not to claude-opus-41 (read as 4.1, not 41)', () => {
    for (const name of ['claude-opus-4-6', 'claude-3-opus-20240229', 'claude-opus-latest', 'claude-opus-4-6-20260101']) {
      assert.equal(idFor(name), 'claude-opus-4.5', name);
    }
  });

  test('Opus 4.1 under its client names still reaches claude-opus-41', () => {
    for (const name of ['claude-opus-4-1', 'claude-opus-4.1', 'claude-opus-4-1-20250805', 'claude-opus-41']) {
      assert.equal(idFor(name), 'claude-opus-41', name);
    }
  });

  test('newest sonnet is 4.5 (above 4, 3.7 and 3.5); haiku 4.5', () => {
    assert.equal(idFor('claude-sonnet-9'), 'claude-sonnet-4.5');
    assert.equal(idFor('claude-haiku-9'), 'claude-haiku-4.5');
    assert.equal(idFor('claude-3-7-sonnet-latest'), 'claude-3.7-sonnet');
  });

  test('3.7 (written 37 or 3.7) ranks above 3.5 and below 4', () => {
    const sonnets = ['claude-3.5-sonnet', 'claude-37-sonnet', 'claude-sonnet-4'].map((id): CopilotModel => ({ id }));
    assert.equal(idFor('claude-sonnet-9', sonnets), 'claude-sonnet-4');
    assert.equal(idFor('claude-sonnet-9', sonnets.slice(0, 2)), 'claude-37-sonnet');
  });

  test('the nearest family when the requested one is missing uses the same ordering', () => {
    const noOpus = models.filter((m) => !m.id.includes('opus'));
    assert.equal(idFor('claude-opus-4-6', noOpus), 'claude-sonnet-4.5');
  });
});
