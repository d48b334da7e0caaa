import { readFileSync } from 'node:fs';
import path from 'node:path';

/** A Falco payload from test/fixtures/falco/samples with what the receiver must do with it. */
export interface FalcoSample {
  file: string;
  expect: 'accept' | 'reject';
  rule: string | null;
  priority: string | null;
  body: string;
  /** The Content-Type Falco sends: JSON, or text/plain when json_output is false. */
  contentType: string;
}

const SAMPLES_DIR = path.resolve(import.meta.dirname, '../../fixtures/falco/samples');

/** Reads every sample named in the fixture manifest. */
export function loadFalcoSamples(): FalcoSample[] {
  const manifest = JSON.parse(readFileSync(path.join(SAMPLES_DIR, 'manifest.json'), 'utf8')) as Array<
    Omit<FalcoSample, 'body' | 'contentType'>
  >;
  return manifest.map((entry) => ({
    ...entry,
    body: readFileSync(path.join(SAMPLES_DIR, entry.file), 'utf8'),
    contentType: entry.file.endsWith('.txt') ? 'text/plain' : 'application/json',
  }));
}

/** Posts one sample to `url` the way Falco's http_output does; resolves to the status code. */
export async function postFalcoSample(url: string, sample: FalcoSample): Promise<number> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': sample.contentType, 'user-agent': 'falcosecurity/falco' },
    body: sample.body,
  });
  await response.arrayBuffer();
  return response.status;
}
