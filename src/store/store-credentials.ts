import { readFile } from 'node:fs/promises';
import type { StoreSignIn } from '../config/store-sign-in.js';

/** node-redis's credentials, asked at each connect (its `async-credentials-provider`). */
export interface StoreCredentialsProvider {
  type: 'async-credentials-provider';
  credentials: () => Promise<{ username?: string; password?: string }>;
}

/**
 * The password of a file (STORE_PASSWORD_FILE, STORE_SENTINEL_PASSWORD_FILE) as it holds it now, read at each connect: a rotated
 * Secret (the file updated by the kubelet, then Redis's password changed) was read at start only,
 * so every link lost afterwards failed WRONGPASS until the process restarted, its alerts queued
 * and, past STORE_PENDING_MAX, dropped. A file gone or empty meanwhile (a Secret being replaced)
 * keeps the last password read.
 */
export function filePassword(
  config: Pick<StoreSignIn, 'password' | 'passwordFile'>,
): () => Promise<string | undefined> {
  let last = config.password;
  return async () => {
    if (config.passwordFile === undefined) return last;
    const text = await readFile(config.passwordFile, 'utf8').catch(() => '');
    if (text.trim() !== '') last = text.trim();
    return last;
  };
}

/** The user, and the file's password as it holds it at each connect. */
export function signInCredentials(signIn: StoreSignIn): StoreCredentialsProvider {
  const password = filePassword(signIn);
  return {
    type: 'async-credentials-provider',
    credentials: async () => ({ username: signIn.username, password: await password() }),
  };
}

/**
 * STORE_URL without its credentials, and a provider that gives its user and the file's password at
 * each connect; the URL as it is when there is no file (its own credentials, if any, stay in it).
 */
export function urlCredentials(
  url: string,
  config: Pick<StoreSignIn, 'password' | 'passwordFile'>,
): { url: string; credentialsProvider?: StoreCredentialsProvider } {
  if (config.passwordFile === undefined) return { url };
  const parsed = new URL(url);
  const username = parsed.username === '' ? undefined : decodeURIComponent(parsed.username);
  parsed.username = '';
  parsed.password = '';
  const { password, passwordFile } = config;
  return { url: parsed.href, credentialsProvider: signInCredentials({ username, password, passwordFile }) };
}
