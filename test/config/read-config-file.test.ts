import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { readProblem } from '../../src/config/read-config-file.js';

const problemsOf = (env: Record<string, string>) => {
  const loaded = loadConfig(env);
  return loaded.ok ? [] : loaded.problems;
};

describe('a file a variable names, as Kubernetes mounts it', () => {
  // Regression: the Secret's mountPath named instead of the file in it was refused with a bare
  // "(EISDIR)", which says nothing to most people.
  it('says a folder was named, and how to name the file in it', () => {
    const folder = mkdtempSync(join(tmpdir(), 'config-file-'));
    expect(problemsOf({ VIEWER_TOKEN_FILE: folder })).toEqual([
      `VIEWER_TOKEN_FILE: cannot read ${folder} (EISDIR: it is a folder; name the file in it, such as ${folder}/<key>)`,
    ]);
  });

  // Regression: a root-owned Secret file (a pod without fsGroup) refused as "(EACCES)": neither
  // the file's owner and mode nor the process's user were said.
  it('says whose the file is, who the process is and what to set when it may not read it', () => {
    const folder = mkdtempSync(join(tmpdir(), 'config-file-'));
    const file = join(folder, 'tokens');
    writeFileSync(file, 'viewer-token-0123456789\n');
    chmodSync(file, 0o400);
    expect(readProblem(file, 'EACCES')).toBe(
      `EACCES: permission denied; the file is mode 0400, owner uid ${process.getuid!()} gid ${process.getgid!()}, this process runs as uid ${process.getuid!()} gid ${process.getgid!()}. In Kubernetes set the pod's securityContext.fsGroup to ${process.getgid!()} and a defaultMode its group can read (0440)`,
    );
    const closed = join(folder, 'closed');
    mkdirSync(closed, { mode: 0o700 });
    // As the process that cannot search the folder sees it: stat fails as well.
    expect(readProblem(join(closed, 'nothing-here', 'tokens'), 'EACCES')).toMatch(
      /^EACCES: permission denied; a folder on its path cannot be searched, this process runs as uid/,
    );
  });

  // Regression: a path that ended in a carriage return (an env file with Windows line endings) or
  // kept its quotes was printed like any other and refused as a bare ENOENT.
  it('shows a path with a carriage return or quotes as it is, and says why it is not found', () => {
    expect(problemsOf({ VIEWER_TOKEN_FILE: '/nonexistent/tokens\r' })).toEqual([
      'VIEWER_TOKEN_FILE: cannot read "/nonexistent/tokens\\r" (ENOENT; the path starts or ends with whitespace (a carriage return: the file that set it has Windows line endings))',
    ]);
    expect(
      problemsOf({
        TLS_PORT: '8443',
        TLS_CERT_FILE: '"/nonexistent/tls.crt"',
        TLS_KEY_FILE: '/nonexistent/tls.key',
      }),
    ).toEqual([
      'TLS_CERT_FILE: cannot read "/nonexistent/tls.crt" (ENOENT; the quotes are part of the value (an env file or ConfigMap keeps them): write the path without them)',
      'TLS_KEY_FILE: cannot read /nonexistent/tls.key (ENOENT)',
    ]);
  });

  // Regression: a variable that names a file set to the secret itself (STORE_SENTINEL_PASSWORD_FILE
  // from the Secret's key, as the Bitnami chart hands REDIS_SENTINEL_PASSWORD to its own pods) was
  // refused as 'cannot read <the password> (ENOENT)', and a start-up problem goes to the pod's log.
  it('does not print a value that is no path, as it may be the secret itself', () => {
    const sentinel = { STORE_SENTINELS: 'sentinel-0:26379', STORE_SENTINEL_MASTER: 'mymaster' };
    const problems = problemsOf({
      ...sentinel,
      STORE_PASSWORD_FILE: 'node-s3cret-0123456789',
      STORE_SENTINEL_PASSWORD_FILE: 'Sentinel/s3cret+0123456789',
      VIEWER_TOKEN_FILE: 'viewer-token-0123456789',
    });
    const notShown = (name: string) =>
      `${name}: cannot read the file it names (ENOENT; the value, not shown, is no path: it starts with neither / nor ./ nor ../, so it may be the secret itself. Set the variable to the path of a file that holds the secret, such as a mounted Secret's key)`;
    expect(problems).toEqual([
      notShown('STORE_PASSWORD_FILE'),
      notShown('STORE_SENTINEL_PASSWORD_FILE'),
      notShown('VIEWER_TOKEN_FILE'),
    ]);
    // A path is still named, relative ones too, and a folder or a file it may not read.
    expect(problemsOf({ ...sentinel, STORE_SENTINEL_PASSWORD_FILE: './no/such/file' })).toEqual([
      'STORE_SENTINEL_PASSWORD_FILE: cannot read ./no/such/file (ENOENT)',
    ]);
  });
});
