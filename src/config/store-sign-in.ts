import { readConfigFile } from './read-config-file.js';

/** A user and the password of a file, read again at each connect (the last read kept if it empties). */
export interface StoreSignIn {
  username?: string;
  password?: string;
  passwordFile?: string;
}

/** The STORE_ variables that say who the receiver signs in to Redis and to the Sentinels as. */
interface SignInEnv {
  STORE_USERNAME?: string;
  STORE_SENTINEL_USERNAME?: string;
  STORE_SENTINEL_PASSWORD_FILE?: string;
}

/** The password a file holds (a Kubernetes secret mounted as a file usually ends in a newline). */
export function readPassword(
  name: string,
  file: string | undefined,
): { password?: string; problem?: string } {
  if (file === undefined) return {};
  const read = readConfigFile(name, file);
  if ('problem' in read) return read;
  const password = read.text.trim();
  return password === '' ? { problem: `${name}: ${file} is empty` } : { password };
}

/**
 * The variables only Sentinel reads, set without it: refused rather than ignored, as a user named
 * beside STORE_URL would not be the one signed in as (the URL's is).
 */
export function sentinelOnlyProblems(isSet: (name: keyof SignInEnv) => boolean): string[] {
  const problems: string[] = [];
  if (isSet('STORE_USERNAME'))
    problems.push(
      'STORE_USERNAME: is for STORE_SENTINELS only (with STORE_URL the URL names the user: redis://USER@host:6379)',
    );
  for (const name of ['STORE_SENTINEL_USERNAME', 'STORE_SENTINEL_PASSWORD_FILE'] as const)
    if (isSet(name)) problems.push(`${name}: needs STORE_SENTINELS (it signs in to the Sentinels)`);
  return problems;
}

/** How the Sentinels are signed in to: undefined (as no one) unless a user or a password file is set. */
export function sentinelSignIn(env: SignInEnv, password: string | undefined): StoreSignIn | undefined {
  if (env.STORE_SENTINEL_USERNAME === undefined && env.STORE_SENTINEL_PASSWORD_FILE === undefined)
    return undefined;
  return { username: env.STORE_SENTINEL_USERNAME, password, passwordFile: env.STORE_SENTINEL_PASSWORD_FILE };
}

/**
 * STORE_URL with STORE_PASSWORD_FILE's password for the URL's user. node-redis takes a URL's
 * credentials whole when it has any: with STORE_URL=redis://user@host the password of
 * STORE_PASSWORD_FILE was dropped (WRONGPASS, /readyz still ready, every alert queued), and a URL
 * with a password of its own silently won over the file's.
 */
export function withFilePassword(url: string, password: string): { url: string } | { problem: string } {
  const parsed = new URL(url);
  if (parsed.password !== '' && decodeURIComponent(parsed.password) !== password)
    return {
      problem:
        "STORE_URL and STORE_PASSWORD_FILE: each gives a different password (the URL's would be used): give it in one place",
    };
  if (parsed.username === '' || parsed.password !== '') return { url };
  parsed.password = encodeURIComponent(password);
  return { url: parsed.href };
}
