import { afterEach, describe, expect, it, vi } from 'vitest';
import { checkFalcoValues } from '../../src/deploy/check-falco-values.js';
import { layerHttpOutput } from '../../src/deploy/falco-http-output.js';

const BASE =
  'falco:\n  http_output:\n    url: http://falco-alert-receiver.falco.svc.cluster.local:8080/alerts\n';
/** What helm-values/falco.yaml sets of http_output and json_output: the values the check passes. */
const RECEIVER_VALUES = `${BASE}    enabled: true\n  json_output: true\n`;
const SIDEKICK = 'falcosidekick:\n  enabled: true\n';
/** How a refusal of an empty or missing URL ends (Falco 0.34.1 and 0.40.0 run with such a falco.yaml). */
const NO_URL =
  ': Falco then has no URL to post to, and with http_output.enabled true it refuses to start ("http output enabled but no url in configuration block"), so every alert would be lost. Set it to the receiver\'s URL, as helm-values/falco.yaml does.';

/** The check over the receiver's values and then `mine.yaml` (mine2.yaml, ...), with k8s/. */
function checkOverBase(falcoChartVersion: string, ...texts: string[]): string[] {
  return checkFalcoValues({
    output: layerHttpOutput([
      { file: 'falco.yaml', text: RECEIVER_VALUES },
      ...texts.map((text, index) => ({ file: index === 0 ? 'mine.yaml' : `mine${index + 1}.yaml`, text })),
    ]),
    baseManifests: true,
    falcoChartVersion,
    pathSecretFromFile: false,
  });
}

/** The receiver's values and then `mine.yaml`, layered. */
function layerOverReceiver(text: string) {
  return layerHttpOutput([
    { file: 'falco.yaml', text: RECEIVER_VALUES },
    { file: 'mine.yaml', text },
  ]);
}

describe('checkFalcoValues', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

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

  // Helm 4.1.4 (`helm template` of the falco chart, a review) merges every document of a values file
  // in order and skips empty ones; the check refused the file (MULTIPLE_DOCS), even for a trailing `---`.
  it('reads every document of a values file as helm does: a later one wins, an empty one changes nothing', () => {
    const output = layerHttpOutput([
      { file: 'falco.yaml', text: `${BASE}  json_output: true\n` },
      {
        file: 'mine.yaml',
        text: '---\nfalco:\n  http_output:\n    url: https://x:8443/alerts\n---\n---\nfalco:\n  http_output:\n    mtls: yes\n---\n',
      },
      { file: 'trailing.yaml', text: 'falco:\n  json_output: off\n---\n# nothing more\n' },
    ]);

    expect(output).toEqual({
      url: { value: 'https://x:8443/alerts', file: 'mine.yaml' },
      mtls: { value: true, file: 'mine.yaml' },
      jsonOutput: { value: false, file: 'trailing.yaml' },
    });
  });

  // Regression (a review): helm 4.1.4 takes a key given twice in a mapping, the later one winning
  // (a later `falco:` replaces the earlier one whole); the check refused the file (DUPLICATE_KEY).
  it('reads a key given twice in a values file as helm does: the later one wins', () => {
    const output = layerHttpOutput([
      {
        file: 'mine.yaml',
        text: 'falco:\n  http_output:\n    url: https://a:8443/alerts\n    url: https://b:8443/alerts\n  json_output: false\n',
      },
      { file: 'twice.yaml', text: 'falco:\n  http_output:\n    mtls: true\nfalco:\n  json_output: true\n' },
    ]);

    expect(output).toEqual({
      url: { value: 'https://b:8443/alerts', file: 'mine.yaml' },
      jsonOutput: { value: true, file: 'twice.yaml' },
    });
  });

  // Helm (4.1.4, `helm template` of charts 3.1.4 and 9.1.0) takes a null as "remove the key": a later
  // file's `url: null` (or `~`, or nothing after the colon) or `http_output: null` leaves Falco's
  // falco.yaml without it, and the chart's default does not come back. The check kept the earlier value.
  it('reads a null in a later file as helm does: it removes the key, or every key of the section it holds', () => {
    const layer = (...texts: string[]) =>
      layerHttpOutput([
        { file: 'falco.yaml', text: `${BASE}  json_output: true\n` },
        { file: 'tls.yaml', text: 'falco:\n  http_output:\n    mtls: true\n' },
        ...texts.map((text, index) => ({ file: `clear${index + 1}.yaml`, text })),
      ]);
    const base = {
      value: 'http://falco-alert-receiver.falco.svc.cluster.local:8080/alerts',
      file: 'falco.yaml',
    };

    expect(layer('falco:\n  json_output: null\n  http_output:\n    url: ~\n    mtls:\n')).toEqual({
      url: { value: null, file: 'clear1.yaml' },
      jsonOutput: { value: null, file: 'clear1.yaml' },
    });
    expect(layer('falco:\n  http_output: null\n')).toEqual({
      url: { value: null, file: 'clear1.yaml' },
      enabled: { value: null, file: 'clear1.yaml' },
      jsonOutput: { value: true, file: 'falco.yaml' },
      sectionRemovedBy: 'clear1.yaml',
    });
    expect(layer('falco: null\n')).toEqual({
      url: { value: null, file: 'clear1.yaml' },
      enabled: { value: null, file: 'clear1.yaml' },
      jsonOutput: { value: null, file: 'clear1.yaml' },
      sectionRemovedBy: 'clear1.yaml',
    });
    // A later file that sets the section again brings back none of what the null removed (helm
    // renders the chart's defaults there: url "", enabled false), only what it sets.
    expect(layer('falco:\n  http_output: null\n', 'falco:\n  http_output:\n    mtls: true\n')).toEqual({
      url: { value: null, file: 'clear1.yaml' },
      enabled: { value: null, file: 'clear1.yaml' },
      mtls: { value: true, file: 'clear2.yaml' },
      jsonOutput: { value: true, file: 'falco.yaml' },
    });
    // A null the same file sets again later is no removal.
    expect(layer('falco:\n  json_output: null\n', 'falco:\n  json_output: true\n')).toEqual({
      url: base,
      mtls: { value: true, file: 'tls.yaml' },
      jsonOutput: { value: true, file: 'clear2.yaml' },
    });
  });

  // Helm merges the documents of one file first (LoadValues), then the file over the others: a
  // section a later document sets replaces an earlier document's null before it can remove anything.
  it("reads a null in one of a file's documents as helm does: the file's documents are merged first", () => {
    const layer = (text: string) =>
      layerHttpOutput([
        { file: 'falco.yaml', text: `${BASE}  json_output: true\n` },
        { file: 'mine.yaml', text },
      ]);
    const base = {
      value: 'http://falco-alert-receiver.falco.svc.cluster.local:8080/alerts',
      file: 'falco.yaml',
    };

    expect(layer('falco:\n  http_output: null\n---\nfalco:\n  http_output:\n    mtls: true\n')).toEqual({
      url: base,
      mtls: { value: true, file: 'mine.yaml' },
      jsonOutput: { value: true, file: 'falco.yaml' },
    });
    expect(
      layer('falco:\n  http_output:\n    url: null\n---\nfalco:\n  http_output:\n    mtls: true\n'),
    ).toEqual({
      url: { value: null, file: 'mine.yaml' },
      mtls: { value: true, file: 'mine.yaml' },
      jsonOutput: { value: true, file: 'falco.yaml' },
    });
    expect(layer('falco: null\n---\nfalco:\n  http_output:\n    url: https://x:8443/alerts\n')).toEqual({
      url: { value: 'https://x:8443/alerts', file: 'mine.yaml' },
      jsonOutput: { value: true, file: 'falco.yaml' },
    });
    expect(layer('falco:\n  json_output: null\n---\n# nothing more\n')).toEqual({
      url: base,
      jsonOutput: { value: null, file: 'mine.yaml' },
    });
  });

  it('reads http_output.enabled and falcosidekick.enabled as helm layers the files: a later file wins, a null removes', () => {
    const layer = (...texts: string[]) =>
      layerHttpOutput([
        { file: 'falco.yaml', text: RECEIVER_VALUES },
        ...texts.map((text, index) => ({ file: `mine${index + 1}.yaml`, text })),
      ]);

    expect(
      layer('falco:\n  http_output:\n    enabled: off\n', 'falcosidekick:\n  enabled: yes\n'),
    ).toMatchObject({
      enabled: { value: false, file: 'mine1.yaml' },
      falcosidekick: { value: true, file: 'mine2.yaml' },
    });
    expect(layer('falco:\n  http_output:\n    enabled: ~\n')).toMatchObject({
      enabled: { value: null, file: 'mine1.yaml' },
    });
    expect(layer(SIDEKICK, 'falcosidekick:\n  enabled: null\n')).not.toHaveProperty('falcosidekick');
    expect(layer(SIDEKICK, 'falcosidekick: null\n')).not.toHaveProperty('falcosidekick');
  });

  // Helm merges the files' values before it meets the chart's: http_output stays removed until a
  // later file sets it, or sets falco: again after `falco: null` (the chart's http_output is back).
  it('tells which file removed the whole http_output, as long as the merged values leave it removed', () => {
    const removedBy = (...texts: string[]) =>
      layerHttpOutput([
        { file: 'falco.yaml', text: RECEIVER_VALUES },
        ...texts.map((text, index) => ({ file: `mine${index + 1}.yaml`, text })),
      ]).sectionRemovedBy;

    expect(removedBy('falco:\n  http_output: null\n')).toBe('mine1.yaml');
    expect(removedBy('falco: ~\n', 'falcosidekick:\n  enabled: true\n')).toBe('mine1.yaml');
    expect(removedBy('falco:\n  http_output: null\n', 'falco:\n  json_output: true\n')).toBe('mine1.yaml');
    expect(removedBy('falco: null\n', 'falco:\n  json_output: true\n')).toBeUndefined();
    expect(
      removedBy('falco:\n  http_output: null\n', 'falco:\n  http_output:\n    mtls: true\n'),
    ).toBeUndefined();
    expect(removedBy('falco:\n  http_output:\n    url: null\n    enabled: null\n')).toBeUndefined();
  });

  // Regression (a review): helm's reader (k8s.io/apimachinery's YAMLReader) splits a values file at
  // its `---` lines and reads one document of each part (4.1.4, `helm template`): one after a bare
  // `...` is never read. The check merged it in: `json_output: false`, `...`, `json_output: true` passed.
  it('reads one document between --- lines, as helm does: a document after a bare ... is skipped', () => {
    const layer = (text: string) =>
      layerHttpOutput([
        { file: 'falco.yaml', text: `${BASE}  json_output: true\n` },
        { file: 'mine.yaml', text },
      ]).jsonOutput;
    const json = (value: boolean) => `falco:\n  json_output: ${value}\n`;

    expect(layer(`${json(false)}...\n${json(true)}`)).toEqual({ value: false, file: 'mine.yaml' });
    expect(layer(`${json(true)}...\n${json(false)}`)).toEqual({ value: true, file: 'mine.yaml' });
    expect(layer(`null\n...\n${json(false)}`)).toEqual({ value: true, file: 'falco.yaml' });
    expect(layer(`---\n${json(true)}...\n${json(false)}---\n${json(false)}`)).toEqual({
      value: false,
      file: 'mine.yaml',
    });
    // Nor does helm refuse what it never reads.
    expect(layer(`${json(true)}...\n- s3cr3t-token\n`)).toEqual({ value: true, file: 'mine.yaml' });
  });

  // Regression (a review): helm 4.1.4 (go-yaml v2 underneath, `helm template` of both charts) sets a
  // `<<` merge's keys where the `<<` stands, over keys written before it and an earlier `<<`'s; of a
  // list of mappings the first wins. The yaml library never lets a merge override a key, so a URL (or
  // json_output: true) followed by `<<: *anchor` holding `url: null` (json_output: false) passed.
  it('reads a << merge key as helm does: its keys override those written before it', () => {
    const layer = (text: string) =>
      layerHttpOutput([
        { file: 'falco.yaml', text: `${BASE}  json_output: true\n` },
        {
          file: 'mine.yaml',
          text: `quiet: &off {json_output: false}\nloud: &on {json_output: true}\n${text}`,
        },
      ]);
    const json = (value: boolean) => ({ value, file: 'mine.yaml' });

    expect(layer('falco:\n  json_output: true\n  <<: *off\n').jsonOutput).toEqual(json(false));
    expect(layer('falco:\n  <<: *off\n  json_output: true\n').jsonOutput).toEqual(json(true));
    expect(layer('falco:\n  <<: *on\n  <<: *off\n').jsonOutput).toEqual(json(false));
    expect(layer('falco:\n  <<: *off\n  <<: *on\n').jsonOutput).toEqual(json(true));
    expect(layer('falco:\n  json_output: true\n  <<: [*off, *on]\n').jsonOutput).toEqual(json(false));
    expect(layer('falco:\n  json_output: false\n  <<: [*on, *off]\n').jsonOutput).toEqual(json(true));
    expect(layer('both: &both\n  <<: *off\nfalco:\n  json_output: true\n  <<: *both\n').jsonOutput).toEqual(
      json(false),
    );
    expect(
      layer('gone: &gone {url: null}\nfalco:\n  http_output:\n    url: http://x:8080/alerts\n    <<: *gone\n')
        .url,
    ).toEqual({ value: null, file: 'mine.yaml' });
  });

  // Falco's values files hold tokens (falcosidekick's webhooks, the ingest path secret's URL): the
  // yaml library's message quotes the lines around an error, and npm run deploy prints it.
  it("refuses a values file that is not YAML by the error's code and place, quoting none of it", () => {
    const anchored = 'falco:\n  http_output:\n    url: *s3cr3t-anchor\n';
    const indented = 'falco:\n  webhook_token: s3cr3t-token\n bad: [x\n';
    const refusal = (text: string) => {
      try {
        layerHttpOutput([{ file: 'mine.yaml', text }]);
      } catch (error) {
        return (error as Error).message;
      }
      return 'not refused';
    };

    expect(refusal(anchored)).toMatch(/^--values mine\.yaml: not YAML \(an alias it cannot resolve\)$/);
    expect(refusal(indented)).toMatch(/^--values mine\.yaml: not YAML \([A-Z_]+ at line 3, column \d+\)$/);
    expect(refusal(`${BASE}---\nfalco: [s3cr3t-token\n`)).toMatch(
      /^--values mine\.yaml: not YAML \([A-Z_]+ at line \d+, column \d+\)$/,
    );
  });

  // Helm 4.1.4 refuses a values document that is not a mapping ("cannot unmarshal yaml document:
  // ... cannot unmarshal number into Go value of type map[string]interface {}"), in any place in
  // the file; the check let it pass and helm failed only at the install step, after the checks.
  it.each([
    ['a number', '42\n', 'document 1 is a number'],
    ['a string', '"s3cr3t-token"\n', 'document 1 is a string'],
    ['an empty string', "''\n", 'document 1 is a string'],
    ['a boolean', 'true\n', 'document 1 is a boolean'],
    ['a list', '- s3cr3t-token\n', 'document 1 is a list'],
    ['an empty list', '[]\n', 'document 1 is a list'],
    ['a list after a mapping', `${BASE}---\n- s3cr3t-token\n`, 'document 2 is a list'],
    ['a string before a mapping', `s3cr3t-token\n---\n${BASE}`, 'document 1 is a string'],
  ])('refuses a values file whose document is %s, as helm does, quoting none of it', (_what, text, which) => {
    expect(() => layerHttpOutput([{ file: 'mine.yaml', text }])).toThrow(
      new Error(`--values mine.yaml: ${which}, not a mapping of values (key: value), which helm refuses.`),
    );
  });

  // Helm reads an empty document, one of comments only, `null` and `{}` as no values at all.
  it.each([
    ['empty', ''],
    ['of comments only', '# nothing yet\n'],
    ['null', 'null\n'],
    ['~', '~\n'],
    ['{}', '{}\n'],
    ['of empty documents', '---\n---\n'],
  ])('reads a values file %s as helm does: it changes nothing', (_what, text) => {
    expect(
      layerHttpOutput([
        { file: 'falco.yaml', text: BASE },
        { file: 'mine.yaml', text },
      ]),
    ).toEqual({
      url: { value: 'http://falco-alert-receiver.falco.svc.cluster.local:8080/alerts', file: 'falco.yaml' },
    });
  });

  // Regression: parse handed each warning (a tag it does not know, a list used as a key) to
  // process.emitWarning with the lines around it, and Node printed them to stderr.
  it('reads a values file with a tag it does not know without a warning that quotes it', () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);

    const output = layerHttpOutput([
      { file: 'sidekick.yaml', text: 'falcosidekick:\n  webhook:\n    token: !vault s3cr3t-token\n' },
    ]);

    expect(output).toEqual({});
    expect(warn).not.toHaveBeenCalled();
  });

  // A list as a key is refused (helm cannot read it), before the yaml library's warning could quote it.
  it('refuses a values file with a list as a key without a warning that quotes it', () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);

    expect(() =>
      layerHttpOutput([{ file: 'sidekick.yaml', text: 'falcosidekick:\n  ? [s3cr3t-token]\n  : x\n' }]),
    ).toThrow(/^--values sidekick\.yaml: line 2 holds a key that is a list, /);
    expect(warn).not.toHaveBeenCalled();
  });

  it('finds nothing wrong with the base values and the base manifests', () => {
    const output = layerHttpOutput([{ file: 'falco.yaml', text: RECEIVER_VALUES }]);

    expect(
      checkFalcoValues({
        output,
        baseManifests: true,
        falcoChartVersion: '3.1.4',
        pathSecretFromFile: false,
      }),
    ).toEqual([]);
  });

  // A review ran both against real Falco 0.34.1: text/plain bodies all refused (415), and a quoted
  // URL never leaving Falco ("libcurl error: URL using bad/illegal format").
  it('refuses json_output false on any chart, and a quoted URL with a chart before Falco 0.36', () => {
    const quoted =
      'falco:\n  http_output:\n    url: \'"http://falco-alert-receiver.falco.svc:8080/alerts"\'\n';
    const check = (text: string, falcoChartVersion: string) => checkOverBase(falcoChartVersion, text);

    // Helm's YAML 1.1 reads `no` and `off` as false too.
    for (const [version, no] of [
      ['3.1.4', 'false'],
      ['9.1.0', 'false'],
      ['9.1.0', 'no'],
      ['3.1.4', 'off'],
    ] as const)
      expect(check(`falco:\n  json_output: ${no}\n`, version)).toEqual([
        'mine.yaml sets falco.json_output: false: Falco then posts each alert as text/plain, which the receiver refuses (415), so every alert would be lost. Set it to true, as helm-values/falco.yaml does.',
      ]);
    expect(check('falco:\n  json_output: true\n', '3.1.4')).toEqual([]);
    expect(check(quoted, '3.1.4')).toEqual([
      'mine.yaml: Falco\'s URL is written inside quotes, which chart 3.1.4\'s Falco (before 0.36) sends to libcurl as they are ("URL using bad/illegal format"): every alert would be lost. Write the URL without the inner quotes.',
    ]);
    // Falco 0.36 and later strip the quotes: the URL is the plain /alerts, no path secret in it.
    expect(check(quoted, '3.7.0')).toEqual([]);
    expect(check(quoted, '9.1.0')).toEqual([]);
  });

  // Regression: both charts default json_output to false (`helm template` of 3.1.4 and 9.1.0 with
  // values that leave it alone renders `json_output: false`), so every alert is posted as text/plain;
  // http_output.enabled and the URL set by no values file were refused, json_output was not.
  it('refuses json_output set by no values file, on any chart', () => {
    for (const version of ['3.1.4', '9.1.0'])
      expect(
        checkFalcoValues({
          output: layerHttpOutput([{ file: 'falco.yaml', text: `${BASE}    enabled: true\n` }]),
          baseManifests: true,
          falcoChartVersion: version,
          pathSecretFromFile: false,
        }),
      ).toEqual([
        "No values file sets falco.json_output, and false is the chart's default: Falco then posts each alert as text/plain, which the receiver refuses (415), so every alert would be lost. Set it to true, as helm-values/falco.yaml does.",
      ]);
  });

  // What helm renders after a null (charts 3.1.4 and 9.1.0): json_output left out of falco.yaml, so
  // Falco's own false (or the chart's false, when a later file sets falco: again), and no URL at all.
  it('refuses a null that removes json_output or the URL, on any chart, naming the file that sets it', () => {
    const check = (text: string, falcoChartVersion: string) => checkOverBase(falcoChartVersion, text);
    const noJson =
      'mine.yaml sets falco.json_output (or a section holding it) to null, which helm reads as "remove it", and false is its default (Falco\'s and the chart\'s): Falco then posts each alert as text/plain, which the receiver refuses (415), so every alert would be lost. Set it to true, as helm-values/falco.yaml does.';
    const noUrl = `mine.yaml sets falco.http_output.url (or a section holding it) to null, which helm reads as "remove it", and empty is its default (Falco's and the chart's)${NO_URL}`;
    const notEnabled =
      'mine.yaml sets falco.http_output.enabled (or a section holding it) to null, which helm reads as "remove it", and false is its default (Falco\'s and the chart\'s): Falco then posts no alert at all, so every alert would be lost. Set it to true, as helm-values/falco.yaml does.';

    for (const version of ['3.1.4', '9.1.0']) {
      expect(check('falco:\n  json_output: null\n', version)).toEqual([noJson]);
      expect(check('falco:\n  http_output:\n    url:\n', version)).toEqual([noUrl]);
      expect(check('falco:\n  http_output: null\n', version)).toEqual([notEnabled, noUrl]);
      expect(check('falco: ~\n', version)).toEqual([notEnabled, noJson, noUrl]);
    }
  });

  // Both charts default http_output.enabled to false, and so does Falco (0.34.1 and 0.44.x): with
  // it false Falco never posts, and every alert is lost without a line in the receiver's log.
  it('refuses http_output.enabled false, removed, or set by no values file, on any chart, naming the file', () => {
    const off =
      'mine.yaml sets falco.http_output.enabled: false: Falco then posts no alert at all, so every alert would be lost. Set it to true, as helm-values/falco.yaml does.';
    const removed =
      'mine.yaml sets falco.http_output.enabled (or a section holding it) to null, which helm reads as "remove it", and false is its default (Falco\'s and the chart\'s): Falco then posts no alert at all, so every alert would be lost. Set it to true, as helm-values/falco.yaml does.';
    const unset = (falcoChartVersion: string) =>
      checkFalcoValues({
        output: layerHttpOutput([{ file: 'falco.yaml', text: `${BASE}  json_output: true\n` }]),
        baseManifests: true,
        falcoChartVersion,
        pathSecretFromFile: false,
      });

    for (const version of ['3.1.4', '9.1.0']) {
      expect(checkOverBase(version, 'falco:\n  http_output:\n    enabled: false\n')).toEqual([off]);
      expect(checkOverBase(version, 'falco:\n  http_output:\n    enabled: no\n')).toEqual([off]);
      expect(checkOverBase(version, 'falco:\n  http_output:\n    enabled:\n')).toEqual([removed]);
      expect(
        checkOverBase(
          version,
          'falco:\n  http_output:\n    enabled: false\n',
          'falco:\n  http_output:\n    enabled: true\n',
        ),
      ).toEqual([]);
      expect(unset(version)).toEqual([
        "No values file sets falco.http_output.enabled, and false is the chart's default: Falco then posts no alert at all, so every alert would be lost. Set it to true, as helm-values/falco.yaml does.",
      ]);
    }
  });

  // Regression (a review): an empty URL, or none, passed the check. Both charts render it as it is
  // (`url: ""`, or no url once the base file's is gone), and Falco 0.34.1 and 0.40.0, with
  // http_output.enabled true, exit at start: "Error reading config file (...): http output enabled
  // but no url in configuration block" (configuration.cpp, 0.34.1 to 0.44.1).
  it('refuses an empty URL, or one set by no values file, on any chart, naming the file', () => {
    const empty = `mine.yaml sets falco.http_output.url to ""${NO_URL}`;
    const unset = (falcoChartVersion: string, pathSecretFromFile = false) =>
      checkFalcoValues({
        output: layerHttpOutput([
          { file: 'falco.yaml', text: 'falco:\n  json_output: true\n  http_output:\n    enabled: true\n' },
        ]),
        baseManifests: true,
        falcoChartVersion,
        pathSecretFromFile,
      });
    const noneSet = `No values file sets falco.http_output.url, and empty is the chart's default${NO_URL}`;

    for (const version of ['3.1.4', '9.1.0']) {
      expect(checkOverBase(version, 'falco:\n  http_output:\n    url: ""\n')).toEqual([empty]);
      expect(checkOverBase(version, "falco:\n  http_output:\n    url: ''\n")).toEqual([empty]);
      expect(unset(version)).toEqual([noneSet]);
      // With enabled false Falco starts and posts nothing: both are said, each with its own fix.
      expect(checkOverBase(version, 'falco:\n  http_output:\n    enabled: false\n    url: ""\n')).toEqual([
        expect.stringMatching(/^mine\.yaml sets falco\.http_output\.enabled: false/),
        empty,
      ]);
      // A later file's URL wins.
      expect(checkOverBase(version, 'falco:\n  http_output:\n    url: ""\n', BASE)).toEqual([]);
    }
    // No URL holds no placeholder to replace either: one line says it all.
    expect(unset('9.1.0', true)).toEqual([noneSet]);
  });

  // Regression: a later file's URL that is not text was not read, and the earlier file's URL passed
  // for Falco's; the chart renders the list or number as it is (helm 4.1.4, charts 3.1.4 and 9.1.0),
  // Falco 0.34.1 refuses to start ("bad conversion") and 0.40.0 posts nowhere.
  it('refuses a URL that is not text over an earlier one, naming its kind, never its value', () => {
    const notText = (kind: string) =>
      `mine.yaml sets falco.http_output.url to a ${kind}, not a URL: Falco then has no URL to post to, so every alert would be lost. Write the receiver's URL there as text, as helm-values/falco.yaml does.`;
    for (const version of ['3.1.4', '9.1.0']) {
      expect(checkOverBase(version, 'falco:\n  http_output:\n    url: [http://secret/alerts]\n')).toEqual([
        notText('list'),
      ]);
      expect(checkOverBase(version, 'falco:\n  http_output:\n    url: 8080\n')).toEqual([notText('number')]);
      expect(checkOverBase(version, 'falco:\n  http_output:\n    url: {a: b}\n', SIDEKICK)).toEqual([
        notText('mapping'),
      ]);
      // A later file's text URL wins again.
      expect(checkOverBase(version, 'falco:\n  http_output:\n    url: true\n', BASE)).toEqual([]);
    }
  });

  // Regression: with falcosidekick on, the chart's `if not .Values.falco.http_output.url` takes a URL
  // of 0, false, [] or {} as empty and renders falcosidekick's Service in its place (helm 4.1.4,
  // charts 3.1.4 and 9.1.0): the check said Falco had no URL to post to. One it takes as true is
  // rendered as its text ("7"), never falcosidekick's, though no file before set a URL.
  it('with falcosidekick on, says a URL that is not text but empty to the chart points Falco at falcosidekick', () => {
    const sidekickUrl = (kind: string) =>
      `mine.yaml sets falco.http_output.url to a ${kind} the chart takes as empty, and mine2.yaml sets falcosidekick.enabled: true: the chart then points Falco at falcosidekick's Service instead of the receiver`;
    const onlyMine = (version: string, text: string) =>
      checkFalcoValues({
        output: layerHttpOutput([
          { file: 'falco.yaml', text: 'falco:\n  json_output: true\n  http_output:\n    enabled: true\n' },
          { file: 'mine.yaml', text },
        ]),
        baseManifests: true,
        falcoChartVersion: version,
        pathSecretFromFile: false,
      });
    for (const version of ['3.1.4', '9.1.0']) {
      for (const [url, kind] of [
        ['0', 'number'],
        ['false', 'boolean'],
        ['[]', 'list'],
        ['{}', 'mapping'],
      ] as const)
        expect(checkOverBase(version, `falco:\n  http_output:\n    url: ${url}\n`, SIDEKICK)).toEqual([
          expect.stringContaining(sidekickUrl(kind)),
        ]);
      expect(checkOverBase(version, 'falco:\n  http_output:\n    url: 7\n', SIDEKICK)).toEqual([
        expect.stringMatching(/^mine\.yaml sets falco\.http_output\.url to a number, not a URL/),
      ]);
      expect(onlyMine(version, `falco:\n  http_output:\n    url: 7\n${SIDEKICK}`)).toEqual([
        expect.stringMatching(/^mine\.yaml sets falco\.http_output\.url to a number, not a URL/),
      ]);
    }
  });

  // What `helm template` renders with falcosidekick.enabled: true (charts 3.1.4 and 9.1.0, the
  // template falco.falcosidekickConfig): json_output and http_output.enabled true whatever the files
  // say, and Falco's URL kept when it is set; falcosidekick is deployed and gets nothing.
  it('finds nothing wrong with falcosidekick.enabled: true beside a URL: the chart keeps it, and sets json_output and enabled', () => {
    for (const version of ['3.1.4', '9.1.0']) {
      expect(checkOverBase(version, SIDEKICK)).toEqual([]);
      expect(
        checkOverBase(
          version,
          'falco:\n  json_output: false\n  http_output:\n    enabled: false\n',
          SIDEKICK,
        ),
      ).toEqual([]);
      expect(
        checkOverBase(version, 'falco:\n  json_output: ~\n  http_output:\n    enabled: ~\n', SIDEKICK),
      ).toEqual([]);
    }
    // The kept URL is checked as ever.
    expect(
      checkOverBase(
        '3.1.4',
        'falco:\n  http_output:\n    url: \'"http://falco-alert-receiver.falco.svc:8080/alerts"\'\n',
        SIDEKICK,
      ),
    ).toEqual([expect.stringMatching(/^mine\.yaml: Falco's URL is written inside quotes/)]);
    // falcosidekick.enabled: false, or removed, changes nothing of Falco's values.
    expect(
      checkOverBase('9.1.0', SIDEKICK, 'falco:\n  json_output: false\n', 'falcosidekick:\n  enabled: ~\n'),
    ).toEqual([expect.stringMatching(/^mine2\.yaml sets falco\.json_output: false/)]);
  });

  // The chart writes falcosidekick's Service into http_output.url when the values leave it empty
  // (`helm template`, charts 3.1.4 and 9.1.0: http://falco-falcosidekick:2801 for release falco).
  it('refuses falcosidekick.enabled: true when the values leave the URL empty: the chart points Falco at falcosidekick', () => {
    const pointed = (why: string, sidekickFile = 'mine2.yaml') =>
      `${why}, and ${sidekickFile} sets falcosidekick.enabled: true: the chart then points Falco at falcosidekick's Service instead of the receiver, so every alert would be lost: falcosidekick forwards nothing to the receiver unless its webhook output is set (falcosidekick.config.webhook.address), and k8s/'s NetworkPolicy admits Falco's pods, not falcosidekick's. Set falco.http_output.url to the receiver's URL, as helm-values/falco.yaml does: the chart keeps a URL that is set.`;

    for (const version of ['3.1.4', '9.1.0']) {
      expect(checkOverBase(version, 'falco:\n  http_output:\n    url: ""\n', SIDEKICK)).toEqual([
        pointed('mine.yaml sets falco.http_output.url to ""'),
      ]);
      expect(checkOverBase(version, 'falco:\n  http_output:\n    url: null\n', SIDEKICK)).toEqual([
        pointed(
          'mine.yaml sets falco.http_output.url (or a section holding it) to null, which helm reads as "remove it"',
        ),
      ]);
      expect(
        checkFalcoValues({
          output: layerHttpOutput([{ file: 'mine.yaml', text: SIDEKICK }]),
          baseManifests: false,
          falcoChartVersion: version,
          pathSecretFromFile: true,
        }),
      ).toEqual([pointed('No values file sets falco.http_output.url', 'mine.yaml')]);
    }
  });

  // `helm template` with http_output removed whole and falcosidekick.enabled: true fails, both charts:
  // "executing falco.falcosidekickConfig at <.Values.falco.http_output>: wrong type for value".
  it('refuses falcosidekick.enabled: true once http_output is removed whole: helm cannot render the chart', () => {
    const cannot = (removal: string) =>
      `${removal}, and mine2.yaml sets falcosidekick.enabled: true: helm then cannot render the chart, which writes falcosidekick's settings into http_output, so the install would fail. Leave http_output in place, with the receiver's URL, as helm-values/falco.yaml does.`;
    const section =
      'mine.yaml sets falco.http_output (or a section holding it) to null, which helm reads as "remove it"';

    for (const version of ['3.1.4', '9.1.0']) {
      expect(checkOverBase(version, 'falco:\n  http_output: null\n', SIDEKICK)).toEqual([cannot(section)]);
      expect(checkOverBase(version, 'falco: null\n', SIDEKICK)).toEqual([cannot(section)]);
    }
  });

  it('finds nothing wrong once a later file removes mtls with a null: Falco then uses no client certificate', () => {
    const mtls = 'falco:\n  http_output:\n    mtls: true\n';

    expect(checkOverBase('3.1.4', mtls)).toHaveLength(2);
    expect(checkOverBase('3.1.4', mtls, 'falco:\n  http_output:\n    mtls: null\n')).toEqual([]);
  });

  it('refuses a removed URL once, also with --ingest-path-secret-file', () => {
    const problems = checkFalcoValues({
      output: layerHttpOutput([
        { file: 'falco.yaml', text: RECEIVER_VALUES },
        { file: 'mine.yaml', text: 'falco:\n  http_output:\n    url: null\n' },
      ]),
      baseManifests: false,
      falcoChartVersion: '9.1.0',
      pathSecretFromFile: true,
    });

    expect(problems).toEqual([expect.stringMatching(/^mine\.yaml sets falco\.http_output\.url .* to null/)]);
  });

  it('refuses a secret file when no URL holds the placeholder, without naming the URL (it may hold a secret)', () => {
    const output = layerHttpOutput([
      {
        file: 'mine.yaml',
        text: 'falco:\n  json_output: true\n  http_output:\n    enabled: true\n    url: http://h:8080/alerts/s3cretS3cretS3cret\n',
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

  // Regression (a review): the placeholder's refusal printed the whole URL, credentials and all, to
  // the terminal or CI log; it names the URL still, with what may be a secret starred out. A second
  // review found the patterns showed a password with a raw `#`, `/` or `?` in it, credentials after
  // a space inside the quotes, a query value's tail after a quote or an `@`, and /ALERTS/<secret>
  // (the receiver's routes ignore case); a fragment is starred too, as it may be a value's tail.
  it.each([
    [
      'https://falco:pa55w0rd@receiver.example:8443/alerts/<INGEST_PATH_SECRET>?token=t0ken&t0ken2#top',
      'https://***@receiver.example:8443/alerts/<INGEST_PATH_SECRET>?token=***&***',
    ],
    ['"http://<RECEIVER_HOST>:8080/alerts/s3cretS3cret"', '"http://<RECEIVER_HOST>:8080/alerts/***"'],
    ['falco@<RECEIVER_HOST>/alerts', '***@<RECEIVER_HOST>/alerts'],
    ['" http://falco:pa55w0rd@<RECEIVER_HOST>/alerts"', '" http://***@<RECEIVER_HOST>/alerts"'],
    ['http://falco:pa55#w0rd@<RECEIVER_HOST>/alerts', 'http://***@<RECEIVER_HOST>/alerts'],
    [
      'HTTP://falco:pa55/w0rd@[::1]:8080/alerts/<INGEST_PATH_SECRET>',
      'HTTP://***@[::1]:8080/alerts/<INGEST_PATH_SECRET>',
    ],
    ['http://falco:pa55?w0rd@<RECEIVER_HOST>/alerts', 'http://***'],
    ["http://<RECEIVER_HOST>/alerts?token=t0k'en", 'http://<RECEIVER_HOST>/alerts?token=***'],
    ['http://<RECEIVER_HOST>/alerts?token=t0k@en&x=1', 'http://***&x=***'],
    ['http://<RECEIVER_HOST>/ALERTS/s3cretS3cret', 'http://<RECEIVER_HOST>/ALERTS/***'],
  ])('refuses a URL with a placeholder, naming it with its secrets starred out: %s', (url, shown) => {
    const problems = checkFalcoValues({
      output: layerHttpOutput([
        {
          file: 'mine.yaml',
          text: `falco:\n  json_output: true\n  http_output:\n    enabled: true\n    url: ${JSON.stringify(url)}\n`,
        },
      ]),
      baseManifests: false,
      falcoChartVersion: '9.1.0',
      pathSecretFromFile: false,
    });

    // A blank inside the quotes is a reason of its own (libcurl refuses it), given first.
    expect(problems.at(-1)).toContain(`mine.yaml: Falco's URL ${shown} still holds the placeholder <`);
    expect(problems.join('\n')).not.toMatch(/pa55|w0rd|t0k|en&|s3cret|falco[@:]/);
  });

  // Regression (a review): a URL of many spaces took the first pattern quadratic time (40,000 of
  // them 0.9 s, 200,000 about 20 s) before npm run deploy said anything.
  it('names a long URL with a placeholder in time linear in its length', () => {
    const started = performance.now();

    const problems = checkFalcoValues({
      output: {
        url: { value: `${' '.repeat(200_000)}<RECEIVER_HOST>`, file: 'mine.yaml' },
        enabled: { value: true, file: 'mine.yaml' },
        jsonOutput: { value: true, file: 'mine.yaml' },
      },
      baseManifests: false,
      falcoChartVersion: '9.1.0',
      pathSecretFromFile: false,
    });

    expect(problems).toEqual([
      expect.stringContaining("Falco's URL holds a blank"),
      expect.stringContaining('still holds the placeholder <RECEIVER_HOST>'),
    ]);
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});

// Both charts write http_output.enabled, json_output and mtls into Falco's falco.yaml as they are
// written (`helm template` of 3.1.4 and 9.1.0: `enabled: "false"`), and Falco reads the text, quoted
// or not (yaml-cpp's bool: y, yes, true, on, n, no, false, off; Falco 0.34.1 and 0.40.0 run with such
// a falco.yaml). The check kept the earlier file's true for a string, and a quoted "false" passed.
describe('checkFalcoValues, with a value Falco reads from a string', () => {
  const enabledOff = (written: string) =>
    `mine.yaml sets falco.http_output.enabled: ${written}, a string Falco reads as false: Falco then posts no alert at all, so every alert would be lost. Set it to true, as helm-values/falco.yaml does.`;
  const unreadable = (key: string, kind: string, then: string) =>
    `mine.yaml sets ${key} to ${kind} Falco cannot read as true or false (Falco 0.34 then refuses to start, "bad conversion"; 0.40 takes it as false): ${then}, so every alert would be lost. Set it to true, as helm-values/falco.yaml does.`;

  it.each(['3.1.4', '9.1.0'])('refuses a quoted "false" as Falco reads it, with chart %s', (version) => {
    expect(checkOverBase(version, 'falco:\n  http_output:\n    enabled: "false"\n')).toEqual([
      enabledOff('"false"'),
    ]);
    expect(checkOverBase(version, "falco:\n  http_output:\n    enabled: 'OFF'\n")).toEqual([
      enabledOff('"OFF"'),
    ]);
    expect(checkOverBase(version, 'falco:\n  json_output: "no"\n')).toEqual([
      'mine.yaml sets falco.json_output: "no", a string Falco reads as false: Falco then posts each alert as text/plain, which the receiver refuses (415), so every alert would be lost. Set it to true, as helm-values/falco.yaml does.',
    ]);
  });

  it('refuses a value Falco cannot read as a boolean, naming its kind and not the value', () => {
    const posts = 'Falco then posts no alert at all';

    expect(checkOverBase('9.1.0', 'falco:\n  http_output:\n    enabled: "s3cr3t"\n')).toEqual([
      unreadable('falco.http_output.enabled', 'a string', posts),
    ]);
    expect(checkOverBase('9.1.0', 'falco:\n  http_output:\n    enabled: "tRue"\n')).toEqual([
      unreadable('falco.http_output.enabled', 'a string', posts),
    ]);
    expect(checkOverBase('3.1.4', 'falco:\n  http_output:\n    enabled: 1\n')).toEqual([
      unreadable('falco.http_output.enabled', 'a number', posts),
    ]);
    expect(checkOverBase('9.1.0', 'falco:\n  json_output: [true]\n')).toEqual([
      unreadable(
        'falco.json_output',
        'a list',
        'Falco then posts each alert as text/plain, which the receiver refuses (415)',
      ),
    ]);
  });

  it('finds nothing wrong with a quoted "true", "yes" or "On": Falco reads them as true', () => {
    for (const version of ['3.1.4', '9.1.0'])
      expect(
        checkOverBase(
          version,
          'falco:\n  json_output: "yes"\n  http_output:\n    enabled: "true"\n',
          "falco:\n  http_output:\n    enabled: 'On'\n",
        ),
      ).toEqual([]);
  });

  it('reads a quoted "true" for mtls as Falco does: it presents a client certificate', () => {
    expect(checkOverBase('9.1.0', 'falco:\n  http_output:\n    mtls: "true"\n')).toEqual([
      expect.stringMatching(
        /^mine\.yaml points Falco at a listener k8s\/ alone does not have: .*components\/mtls/,
      ),
    ]);
    expect(checkOverBase('9.1.0', 'falco:\n  http_output:\n    mtls: "false"\n')).toEqual([]);
  });
});

// The charts' `{{ if .Values.falcosidekick.enabled }}` is Go's: false, 0, "", an empty list or
// mapping and no value are false, anything else true, a quoted "false" too (`helm template` of 3.1.4
// and 9.1.0 with an empty URL renders http://falco-falcosidekick:2801). The check took a string for
// "left alone" and passed the values.
describe('checkFalcoValues, with falcosidekick.enabled as the chart takes it', () => {
  const pointed = (turnedOn: string) =>
    `mine.yaml sets falco.http_output.url to "", and mine2.yaml sets falcosidekick.enabled ${turnedOn}: the chart then points Falco at falcosidekick's Service instead of the receiver, so every alert would be lost: falcosidekick forwards nothing to the receiver unless its webhook output is set (falcosidekick.config.webhook.address), and k8s/'s NetworkPolicy admits Falco's pods, not falcosidekick's. Set falco.http_output.url to the receiver's URL, as helm-values/falco.yaml does: the chart keeps a URL that is set.`;
  const emptyUrl = 'falco:\n  http_output:\n    url: ""\n';

  it.each(['3.1.4', '9.1.0'])('refuses a quoted "false" beside an empty URL, with chart %s', (version) => {
    expect(checkOverBase(version, emptyUrl, 'falcosidekick:\n  enabled: "false"\n')).toEqual([
      pointed('to a non-empty string, which the chart takes as true'),
    ]);
    expect(checkOverBase(version, emptyUrl, 'falcosidekick:\n  enabled: 1\n')).toEqual([
      pointed('to a number other than 0, which the chart takes as true'),
    ]);
    expect(checkOverBase(version, emptyUrl, 'falcosidekick:\n  enabled: [x]\n')).toEqual([
      pointed('to a non-empty list, which the chart takes as true'),
    ]);
  });

  it('takes a quoted "false" beside a URL as the chart does: json_output and enabled set true', () => {
    expect(
      checkOverBase(
        '9.1.0',
        'falco:\n  json_output: false\n  http_output:\n    enabled: false\n',
        'falcosidekick:\n  enabled: "false"\n',
      ),
    ).toEqual([]);
  });

  it('takes "", 0 and an empty list or mapping as false, as the chart does: Falco keeps what the files say', () => {
    for (const off of ['""', '0', '[]', '{}'])
      expect(
        checkOverBase('9.1.0', 'falco:\n  json_output: false\n', `falcosidekick:\n  enabled: ${off}\n`),
        off,
      ).toEqual([expect.stringMatching(/^mine\.yaml sets falco\.json_output: false/)]);
  });
});

// Falco 0.36 and later strip the quotes around http_output.url (outputs_http.cpp) after their
// start-up check, which sees '""' as a URL: Falco 0.40.0 with `url: '""'` starts, and logs "libcurl
// failed to perform call: URL using bad/illegal format or missing URL" for every alert. Both charts
// render the URL as it is, falcosidekick on or not (`if not url` keeps it). The check passed it.
describe('checkFalcoValues, with a URL of quotes only', () => {
  const quotedEmpty = (version: string) =>
    `mine.yaml sets falco.http_output.url to quotes with nothing inside, which chart ${version}'s Falco (0.36 and later) strips: Falco then has no URL to post to, and libcurl refuses each post ("URL using bad/illegal format or missing URL"), so every alert would be lost. Set it to the receiver's URL, as helm-values/falco.yaml does.`;

  it.each(['3.7.0', '9.1.0'])('refuses it with chart %s, falcosidekick on or not', (version) => {
    for (const url of [`'""'`, `"''"`]) {
      const values = `falco:\n  http_output:\n    url: ${url}\n`;

      expect(checkOverBase(version, values)).toEqual([quotedEmpty(version)]);
      expect(checkOverBase(version, values, SIDEKICK)).toEqual([quotedEmpty(version)]);
    }
  });

  it('refuses it once with a chart before 3.7, whose Falco sends the quotes to libcurl', () => {
    expect(checkOverBase('3.1.4', `falco:\n  http_output:\n    url: '""'\n`)).toEqual([
      expect.stringMatching(/^mine\.yaml: Falco's URL is written inside quotes/),
    ]);
  });
});

// Helm 4.1.4 (go-yaml v2 underneath, `helm template` of charts 3.1.4 and 9.1.0) reads a `!!set` as
// the mapping it is written as, a key without a value null: `!!set {falco}` is `falco: null`. The
// check refused such a document ("a value of another kind"), or one with a value ("not YAML").
describe('layerHttpOutput, with a !!set as helm reads it', () => {
  const layer = layerOverReceiver;

  it('reads a !!set document as a mapping whose keys without a value are null', () => {
    expect(layer('!!set {falco}\n')).toEqual(layer('falco: null\n'));
    expect(layer('!!set\n? falcosidekick\n')).toEqual(layer('falcosidekick: null\n'));
    expect(layer('!!set {}\n')).toEqual(layer('{}\n'));
    expect(layer('!!set {falco: {json_output: false}}\n').jsonOutput).toEqual({
      value: false,
      file: 'mine.yaml',
    });
    expect(layer('falco:\n  http_output: !!set {url}\n').url).toEqual({ value: null, file: 'mine.yaml' });
  });

  // k8s.io/apimachinery's YAMLReader, under helm: "invalid Yaml document separator: !!set".
  it('refuses a line that starts with --- and holds more than a comment, as helm does, quoting none of it', () => {
    const refusal = (line: number) =>
      new Error(
        `--values mine.yaml: line ${line} starts with --- and holds more than a comment after it, which helm refuses ("invalid Yaml document separator"). Start the document on the next line.`,
      );

    expect(() => layer('--- !!set\n? falco\n')).toThrow(refusal(1));
    expect(() => layer(`${BASE}--- {s3cr3t: token}\n`)).toThrow(refusal(4));
    expect(() => layer(`${BASE}----\n`)).toThrow(refusal(4));
    expect(layer(`--- # the receiver's\n${BASE}---\t\r\n`)).toEqual(layer(BASE));
  });
});

// Regression (a review): helm keeps a value that is not a mapping in place of the chart's http_output
// (`helm template` of 3.1.4 and 9.1.0 warns "cannot overwrite table with non table" and renders
// `http_output: false`, or fails with falcosidekick on); Falco 0.34.1 and 0.40.0 then refuse to start
// ("operator[] call on a scalar"), or with a list post nothing. The check kept the earlier file's
// enabled and URL, and passed the values.
describe('checkFalcoValues, with http_output set to a value that is not a mapping', () => {
  const replaced = (kind: string, then: string) =>
    `mine.yaml sets falco.http_output to a ${kind}, not a mapping, which helm keeps in place of the chart's ("cannot overwrite table with non table"): ${then}. Write http_output as a mapping, as helm-values/falco.yaml does.`;
  const postsNothing =
    'Falco then has no http_output.enabled or url and posts nothing (a single value there stops it at start, "operator[] call on a scalar"), so every alert would be lost';
  const cannotRender =
    "with falcosidekick.enabled on, helm then cannot render the chart, which writes falcosidekick's settings into http_output, so the install would fail";

  it.each(['3.1.4', '9.1.0'])('refuses it, falcosidekick on or not, with chart %s', (version) => {
    for (const [written, kind] of [
      ['false', 'boolean'],
      ['"off"', 'string'],
      ['[]', 'list'],
    ] as const) {
      const values = `falco:\n  http_output: ${written}\n`;

      expect(checkOverBase(version, values), written).toEqual([replaced(kind, postsNothing)]);
      expect(checkOverBase(version, values, SIDEKICK), written).toEqual([replaced(kind, cannotRender)]);
    }
  });

  it('names the file that replaced it last, and says nothing of what the files set inside it before', () => {
    const pathSecret = 'falco:\n  http_output:\n    url: http://r:8080/alerts/s3cr3t\n    mtls: true\n';

    expect(checkOverBase('9.1.0', pathSecret, 'falco:\n  http_output: 1\n')).toEqual([
      replaced('number', postsNothing).replace('mine.yaml', 'mine2.yaml'),
    ]);
  });

  it('finds nothing wrong once a later file sets http_output as a mapping again', () => {
    expect(checkOverBase('9.1.0', 'falco:\n  http_output: false\n', RECEIVER_VALUES)).toEqual([]);
    expect(checkOverBase('9.1.0', 'falco:\n  http_output: false\n', 'falco:\n  http_output: null\n')).toEqual(
      [
        expect.stringMatching(
          /^mine2\.yaml sets falco\.http_output\.enabled \(or a section holding it\) to null/,
        ),
        expect.stringMatching(
          /^mine2\.yaml sets falco\.http_output\.url \(or a section holding it\) to null/,
        ),
      ],
    );
  });

  // Regression (final review): the check kept falco.yaml's `enabled: true` under a later mapping, where
  // helm (`helm template` of 3.1.4 and 9.1.0 with helm-values/falco.yaml, `http_output: false`, then
  // a file setting only the URL) renders the chart's `enabled: false`: the values passed.
  it('takes a later mapping for the chart defaults and its own keys only: what the files set inside http_output before is gone', () => {
    for (const version of ['3.1.4', '9.1.0'])
      expect(checkOverBase(version, 'falco:\n  http_output: false\n', BASE), version).toEqual([
        "No values file sets falco.http_output.enabled after mine.yaml replaced falco.http_output, and false is the chart's default: Falco then posts no alert at all, so every alert would be lost. Set it to true, as helm-values/falco.yaml does.",
      ]);
    expect(
      checkOverBase(
        '9.1.0',
        'falco:\n  http_output:\n    mtls: true\n',
        'falco:\n  http_output: 1\n',
        RECEIVER_VALUES,
      ),
    ).toEqual([]);
  });
});

// Regression (a review): libcurl (7.88.1, which the Falco 0.34.1 and 0.40.0 builds link) refuses a
// URL holding a blank or a control character ("URL using bad/illegal format or missing URL", curl
// exit 3), as it refuses the empty URL Falco 0.36+ leaves of '""'. Falco's start-up check wants only
// a URL that is not "", both charts keep such a URL (falcosidekick on or not), and every post fails.
// The check passed it.
describe('checkFalcoValues, with a blank in the URL', () => {
  const blank = (file = 'mine.yaml') =>
    `${file}: Falco's URL holds a blank or a control character, which libcurl refuses ("URL using bad/illegal format or missing URL"): every alert would be lost. Write the URL without it.`;
  const RECEIVER = 'http://falco-alert-receiver.falco.svc.cluster.local:8080/alerts';

  it.each(['3.1.4', '9.1.0'])('refuses it, falcosidekick on or not, with chart %s', (version) => {
    for (const url of ['" "', `"${RECEIVER} "`, `"${RECEIVER}\\t"`, `"http://r:8080/my alerts"`]) {
      const values = `falco:\n  http_output:\n    url: ${url}\n`;

      expect(checkOverBase(version, values), url).toEqual([blank()]);
      expect(checkOverBase(version, values, SIDEKICK), url).toEqual([blank()]);
    }
  });

  it('refuses a blank inside quotes that Falco 0.36 and later strip (chart 3.7 and later)', () => {
    expect(checkOverBase('9.1.0', `falco:\n  http_output:\n    url: '" "'\n`)).toEqual([blank()]);
    expect(checkOverBase('9.1.0', `falco:\n  http_output:\n    url: '"${RECEIVER}"'\n`)).toEqual([]);
  });

  it('finds nothing wrong with a letter beyond ASCII, which libcurl takes', () => {
    expect(checkOverBase('9.1.0', `falco:\n  http_output:\n    url: "${RECEIVER}?é=1"\n`)).toEqual([]);
  });
});

// Regression (a review): helm 4.1.4 refuses these values files, `helm template` of charts 3.1.4 and
// 9.1.0 ("failed to parse ... cannot unmarshal yaml document"), and the check passed them, so helm
// failed only at the install step, after the checks. A directive: helm's reader hands go-yaml the
// lines before a `---` without it; a key that is a list, a mapping or null, and .nan or .inf:
// sigs.k8s.io/yaml cannot turn them into JSON. With `%YAML 1.2` the check even read `yes` as text.
describe('layerHttpOutput, with values helm cannot read', () => {
  const layer = layerOverReceiver;

  it('refuses a directive that helm reaches, as helm does, quoting none of it', () => {
    const refusal = (line: number) =>
      new Error(
        `--values mine.yaml: line ${line} is a directive (it starts with %), which helm refuses: its reader hands go-yaml the lines before a --- without it ("did not find expected <document start>"). Remove the line.`,
      );

    expect(() => layer('%YAML 1.2\n---\nfalco:\n  json_output: yes\n')).toThrow(refusal(1));
    expect(() => layer('# mine\n%YAML 1.1\n---\nfalco:\n  json_output: true\n')).toThrow(refusal(2));
    expect(() => layer('%TAG !s3cr3t! tag:example.com,2000:\n---\nfalco: {}\n')).toThrow(refusal(1));
    expect(() => layer(`${BASE}---\n...\n%YAML 1.1\n---\nfalco: {}\n`)).toThrow(refusal(6));
    // After a `...` that ends the part's document, helm reads no further: it reaches no directive.
    expect(layer(`${BASE}...\n%YAML 1.1\n---\nfalco:\n  json_output: false\n`).jsonOutput).toEqual({
      value: false,
      file: 'mine.yaml',
    });
  });

  it.each([
    ['a list as a key', 'falco:\n  ? [s3cr3t-token]\n  : x\n', 2, 'a key that is a list', 'invalid map key'],
    ['a mapping as a key', 'falco:\n  {s3cr3t: token}: x\n', 2, 'a key that is a mapping', 'invalid map key'],
    [
      'an alias of a list as a key',
      'a: &k [x]\nfalco:\n  *k : 1\n',
      3,
      'a key that is a list',
      'invalid map key',
    ],
    ['~ as a key', `${BASE}  ~: x\n`, 4, 'a key that is null', 'unsupported map key'],
    ['an empty key', 'falco:\n  ?\n  : x\n', 2, 'a key that is null', 'unsupported map key'],
    ['.nan as a value', 'falco:\n  x: .nan\n', 2, '.nan or .inf', 'json: unsupported value'],
    ['-.inf in a list', 'falco:\n  x: [1, -.inf]\n', 2, '.nan or .inf', 'json: unsupported value'],
  ])(
    'refuses a values file with %s, which helm cannot turn into JSON, quoting none of it',
    (_what, text, line, what, says) => {
      expect(() => layer(text)).toThrow(
        new Error(
          `--values mine.yaml: line ${line} holds ${what}, which helm cannot turn into JSON ("${says}"). Write it as text, in quotes.`,
        ),
      );
    },
  );

  it('reads what helm reads: keys that are numbers or booleans, .nan as a key, and text in quotes', () => {
    const values = 'falco:\n  1: a\n  on: b\n  .nan: c\n  x: ".nan"\n  "~": d\n  json_output: false\n';

    expect(layer(values).jsonOutput).toEqual({ value: false, file: 'mine.yaml' });
  });
});
