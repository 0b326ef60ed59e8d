import fs from 'node:fs';
import * as z from 'zod';
import { refuseSymlink } from '../config/paths.ts';
import { LEGACY_TOKEN_KEYS, OAUTH_APPS, type ResolvedConfig } from '../config/schema.ts';
import type { Logger } from '../log.ts';
import { isErrno, updateConfigFile, writeFileAtomic } from './config-file.ts';
import { createChildProcessKeytar, keytarAbsence, resolveKeytar, withTimeout, type KeytarLike } from './keychain.ts';

export const KEYCHAIN_SERVICE = 'github-copilot-svcs';
export const KEYCHAIN_ACCOUNT = 'tokens';

/** What the store keeps. Only the token manager and the `auth` command read it. */
export const storedTokensSchema = z.object({
  github_token: z.string().min(1),
  oauth_app: z.enum(OAUTH_APPS),
  enterprise_url: z.string().optional(),
  copilot_token: z.string().optional(),
  /** Unix seconds. */
  expires_at: z.number().optional(),
  /** Seconds, as Copilot said. */
  refresh_in: z.number().optional(),
  /** The token's `endpoints.api`. */
  api_base: z.string().optional(),
  /** Unix seconds when the Copilot token was obtained (its lifetime drives the refresh threshold). */
  obtained_at: z.number().optional(),
});
export type StoredTokens = z.infer<typeof storedTokensSchema>;

export type StoreKind = 'keychain' | 'file';

export interface TokenStore {
  /** Which backend answers now. A keychain that stops answering switches the store to the file. */
  readonly kind: StoreKind;
  load(): Promise<StoredTokens | null>;
  save(tokens: StoredTokens): Promise<void>;
  clear(): Promise<void>;
}

export interface TokenStoreOptions {
  config: Pick<ResolvedConfig, 'keychain' | 'paths' | 'oauth_app' | 'enterprise_url' | 'legacy_tokens'>;
  log: Logger;
  /** Returns keytar (or null when unavailable). Default: keytar in a killable child process. */
  keytarLoader?: () => Promise<KeytarLike | null>;
  /** How long a keychain call may take before the file store is used. */
  timeoutMs?: number;
}

/**
 * The OS keychain (service `github-copilot-svcs`) when one answers within
 * `timeoutMs`, else a 0600 file in the 0700 data dir. Never blocks longer than
 * that, and never keeps the process alive afterwards (see keychain.ts).
 */
export async function createTokenStore(opts: TokenStoreOptions): Promise<TokenStore> {
  const { config, log } = opts;
  const timeoutMs = opts.timeoutMs ?? 2000;
  const file = createFileBackend(config.paths.tokenFile, log);

  let keytar: KeytarLike | null = null;
  let probed: string | null = null;
  if (config.keychain !== 'off') {
    try {
      keytar = await (opts.keytarLoader ?? defaultKeytarLoader(timeoutMs))();
      if (!keytar) log.info(`${keytarAbsence()}; tokens are kept in a 0600 file`);
    } catch (err) {
      log.info(`keytar could not be loaded (${message(err)}); tokens are kept in a 0600 file`);
      keytar = null;
    }
    if (keytar) {
      try {
        probed = await withTimeout(keytar.getPassword(KEYCHAIN_SERVICE, KEYCHAIN_ACCOUNT), timeoutMs);
      } catch (err) {
        // Common on servers and in CI (no D-Bus); `status` names the store in use.
        log.info(`The OS keychain is not usable (${message(err)}); tokens are kept in a 0600 file instead`);
        keytar = null;
      }
    }
  }

  let kind: StoreKind = keytar ? 'keychain' : 'file';
  let firstRead = true;
  let migrated = false;

  const fallBack = (err: unknown) => {
    log.warn(`The OS keychain stopped answering (${message(err)}); tokens are kept in a 0600 file from now on`);
    kind = 'file';
  };

  const backendLoad = async (): Promise<StoredTokens | null> => {
    if (kind === 'file' || !keytar) return file.load();
    let raw: string | null;
    if (firstRead) {
      firstRead = false;
      raw = probed;
    } else {
      try {
        raw = await withTimeout(keytar.getPassword(KEYCHAIN_SERVICE, KEYCHAIN_ACCOUNT), timeoutMs);
      } catch (err) {
        fallBack(err);
        return file.load();
      }
    }
    if (raw !== null) {
      const parsed = parseStored(raw);
      if (parsed) return parsed;
      log.warn('The tokens in the OS keychain are unreadable; ignoring them');
      return null;
    }
    // Keychain empty: tokens from an earlier file-store run move in.
    const fromFile = await file.load();
    if (fromFile) {
      try {
        await backendSave(fromFile);
        if (kind === 'keychain') {
          await file.clear();
          log.info('Moved the tokens from the token file into the OS keychain');
        }
      } catch (err) {
        log.warn(`Could not move the tokens into the OS keychain (${message(err)})`);
      }
    }
    return fromFile;
  };

  const backendSave = async (tokens: StoredTokens): Promise<void> => {
    firstRead = false; // the probe's answer is stale now
    if (kind === 'keychain' && keytar) {
      try {
        await withTimeout(keytar.setPassword(KEYCHAIN_SERVICE, KEYCHAIN_ACCOUNT, JSON.stringify(tokens)), timeoutMs);
        return;
      } catch (err) {
        fallBack(err);
      }
    }
    await file.save(tokens);
  };

  return {
    get kind() {
      return kind;
    },
    async load() {
      if (!migrated) {
        migrated = true;
        const legacy = await migrateLegacyTokens(config, backendSave, log);
        if (legacy) {
          firstRead = false;
          return legacy;
        }
      }
      return backendLoad();
    },
    save: backendSave,
    async clear() {
      firstRead = false;
      if (kind === 'keychain' && keytar) {
        try {
          await withTimeout(keytar.deletePassword(KEYCHAIN_SERVICE, KEYCHAIN_ACCOUNT), timeoutMs);
        } catch (err) {
          fallBack(err);
        }
      }
      await file.clear();
    },
  };
}

function defaultKeytarLoader(timeoutMs: number): () => Promise<KeytarLike | null> {
  return async () => {
    const modulePath = resolveKeytar();
    return modulePath ? createChildProcessKeytar({ modulePath, timeoutMs }) : null;
  };
}

/**
 * The Go tool kept `github_token`, `copilot_token`, `expires_at`, `refresh_in` in
 * config.json. loadConfig read them (one schema, "" / null / 0 = unset); found
 * there, they are saved to the store and removed from the file (rewritten
 * atomically, 0600, other keys untouched). Their presence means they are newer
 * than whatever the store holds.
 */
async function migrateLegacyTokens(
  config: TokenStoreOptions['config'],
  save: (t: StoredTokens) => Promise<void>,
  log: Logger,
): Promise<StoredTokens | null> {
  const tokens = tokensFromLegacy(config);
  if (!tokens) return null;
  const configFile = config.paths.configFile;
  await save(tokens);
  updateConfigFile(configFile, (o) => {
    for (const k of LEGACY_TOKEN_KEYS) delete o[k];
  });
  log.info(`Moved the GitHub token found in ${configFile} into the token store and removed the token keys from that file`);
  return tokens;
}

/** Pure: what the store keeps for a Go-tool config's tokens; null without a GitHub token. A Copilot token's expiry only travels with it. */
export function tokensFromLegacy(config: Pick<ResolvedConfig, 'legacy_tokens' | 'oauth_app' | 'enterprise_url'>): StoredTokens | null {
  const l = config.legacy_tokens;
  if (!l.github_token) return null;
  return {
    github_token: l.github_token,
    oauth_app: config.oauth_app,
    ...(config.enterprise_url ? { enterprise_url: config.enterprise_url } : {}),
    ...(l.copilot_token
      ? {
          copilot_token: l.copilot_token,
          ...(l.expires_at !== undefined ? { expires_at: l.expires_at } : {}),
          ...(l.refresh_in !== undefined ? { refresh_in: l.refresh_in } : {}),
        }
      : {}),
  };
}

interface FileBackend {
  load(): Promise<StoredTokens | null>;
  save(t: StoredTokens): Promise<void>;
  clear(): Promise<void>;
}

function createFileBackend(tokenFile: string, log: Logger): FileBackend {
  return {
    async load() {
      let text: string;
      refuseSymlink(tokenFile);
      try {
        text = fs.readFileSync(tokenFile, 'utf8');
      } catch (err) {
        if (isErrno(err) && err.code === 'ENOENT') return null;
        log.warn(`Cannot read ${tokenFile} (${message(err)})`);
        return null;
      }
      const parsed = parseStored(text);
      if (!parsed) log.warn(`${tokenFile} is unreadable; ignoring it (a sign-in writes it again)`);
      return parsed;
    },
    async save(t) {
      writeFileAtomic(tokenFile, `${JSON.stringify(t)}\n`);
    },
    async clear() {
      refuseSymlink(tokenFile);
      fs.rmSync(tokenFile, { force: true });
    },
  };
}

function parseStored(text: string): StoredTokens | null {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return null;
  }
  const r = storedTokensSchema.safeParse(json);
  return r.success ? r.data : null;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
