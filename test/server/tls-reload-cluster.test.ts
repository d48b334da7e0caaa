import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { commandWorks, requireComponent } from '../helpers/components.js';
import { makeTestPki } from '../helpers/make-certificates.js';
import { MountedSecret } from '../helpers/mounted-secret.js';
import { killSpawned, spawnService } from '../helpers/spawn-service.js';
import { until } from '../helpers/until.js';

const hasOpenssl = requireComponent('openssl', commandWorks('openssl', ['version']));

// Each cluster worker watches the TLS files itself and counts what it loaded; /metrics sums them.
describe.skipIf(!hasOpenssl)('TLS reloads with WORKERS=2', () => {
  afterEach(() => killSpawned());

  it('counts a renewal once per worker that loaded it: each worker serves its own copy', async () => {
    const [current, renewed] = await Promise.all([makeTestPki('falco-node-1'), makeTestPki('falco-node-1')]);
    const mount = new MountedSecret(mkdtempSync(join(tmpdir(), 'falco-tls-cluster-')));
    mount.write({ 'tls.crt': current.serverCert, 'tls.key': current.serverKey });
    const service = await spawnService({
      WORKERS: '2',
      TLS_PORT: '0',
      TLS_CERT_FILE: mount.path('tls.crt'),
      TLS_KEY_FILE: mount.path('tls.key'),
      TLS_RELOAD_CHECK_MS: '100',
    });
    const events = (event: string) => service.lines.filter((line) => line.event === event);
    // Both workers up before the renewal: one started after it reads the new files at start.
    await until(async () => events('listening_tls').length === 2, 20_000, 'both workers listening');

    mount.write({ 'tls.crt': renewed.serverCert, 'tls.key': renewed.serverKey });
    await until(async () => events('tls_reloaded').length === 2, 10_000, 'both workers to load the files');
    const metrics = await (await fetch(`http://127.0.0.1:${service.port}/metrics`)).text();

    expect(metrics).toMatch(/^falco_tls_reloads_total\{result="reloaded"\} 2$/m);
    expect(metrics).toMatch(/^falco_tls_reloads_total\{result="failed"\} 0$/m);
  }, 60_000);
});
