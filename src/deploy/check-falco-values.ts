import type { FalcoHttpOutput } from './falco-http-output.js';

/** What helm-values/examples/falco-path-secret.yaml holds where the secret goes. */
export const PATH_SECRET_PLACEHOLDER = '<INGEST_PATH_SECRET>';

/** The first falco chart with Falco 0.36, the first Falco with http_output.mtls (the chart's CHANGELOG, v3.7.0). */
const FIRST_MTLS_CHART = { major: 3, minor: 7 };

export interface FalcoValuesCheck {
  output: FalcoHttpOutput;
  /** --kustomize names k8s/ itself: no component adds a listener. */
  baseManifests: boolean;
  falcoChartVersion: string;
  /** --ingest-path-secret-file was given: the placeholder is replaced at deploy time. */
  pathSecretFromFile: boolean;
}

function componentNeeded(file: string, component: string): string {
  return `${file} points Falco at a listener k8s/ alone does not have: pass --kustomize <dir>, an overlay of k8s/ that adds components/${component} (k8s/README.md).`;
}

function chartBeforeMtls(version: string): boolean {
  const match = /^v?(\d+)\.(\d+)/.exec(version);
  if (!match) return false;
  const [major, minor] = [Number(match[1]), Number(match[2])];
  return (
    major < FIRST_MTLS_CHART.major || (major === FIRST_MTLS_CHART.major && minor < FIRST_MTLS_CHART.minor)
  );
}

function placeholderProblems({ output, pathSecretFromFile }: FalcoValuesCheck): string[] {
  const url = output.url;
  const holdsPlaceholder = url?.value.includes(PATH_SECRET_PLACEHOLDER) ?? false;
  if (pathSecretFromFile && !holdsPlaceholder)
    return [
      `--ingest-path-secret-file: Falco's URL (from ${url?.file ?? 'no values file'}) holds no ${PATH_SECRET_PLACEHOLDER} to replace; layer helm-values/examples/falco-path-secret.yaml, or leave the option out.`,
    ];
  const placeholder = /<[^>]*>/.exec(url?.value ?? '')?.[0];
  if (!url || placeholder === undefined || (pathSecretFromFile && placeholder === PATH_SECRET_PLACEHOLDER))
    return [];
  return [
    `${url.file}: Falco's URL ${url.value} still holds the placeholder ${placeholder}, which the receiver answers with 401: every alert would be lost. ` +
      `Pass --ingest-path-secret-file <file>, a file holding the secret (never the command line), or a later --values file that sets falco.http_output.url (README, Deployment).`,
  ];
}

/** Why Falco would lose every alert with these values, one line a reason; empty when there is none. */
export function checkFalcoValues(check: FalcoValuesCheck): string[] {
  const { output, baseManifests, falcoChartVersion } = check;
  const problems: string[] = [];
  if (output.mtls?.value === true) {
    if (baseManifests) problems.push(componentNeeded(output.mtls.file, 'mtls'));
    if (chartBeforeMtls(falcoChartVersion))
      problems.push(
        `${output.mtls.file} sets http_output.mtls, which chart ${falcoChartVersion} cannot do: it ships Falco before 0.36, which presents no client certificate, so the handshake fails and every alert is lost. Use chart 3.7.0 or later (9.x), or helm-values/examples/falco-path-secret.yaml.`,
      );
  }
  // A segment after /alerts is the path secret (helm-values/examples/falco-path-secret.yaml).
  if (output.url && baseManifests && /\/alerts\/[^/?#]+/.test(output.url.value))
    problems.push(componentNeeded(output.url.file, 'path-secret'));
  return [...problems, ...placeholderProblems(check)];
}
