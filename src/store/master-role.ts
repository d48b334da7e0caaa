/**
 * How many replicas `ROLE` lists on a master: those online (a replica still loading its first sync
 * is left out, it cannot confirm a write yet). Undefined for any other reply: a replica or sentinel
 * answering, or an error.
 */
export function onlineReplicasIn(reply: unknown): number | undefined {
  if (!Array.isArray(reply) || reply[0] !== 'master' || !Array.isArray(reply[2])) return undefined;
  return reply[2].length;
}
