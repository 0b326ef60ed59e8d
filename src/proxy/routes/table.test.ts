import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ROUTES, ROUTE_NAMES, compileRoutes, shapeFor } from './table.ts';

const all = compileRoutes({ debug: true });

test('every path of every route answers its methods, and 405 with Allow for any other', () => {
  for (const spec of ROUTES) {
    for (const p of spec.paths) {
      const path = p.replace('*id', 'gpt-4.1');
      for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH']) {
        const m = all.match(method, path);
        assert.ok(m !== null, `${method} ${path} is known`);
        assert.equal(m.spec, spec, `${method} ${path} is ${spec.name}`);
        const takes = spec.methods.includes('GET') ? ['GET', 'HEAD'] : ['POST'];
        if (takes.includes(method)) assert.equal(m.kind, 'route', `${method} ${path}`);
        else assert.deepEqual(m.kind === 'method' ? m.allowed : null, takes, `${method} ${path} → 405`);
      }
    }
  }
});

test('the routes that used to 404 on a wrong method now 405 (#22)', () => {
  for (const [method, path, allowed] of [
    ['GET', '/admin/sign-in', ['POST']],
    ['GET', '/admin/sign-out', ['POST']],
    ['POST', '/usage/events', ['GET', 'HEAD']],
    ['POST', '/debug/memory', ['GET', 'HEAD']],
    ['DELETE', '/', ['GET', 'HEAD']],
    ['POST', '/dashboard/dashboard.js', ['GET', 'HEAD']],
  ] as const) {
    const m = all.match(method, path);
    assert.equal(m?.kind, 'method', `${method} ${path}`);
    assert.deepEqual(m.kind === 'method' ? m.allowed : null, allowed);
  }
});

test('paths match as express matches: any case, one trailing slash, the rest of the path for *id', () => {
  assert.equal(all.match('POST', '/V1/Chat/Completions/')?.spec.name, '/v1/chat/completions');
  assert.equal(all.match('POST', '/v1/chat/completions//'), null);
  assert.equal(all.match('POST', '/v1/chat/completionsX'), null);
  assert.equal(all.match('GET', '/v1/nope'), null);
  const m = all.match('GET', '/v1/models/accounts/x/y');
  assert.ok(m?.kind === 'route');
  assert.deepEqual(m.params.id, ['accounts', 'x', 'y']);
  assert.throws(() => all.match('GET', '/v1/models/%E0%A4%A'), /Failed to decode/);
});

test('the /debug routes exist only with debug_endpoints; the dashboard serves only its own files', () => {
  const plain = compileRoutes({ debug: false });
  assert.equal(plain.match('GET', '/debug/memory'), null);
  assert.equal(plain.match('POST', '/debug'), null);
  assert.equal(all.match('GET', '/dashboard/dashboard.js')?.spec.name, '/dashboard/:file');
  assert.equal(all.match('GET', '/dashboard/secrets.txt'), null);
});

test('one route per path: no path is in two entries', () => {
  const seen = new Map<string, string>();
  for (const spec of ROUTES)
    for (const p of spec.paths) {
      assert.equal(seen.get(p.toLowerCase()), undefined, `${p} is in ${seen.get(p.toLowerCase())} and ${spec.name}`);
      seen.set(p.toLowerCase(), spec.name);
    }
  assert.equal(ROUTE_NAMES.size, ROUTES.length + 1, 'names are unique, plus "unmatched"');
  // A table that repeats a path (in any case, or with a trailing slash) does not compile.
  const health = ROUTES.find((r) => r.name === '/health');
  assert.ok(health);
  assert.throws(() => compileRoutes({ debug: false }, [...ROUTES, { ...health, name: '/again', paths: ['/HEALTH/'] }]), /\/HEALTH\/ is both \/health and \/again/);
});

test('the error shape follows the route: Anthropic under /v1/messages, OpenAI elsewhere', () => {
  assert.equal(shapeFor('/v1/messages'), 'anthropic');
  assert.equal(shapeFor('/messages/count_tokens'), 'anthropic');
  assert.equal(shapeFor('/v1/messages/batches'), 'anthropic');
  assert.equal(shapeFor('/v1/messagesX'), 'openai');
  assert.equal(shapeFor('/v1/chat/completions'), 'openai');
  assert.equal(shapeFor('/nope'), 'openai');
  assert.equal(shapeFor('/v1/models/%E0%A4%A'), 'openai');
});
