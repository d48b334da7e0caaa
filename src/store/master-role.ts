/**
 * How many replicas `ROLE` lists on a master: those online, as `WAIT` counts them (one whose first
 * sync the master still prepares or sends is left out; one still loading what it was sent is
 * listed, and confirms a write only once it has loaded). Undefined for any other reply: a replica or
 * sentinel answering, or an error.
 */
export function onlineReplicasIn(reply: unknown): number | undefined {
  if (!Array.isArray(reply) || reply[0] !== 'master' || !Array.isArray(reply[2])) return undefined;
  return reply[2].length;
}
