import { describe, expect, it } from 'vitest';
import { checkFalcoValues } from '../../src/deploy/check-falco-values.js';
import { layerHttpOutput } from '../../src/deploy/falco-http-output.js';

const BASE =
  'falco:\n  http_output:\n    url: http://falco-alert-receiver.falco.svc.cluster.local:8080/alerts\n';

describe('checkFalcoValues', () => {
  it('reads http_output as helm layers the files: a later file wins, a file without the key changes nothing', () => {
    const output = layerHttpOutput([
      { file: 'falco.yaml', text: BASE },
      { file: 'tls.yaml', text: 'falco:\n  http_output:\n    url: https://x:8443/alerts\n    mtls: true\n' },
      { file: 'other.yaml', text: 'driver:\n  kind: modern_ebpf\n' },
    ]);

    expect(output).toEqual({
      url: { value: 'https://x:8443/alerts', file: 'tls.yaml' },
      mtls: { value: true, file: 'tls.yaml' },
    });
  });

  it('finds nothing wrong with the base values and the base manifests', () => {
    const output = layerHttpOutput([{ file: 'falco.yaml', text: BASE }]);

    expect(
      checkFalcoValues({
        output,
        baseManifests: true,
        falcoChartVersion: '3.1.4',
        pathSecretFromFile: false,
      }),
    ).toEqual([]);
  });

  it('refuses a secret file when no URL holds the placeholder, without naming the URL (it may hold a secret)', () => {
    const output = layerHttpOutput([
      {
        file: 'mine.yaml',
        text: 'falco:\n  http_output:\n    url: http://h:8080/alerts/s3cretS3cretS3cret\n',
      },
    ]);

    const problems = checkFalcoValues({
      output,
      baseManifests: false,
      falcoChartVersion: '9.1.0',
      pathSecretFromFile: true,
    });

    expect(problems).toEqual([expect.stringContaining('--ingest-path-secret-file: Falco')]);
    expect(problems.join('\n')).not.toContain('s3cret');
  });
});
