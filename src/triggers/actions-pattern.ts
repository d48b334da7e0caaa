import { RE2JS } from 're2js';

/**
 * event-generator's `--actions` filter, compiled by an RE2 engine: the syntax and meaning Go's
 * regexp gives it inside event-generator, and matching in time linear in the input whatever the
 * pattern (no backtracking, so `(.|.)(.|.)...0` cannot freeze the event loop).
 */
export interface ActionsPattern {
  readonly source: string;
  /** True when the pattern matches anywhere in `action` (Go's MatchString). */
  test(action: string): boolean;
}

export type CompileActionsResult = { ok: true; pattern: ActionsPattern } | { ok: false; reason: string };

/** Compiles `source` as RE2 syntax; the reason is RE2's own message (e.g. unsupported lookahead). */
export function compileActionsPattern(source: string): CompileActionsResult {
  try {
    const compiled = RE2JS.compile(source);
    return { ok: true, pattern: { source, test: (action) => compiled.test(action) } };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  }
}
