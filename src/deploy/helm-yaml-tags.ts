import type { CollectionTag, Tags } from 'yaml';
import { HELM_MERGE_KEY } from './helm-merge-key.js';

/**
 * `!!set` as helm reads it (go-yaml v2 underneath helm 4.1.4, seen with `helm template` of charts
 * 3.1.4 and 9.1.0): the mapping it is written as, a key without a value null, so `!!set {falco}` is
 * `falco: null`, and a key with a value keeps it. The yaml library's own makes a JavaScript Set,
 * which is no values at all, and refuses a key with a value; on a list both read a list.
 */
const HELM_SET: CollectionTag = {
  tag: 'tag:yaml.org,2002:set',
  collection: 'map',
  default: false,
  resolve: (map) => map,
};

/** The yaml-1.1 schema's tags with helm's `<<` and `!!set` in place of the library's. */
export function withHelmTags(tags: Tags): Tags {
  const helms = [HELM_MERGE_KEY, HELM_SET];
  return tags.map((tag) => (typeof tag !== 'string' && helms.find((helm) => helm.tag === tag.tag)) || tag);
}
