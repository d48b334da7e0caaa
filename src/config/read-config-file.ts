import { readFileSync } from 'node:fs';

/**
 * The text of a file a variable names, or the problem that names both: a missing or unreadable
 * file is refused at start-up with every other problem, not found later by the part that reads it.
 */
export function readConfigFile(name: string, file: string): { text: string } | { problem: string } {
  try {
    return { text: readFileSync(file, 'utf8') };
  } catch (error) {
    return { problem: `${name}: cannot read ${file} (${(error as NodeJS.ErrnoException).code})` };
  }
}
