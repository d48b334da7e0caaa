import { statSync } from 'node:fs';

/**
 * Which version of each file is there, as one string to compare with the last one read: a mounted
 * Secret updated (the kubelet swaps its `..data` symlink, so the inode changes) or a file copied over
 * (its size or times change). A `stat` of each, nothing read; an absent name is an empty part.
 */
export function fileVersions(files: readonly (string | undefined)[]): string {
  return files
    .map((file) => {
      if (file === undefined) return '';
      try {
        const { ino, size, mtimeMs, ctimeMs } = statSync(file);
        return `${ino}:${size}:${mtimeMs}:${ctimeMs}`;
      } catch (error) {
        return `missing:${(error as NodeJS.ErrnoException).code ?? 'unknown'}`;
      }
    })
    .join('|');
}
