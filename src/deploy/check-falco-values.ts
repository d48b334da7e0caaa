import { urlProblems, urlSet } from './check-falco-url.js';
import { CHART_CANNOT_RENDER, falcosidekickProblems } from './check-falcosidekick.js';
import { readFalcoBoolean } from './falco-boolean.js';
import { chartBeforeFalco036 } from './falco-chart-version.js';
import {
  describeRemoval,
  setByNoFile,
  type DeclaredValue,
  type FalcoHttpOutput,
} from './falco-http-output.js';
import { chartTakesAsTrue } from './template-truth.js';
import { valueKind } from './value-kind.js';

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

/** The URL as Falco 0.36 and later read it: quotes around it stripped. */
function unquoted(url: string): string {
  return url.trim().replace(/^(["'])(.*)\1$/, '$2');
}

/** How a file set a boolean Falco does not read as true (readFalcoBoolean), or undefined when it does. */
function notTrue({ value, file }: DeclaredValue<unknown>, key: string): string | undefined {
  const read = readFalcoBoolean(value);
  if (read === true) return undefined;
  if (value === false) return `${file} sets ${key}: false`;
  // Only a word of yaml-cpp's table is quoted: any other value may be a token.
  if (read === false) return `${file} sets ${key}: ${JSON.stringify(value)}, a string Falco reads as false`;
  return `${file} sets ${key} to a ${valueKind(value)} Falco cannot read as true or false (Falco 0.34 then refuses to start, "bad conversion"; 0.40 takes it as false)`;
}

/**
 * A key Falco's own default and both charts' (3.1.4, 9.1.0) leave false, where false loses every
 * alert (`then`): set to what Falco reads as false or cannot read, removed (Falco's default, or the
 * chart's when a later file sets the section again), or set by no file.
 */
function falseByDefault(
  output: FalcoHttpOutput,
  declared: DeclaredValue<unknown> | undefined,
  key: string,
  then: string,
): string[] {
  const set =
    declared === undefined
      ? `${setByNoFile(key, output)}, and false is the chart's default`
      : declared.value === null
        ? `${describeRemoval(declared.file, key)}, and false is its default (Falco's and the chart's)`
        : notTrue(declared, key);
  if (set === undefined) return [];
  return [`${set}: ${then}, so every alert would be lost. Set it to true, as helm-values/falco.yaml does.`];
}

/** http_output.enabled not true: Falco posts nothing. */
function enabledProblems({ output }: FalcoValuesCheck): string[] {
  return falseByDefault(
    output,
    output.enabled,
    'falco.http_output.enabled',
    'Falco then posts no alert at all',
  );
}

/** json_output not true: every alert posted as text/plain. */
function jsonProblems({ output }: FalcoValuesCheck): string[] {
  return falseByDefault(
    output,
    output.jsonOutput,
    'falco.json_output',
    'Falco then posts each alert as text/plain, which the receiver refuses (415)',
  );
}

/** A client certificate Falco presents to no listener k8s/ has, or cannot present at all. */
function mtlsProblems({ output, baseManifests, falcoChartVersion }: FalcoValuesCheck): string[] {
  const { mtls } = output;
  if (!mtls || readFalcoBoolean(mtls.value) !== true) return [];
  return [
    ...(baseManifests ? [componentNeeded(mtls.file, 'mtls')] : []),
    ...(chartBeforeFalco036(falcoChartVersion)
      ? [
          `${mtls.file} sets http_output.mtls, which chart ${falcoChartVersion} cannot do: it ships Falco before 0.36, which presents no client certificate, so the handshake fails and every alert is lost. Use chart 3.7.0 or later (9.x), or helm-values/examples/falco-path-secret.yaml.`,
        ]
      : []),
  ];
}

/**
 * http_output set to a value that is not a mapping, which helm keeps in place of the chart's
 * (FalcoHttpOutput.sectionReplacedBy): Falco 0.34.1 and 0.40.0 refuse to start on a single value
 * there (yaml-cpp's "operator[] call on a scalar") and post nothing with a list; with falcosidekick on
 * `helm template` of 3.1.4 and 9.1.0 fails, as with http_output removed.
 */
function replacedSectionProblem(
  { file, kind }: NonNullable<FalcoHttpOutput['sectionReplacedBy']>,
  sidekickOn: boolean,
): string {
  const then = sidekickOn
    ? `with falcosidekick.enabled on, ${CHART_CANNOT_RENDER}`
    : 'Falco then has no http_output.enabled or url and posts nothing (a single value there stops it at start, "operator[] call on a scalar"), so every alert would be lost';
  return `${file} sets falco.http_output to a ${kind}, not a mapping, which helm keeps in place of the chart's ("cannot overwrite table with non table"): ${then}. Write http_output as a mapping, as helm-values/falco.yaml does.`;
}

/** Why Falco would lose every alert with these values, one line a reason; empty when there is none. */
export function checkFalcoValues(check: FalcoValuesCheck): string[] {
  const { output, baseManifests } = check;
  const { falcosidekick } = output;
  const sidekickOn = falcosidekick && chartTakesAsTrue(falcosidekick.value) ? falcosidekick : undefined;
  // What the files set inside http_output before never reaches Falco: one line says it all.
  if (output.sectionReplacedBy)
    return [replacedSectionProblem(output.sectionReplacedBy, sidekickOn !== undefined)];
  const url = urlSet(check);
  const problems = mtlsProblems(check);
  // A segment after /alerts is the path secret (helm-values/examples/falco-path-secret.yaml).
  if (url && baseManifests && /\/alerts\/[^/?#]+/.test(unquoted(url.value)))
    problems.push(componentNeeded(url.file, 'path-secret'));
  if (sidekickOn) return [...problems, ...falcosidekickProblems(check, sidekickOn)];
  return [...problems, ...enabledProblems(check), ...jsonProblems(check), ...urlProblems(check)];
}
