import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A Secret volume as the kubelet writes it: the files in a timestamped directory, `..data` a
 * symlink to it, each name a symlink through `..data`; an update writes a new directory and swaps
 * `..data` in one rename. A file given as several sources is their concatenation (a CA bundle).
 */
export class MountedSecret {
  private version = 0;
  constructor(readonly dir: string = mkdtempSync(join(tmpdir(), 'falco-tls-secret-'))) {}

  path(name: string): string {
    return join(this.dir, name);
  }

  write(files: Record<string, string | string[]>): void {
    const version = `..2026_12_05_${++this.version}`;
    mkdirSync(join(this.dir, version));
    for (const [name, source] of Object.entries(files)) {
      const target = join(this.dir, version, name);
      if (typeof source === 'string') copyFileSync(source, target);
      else writeFileSync(target, source.map((file) => readFileSync(file, 'utf8')).join(''));
    }
    symlinkSync(version, join(this.dir, '..data_tmp'));
    renameSync(join(this.dir, '..data_tmp'), join(this.dir, '..data'));
    for (const name of Object.keys(files)) {
      try {
        symlinkSync(join('..data', name), join(this.dir, name));
      } catch {
        // Already there: it points through ..data.
      }
    }
  }
}
