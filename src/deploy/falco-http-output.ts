import { readFileSync } from 'node:fs';
import { declaredAt, loadHelmValues } from './helm-values.js';

/** A value of Falco's http_output and the values file that set it last. */
export interface DeclaredValue<T> {
  value: T;
  file: string;
}

/**
 * Falco's http_output (and json_output) as the layered values files declare it (later files win, as
 * with helm). A null value: that file set the key, or a section holding it, to null, and helm leaves
 * it out of Falco's configuration (a later file that sets the section again brings back only its own).
 */
export interface FalcoHttpOutput {
  url?: DeclaredValue<string | null>;
  mtls?: DeclaredValue<boolean>;
  jsonOutput?: DeclaredValue<boolean | null>;
}

/**
 * The http_output keys and json_output of each file's `falco:` section, layered in order, each file's
 * documents merged first as helm reads them (loadHelmValues); a file without them changes nothing.
 */
export function layerHttpOutput(files: Array<{ file: string; text: string }>): FalcoHttpOutput {
  const output: FalcoHttpOutput = {};
  for (const { file, text } of files) {
    const values = loadHelmValues(file, text);
    const url = declaredAt(values, ['falco', 'http_output', 'url']);
    if (url === null || typeof url === 'string') output.url = { value: url, file };
    const jsonOutput = declaredAt(values, ['falco', 'json_output']);
    if (jsonOutput === null || typeof jsonOutput === 'boolean')
      output.jsonOutput = { value: jsonOutput, file };
    // Removed, mtls is the chart's false (9.x) or a null Falco 0.34 (3.x) never reads: no client certificate.
    const mtls = declaredAt(values, ['falco', 'http_output', 'mtls']);
    if (mtls === null) delete output.mtls;
    else if (typeof mtls === 'boolean') output.mtls = { value: mtls, file };
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
