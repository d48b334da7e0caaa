import { readFileSync, statSync } from 'node:fs';

// Who owns the file and who this process is: a Secret mounted without fsGroup is root's, and
// a bare EACCES said neither.
function permissionDenied(file: string): string {
  let owner = 'a folder on its path cannot be searched';
  try {
    const stat = statSync(file);
    owner = `the file is mode ${(stat.mode & 0o777).toString(8).padStart(4, '0')}, owner uid ${stat.uid} gid ${stat.gid}`;
  } catch {
    // stat needs only the folders' search permission: without it, the owner above is the answer.
  }
  const gid = process.getgid?.();
  const self = gid === undefined ? '' : `, this process runs as uid ${process.getuid?.()} gid ${gid}`;
  return `EACCES: permission denied; ${owner}${self}. In Kubernetes set the pod's securityContext.fsGroup${gid === undefined ? '' : ` to ${gid}`} and a defaultMode its group can read (0440)`;
}

/** The words after `cannot read <file>`: the error code, and for the usual mistakes what to do. */
export function readProblem(file: string, code: string | undefined): string {
  // Kubernetes mounts a Secret as a folder: its mountPath was named, not a key's file in it.
  if (code === 'EISDIR')
    return `EISDIR: it is a folder; name the file in it, such as ${file.replace(/\/+$/, '')}/<key>`;
  if (code === 'EACCES') return permissionDenied(file);
  if (code === 'ENOENT' && /^(["']).*\1$/.test(file))
    return 'ENOENT; the quotes are part of the value (an env file or ConfigMap keeps them): write the path without them';
  if (code === 'ENOENT' && file !== file.trim())
    return 'ENOENT; the path starts or ends with whitespace (a carriage return: the file that set it has Windows line endings)';
  return String(code);
}

// A path with a carriage return or a space at its end looks like any other when printed.
const shown = (file: string) => (/^[\x21-\x7e]+$/.test(file) ? file : JSON.stringify(file));

// A path starts with / (a mounted Secret's key), ./ or ../, after the quotes or spaces
// readProblem tells of.
const isPath = (file: string) => /^\s*["']?\.{0,2}\//.test(file);

/**
 * The text of a file a variable names, or the problem that names both: a missing or unreadable
 * file is refused at start-up with every other problem, not found later by the part that reads it.
 * A value that is no path and names no file is not printed: it is most likely the secret itself
 * (STORE_SENTINEL_PASSWORD_FILE set from the Secret's key, as the Bitnami chart gives its own pods
 * REDIS_SENTINEL_PASSWORD), and start-up problems go to the pod's log.
 */
export function readConfigFile(name: string, file: string): { text: string } | { problem: string } {
  try {
    return { text: readFileSync(file, 'utf8') };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (!isPath(file) && code !== 'EISDIR' && code !== 'EACCES')
      return {
        problem: `${name}: cannot read the file it names (${code}; the value, not shown, is no path: it starts with neither / nor ./ nor ../, so it may be the secret itself. Set the variable to the path of a file that holds the secret, such as a mounted Secret's key)`,
      };
    return { problem: `${name}: cannot read ${shown(file)} (${readProblem(file, code)})` };
  }
}

/**
 * How many lines a file of secrets may hold (`noun`s), and why: every request that presents one is
 * checked against each line, and anyone can send one.
 */
export interface SecretLinesCap {
  count: number;
  noun: string;
  /** What follows the count in the problem: why, and what to keep. */
  why: string;
}

/**
 * Tokens or path secrets a file may hold: a request presenting one costs a SHA-256 per line (the
 * comparison takes as long whichever matches), about 1 us each here. A rotation needs two or three
 * lines; a token for each of 64 readers or Prometheus servers costs under 0.1 ms a request, where a
 * file of 100,000 lines made every request cost a tenth of a second.
 */
export const SECRET_LINES: SecretLinesCap = {
  count: 64,
  noun: 'lines',
  why: ' (a request presenting one is checked against every line): keep those in use',
};

/** The problem of a file of `count` secret lines past `cap`, named by `label`; none within it. */
export function secretLinesProblem(label: string, count: number, cap: SecretLinesCap): string[] {
  return count > cap.count ? [`${label}: holds ${count} ${cap.noun}, at most ${cap.count}${cap.why}`] : [];
}

/** The lines of a secret file that hold a value: trimmed, blank lines and `#` comments skipped. */
export function secretLines(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}
