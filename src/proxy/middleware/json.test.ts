import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { JsonStructureScanner, jsonDepth, jsonStructure } from './json.ts';

/** The nesting depth of a parsed value: the reference jsonDepth must agree with. */
function valueDepth(v: unknown): number {
  if (typeof v !== 'object' || v === null) return 0;
  const children = Array.isArray(v) ? v : Object.values(v);
  return 1 + children.reduce((m: number, c) => Math.max(m, valueDepth(c)), 0);
}

test('jsonDepth agrees with the parsed value on any JSON (quotes, backslashes, brackets inside strings)', () => {
  const str = fc.string({ unit: fc.constantFrom('\\', '"', '[', ']', '{', '}', 'a', ' ', '\u00e9') });
  const { tree } = fc.letrec((tie) => ({
    tree: fc.oneof({ depthSize: 'small' }, str, fc.integer(), fc.constant(null), tie('arr'), tie('obj')),
    arr: fc.array(tie('tree'), { maxLength: 4 }),
    obj: fc.dictionary(str, tie('tree'), { maxKeys: 4 }),
  }));
  fc.assert(
    fc.property(tree, (v) => {
      assert.equal(jsonDepth(Buffer.from(JSON.stringify(v))), valueDepth(v));
    }),
    { numRuns: 2000 },
  );
});

test('jsonDepth stops once past the limit, and skips a large string without scanning it byte by byte', () => {
  assert.equal(jsonDepth(Buffer.from('['.repeat(1000)), 128), 129);
  const image = Buffer.from(JSON.stringify({ messages: [{ content: [{ image_url: { url: `data:image/png;base64,${'A['.repeat(2_500_000)}` } }] }] }));
  assert.equal(jsonDepth(image, 128), 6);
  assert.equal(jsonDepth(new Uint8Array(Buffer.from('{"a":[1]}'))), 2, 'a plain Uint8Array works too');
});

test('jsonStructure counts objects and arrays outside strings, and stops once past the limit', () => {
  assert.deepEqual(jsonStructure(Buffer.from('{"a":[{"b":"[{}]"},[]]}')), { depth: 3, containers: 4 });
  const tiny = Buffer.from(JSON.stringify({ model: 'm', messages: Array.from({ length: 150_000 }, () => ({ role: 'user', content: 'x' })) }));
  assert.equal(jsonStructure(tiny, { containers: 50_000 }).containers, 50_001, 'stopped at the first one past the limit');
  assert.equal(jsonStructure(tiny).containers, 150_002);
});

test('fed in pieces, split anywhere (inside a string, an escape, a run of backslashes), the scanner counts as for the whole', () => {
  const str = fc.string({ unit: fc.constantFrom('\\', '"', '[', ']', '{', '}', 'a', '\u00e9') });
  const { tree } = fc.letrec((tie) => ({
    tree: fc.oneof({ depthSize: 'small' }, str, fc.integer(), tie('arr'), tie('obj')),
    arr: fc.array(tie('tree'), { maxLength: 4 }),
    obj: fc.dictionary(str, tie('tree'), { maxKeys: 4 }),
  }));
  fc.assert(
    fc.property(tree, fc.array(fc.nat(), { maxLength: 6 }), (v, cuts) => {
      const buf = Buffer.from(JSON.stringify(v));
      const whole = jsonStructure(buf);
      const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
      const s = new JsonStructureScanner();
      let at = 0;
      for (const p of [...points, buf.length]) {
        s.push(buf.subarray(at, p));
        at = p;
      }
      assert.deepEqual({ depth: s.maxDepth, containers: s.containers }, whole);
      assert.equal(whole.depth, valueDepth(v));
    }),
    { numRuns: 2000 },
  );
});
