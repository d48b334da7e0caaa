import type { FalcoValuesCheck } from './check-falco-values.js';
import { chartBeforeFalco036 } from './falco-chart-version.js';
import { describeRemoval, setByNoFile, type DeclaredValue } from './falco-http-output.js';
import { shownUrl } from './shown-url.js';

/** What helm-values/examples/falco-path-secret.yaml holds where the secret goes. */
export const PATH_SECRET_PLACEHOLDER = '<INGEST_PATH_SECRET>';

const URL_KEY = 'falco.http_output.url';

/**
 * The URL the files set; none when none does or a null removed it (emptyUrl says so), or a later file
 * set it to what is not text (notTextProblems).
 */
export function urlSet({ output }: FalcoValuesCheck): DeclaredValue<string> | undefined {
  const { url, urlNotText } = output;
  return url && url.value !== null && !urlNotText ? { value: url.value, file: url.file } : undefined;
}

/**
 * Why the values leave Falco's URL empty, as the chart's `if not .Values.falco.http_output.url` sees
 * it too: set by no file (the chart's ""), removed by a null (Falco's "" as well), set to "", or set
 * to what is not text and empty to the chart (0, false, [], {}).
 * `emptyDefault` says whose empty default is left. Undefined when they set a URL.
 */
export function emptyUrl({ output }: FalcoValuesCheck): { why: string; emptyDefault: string } | undefined {
  const { url, urlNotText } = output;
  // Not text, it wins over what earlier files set (or none set): taken as empty or rendered as its text.
  if (urlNotText)
    return urlNotText.chartEmpty
      ? {
          why: `${urlNotText.file} sets ${URL_KEY} to a ${urlNotText.kind} the chart takes as empty`,
          emptyDefault: '',
        }
      : undefined;
  if (url === undefined)
    return { why: setByNoFile(URL_KEY, output), emptyDefault: ", and empty is the chart's default" };
  if (url.value === null)
    return {
      why: describeRemoval(url.file, URL_KEY),
      emptyDefault: ", and empty is its default (Falco's and the chart's)",
    };
  // Falco's start-up check refuses only "" itself: blanks are a URL to it (libcurl refuses them: blankUrlProblems).
  return url.value === '' ? { why: `${url.file} sets ${URL_KEY} to ""`, emptyDefault: '' } : undefined;
}

/**
 * The URL as Falco hands it to libcurl: Falco 0.36 and later (chart 3.7 and later) strip the quotes
 * around it, the same at both ends, after their start-up check (outputs_http.cpp); nothing else.
 */
function urlForLibcurl(url: string, falcoChartVersion: string): string {
  return chartBeforeFalco036(falcoChartVersion) ? url : url.replace(/^(["'])(.*)\1$/s, '$2');
}

/**
 * Quotes with nothing inside (`'""'`): the chart keeps them, and Falco 0.36 and later strip them
 * (urlForLibcurl) only after their start-up check, so Falco starts with no URL.
 */
function quotesOnly(check: FalcoValuesCheck): string | undefined {
  const { falcoChartVersion } = check;
  const url = urlSet(check);
  if (!url || url.value === '' || urlForLibcurl(url.value, falcoChartVersion) !== '') return undefined;
  return `${url.file} sets ${URL_KEY} to quotes with nothing inside, which chart ${falcoChartVersion}'s Falco (0.36 and later) strips`;
}

/**
 * No URL for Falco: with an empty one and http_output.enabled true, Falco 0.34.1 to 0.44.1 exit at
 * start (configuration.cpp), with it false they post nothing; quotes only, Falco 0.40.0 starts and
 * fails every post.
 */
function missingUrlProblems(check: FalcoValuesCheck): string[] {
  const empty = emptyUrl(check);
  const why = empty ? `${empty.why}${empty.emptyDefault}` : quotesOnly(check);
  if (why === undefined) return [];
  const then = empty
    ? 'with http_output.enabled true it refuses to start ("http output enabled but no url in configuration block")'
    : 'libcurl refuses each post ("URL using bad/illegal format or missing URL")';
  return [
    `${why}: Falco then has no URL to post to, and ${then}, so every alert would be lost. Set it to the receiver's URL, as helm-values/falco.yaml does.`,
  ];
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
 * A blank or a control character (0x20 and below, 0x7f) in the URL libcurl gets: libcurl (7.88.1, as
 * the Falco 0.34.1 and 0.40.0 builds link) refuses it, "URL using bad/illegal format or missing URL",
 * while Falco starts, and the chart keeps such a URL, falcosidekick on or not. Never quoted: a URL
 * may hold the path secret.
 */
function blankUrlProblems(check: FalcoValuesCheck): string[] {
  const url = urlSet(check);
  const sent = url ? urlForLibcurl(url.value, check.falcoChartVersion) : '';
  if (!url || !Array.from(sent).some((char) => char <= ' ' || char === '\u007f')) return [];
  return [
    `${url.file}: Falco's URL holds a blank or a control character, which libcurl refuses ("URL using bad/illegal format or missing URL"): every alert would be lost. Write the URL without it.`,
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

/**
 * Why the URL Falco gets loses every alert: inside quotes too early, a blank in it, none at all, or a
 * placeholder.
 */
export function urlProblems(check: FalcoValuesCheck): string[] {
  const notText = notTextProblems(check);
  if (notText.length > 0) return notText;
  return [...quotedUrlProblems(check), ...blankUrlProblems(check), ...placeholderProblems(check)];
}

/**
 * A URL that is not text (`url: [http://...]`, a number): the chart renders it as it is; Falco 0.34.1
 * refuses to start ("bad conversion"), 0.40.0 starts and posts nowhere. Named by its kind, never
 * quoted (it may hold the path secret); what earlier files set is not judged, this value wins.
 */
function notTextProblems({ output }: FalcoValuesCheck): string[] {
  const { urlNotText } = output;
  if (!urlNotText) return [];
  return [
    `${urlNotText.file} sets ${URL_KEY} to a ${urlNotText.kind}, not a URL: Falco then has no URL to post to, so every alert would be lost. Write the receiver's URL there as text, as helm-values/falco.yaml does.`,
  ];
}
