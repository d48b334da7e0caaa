import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MountedSecret } from './mounted-secret.js';

const sources = mkdtempSync(path.join(tmpdir(), 'token-sources-'));
let sourceCount = 0;

/** A Secret with one key, `tokens`, holding `text`; `update` changes it as the kubelet does. */
export function mountedTokens(text: string) {
  const secret = new MountedSecret(mkdtempSync(path.join(tmpdir(), 'token-secret-')));
  const update = (next: string) => {
    const source = path.join(sources, `tokens-${++sourceCount}`);
    writeFileSync(source, next);
    secret.write({ tokens: source });
  };
  update(text);
  return { file: secret.path('tokens'), update };
}
