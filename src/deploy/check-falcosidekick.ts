import type { FalcoValuesCheck } from './check-falco-values.js';
import { emptyUrl, urlProblems } from './check-falco-url.js';
import { describeRemoval, type DeclaredValue } from './falco-http-output.js';
import { valueKind } from './value-kind.js';

/** What falcosidekick on does when http_output is gone or not a mapping (`helm template` fails: "wrong type for value"). */
export const CHART_CANNOT_RENDER =
  "helm then cannot render the chart, which writes falcosidekick's settings into http_output, so the install would fail";

/** How a file turned falcosidekick on, naming a value other than true by its kind, never quoting it. */
function turnedOn({ value, file }: DeclaredValue<unknown>): string {
  if (value === true) return `${file} sets falcosidekick.enabled: true`;
  const kind = valueKind(value);
  const what =
    kind === 'number'
      ? 'a number other than 0'
      : kind === 'value of another kind'
        ? `a ${kind}`
        : `a non-empty ${kind}`;
  return `${file} sets falcosidekick.enabled to ${what}, which the chart takes as true`;
}

/**
 * With falcosidekick.enabled true to the chart (chartTakesAsTrue), both charts (template
 * falco.falcosidekickConfig, 3.1.4 and 9.1.0) set json_output and http_output.enabled to true, and
 * point an empty URL at falcosidekick's Service.
 */
export function falcosidekickProblems(check: FalcoValuesCheck, sidekick: DeclaredValue<unknown>): string[] {
  const { sectionRemovedBy } = check.output;
  const on = turnedOn(sidekick);
  // The template sets keys in http_output: `helm template` fails when it is gone ("wrong type for value").
  if (sectionRemovedBy !== undefined)
    return [
      `${describeRemoval(sectionRemovedBy, 'falco.http_output')}, and ${on}: ${CHART_CANNOT_RENDER}. Leave http_output in place, with the receiver's URL, as helm-values/falco.yaml does.`,
    ];
  // `if not .Values.falco.http_output.url`: a URL that is set, blanks and quotes included, is kept.
  const empty = emptyUrl(check);
  if (empty === undefined) return urlProblems(check);
  return [
    `${empty.why}, and ${on}: the chart then points Falco at falcosidekick's Service instead of the receiver, so every alert would be lost: falcosidekick forwards nothing to the receiver unless its webhook output is set (falcosidekick.config.webhook.address), and k8s/'s NetworkPolicy admits Falco's pods, not falcosidekick's. Set falco.http_output.url to the receiver's URL, as helm-values/falco.yaml does: the chart keeps a URL that is set.`,
  ];
}
