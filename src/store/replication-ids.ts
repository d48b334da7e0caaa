/**
 * A Redis's replication ids (`INFO replication`): `replid` names its history of writes, and a
 * replica promoted to master takes a new one and keeps its old master's as `replid2` (so its
 * replicas may continue from where they were). A restart starts a history of its own: a new
 * `replid`, and `replid2` all zeros.
 */
export interface ReplicationIds {
  replid: string;
  replid2: string;
}

/** The replication ids of an `INFO replication` reply; undefined when it holds none. */
export function readReplicationIds(info: unknown): ReplicationIds | undefined {
  if (typeof info !== 'string') return undefined;
  const replid = /^master_replid:(\w+)\r?$/m.exec(info)?.[1];
  const replid2 = /^master_replid2:(\w+)\r?$/m.exec(info)?.[1];
  return replid === undefined || replid2 === undefined ? undefined : { replid, replid2 };
}

/**
 * True when `now` is a replica promoted while it followed `before` (a failover): it holds what it had
 * received of `before`'s writes, and lacks only what `before` took after that.
 */
export function promotedFrom(before: ReplicationIds | undefined, now: ReplicationIds | undefined): boolean {
  return before !== undefined && now !== undefined && now.replid2 === before.replid;
}
