import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** One request body of a benchmark scenario. */
export interface Payload {
  /** Short name for tables, e.g. `1KB`. */
  name: string;
  body: string;
  bytes: number;
}

const SAMPLES = new URL('../test/fixtures/falco/samples/valid/', import.meta.url);

function readSample(file: string): string {
  return readFileSync(fileURLToPath(new URL(file, SAMPLES)), 'utf8');
}

// Byte-exact splice: keeps the sample's own key order, spacing and its ns integer (> 2^53) intact.
function addOutputFields(sample: string, extra: Record<string, string>): string {
  const marker = '"output_fields":{';
  const at = sample.indexOf(marker);
  if (at === -1) throw new Error('sample has no output_fields');
  const fields = Object.entries(extra)
    .map(([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value)},`)
    .join('');
  const start = at + marker.length;
  return sample.slice(0, start) + fields + sample.slice(start);
}

// What makes real alerts large: a long command line and environment (syscall rules), or a whole
// object echoed back by a k8saudit rule such as "Create/Modify Configmap With Private Credentials".
function buildPadding(targetBytes: number): Record<string, string> {
  const args = Array.from({ length: 40 }, (_, i) => `--flag-${i}=/var/lib/app/data/segment-${i}.bin`);
  const cmdline = `java -Xmx2g -jar /opt/app/service.jar ${args.join(' ')}`;
  const env = Array.from(
    { length: 400 },
    (_, i) => `APP_SETTING_${i}=value-${i.toString(16).padStart(8, '0')}`,
  );
  const configmap = JSON.stringify({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'app-config', namespace: 'payments' },
    data: Object.fromEntries(env.map((line) => line.split('='))),
  });
  const padding: Record<string, string> = {};
  let remaining = targetBytes;
  for (const [key, value] of [
    ['proc.args', cmdline],
    ['proc.env', env.join(' ')],
    ['ka.req.configmap.obj', configmap],
  ] as const) {
    if (remaining <= 0) break;
    padding[key] = value.slice(0, remaining);
    remaining -= padding[key].length + key.length + 6;
  }
  return padding;
}

/** A real Falco sample padded with realistic `output_fields` to about `targetBytes`. */
export function buildPayload(name: string, targetBytes: number): Payload {
  const sample = readSample('093-latest-terminal-shell-in-container.json');
  const pad = Math.max(0, targetBytes - Buffer.byteLength(sample));
  const body = pad === 0 ? sample : addOutputFields(sample, buildPadding(pad));
  JSON.parse(body);
  return { name, body, bytes: Buffer.byteLength(body) };
}

/** The sizes every throughput scenario runs with: a typical syscall alert up to a large k8saudit one. */
export function buildPayloads(): Payload[] {
  return [buildPayload('1KB', 1024), buildPayload('8KB', 8 * 1024), buildPayload('25KB', 25 * 1024)];
}

/** A small alert whose rule name is a placeholder the memory run replaces per request. */
export function buildRuleTemplate(): string {
  return readSample('093-latest-terminal-shell-in-container.json');
}
