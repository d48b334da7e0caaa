// Reads helm's rendered manifests on stdin and writes them back without the documents whose
// top-level kind is ClusterRole or RoleBinding (see plugin.yaml for why). Plain Node, no
// dependencies: it runs from the image's helm plugin folder, outside the app bundle.
import { readFileSync } from 'node:fs';
import process from 'node:process';

const DROPPED_KINDS = new Set(['ClusterRole', 'RoleBinding']);

/** The top-level `kind:` of one YAML document, or undefined. */
function kindOf(document) {
  return /^kind:\s*["']?([A-Za-z]+)["']?\s*$/m.exec(document)?.[1];
}

const documents = readFileSync(0, 'utf8').split(/^---[ \t]*$/m);
const kept = documents.filter(
  (document) => document.trim() !== '' && !DROPPED_KINDS.has(kindOf(document) ?? ''),
);
process.stdout.write(
  kept
    .map((document) => `---${document.startsWith('\n') ? '' : '\n'}${document.replace(/\n*$/, '\n')}`)
    .join(''),
);
