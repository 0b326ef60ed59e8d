/**
 * build/sea.mjs's Node runtimes: each is pinned by SHA-256 and checked after
 * the download and on every reuse of the cache. Uses a temp GCS_BUILD_CACHE;
 * no download happens (the registry step is replaced). Also runs under Wine
 * with the win32 node.exe (test/install/wine.test.ts).
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { NODE_SHA256, NODE_VERSION, TARGETS, nodeBinary, sha256File, verifyNodeBinary } from '../../build/sea.mjs';

const sha256 = (data: string | Buffer) => crypto.createHash('sha256').update(data).digest('hex');

describe('the pinned Node runtimes of the single-file binaries', () => {
  let cache = '';
  const saved = process.env.GCS_BUILD_CACHE;
  before(() => {
    cache = fs.mkdtempSync(path.join(os.tmpdir(), 'gcs-build-cache-'));
    process.env.GCS_BUILD_CACHE = cache;
  });
  after(() => {
    if (saved === undefined) delete process.env.GCS_BUILD_CACHE;
    else process.env.GCS_BUILD_CACHE = saved;
    fs.rmSync(cache, { recursive: true, force: true });
  });

  const entryDir = (target: string) => path.join(cache, `node-v${NODE_VERSION}-${target}`);

  test('one SHA-256 pin per target, 64 hex digits each, all different', () => {
    assert.deepEqual(Object.keys(NODE_SHA256).sort(), Object.keys(TARGETS).sort());
    const pins = Object.values(NODE_SHA256);
    for (const pin of pins) assert.match(pin, /^[0-9a-f]{64}$/);
    assert.equal(new Set(pins).size, pins.length);
  });

  test('sha256File reads in chunks and hashes the whole file', () => {
    const data = crypto.randomBytes(2.5 * 1024 * 1024);
    const file = path.join(cache, 'random.bin');
    fs.writeFileSync(file, data);
    assert.equal(sha256File(file), sha256(data));
  });

  test('verifyNodeBinary accepts the expected hash and refuses any other, naming target, expected and actual', () => {
    const file = path.join(cache, 'some-node');
    fs.writeFileSync(file, 'a node binary');
    verifyNodeBinary('linux-x64', file, 'the test', sha256('a node binary'));
    assert.throws(
      () => verifyNodeBinary('linux-x64', file, 'the test', '0'.repeat(64)),
      (err: unknown) => err instanceof Error && err.message.includes('linux-x64') && err.message.includes('0'.repeat(64)) && err.message.includes(sha256('a node binary')),
    );
  });

  test('a tampered cached binary is refused and its cache entry removed; nothing is downloaded in its place', () => {
    const target = 'win32-x64';
    fs.mkdirSync(entryDir(target), { recursive: true });
    const bin = path.join(entryDir(target), 'node.exe');
    fs.writeFileSync(bin, 'MZ not the real node');
    let downloads = 0;
    assert.throws(
      () =>
        nodeBinary(target, {
          download: () => {
            downloads++;
            return bin;
          },
        }),
      (err: unknown) => {
        assert.ok(err instanceof Error);
        assert.match(err.message, /^win32-x64: the cached .*node\.exe is not the pinned Node/);
        assert.ok(err.message.includes(`expected ${NODE_SHA256[target]}`), err.message);
        assert.ok(err.message.includes(`actual ${sha256('MZ not the real node')}`), err.message);
        assert.ok(err.message.includes('removed'), err.message);
        return true;
      },
    );
    assert.equal(downloads, 0);
    assert.equal(fs.existsSync(entryDir(target)), false, 'the bad entry is gone');
  });

  test('a download that matches its pin is cached, then reused without another download', () => {
    const target = 'darwin-x64';
    const content = 'the pinned node';
    const pins = { ...NODE_SHA256, [target]: sha256(content) };
    let downloads = 0;
    const download = (_t: string, tmp: string) => {
      downloads++;
      const file = path.join(tmp, 'node');
      fs.writeFileSync(file, content);
      return file;
    };
    const bin = nodeBinary(target, { download, pins });
    assert.equal(bin, path.join(entryDir(target), 'node'));
    assert.equal(fs.readFileSync(bin, 'utf8'), content);
    if (process.platform !== 'win32') assert.equal(fs.statSync(bin).mode & 0o777, 0o755);
    assert.deepEqual(fs.readdirSync(entryDir(target)), ['node'], 'no partial file left beside it');
    assert.equal(nodeBinary(target, { download, pins }), bin);
    assert.equal(downloads, 1);
    // The same entry against the real pin: changed since it was cached, so refused and removed.
    assert.throws(() => nodeBinary(target, { download }), /darwin-x64: the cached /);
    assert.equal(fs.existsSync(entryDir(target)), false);
  });

  test('a downloaded binary that is not the pinned one never enters the cache', () => {
    const target = 'linux-arm64';
    let downloads = 0;
    assert.throws(
      () =>
        nodeBinary(target, {
          download: (t: string, tmp: string) => {
            downloads++;
            assert.equal(t, target);
            const file = path.join(tmp, 'package', 'bin', 'node');
            fs.mkdirSync(path.dirname(file), { recursive: true });
            fs.writeFileSync(file, 'a registry that serves something else');
            return file;
          },
        }),
      (err: unknown) =>
        err instanceof Error &&
        err.message.startsWith('linux-arm64: the downloaded ') &&
        err.message.includes(`expected ${NODE_SHA256[target]}`) &&
        err.message.includes(`actual ${sha256('a registry that serves something else')}`),
    );
    assert.equal(downloads, 1);
    assert.equal(fs.existsSync(entryDir(target)), false);
  });
});
