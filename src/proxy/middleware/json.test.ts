import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { charsetOf, JsonStructureScanner, jsonDepth, jsonStructure, MAX_JSON_OBJECT_KEYS, MAX_JSON_VALUES } from './json.ts';

/** The nesting depth of a parsed value: the reference jsonDepth must agree with. */
function valueDepth(v: unknown): number {
  if (typeof v !== 'object' || v === null) return 0;
  const children = Array.isArray(v) ? v : Object.values(v);
  return 1 + children.reduce((m: number, c) => Math.max(m, valueDepth(c)), 0);
}

/** What the scanner counts, from a parsed value: containers, values (brackets, commas, colons) and the most keys in one object. */
function valueCounts(v: unknown): { containers: number; values: number; objectKeys: number } {
  if (typeof v !== 'object' || v === null) return { containers: 0, values: 0, objectKeys: 0 };
  const children = Array.isArray(v) ? v : Object.values(v);
  const keys = Array.isArray(v) ? 0 : children.length;
  const own = { containers: 1, values: 1 + keys + Math.max(children.length - 1, 0), objectKeys: keys };
  return children.map(valueCounts).reduce((a, c) => ({ containers: a.containers + c.containers, values: a.values + c.values, objectKeys: Math.max(a.objectKeys, c.objectKeys) }), own);
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
  assert.deepEqual(jsonStructure(Buffer.from('{"a":[{"b":"[{:,}]"},[]]}')), { depth: 3, containers: 4, values: 7, objectKeys: 1 });
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
      assert.deepEqual({ depth: s.maxDepth, containers: s.containers, values: s.values, objectKeys: s.maxObjectKeys }, whole);
      assert.equal(whole.depth, valueDepth(v));
      assert.deepEqual({ containers: whole.containers, values: whole.values, objectKeys: whole.objectKeys }, valueCounts(v));
    }),
    { numRuns: 2000 },
  );
});

test('values and keys are bounded too (#20): a long array of scalars, or one object with very many keys, is refused before parsing', () => {
  const zeros = new JsonStructureScanner({ values: MAX_JSON_VALUES });
  zeros.push(Buffer.from(`[${'0,'.repeat(2_500_000)}0]`));
  assert.equal(zeros.values, MAX_JSON_VALUES + 1, 'stopped at the first one past the limit');
  assert.match(zeros.rejection()?.message ?? '', /more than 300,000 JSON values/);
  const wide = new JsonStructureScanner({ objectKeys: MAX_JSON_OBJECT_KEYS });
  wide.push(Buffer.from(`{"a":{${Array.from({ length: 20_000 }, (_, i) => `"k${i}":0`).join(',')}}}`));
  assert.match(wide.rejection()?.message ?? '', /more than 10,000 keys/);
  // The same keys spread over small objects are fine: each object's keys are counted apart.
  const spread = new JsonStructureScanner({ objectKeys: MAX_JSON_OBJECT_KEYS });
  spread.push(Buffer.from(JSON.stringify(Array.from({ length: 20_000 }, (_, i) => ({ [`k${i}`]: 0, b: { c: 1 } })))));
  assert.equal(spread.maxObjectKeys, 2);
  assert.equal(spread.rejection(), null);
});

test('charsetOf parses the Content-Type as a MIME type: a charset inside a quoted parameter is not one', () => {
  assert.equal(charsetOf('application/json; charset=UTF-8'), 'utf-8');
  assert.equal(charsetOf('application/json; charset="utf-16"'), 'utf-16');
  assert.equal(charsetOf('application/json; foo="x; charset=utf-16"'), undefined);
  assert.equal(charsetOf('application/json'), undefined);
  assert.equal(charsetOf(undefined), undefined);
});
