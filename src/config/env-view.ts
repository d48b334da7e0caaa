/**
 * The environment as the checks between variables see it. At start every value is known. Before
 * the receiver runs (`npm run deploy`, from the rendered manifests) a variable set from a Secret or
 * the downward API is set to a value not known (from a key marked optional, it may be unset too),
 * and with a Secret's keys taken whole (`envFrom`) any variable not named may be set, or replaced.
 * A check says a problem only when nothing unknown could clear it.
 */
export interface EnvView<E> {
  /** The parsed variables: one whose value is not known here holds its default, or is absent. */
  env: E;
  /** Whether the variable is set, to a value known here or not. */
  isSet(name: keyof E): boolean;
  /** Whether the variable is known to be unset here. */
  isUnset(name: keyof E): boolean;
  /** Whether the values of all these variables are known here (an unset one's is its default). */
  knows(...names: Array<keyof E>): boolean;
  /** The CPUs the receiver runs on (WORKERS=0 starts one worker each); undefined where not known. */
  cpus: number | undefined;
  /** Whether a problem may quote the variable's value: not a Secret's where npm run deploy reads it. */
  shows(name: keyof E): boolean;
}

/** What is not known of the environment where it is checked; nothing, at start. */
export interface EnvUnknowns {
  /** Variables set to a value not known here. */
  values?: ReadonlySet<string>;
  /** Variables that may be set, to a value not known here, or not at all (a key marked optional). */
  unsure?: ReadonlySet<string>;
  /** The variables named, set or empty: any other may be set too. Undefined: no other is set. */
  listed?: ReadonlySet<string>;
  cpus?: number;
  /** Variables whose value, known here or not, is a Secret's: no problem quotes it. */
  secrets?: ReadonlySet<string>;
}

/** A view of the parsed variables `env`, where `unknowns` says what is not known of them. */
export function viewEnv<E extends object>(env: E, unknowns: EnvUnknowns): EnvView<E> {
  const { values = new Set(), unsure = new Set(), listed, cpus, secrets = new Set() } = unknowns;
  // Set or not, to a value not known here.
  const maybe = (name: keyof E) =>
    unsure.has(String(name)) || (listed !== undefined && !listed.has(String(name)));
  const isSet = (name: keyof E) => !maybe(name) && (env[name] !== undefined || values.has(String(name)));
  return {
    env,
    isSet,
    isUnset: (name) => !isSet(name) && !maybe(name),
    knows: (...names) => names.every((name) => !values.has(String(name)) && !maybe(name)),
    cpus,
    shows: (name) => !secrets.has(String(name)),
  };
}
