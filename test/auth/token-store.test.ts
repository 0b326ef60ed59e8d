import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, test } from 'node:test';
import type { KeytarLike } from '../../src/auth/keychain.ts';
import { KEYCHAIN_ACCOUNT, KEYCHAIN_SERVICE, createTokenStore, type StoredTokens } from '../../src/auth/token-store.ts';
import { silentLogger } from '../../src/log.ts';
import { tempHome, testConfig } from './helpers.ts';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function home(): string {
  const h = tempHome();
  cleanups.push(h.cleanup);
  return h.dir;
}

const mode = (p: string) => fs.statSync(p).mode & 0o777;
const TOKENS: StoredTokens = { github_token: 'gho_abcdefghijklmnop', oauth_app: 'vscode', copilot_token: 'tid=1;exp=2', expires_at: 2_000_000_000, refresh_in: 1500 };

function memoryKeytar(): KeytarLike & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return {
    data,
    async getPassword(s, a) {
      return data.get(`${s}/${a}`) ?? null;
    },
    async setPassword(s, a, p) {
      data.set(`${s}/${a}`, p);
    },
    async deletePassword(s, a) {
      return data.delete(`${s}/${a}`);
    },
  };
}

describe('file store', () => {
  test('keychain off: a 0600 file in a 0700 dir; save, load, clear', async () => {
    const dir = path.join(home(), 'data');
    const config = testConfig(dir);
    const store = await createTokenStore({ config, log: silentLogger });
    assert.equal(store.kind, 'file');
    assert.equal(await store.load(), null);
    await store.save(TOKENS);
    assert.equal(mode(config.paths.tokenFile), 0o600);
    assert.equal(mode(dir), 0o700);
    assert.deepEqual(await store.load(), TOKENS);
    assert.deepEqual(fs.readdirSync(dir), ['tokens.json'], 'no temp files left behind');
    await store.clear();
    assert.equal(fs.existsSync(config.paths.tokenFile), false);
    assert.equal(await store.load(), null);
  });

  test('a data dir with looser permissions is tightened to 0700', async () => {
    const dir = home();
    fs.chmodSync(dir, 0o755);
    const store = await createTokenStore({ config: testConfig(dir), log: silentLogger });
    await store.save(TOKENS);
    assert.equal(mode(dir), 0o700);
  });

  test('an unreadable token file is ignored, not fatal', async () => {
    const dir = home();
    const config = testConfig(dir);
    fs.writeFileSync(config.paths.tokenFile, '{not json', { mode: 0o600 });
    const store = await createTokenStore({ config, log: silentLogger });
    assert.equal(await store.load(), null);
  });
});

describe('keychain selection', () => {
  const auto = (dir: string) => testConfig(dir, undefined, { GITHUB_COPILOT_SVCS_KEYCHAIN: 'auto' });

  test('keytar missing: file store', async () => {
    const store = await createTokenStore({ config: auto(home()), log: silentLogger, keytarLoader: async () => null });
    assert.equal(store.kind, 'file');
  });

  test('keytar failing to load: file store', async () => {
    const store = await createTokenStore({
      config: auto(home()),
      log: silentLogger,
      keytarLoader: async () => {
        throw new Error('libsecret-1.so.0: cannot open shared object file');
      },
    });
    assert.equal(store.kind, 'file');
  });

  test('a keychain that does not answer in time: file store', async () => {
    const hanging: KeytarLike = {
      getPassword: () => new Promise(() => {}),
      setPassword: () => new Promise(() => {}),
      deletePassword: () => new Promise(() => {}),
    };
    const started = Date.now();
    const store = await createTokenStore({ config: auto(home()), log: silentLogger, keytarLoader: async () => hanging, timeoutMs: 50 });
    assert.equal(store.kind, 'file');
    assert.ok(Date.now() - started < 1000);
  });

  test('keychain off: keytar is not even loaded', async () => {
    let loaded = false;
    const store = await createTokenStore({
      config: testConfig(home()),
      log: silentLogger,
      keytarLoader: async () => {
        loaded = true;
        return memoryKeytar();
      },
    });
    assert.equal(store.kind, 'file');
    assert.equal(loaded, false);
  });

  test('a working keychain holds the tokens under service github-copilot-svcs; no file is written', async () => {
    const dir = home();
    const config = auto(dir);
    const kt = memoryKeytar();
    const store = await createTokenStore({ config, log: silentLogger, keytarLoader: async () => kt });
    assert.equal(store.kind, 'keychain');
    await store.save(TOKENS);
    assert.ok(kt.data.has(`${KEYCHAIN_SERVICE}/${KEYCHAIN_ACCOUNT}`));
    assert.equal(fs.existsSync(config.paths.tokenFile), false);
    assert.deepEqual(await store.load(), TOKENS);
    await store.clear();
    assert.equal(kt.data.size, 0);
  });

  test('tokens from an earlier file-store run move into the keychain', async () => {
    const dir = home();
    const config = auto(dir);
    const fileStore = await createTokenStore({ config: testConfig(dir), log: silentLogger });
    await fileStore.save(TOKENS);
    const kt = memoryKeytar();
    const store = await createTokenStore({ config, log: silentLogger, keytarLoader: async () => kt });
    assert.deepEqual(await store.load(), TOKENS);
    assert.equal(fs.existsSync(config.paths.tokenFile), false);
    assert.ok(kt.data.has(`${KEYCHAIN_SERVICE}/${KEYCHAIN_ACCOUNT}`));
  });

  test('a keychain that stops answering later: the save goes to the file', async () => {
    const dir = home();
    const config = auto(dir);
    const kt = memoryKeytar();
    kt.setPassword = () => new Promise(() => {});
    const store = await createTokenStore({ config, log: silentLogger, keytarLoader: async () => kt, timeoutMs: 50 });
    assert.equal(store.kind, 'keychain');
    await store.save(TOKENS);
    assert.equal(store.kind, 'file');
    assert.equal(mode(config.paths.tokenFile), 0o600);
    assert.deepEqual(await store.load(), TOKENS);
  });
});

describe('migration from a Go-tool config.json', () => {
  test('tokens move into the store and leave config.json; other keys stay; file stays 0600', async () => {
    const dir = home();
    const configFile = path.join(dir, 'config.json');
    const goConfig = {
      port: 9090,
      github_token: 'gho_legacy_go_token_1234',
      copilot_token: 'tid=legacy;exp=1',
      expires_at: 1_900_000_000,
      refresh_in: 1500,
      timeouts: { http_client: 120, server_read: 30 },
    };
    fs.writeFileSync(configFile, JSON.stringify(goConfig, null, 2), { mode: 0o600 });
    const config = testConfig(dir);
    assert.equal(config.legacy_tokens.github_token, 'gho_legacy_go_token_1234');
    const store = await createTokenStore({ config, log: silentLogger });
    const loaded = await store.load();
    assert.deepEqual(loaded, {
      github_token: 'gho_legacy_go_token_1234',
      oauth_app: 'vscode',
      copilot_token: 'tid=legacy;exp=1',
      expires_at: 1_900_000_000,
      refresh_in: 1500,
    });
    const rewritten: unknown = JSON.parse(fs.readFileSync(configFile, 'utf8'));
    assert.deepEqual(rewritten, { port: 9090, timeouts: { http_client: 120, server_read: 30 } });
    assert.equal(mode(configFile), 0o600);
    assert.doesNotMatch(fs.readFileSync(configFile, 'utf8'), /gho_|tid=/);
    // The store has them now; a second run finds them there.
    const again = await createTokenStore({ config: testConfig(dir), log: silentLogger });
    assert.equal((await again.load())?.github_token, 'gho_legacy_go_token_1234');
  });

  test('a config.json without tokens is not rewritten', async () => {
    const dir = home();
    const configFile = path.join(dir, 'config.json');
    fs.writeFileSync(configFile, '{"port": 9091}', { mode: 0o600 });
    const before = fs.statSync(configFile).mtimeMs;
    const store = await createTokenStore({ config: testConfig(dir), log: silentLogger });
    assert.equal(await store.load(), null);
    assert.equal(fs.readFileSync(configFile, 'utf8'), '{"port": 9091}');
    assert.equal(fs.statSync(configFile).mtimeMs, before);
  });

  test('an env GitHub token is never migrated or written', async () => {
    const dir = home();
    const config = testConfig(dir, undefined, { GITHUB_COPILOT_SVCS_GITHUB_TOKEN: 'gho_env_only_token_99' });
    const store = await createTokenStore({ config, log: silentLogger });
    assert.equal(await store.load(), null);
    assert.deepEqual(fs.readdirSync(dir), []);
  });
});

describe('why keytar is absent', () => {
  test('declared but absent means it did not build, with the fix; the binary and an undeclared keytar say so', async () => {
    const { keytarAbsence } = await import('../../src/auth/keychain.ts');
    assert.match(keytarAbsence(false, true), /did not build when this package was installed .*Node's headers.*libsecret-1-dev.*npm's install log.*npm ci/);
    assert.doesNotMatch(keytarAbsence(false, true), /not installed/);
    assert.match(keytarAbsence(true, true), /this binary carries no keychain module/);
    assert.equal(keytarAbsence(false, false), 'keytar is not installed');
    // This checkout declares it (package.json optionalDependencies).
    assert.match(keytarAbsence(false), /did not build/);
  });
});
