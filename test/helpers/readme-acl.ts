import { readFileSync } from 'node:fs';

/**
 * An `ACL SETUSER` README gives, as its words with this password: the receiver's user on the Redis
 * data nodes, or on the Sentinels (the line that allows `SENTINEL` subcommands).
 */
export function readmeAcl(password: string, on: 'data nodes' | 'sentinels' = 'data nodes'): string[] {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const line = [...readme.matchAll(/^ACL SETUSER .+$/gm)]
    .map((match) => match[0])
    .find((text) => text.includes('+sentinel|') === (on === 'sentinels'));
  if (line === undefined) throw new Error(`README.md gives no ACL SETUSER line for the ${on}`);
  return line.split(' ').map((word) => (word === '>PASSWORD' ? `>${password}` : word));
}
