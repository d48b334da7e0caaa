import { describe, expect, it } from 'vitest';
import type { AlertQuery } from '../../src/alerts/alert-store.js';
import { matchesQuery } from '../../src/alerts/match-alert.js';
import { decodeEntryFields } from '../../src/store/entry-fields.js';
import { createCappedMatcher } from '../../src/store/match-capped-entry.js';
import { encodeAlertArgs, holdEntry } from '../../src/store/redis-alert-entry.js';
import { makeStoredAlert } from '../helpers/stored-alert.js';

const NAMES = ['id', 'at', 't', 'src', 'rule', 'pri', 'host', 'ns', 'tags', 'bytes', 'json'];

// Falco's k8saudit "Attach/Exec Pod" (sample 086): its namespace is ka.target.namespace.
const audit = makeStoredAlert({
  rule: 'Attach/Exec Pod',
  source: 'k8s_audit',
  tags: ['k8s'],
  output_fields: { 'ka.target.name': 'nginx', 'ka.target.namespace': 'default', 'ka.verb': 'create' },
});

// A stream entry of the alerts stream (with its JSON) as Redis sends it back.
function streamEntry(ns: string): unknown {
  const args = encodeAlertArgs(audit, '').slice(0, -1);
  args[NAMES.indexOf('ns')] = ns;
  return ['1781515905000-0', NAMES.flatMap((name, i) => [name, args[i]!])];
}

// As the scan decides (redis-alert-scan.ts): the fields, else (undefined) the alert held from its JSON.
function passes(raw: unknown, filter: Omit<AlertQuery, 'limit' | 'maxBytes'>): boolean {
  const fields = decodeEntryFields(raw);
  return createCappedMatcher(filter)(fields) ?? matchesQuery(holdEntry(fields).held, filter);
}

describe("a k8saudit alert's namespace in a Redis stream entry", () => {
  it('is written in the entry', () => {
    expect(audit.namespace).toBe('default');
    expect(passes(streamEntry('default'), { namespace: 'default' })).toBe(true);
  });

  // Regression: the version before a130acb wrote a k8saudit alert's `ns` empty (it read only
  // k8s.ns.name), and so does one still running in a rolling update: after the upgrade
  // namespace=default left out every audit alert already in Redis (the dashboard's row showed it
  // the namespace link that then listed nothing), namespace= listed them, and the CSV said none.
  it('is read from the JSON of an entry an earlier version wrote without it', () => {
    const older = streamEntry('');

    expect(passes(older, { namespace: 'default' })).toBe(true);
    expect(passes(older, { namespace: '' })).toBe(false);
    expect(passes(older, { namespace: 'kube-system' })).toBe(false);
    expect(passes(older, { namespace: 'default', rule: 'Other' })).toBe(false);
    expect(holdEntry(decodeEntryFields(older)).held.namespace).toBe('default');
  });
});
