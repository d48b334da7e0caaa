/**
 * Finds values by key without ever deleting a key: two Maps, the newer taking every `set`, and the
 * older dropped whole once the newer holds `generation` keys. A key set within the last
 * `generation` sets is always found; an older one may be (the caller checks the value is still its
 * own). Maps that lose a key per insert cost the garbage collector dearly in V8: a Map keeping one
 * live entry while each insert deleted the previous one ran 94 full collections in 3 s where this
 * ran none (each deleted entry stays in the table until it is rebuilt, so values that should die
 * young are copied and promoted instead).
 */
export interface IdIndex<V> {
  set(key: string, value: V): void;
  get(key: string): V | undefined;
}

export function createIdIndex<V>(generation: number): IdIndex<V> {
  let newer = new Map<string, V>();
  let older = new Map<string, V>();
  return {
    set(key, value) {
      newer.set(key, value);
      if (newer.size >= generation) {
        older = newer;
        newer = new Map();
      }
    },
    get(key) {
      return newer.get(key) ?? older.get(key);
    },
  };
}
