import { describe, expect, it } from 'vitest';
import type { LoadResult } from '../../bench/load-process.js';
import { renderRssUnderLoad, type RssRound } from '../../bench/rss-under-load.js';

const result = (alertsPerSecond: number): LoadResult => ({
  ok2xx: alertsPerSecond * 60,
  non2xx: 0,
  errors: 0,
  durationSeconds: 60,
  alertsPerSecond,
  p50Ms: 5.36,
  p99Ms: 334.79,
});

const round = (
  offered: number,
  taken: number,
  rssSamples: number[],
  rssMb: number,
  peakRssMb: number,
): RssRound => ({
  offered,
  result: result(taken),
  rssSamples,
  rssMb,
  peakRssMb,
});

describe('renderRssUnderLoad', () => {
  it("reads the RSS range from the fifth second on, so the client's start does not count (session 54's last round)", () => {
    const samples = [96, 124, 130, 166, 146, 147, 147, 151, 161, 160];
    const table = renderRssUnderLoad([round(1000, 999.2, samples, 160.6, 168.9)]);

    expect(table.split('\n')).toEqual([
      '| offered | taken | RSS, 1 s samples from 5 s on | RSS 1 s after | peak (`VmHWM`) |',
      '| ------- | ----- | ---------------------------- | ------------- | -------------- |',
      '| 1,000/s | 999/s | 147-161 MB | 161 MB | 169 MB |',
    ]);
  });

  it('writes thousands with commas and says n/a for a round too short to have settled samples', () => {
    const table = renderRssUnderLoad([round(3600, 2368, [116, 142, 145], 155.2, 163.4)]);

    expect(table).toContain('| 3,600/s | 2,368/s | n/a | 155 MB | 163 MB |');
  });
});
