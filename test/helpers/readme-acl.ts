import { readFileSync } from 'node:fs';

/**
 * An `ACL SETUSER` README gives, as its words with this password: the receiver's user on the Redis
 * data nodes, or on the Sentinels (the line that allows `SENTINEL` subcommands).
 */
export function readmeAcl(password: string, on: 'data nodes' | 'sentinels' = 'data nodes'): string[] {
  return readmeAclBlock(password, on)[0]!;
}

/**
 * Every command of the README block that gives that `ACL SETUSER` (it first), as words: what README
 * says to run to make the user.
 */
export function readmeAclBlock(password: string, on: 'data nodes' | 'sentinels' = 'data nodes'): string[][] {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const block = [...readme.matchAll(/^```\n(ACL SETUSER [\s\S]*?)```$/gm)]
    .map((match) => match[1]!)
    .find((text) => text.split('\n')[0]!.includes('+sentinel|') === (on === 'sentinels'));
  if (block === undefined) throw new Error(`README.md gives no ACL SETUSER line for the ${on}`);
  return block
    .trim()
    .split('\n')
    .map((line) => line.split(' ').map((word) => (word === '>PASSWORD' ? `>${password}` : word)));
}
