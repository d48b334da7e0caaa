import { readFileSync } from 'node:fs';
import { parseYamlDocuments } from './rendered-documents.js';

/** A value of Falco's http_output and the values file that set it last. */
export interface DeclaredValue<T> {
  value: T;
  file: string;
}

/** Falco's http_output (and json_output) as the layered values files declare it (later files win, as with helm). */
export interface FalcoHttpOutput {
  url?: DeclaredValue<string>;
  mtls?: DeclaredValue<boolean>;
  jsonOutput?: DeclaredValue<boolean>;
}

type FalcoValues = {
  falco?: { json_output?: unknown; http_output?: { url?: unknown; mtls?: unknown } };
} | null;

/**
 * The http_output keys and json_output of each file's `falco:` section, layered in order, every
 * document of a file in turn as helm reads them; a file or document without them changes nothing.
 */
export function layerHttpOutput(files: Array<{ file: string; text: string }>): FalcoHttpOutput {
  const output: FalcoHttpOutput = {};
  for (const { file, text } of files) {
    for (const values of parseValues(file, text)) {
      const falco = values?.falco;
      const declared = falco?.http_output;
      if (typeof declared?.url === 'string') output.url = { value: declared.url, file };
      if (typeof declared?.mtls === 'boolean') output.mtls = { value: declared.mtls, file };
      if (typeof falco?.json_output === 'boolean') output.jsonOutput = { value: falco.json_output, file };
    }
  }
  return output;
}

/**
 * Each document of a values file, in order. Helm (4.1.4, checked with `helm template`) merges them
 * all, a later one winning, and skips an empty one: a trailing `---` is common in hand-written YAML.
 */
function parseValues(file: string, text: string): FalcoValues[] {
  // Never the library's message: it quotes the file, which may hold tokens (describeYamlError).
  const refuse = (why: string) => new Error(`--values ${file}: not YAML (${why})`);
  // Helm reads values as YAML 1.1, where `no`, `off` and `n` are false as well, and takes a key
  // given twice in a mapping, the later one winning (4.1.4), as toJS does when keys need not be unique.
  return parseYamlDocuments(text, refuse, { version: '1.1', uniqueKeys: false }) as FalcoValues[];
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
