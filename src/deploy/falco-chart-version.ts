/**
 * The first falco chart with Falco 0.36 (the chart's CHANGELOG, v3.7.0): the first Falco with
 * http_output.mtls, and the first to strip quotes around http_output.url.
 */
const FIRST_FALCO_036_CHART = { major: 3, minor: 7 };

/** Whether falco chart `version` ships a Falco before 0.36; false for a version it cannot read. */
export function chartBeforeFalco036(version: string): boolean {
  const match = /^v?(\d+)\.(\d+)/.exec(version);
  if (!match) return false;
  const [major, minor] = [Number(match[1]), Number(match[2])];
  const first = FIRST_FALCO_036_CHART;
  return major < first.major || (major === first.major && minor < first.minor);
}
