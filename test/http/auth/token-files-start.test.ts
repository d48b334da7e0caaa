import { Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { watchTokenFiles, type CurrentTokens } from '../../../src/http/auth/token-files.js';
import { mountedTokens } from '../../helpers/mounted-tokens.js';
import { metricValue } from '../../helpers/test-app.js';
import { until } from '../../helpers/until.js';

const FIRST = 'first-viewer-token-0123456789';
const NEXT = 'next-viewer-token-9876543210';

/** The watcher of one VIEWER_TOKEN_FILE, checked every 100 ms, `readAtStart` being what loadConfig read. */
const watchViewerFile = (file: string, readAtStart: string[], registry: Registry) =>
  watchTokenFiles(
    {
      viewerTokens: readAtStart,
      metricsTokens: [],
      sessionSecrets: [],
      tokenFiles: { viewer: file, reloadCheckMs: 100 },
    },
    { triggerToken: '', registry },
  );

describe('a token file changed between its read at start and the start of the checks', () => {
  let current: CurrentTokens | undefined;
  afterEach(() => {
    current?.stop();
    vi.useRealTimers();
  });

  it('is read at the first check: the tokens taken out of it stop working', async () => {
    const viewer = mountedTokens(`${FIRST}\n`);
    // loadConfig read FIRST; the kubelet swapped the Secret before createAccess started watching.
    const readAtStart = [FIRST];
    viewer.update(`${NEXT}\n`);
    current = watchViewerFile(viewer.file, readAtStart, new Registry());
    await until(async () => current!.viewer().includes(NEXT), 3_000, 'the file read again');
    expect(current.viewer()).toEqual([NEXT]);
  });

  it('says nothing at the first check when the file is as it was read', async () => {
    const viewer = mountedTokens(`${FIRST}\n`);
    const registry = new Registry();
    current = watchViewerFile(viewer.file, [FIRST], registry);
    await new Promise((resolve) => setTimeout(resolve, 350));
    const reloads = await registry.getSingleMetric('falco_token_reloads_total')!.get();
    expect(reloads.values.every(({ value }) => value === 0)).toBe(true);
    expect(current.viewer()).toEqual([FIRST]);
  });

  // Regression: a file refused at the first check and then put back as it was read at start was
  // taken quietly, but still reported refused (falco_token_reload_failing 1) until the check after.
  it('reports nothing refused once a file refused at the first check is back as it was read', async () => {
    const viewer = mountedTokens('short\n');
    const registry = new Registry();
    vi.useFakeTimers({ toFake: ['setInterval'] });
    current = watchViewerFile(viewer.file, [FIRST], registry);
    const failing = () => metricValue(registry, 'falco_token_reload_failing', { file: 'VIEWER_TOKEN_FILE' });
    vi.advanceTimersByTime(100);
    expect(await failing()).toBe(1);

    viewer.update(`${FIRST}\n`);
    vi.advanceTimersByTime(100);
    expect(await failing()).toBe(0);
    expect(current.viewer()).toEqual([FIRST]);
  });
});
