import type { DeclaredValue, FalcoHttpOutput } from './falco-http-output.js';
import { shownUrl } from './shown-url.js';

/** What helm-values/examples/falco-path-secret.yaml holds where the secret goes. */
export const PATH_SECRET_PLACEHOLDER = '<INGEST_PATH_SECRET>';

/**
 * The first falco chart with Falco 0.36 (the chart's CHANGELOG, v3.7.0): the first Falco with
 * http_output.mtls, and the first to strip quotes around http_output.url.
 */
const FIRST_FALCO_036_CHART = { major: 3, minor: 7 };

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

function chartBeforeFalco036(version: string): boolean {
  const match = /^v?(\d+)\.(\d+)/.exec(version);
  if (!match) return false;
  const [major, minor] = [Number(match[1]), Number(match[2])];
  const first = FIRST_FALCO_036_CHART;
  return major < first.major || (major === first.major && minor < first.minor);
}

/** The URL as Falco 0.36 and later read it: quotes around it stripped. */
function unquoted(url: string): string {
  return url.trim().replace(/^(["'])(.*)\1$/, '$2');
}

/** The URL the files set; none when none does or a null removed it (placeholderProblems says so). */
function urlSet({ output }: FalcoValuesCheck): DeclaredValue<string> | undefined {
  const { url } = output;
  return url && url.value !== null ? { value: url.value, file: url.file } : undefined;
}

/** How a file's null reads (`helm template`, charts 3.1.4 and 9.1.0): the key left out of Falco's configuration. */
function removedBy(file: string, key: string): string {
  return `${file} sets ${key} (or a section holding it) to null, which helm reads as "remove it"`;
}

/**
 * A key Falco's own default and both charts' (3.1.4, 9.1.0) leave false, where false loses every
 * alert (`then`): set false, removed (Falco's default, or the chart's when a later file sets the
 * section again), or set by no file.
 */
function falseByDefault(
  declared: DeclaredValue<boolean | null> | undefined,
  key: string,
  then: string,
): string[] {
  if (declared?.value === true) return [];
  const set =
    declared === undefined
      ? `No values file sets ${key}, and false is the chart's default`
      : declared.value === false
        ? `${declared.file} sets ${key}: false`
        : `${removedBy(declared.file, key)}, and false is its default (Falco's and the chart's)`;
  return [`${set}: ${then}, so every alert would be lost. Set it to true, as helm-values/falco.yaml does.`];
}

/** http_output.enabled not true: Falco posts nothing. */
function enabledProblems({ output }: FalcoValuesCheck): string[] {
  return falseByDefault(output.enabled, 'falco.http_output.enabled', 'Falco then posts no alert at all');
}

/** json_output not true: every alert posted as text/plain. */
function jsonProblems({ output }: FalcoValuesCheck): string[] {
  return falseByDefault(
    output.jsonOutput,
    'falco.json_output',
    'Falco then posts each alert as text/plain, which the receiver refuses (415)',
  );
}

/** A quoted URL before Falco 0.36 loses every alert. */
function quotedUrlProblems(check: FalcoValuesCheck): string[] {
  const { falcoChartVersion } = check;
  const url = urlSet(check);
  if (!url || !/^\s*["']/.test(url.value) || !chartBeforeFalco036(falcoChartVersion)) return [];
  return [
    `${url.file}: Falco's URL is written inside quotes, which chart ${falcoChartVersion}'s Falco (before 0.36) sends to libcurl as they are ("URL using bad/illegal format"): every alert would be lost. Write the URL without the inner quotes.`,
  ];
}

/**
 * With falcosidekick.enabled: true both charts (template falco.falcosidekickConfig, 3.1.4 and 9.1.0)
 * set json_output and http_output.enabled to true, and point an empty URL at falcosidekick's Service.
 */
function falcosidekickProblems(check: FalcoValuesCheck, sidekickFile: string): string[] {
  const { url, sectionRemovedBy } = check.output;
  const turnedOn = `${sidekickFile} sets falcosidekick.enabled: true`;
  // The template sets keys in http_output: `helm template` fails when it is gone ("wrong type for value").
  if (sectionRemovedBy !== undefined)
    return [
      `${removedBy(sectionRemovedBy, 'falco.http_output')}, and ${turnedOn}: helm then cannot render the chart, which writes falcosidekick's settings into http_output, so the install would fail. Leave http_output in place, with the receiver's URL, as helm-values/falco.yaml does.`,
    ];
  // `if not .Values.falco.http_output.url`: a URL that is set, blanks included, is kept.
  if (url?.value) return [...quotedUrlProblems(check), ...placeholderProblems(check)];
  const why =
    url === undefined
      ? 'no values file sets falco.http_output.url'
      : url.value === null
        ? removedBy(url.file, 'falco.http_output.url')
        : `${url.file} sets falco.http_output.url to ""`;
  return [
    `${turnedOn} and ${why}: the chart then points Falco at falcosidekick's Service instead of the receiver, so every alert would be lost: falcosidekick forwards nothing to the receiver unless its webhook output is set (falcosidekick.config.webhook.address), and k8s/'s NetworkPolicy admits Falco's pods, not falcosidekick's. Set falco.http_output.url to the receiver's URL, as helm-values/falco.yaml does: the chart keeps a URL that is set.`,
  ];
}

/**
 * A URL removed, empty, or set by no file (the chart's ""): Falco 0.34.1 to 0.44.1 with
 * http_output.enabled true exit at start (configuration.cpp); with it false they post nothing.
 */
function missingUrlProblems({ output }: FalcoValuesCheck): string[] {
  const { url } = output;
  // Falco refuses only "" itself: blanks are a URL to it.
  if (url?.value) return [];
  const why =
    url === undefined
      ? "No values file sets falco.http_output.url, and empty is the chart's default"
      : url.value === null
        ? `${removedBy(url.file, 'falco.http_output.url')}, and empty is its default (Falco's and the chart's)`
        : `${url.file} sets falco.http_output.url to ""`;
  return [
    `${why}: Falco then has no URL to post to, and with http_output.enabled true it refuses to start ("http output enabled but no url in configuration block"), so every alert would be lost. Set it to the receiver's URL, as helm-values/falco.yaml does.`,
  ];
}

function placeholderProblems(check: FalcoValuesCheck): string[] {
  const { pathSecretFromFile } = check;
  // No URL holds no placeholder to replace either: one line says it all.
  const missing = missingUrlProblems(check);
  if (missing.length > 0) return missing;
  const url = urlSet(check);
  const holdsPlaceholder = url?.value.includes(PATH_SECRET_PLACEHOLDER) ?? false;
  if (pathSecretFromFile && !holdsPlaceholder)
    return [
      `--ingest-path-secret-file: Falco's URL (from ${url?.file ?? 'no values file'}) holds no ${PATH_SECRET_PLACEHOLDER} to replace; layer helm-values/examples/falco-path-secret.yaml, or leave the option out.`,
    ];
  const placeholder = /<[^>]*>/.exec(url?.value ?? '')?.[0];
  if (!url || placeholder === undefined || (pathSecretFromFile && placeholder === PATH_SECRET_PLACEHOLDER))
    return [];
  return [
    `${url.file}: Falco's URL ${shownUrl(url.value)} still holds the placeholder ${placeholder}, which the receiver answers with 401: every alert would be lost. ` +
      `Pass --ingest-path-secret-file <file>, a file holding the secret (never the command line), or a later --values file that sets falco.http_output.url (README, Deployment).`,
  ];
}

/** Why Falco would lose every alert with these values, one line a reason; empty when there is none. */
export function checkFalcoValues(check: FalcoValuesCheck): string[] {
  const { output, baseManifests, falcoChartVersion } = check;
  const url = urlSet(check);
  const problems: string[] = [];
  if (output.mtls?.value === true) {
    if (baseManifests) problems.push(componentNeeded(output.mtls.file, 'mtls'));
    if (chartBeforeFalco036(falcoChartVersion))
      problems.push(
        `${output.mtls.file} sets http_output.mtls, which chart ${falcoChartVersion} cannot do: it ships Falco before 0.36, which presents no client certificate, so the handshake fails and every alert is lost. Use chart 3.7.0 or later (9.x), or helm-values/examples/falco-path-secret.yaml.`,
      );
  }
  // A segment after /alerts is the path secret (helm-values/examples/falco-path-secret.yaml).
  if (url && baseManifests && /\/alerts\/[^/?#]+/.test(unquoted(url.value)))
    problems.push(componentNeeded(url.file, 'path-secret'));
  const sidekick = output.falcosidekick;
  if (sidekick?.value === true) return [...problems, ...falcosidekickProblems(check, sidekick.file)];
  return [
    ...problems,
    ...enabledProblems(check),
    ...jsonProblems(check),
    ...quotedUrlProblems(check),
    ...placeholderProblems(check),
  ];
}
