/**
 * The environment as the checks between variables see it. At start every value is known. Before
 * the receiver runs (`npm run deploy`, from the rendered manifests) a variable set from a Secret or
 * the downward API is set to a value not known, and with a Secret's keys taken whole (`envFrom`)
 * any variable not named may be set. A check says a problem only when nothing unknown could clear it.
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
}

/** What is not known of the environment where it is checked; nothing, at start. */
export interface EnvUnknowns {
  /** Variables set to a value not known here. */
  values?: ReadonlySet<string>;
  /** The variables named, set or empty: any other may be set too. Undefined: no other is set. */
  listed?: ReadonlySet<string>;
  cpus?: number;
}

/** A view of the parsed variables `env`, where `unknowns` says what is not known of them. */
export function viewEnv<E extends object>(env: E, unknowns: EnvUnknowns): EnvView<E> {
  const { values = new Set(), listed, cpus } = unknowns;
  const unlisted = (name: keyof E) => listed !== undefined && !listed.has(String(name));
  const isSet = (name: keyof E) => (env[name] !== undefined && !unlisted(name)) || values.has(String(name));
  return {
    env,
    isSet,
    isUnset: (name) => !isSet(name) && !unlisted(name),
    knows: (...names) => names.every((name) => !values.has(String(name)) && !unlisted(name)),
    cpus,
  };
}
