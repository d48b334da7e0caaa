import { readFileSync } from 'node:fs';
import { declaredAt, loadHelmValues, mergeHelmValues } from './helm-values.js';
import type { Obj } from './rendered-documents.js';
import { chartTakesAsTrue } from './template-truth.js';
import { valueKind, type ValueKind } from './value-kind.js';

/** A value of Falco's http_output and the values file that set it last. */
export interface DeclaredValue<T> {
  value: T;
  file: string;
}

/**
 * Falco's http_output (and json_output) as the layered values files declare it (later files win, as
 * with helm). A null value: that file set the key, or a section holding it, to null, and helm leaves
 * it out of Falco's configuration (a later file that sets the section again brings back only its own).
 * The booleans are kept as written, a string or a number too: the chart renders them as they are,
 * and Falco reads them as readFalcoBoolean says.
 */
export interface FalcoHttpOutput {
  url?: DeclaredValue<string | null>;
  enabled?: DeclaredValue<unknown>;
  mtls?: DeclaredValue<unknown>;
  jsonOutput?: DeclaredValue<unknown>;
  /**
   * falcosidekick.enabled as written: when the chart's `if` takes it as true (chartTakesAsTrue), the
   * chart sets some of the keys above as it renders.
   */
  falcosidekick?: DeclaredValue<unknown>;
  /**
   * The file whose null removed http_output whole (`http_output: null`, `falco: null`), while no
   * later file brings it back: helm then renders no http_output at all.
   */
  sectionRemovedBy?: string;
  /**
   * The file that set http_output to a value that is not a mapping (`http_output: false`), and its
   * kind, while no later file sets a mapping there: helm keeps that value in place of the chart's
   * http_output (`helm template` warns "cannot overwrite table with non table"), so what the files
   * set inside http_output before no longer reaches Falco.
   */
  sectionReplacedBy?: { file: string; kind: ValueKind };
  /**
   * The file that set http_output.url to a value that is not text (a list, a number, true), while no
   * later file sets it again: the chart renders it as it is, and Falco gets no URL it can post to.
   * `chartEmpty`: one the chart's `if not` takes as empty (0, false, [], {}), which falcosidekick on
   * replaces with its Service's URL.
   */
  urlNotText?: { file: string; kind: ValueKind; chartEmpty: boolean };
  /**
   * The last file that replaced http_output with a value that is not a mapping, kept after a later
   * mapping brings the section back: a key set by no file since is said to be so after it.
   */
  sectionLastReplacedBy?: string;
}

/**
 * "No values file sets `key`", or "none after <file> replaced falco.http_output" when such a file
 * took with it what the files before it set there.
 */
export function setByNoFile(key: string, output: FalcoHttpOutput): string {
  const since = key.startsWith('falco.http_output.') ? output.sectionLastReplacedBy : undefined;
  return since === undefined
    ? `No values file sets ${key}`
    : `No values file sets ${key} after ${since} replaced falco.http_output`;
}

/** How a file's null reads (`helm template`, charts 3.1.4 and 9.1.0): the key left out of Falco's configuration. */
export function describeRemoval(file: string, key: string): string {
  return `${file} sets ${key} (or a section holding it) to null, which helm reads as "remove it"`;
}

/**
 * The http_output keys and json_output of each file's `falco:` section, and falcosidekick.enabled,
 * layered in order, each file's documents merged first as helm reads them (loadHelmValues); a file
 * without them changes nothing.
 */
export function layerHttpOutput(files: Array<{ file: string; text: string }>): FalcoHttpOutput {
  const output: FalcoHttpOutput = {};
  let merged: Obj = {};
  for (const { file, text } of files) {
    const values = loadHelmValues(file, text);
    const url = declaredAt(values, ['falco', 'http_output', 'url']);
    if (url === null || typeof url === 'string') {
      output.url = { value: url, file };
      delete output.urlNotText;
    } else if (url !== undefined)
      output.urlNotText = { file, kind: valueKind(url), chartEmpty: !chartTakesAsTrue(url) };
    const enabled = declaredAt(values, ['falco', 'http_output', 'enabled']);
    if (enabled !== undefined) output.enabled = { value: enabled, file };
    const jsonOutput = declaredAt(values, ['falco', 'json_output']);
    if (jsonOutput !== undefined) output.jsonOutput = { value: jsonOutput, file };
    // Removed, mtls is the chart's false (9.x) or a null Falco 0.34 (3.x) never reads: no client certificate.
    const mtls = declaredAt(values, ['falco', 'http_output', 'mtls']);
    if (mtls === null) delete output.mtls;
    else if (mtls !== undefined) output.mtls = { value: mtls, file };
    // Removed, falcosidekick.enabled is a nil the chart's `if` takes as false (`helm template`).
    const sidekick = declaredAt(values, ['falcosidekick', 'enabled']);
    if (sidekick === null) delete output.falcosidekick;
    else if (sidekick !== undefined) output.falcosidekick = { value: sidekick, file };
    // From the files merged as helm merges them: a later `falco:` mapping replaces `falco: null`, and
    // the chart's http_output comes back with it, but not after `http_output: null`.
    merged = mergeHelmValues(merged, values);
    const section = ['falco', 'http_output'];
    const held = declaredAt(merged, section);
    if (held !== null) delete output.sectionRemovedBy;
    else if (declaredAt(values, section) === null) output.sectionRemovedBy = file;
    // Merged, a value that is not a mapping is this file's own when the file sets the section at all.
    const kind = valueKind(held);
    if (held === undefined || kind === 'mapping' || kind === 'null') delete output.sectionReplacedBy;
    else if (declaredAt(values, section) !== undefined) {
      output.sectionReplacedBy = { file, kind };
      output.sectionLastReplacedBy = file;
      // Gone with the section: a later mapping replaces the value whole, over the chart's defaults.
      for (const key of ['url', 'urlNotText', 'enabled', 'mtls'] as const) delete output[key];
    }
  }
  return output;
}

/** Reads and layers the values files; throws with the file's name when one cannot be read or parsed. */
export function readHttpOutput(files: string[]): FalcoHttpOutput {
  return layerHttpOutput(
    files.map((file) => {
      try {
        return { file, text: readFileSync(file, 'utf8') };
      } catch (error) {
        throw new Error(`--values ${file}: cannot read it (${(error as NodeJS.ErrnoException).code})`, {
          cause: error,
        });
      }
    }),
  );
}
