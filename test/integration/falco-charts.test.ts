import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { commandWorks, requireComponent } from '../helpers/components.js';
import { REPO_ROOT } from './support/service-image.js';
import { execa } from 'execa';
import { checkFalcoValues } from '../../src/deploy/check-falco-values.js';
import { buildFalcoInstallArgs, DEFAULT_DEPLOY_OPTIONS } from '../../src/deploy/deploy-plan.js';
import { readHttpOutput } from '../../src/deploy/falco-http-output.js';
import { buildHelmValueArgs } from '../../src/runners/helm-args.js';
import { GENERATOR_ACTIONS } from '../../src/triggers/data/event-generator-actions.js';
import {
  FALCO_CHARTS_DIR,
  HELM,
  helmReady,
  renderChart,
  requireChart,
  type RenderedObject,
} from './support/falco-charts.js';
import { findObject, parseManifests, renderKustomize, type K8sObject } from './support/kustomize.js';

const kubectlReady = requireComponent('kubectl', commandWorks('kubectl', ['version', '--client']));
const ready = helmReady() && kubectlReady;
const FALCO_CHARTS = ['falco-3.1.4.tgz', 'falco-9.1.0.tgz'].map((file) => ({
  file,
  archive: requireChart(file),
}));
const EVENT_GENERATOR_CHARTS = ['event-generator-0.2.0.tgz', 'event-generator-0.4.0.tgz'].map((file) => ({
  file,
  archive: requireChart(file),
}));
/**
 * The helm commands of helm-values/README.md that name event-generator chart `version` (the
 * repository chart with `--version`, or the archive), as argv: continuations joined, comments cut.
 */
function readmeEventGeneratorCommands(version: string): string[][] {
  const readme = readFileSync(path.join(REPO_ROOT, 'helm-values/README.md'), 'utf8');
  return readme
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((line) =>
      line
        .replace(/\s#.*$/, '')
        .trim()
        .split(/\s+/),
    )
    .filter(
      (argv) =>
        argv[0] === 'helm' &&
        (argv.some((arg) => arg.endsWith(`/event-generator-${version}.tgz`)) ||
          (argv.includes('falcosecurity/event-generator') &&
            argv[argv.indexOf('--version') + 1] === version)),
    );
}

/** The `--set` and `--set-string` pairs of an argv, as helm would apply them. */
const setArgs = (argv: string[]) =>
  argv.flatMap((arg, i) => (arg === '--set' || arg === '--set-string' ? [arg, argv[i + 1]!] : []));

/** The Secret helm-values/examples/falco-mtls.yaml mounts, with the keys of a cert-manager Certificate. */
const CLIENT_SECRET = 'falco-http-output-client';
const CERT_MANAGER_KEYS = ['tls.crt', 'tls.key', 'ca.crt'];

interface HttpOutput {
  enabled: boolean;
  url: string;
  mtls?: boolean;
  client_cert?: string;
  client_key?: string;
  ca_cert?: string;
}
interface FalcoConfig {
  json_output: boolean;
  json_include_output_property: boolean;
  json_include_tags_property: boolean;
  http_output: HttpOutput;
}

/** Falco's own falco.yaml as the chart renders it into ConfigMap `falco`. */
function falcoConfigOf(objects: RenderedObject[]): FalcoConfig {
  const configMap = objects.find((obj) => obj.kind === 'ConfigMap' && obj.metadata.name === 'falco');
  if (!configMap) throw new Error('the chart rendered no ConfigMap falco');
  return parse(configMap.data['falco.yaml'] as string) as FalcoConfig;
}

/** `http://<service>.<namespace>.svc.cluster.local:<port>` for the rendered Service port `portName`. */
function serviceOrigin(objects: K8sObject[], scheme: string, portName: string): string {
  const service = findObject(objects, 'Service', 'falco-alert-receiver');
  const port = (service.spec.ports as Array<{ name: string; port: number }>).find((p) => p.name === portName);
  if (!port) throw new Error(`Service has no port ${portName}`);
  return `${scheme}://${service.metadata.name}.${service.metadata.namespace}.svc.cluster.local:${port.port}`;
}

/** The Secret whose volume the Falco container mounts at the directory of `file`. */
function secretMountedFor(objects: RenderedObject[], file: string): string | undefined {
  const pod = findObject(objects as K8sObject[], 'DaemonSet').spec.template.spec;
  const falco = (
    pod.containers as Array<{ name: string; volumeMounts: Array<{ name: string; mountPath: string }> }>
  ).find((container) => container.name === 'falco');
  const mount = falco?.volumeMounts.find((item) => item.mountPath === path.posix.dirname(file));
  const volume = (pod.volumes as Array<{ name: string; secret?: { secretName: string } }>).find(
    (item) => item.name === mount?.name,
  );
  return volume?.secret?.secretName;
}

const renderFalco = (archive: string, values: string[]) =>
  renderChart(archive, { release: 'falco', namespace: 'falco', values });

describe.skipIf(!ready)('the real falcosecurity/falco charts with helm-values/', () => {
  let base: K8sObject[];
  let mtls: K8sObject[];
  beforeAll(async () => {
    [base, mtls] = await Promise.all([renderKustomize(), renderKustomize(['mtls'])]);
  });

  describe.each(FALCO_CHARTS)('$file', ({ archive }) => {
    it.skipIf(!archive)(
      'renders JSON output to the Service kubectl kustomize k8s/ renders, at /alerts',
      async () => {
        const config = falcoConfigOf(await renderFalco(archive!, ['helm-values/falco.yaml']));

        expect(config.json_output).toBe(true);
        expect(config.json_include_output_property).toBe(true);
        expect(config.json_include_tags_property).toBe(true);
        expect(config.http_output.enabled).toBe(true);
        expect(config.http_output.url).toBe(`${serviceOrigin(base, 'http', 'http')}/alerts`);
      },
    );

    it.skipIf(!archive)(
      'renders the path-secret example with the placeholder segment on the same Service',
      async () => {
        const config = falcoConfigOf(
          await renderFalco(archive!, [
            'helm-values/falco.yaml',
            'helm-values/examples/falco-path-secret.yaml',
          ]),
        );

        expect(config.json_output).toBe(true);
        expect(config.http_output.url).toBe(
          `${serviceOrigin(base, 'http', 'http')}/alerts/<INGEST_PATH_SECRET>`,
        );
      },
    );

    it.skipIf(!archive)(
      'renders the mTLS example: https-ingest, and every TLS file mounted from the client Secret',
      async () => {
        const objects = await renderFalco(archive!, [
          'helm-values/falco.yaml',
          'helm-values/examples/falco-mtls.yaml',
        ]);
        const output = falcoConfigOf(objects).http_output;
        const files = [output.client_cert, output.client_key, output.ca_cert].map(String);

        expect(output.mtls).toBe(true);
        expect(output.url).toBe(`${serviceOrigin(mtls, 'https', 'https-ingest')}/alerts`);
        for (const file of files) expect(secretMountedFor(objects, file), file).toBe(CLIENT_SECRET);
        expect(files.map((file) => path.posix.basename(file)).sort()).toEqual([...CERT_MANAGER_KEYS].sort());
      },
    );
  });

  // npm run deploy's check (layerHttpOutput) models helm's reading of values files, its null too:
  // what helm renders must agree.
  describe.each(FALCO_CHARTS)('values files as helm reads them, with $file', ({ archive }) => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'falco-null-values-'));
      return () => rmSync(dir, { recursive: true, force: true });
    });
    const render = (texts: Record<string, string>) => {
      const files = Object.entries(texts).map(([name, text]) => {
        writeFileSync(path.join(dir, name), text);
        return path.join(dir, name);
      });
      return renderFalco(archive!, ['helm-values/falco.yaml', ...files]);
    };

    it.skipIf(!archive)('a null removes the key, and its chart default with it', async () => {
      const config = falcoConfigOf(
        await render({ 'clear.yaml': 'falco:\n  json_output: null\n  http_output:\n    url: ~\n' }),
      );

      expect(config).not.toHaveProperty('json_output');
      expect(config.http_output).not.toHaveProperty('url');
    });

    it.skipIf(!archive)(
      'merges the documents of one file first: a later section replaces an earlier null',
      async () => {
        const config = falcoConfigOf(
          await render({
            'docs.yaml': 'falco:\n  http_output: null\n---\nfalco:\n  http_output:\n    mtls: true\n',
          }),
        );

        expect(config.http_output.url).toBe(`${serviceOrigin(base, 'http', 'http')}/alerts`);
        expect(config.http_output.mtls).toBe(true);
      },
    );

    it.skipIf(!archive)(
      'reads one document between --- lines: a document after a bare ... is never read',
      async () => {
        const config = falcoConfigOf(
          await render({ 'end.yaml': 'falco:\n  json_output: false\n...\nfalco:\n  json_output: true\n' }),
        );

        expect(config.json_output).toBe(false);
      },
    );

    it.skipIf(!archive)(
      'sets a << merge key over the keys written before it, the first of a list winning',
      async () => {
        const anchors = 'quiet: &off {json_output: false}\nloud: &on {json_output: true}\n';
        const over = falcoConfigOf(
          await render({ 'over.yaml': `${anchors}falco:\n  json_output: true\n  <<: *off\n` }),
        );
        const first = falcoConfigOf(
          await render({ 'first.yaml': `${anchors}falco:\n  json_output: false\n  <<: [*on, *off]\n` }),
        );

        expect(over.json_output).toBe(false);
        expect(first.json_output).toBe(true);
      },
    );

    // The check refused a `!!set` document ("a value of another kind") and took `--- !!set` for one.
    it.skipIf(!archive)(
      'reads a !!set as the mapping it is written as, and refuses --- with more on its line, as the check does',
      async () => {
        const set = { 'set.yaml': '!!set {falco: {json_output: false, http_output: !!set {url}}}\n' };
        const separator = { 'separator.yaml': '--- !!set\n? falcosidekick\n' };
        const config = falcoConfigOf(await render(set));
        const read = (texts: Record<string, string>) =>
          readHttpOutput([
            'helm-values/falco.yaml',
            ...Object.keys(texts).map((name) => path.join(dir, name)),
          ]);

        expect(config.json_output).toBe(false);
        expect(config.http_output).not.toHaveProperty('url');
        expect(config.http_output.enabled).toBe(true);
        expect(read(set)).toMatchObject({
          jsonOutput: { value: false },
          url: { value: null },
          enabled: { value: true },
        });
        await expect(render(separator)).rejects.toThrow(/invalid Yaml document separator/);
        expect(() => read(separator)).toThrow(/line 1 starts with ---/);
      },
    );

    // The check passed these, and helm failed only at the install step.
    it.skipIf(!archive)(
      'refuses a directive, a key that is a list or null, and .nan, as the check does',
      async () => {
        const read = (name: string) => readHttpOutput(['helm-values/falco.yaml', path.join(dir, name)]);
        const cases: Array<[string, string, RegExp, RegExp]> = [
          [
            'directive.yaml',
            '%YAML 1.2\n---\nfalco:\n  json_output: yes\n',
            /found incompatible YAML document/,
            /line 1 is a directive/,
          ],
          [
            'list-key.yaml',
            'falco:\n  ? [s3cr3t-token]\n  : x\n',
            /invalid map key/,
            /line 2 holds a key that is a list/,
          ],
          ['null-key.yaml', 'falco:\n  ~: x\n', /unsupported map key/, /line 2 holds a key that is null/],
          ['nan.yaml', 'falco:\n  x: .nan\n', /json: unsupported value/, /line 2 holds \.nan or \.inf/],
        ];
        for (const [name, text, helmSays, checkSays] of cases) {
          await expect(render({ [name]: text })).rejects.toThrow(helmSays);
          expect(() => read(name)).toThrow(checkSays);
        }
      },
    );

    it.skipIf(!archive)(
      'brings back none of a section a later file sets again, only its chart defaults',
      async () => {
        const config = falcoConfigOf(
          await render({
            'clear.yaml': 'falco:\n  http_output: null\n',
            'again.yaml': 'falco:\n  http_output:\n    mtls: true\n',
          }),
        );

        expect(config.http_output).toMatchObject({ enabled: false, url: '', mtls: true });
      },
    );
  });

  // npm run deploy's check models http_output.enabled, and what falcosidekick.enabled: true has the
  // chart write (template falco.falcosidekickConfig): what helm renders must agree, and the check
  // refuses exactly the values that leave the receiver without alerts.
  describe.each(FALCO_CHARTS)(
    'http_output.enabled and falcosidekick.enabled, with $file',
    ({ file, archive }) => {
      const sidekick: [string, string] = ['sidekick.yaml', 'falcosidekick:\n  enabled: true\n'];
      let dir: string;
      beforeAll(() => {
        dir = mkdtempSync(path.join(os.tmpdir(), 'falco-sidekick-values-'));
        return () => rmSync(dir, { recursive: true, force: true });
      });
      /** helm-values/falco.yaml, then each text written to a file of its name. */
      const valuesFiles = (...texts: Array<[string, string]>) => [
        path.join(REPO_ROOT, 'helm-values/falco.yaml'),
        ...texts.map(([name, text]) => {
          writeFileSync(path.join(dir, name), text);
          return path.join(dir, name);
        }),
      ];
      const check = (files: string[]) =>
        checkFalcoValues({
          output: readHttpOutput(files),
          baseManifests: true,
          falcoChartVersion: file.replace(/^falco-|\.tgz$/g, ''),
          pathSecretFromFile: false,
        });

      it.skipIf(!archive)(
        'renders enabled false, or no enabled once removed, and the check refuses both',
        async () => {
          const off = valuesFiles(['off.yaml', 'falco:\n  http_output:\n    enabled: false\n']);
          const removed = valuesFiles(['removed.yaml', 'falco:\n  http_output:\n    enabled: ~\n']);

          expect(falcoConfigOf(await renderFalco(archive!, off)).http_output.enabled).toBe(false);
          expect(falcoConfigOf(await renderFalco(archive!, removed)).http_output).not.toHaveProperty(
            'enabled',
          );
          expect(check(off)).toEqual([
            expect.stringMatching(/off\.yaml sets falco\.http_output\.enabled: false/),
          ]);
          expect(check(removed)).toEqual([
            expect.stringMatching(
              /removed\.yaml sets falco\.http_output\.enabled \(or a section holding it\) to null/,
            ),
          ]);
        },
      );

      // Both charts default json_output to false: values that never set it lose every alert (415).
      it.skipIf(!archive)(
        'renders json_output false when no values file sets it, and the check refuses it',
        async () => {
          const only = path.join(dir, 'no-json.yaml');
          writeFileSync(
            only,
            `falco:\n  http_output:\n    enabled: true\n    url: ${serviceOrigin(base, 'http', 'http')}/alerts\n`,
          );

          expect(falcoConfigOf(await renderFalco(archive!, [only])).json_output).toBe(false);
          expect(check([only])).toEqual([
            expect.stringMatching(
              /^No values file sets falco\.json_output, and false is the chart's default: /,
            ),
          ]);
        },
      );

      // Falco 0.34.1 and 0.40.0 exit at start with this falco.yaml: "http output enabled but no url in
      // configuration block".
      it.skipIf(!archive)(
        'with falcosidekick off, renders an empty URL as it is beside enabled true, and the check refuses it',
        async () => {
          const files = valuesFiles(['empty.yaml', 'falco:\n  http_output:\n    url: ""\n']);

          expect(falcoConfigOf(await renderFalco(archive!, files)).http_output).toMatchObject({
            enabled: true,
            url: '',
          });
          expect(check(files)).toEqual([
            expect.stringMatching(/empty\.yaml sets falco\.http_output\.url to "": .* it refuses to start/),
          ]);
        },
      );

      it.skipIf(!archive)(
        'with falcosidekick on, keeps the receiver URL and renders json_output and enabled true over false, which the check passes',
        async () => {
          const files = valuesFiles(
            ['off.yaml', 'falco:\n  json_output: false\n  http_output:\n    enabled: false\n'],
            sidekick,
          );
          const objects = await renderFalco(archive!, files);
          const config = falcoConfigOf(objects);

          expect(config.json_output).toBe(true);
          expect(config.http_output).toMatchObject({
            enabled: true,
            url: `${serviceOrigin(base, 'http', 'http')}/alerts`,
          });
          expect(findObject(objects as K8sObject[], 'Deployment', 'falco-falcosidekick')).toBeDefined();
          expect(check(files)).toEqual([]);
        },
      );

      it.skipIf(!archive)(
        "with falcosidekick on and the URL empty or removed, renders falcosidekick's Service as the URL, which the check refuses",
        async () => {
          const cases: Array<Array<[string, string]>> = [
            [['empty.yaml', 'falco:\n  http_output:\n    url: ""\n']],
            [['removed.yaml', 'falco:\n  http_output:\n    url: null\n']],
            // A later falco: mapping replaces the null: the chart's http_output (url "") is back.
            [
              ['gone.yaml', 'falco: null\n'],
              ['again.yaml', 'falco:\n  json_output: true\n'],
            ],
          ];
          for (const texts of cases) {
            const files = valuesFiles(...texts, sidekick);

            expect(falcoConfigOf(await renderFalco(archive!, files)).http_output).toMatchObject({
              enabled: true,
              url: 'http://falco-falcosidekick:2801',
            });
            expect(check(files)).toEqual([
              expect.stringContaining("the chart then points Falco at falcosidekick's Service"),
            ]);
          }
        },
      );

      // Falco reads the text of a boolean, quoted or not (Falco 0.34.1 and 0.40.0: "false" is false).
      it.skipIf(!archive)(
        'renders a quoted "false" for enabled and json_output as it is, and the check refuses both',
        async () => {
          const files = valuesFiles([
            'quoted.yaml',
            'falco:\n  json_output: "false"\n  http_output:\n    enabled: "false"\n',
          ]);
          const config = falcoConfigOf(await renderFalco(archive!, files));

          expect(config.json_output).toBe('false');
          expect(config.http_output.enabled).toBe('false');
          expect(check(files)).toEqual([
            expect.stringMatching(
              /quoted\.yaml sets falco\.http_output\.enabled: "false", a string Falco reads as false/,
            ),
            expect.stringMatching(
              /quoted\.yaml sets falco\.json_output: "false", a string Falco reads as false/,
            ),
          ]);
        },
      );

      it.skipIf(!archive)(
        'with falcosidekick.enabled a quoted "false" and the URL empty, renders falcosidekick\'s Service as the URL, which the check refuses',
        async () => {
          const files = valuesFiles(
            ['empty.yaml', 'falco:\n  http_output:\n    url: ""\n'],
            ['quoted-sidekick.yaml', 'falcosidekick:\n  enabled: "false"\n'],
          );
          const objects = await renderFalco(archive!, files);

          expect(falcoConfigOf(objects).http_output).toMatchObject({
            enabled: true,
            url: 'http://falco-falcosidekick:2801',
          });
          expect(findObject(objects as K8sObject[], 'Deployment', 'falco-falcosidekick')).toBeDefined();
          expect(check(files)).toEqual([
            expect.stringContaining("the chart then points Falco at falcosidekick's Service"),
          ]);
        },
      );

      // Falco 0.36 and later strip the quotes after their start-up check: 0.40.0 starts with '""' and
      // logs "URL using bad/illegal format or missing URL" for each alert; 0.34.1 sends the quotes.
      it.skipIf(!archive)(
        'renders a URL of quotes only as it is, falcosidekick on or not, and the check refuses it',
        async () => {
          const quoted: [string, string] = ['quotes.yaml', `falco:\n  http_output:\n    url: '""'\n`];
          for (const files of [valuesFiles(quoted), valuesFiles(quoted, sidekick)]) {
            expect(falcoConfigOf(await renderFalco(archive!, files)).http_output).toMatchObject({
              enabled: true,
              url: '""',
            });
            expect(check(files)).toEqual([
              expect.stringMatching(
                file === 'falco-3.1.4.tgz'
                  ? /quotes\.yaml: Falco's URL is written inside quotes/
                  : /quotes\.yaml sets falco\.http_output\.url to quotes with nothing inside, .* strips: Falco then has no URL/,
              ),
            ]);
          }
        },
      );

      // libcurl (7.88.1 here, as the Falco builds link) refuses a URL holding a blank: "URL using
      // bad/illegal format or missing URL" (curl exit 3), while Falco starts.
      it.skipIf(!archive)(
        'renders a URL with a trailing blank as it is, falcosidekick on or not, and the check refuses it',
        async () => {
          const url = `${serviceOrigin(base, 'http', 'http')}/alerts `;
          const blank: [string, string] = ['blank.yaml', `falco:\n  http_output:\n    url: "${url}"\n`];
          for (const files of [valuesFiles(blank), valuesFiles(blank, sidekick)]) {
            expect(falcoConfigOf(await renderFalco(archive!, files)).http_output.url).toBe(url);
            expect(check(files)).toEqual([
              expect.stringMatching(/blank\.yaml: Falco's URL holds a blank or a control character/),
            ]);
          }
        },
      );

      // A later file's URL that is not text wins over helm-values/falco.yaml's: rendered as it is, or
      // with falcosidekick on as its text ("7"), or as falcosidekick's URL where the chart's `if not`
      // takes it as empty (0, false, [], {}). The check names its kind, and falcosidekick where it wins.
      it.skipIf(!archive)(
        'renders a URL that is not text in place of the receiver URL, falcosidekick on or not, and the check refuses it',
        async () => {
          const cases: Array<[string, unknown, string, string]> = [
            ['[http://x/alerts]', ['http://x/alerts'], '[http://x/alerts]', 'list'],
            ['7', 7, '7', 'number'],
            ['{a: b}', { a: 'b' }, 'map[a:b]', 'mapping'],
            ['0', 0, 'http://falco-falcosidekick:2801', 'number'],
            ['[]', [], 'http://falco-falcosidekick:2801', 'list'],
            ['false', false, 'http://falco-falcosidekick:2801', 'boolean'],
          ];
          for (const [text, rendered, withSidekickUrl, kind] of cases) {
            const url: [string, string] = ['url.yaml', `falco:\n  http_output:\n    url: ${text}\n`];
            const files = valuesFiles(url);
            const withSidekick = valuesFiles(url, sidekick);

            expect(falcoConfigOf(await renderFalco(archive!, files)).http_output.url).toEqual(rendered);
            expect(check(files)).toEqual([
              `${path.join(dir, 'url.yaml')} sets falco.http_output.url to a ${kind}, not a URL: Falco then has no URL to post to, so every alert would be lost. Write the receiver's URL there as text, as helm-values/falco.yaml does.`,
            ]);
            expect(falcoConfigOf(await renderFalco(archive!, withSidekick)).http_output.url).toBe(
              withSidekickUrl,
            );
            expect(check(withSidekick)).toEqual([
              withSidekickUrl.includes('falcosidekick')
                ? expect.stringContaining(
                    `url.yaml sets falco.http_output.url to a ${kind} the chart takes as empty, and ${path.join(dir, 'sidekick.yaml')} sets falcosidekick.enabled: true: the chart then points Falco at falcosidekick's Service`,
                  )
                : expect.stringContaining(`url.yaml sets falco.http_output.url to a ${kind}, not a URL`),
            ]);
          }
        },
      );

      // Falco 0.34.1 and 0.40.0 refuse to start with `http_output: false` ("operator[] call on a scalar").
      it.skipIf(!archive)(
        "renders http_output: false in place of the chart's, or fails to with falcosidekick on, and the check refuses both",
        async () => {
          const replaced: [string, string] = ['replaced.yaml', 'falco:\n  http_output: false\n'];
          const files = valuesFiles(replaced);
          const withSidekick = valuesFiles(replaced, sidekick);

          expect(falcoConfigOf(await renderFalco(archive!, files)).http_output).toBe(false);
          expect(check(files)).toEqual([
            expect.stringMatching(
              /replaced\.yaml sets falco\.http_output to a boolean, not a mapping, .* posts nothing/,
            ),
          ]);
          await expect(renderFalco(archive!, withSidekick)).rejects.toThrow(/wrong type for value/);
          expect(check(withSidekick)).toEqual([expect.stringContaining('helm then cannot render the chart')]);
        },
      );

      // What helm-values/falco.yaml set there went with the section: a later mapping brings back the
      // chart's defaults only, and the check says no file set the keys after the replacement.
      it.skipIf(!archive)(
        "renders the chart's http_output defaults after a later mapping brings back a replaced section, which the check refuses",
        async () => {
          const files = valuesFiles(
            ['replaced.yaml', 'falco:\n  http_output: false\n'],
            ['again.yaml', 'falco:\n  http_output:\n    insecure: true\n'],
          );
          const after = `after ${path.join(dir, 'replaced.yaml')} replaced falco.http_output`;

          expect(falcoConfigOf(await renderFalco(archive!, files)).http_output).toMatchObject({
            enabled: false,
            url: '',
          });
          expect(check(files)).toEqual([
            expect.stringContaining(
              `No values file sets falco.http_output.enabled ${after}, and false is the chart's default`,
            ),
            expect.stringContaining(
              `No values file sets falco.http_output.url ${after}, and empty is the chart's default`,
            ),
          ]);
        },
      );

      it.skipIf(!archive)(
        'with falcosidekick on and http_output removed whole, fails to render, which the check refuses',
        async () => {
          const files = valuesFiles(['clear.yaml', 'falco:\n  http_output: null\n'], sidekick);

          await expect(renderFalco(archive!, files)).rejects.toThrow(/wrong type for value/);
          expect(check(files)).toEqual([expect.stringContaining('helm then cannot render the chart')]);
        },
      );
    },
  );

  describe.each(FALCO_CHARTS)('npm run deploy -- --charts-dir with $file', ({ file, archive }) => {
    it.skipIf(!archive)(
      'installs the local archive with helm-values/falco.yaml, which renders the receiver URL',
      async () => {
        const version = file.replace(/^falco-|\.tgz$/g, '');
        const options = {
          ...DEFAULT_DEPLOY_OPTIONS,
          falcoChartVersion: version,
          chartsDir: FALCO_CHARTS_DIR,
        };
        const install = buildFalcoInstallArgs(options);
        // The same argv as `helm template` (install-only flags dropped): what the release would apply.
        const templateArgs = ['template', ...install.slice(2).filter((arg) => arg !== '--create-namespace')];
        const { stdout } = await execa(HELM, templateArgs, { cwd: REPO_ROOT, timeout: 60_000 });

        expect(install[3]).toBe(archive);
        expect(install).not.toContain('--version');
        expect(falcoConfigOf(parseManifests(stdout)).http_output.url).toBe(
          `${serviceOrigin(base, 'http', 'http')}/alerts`,
        );
      },
    );
  });

  // The mTLS example's own comment: Falco < 0.36 has no http_output.mtls, so 3.1.4 cannot use it.
  it.skipIf(!FALCO_CHARTS[0]?.archive)(
    'ships Falco 0.34.1 in chart 3.1.4, older than the 0.36 the mTLS example needs',
    async () => {
      const objects = await renderFalco(FALCO_CHARTS[0]!.archive!, ['helm-values/falco.yaml']);
      const daemonSet = findObject(objects as K8sObject[], 'DaemonSet');

      expect(daemonSet.metadata.labels?.['app.kubernetes.io/version']).toBe('0.34.1');
    },
  );
});

describe.skipIf(!helmReady())(
  'the real falcosecurity/event-generator charts with helm-values/event-generator.yaml',
  () => {
    const values = parse(readFileSync(path.join(REPO_ROOT, 'helm-values/event-generator.yaml'), 'utf8')) as {
      config: { actions: string };
    };

    describe.each(EVENT_GENERATOR_CHARTS)('$file', ({ file, archive }) => {
      it.skipIf(!archive)('renders one one-shot Job running the actions regex', async () => {
        const objects = await renderChart(archive!, {
          release: 'event-generator',
          namespace: 'falco-canary',
          values: ['helm-values/event-generator.yaml'],
        });
        const jobs = objects.filter((obj) => obj.kind === 'Job');
        const container = jobs[0]?.spec.template.spec.containers[0];

        expect(jobs).toHaveLength(1);
        expect(objects.filter((obj) => obj.kind === 'Deployment')).toEqual([]);
        expect(jobs[0]?.spec.backoffLimit).toBe(1);
        expect(jobs[0]?.spec.template.spec.restartPolicy).toBe('Never');
        expect(container.command.slice(0, 2)).toEqual(['/bin/event-generator', 'run']);
        expect(container.command.at(-1)).toBe(values.config.actions);
        // Chart 0.3.4 and later pass --all (disabled actions matching the regex run too); 0.2.0 does not.
        expect(container.command.includes('--all')).toBe(file !== 'event-generator-0.2.0.tgz');
      });

      // Regression: the README's commands left image.tag to the charts' "latest", so they ran the
      // newest event-generator, not the v0.10/v0.13 whose actions helm-values/event-generator.yaml picks.
      it.skipIf(!archive)(
        "runs the image of the chart's appVersion with each helm-values/README.md command",
        async () => {
          const commands = readmeEventGeneratorCommands(file.replace(/^event-generator-|\.tgz$/g, ''));
          const images = await Promise.all(
            commands.map(async (argv) => {
              const objects = await renderChart(archive!, {
                release: 'eg',
                namespace: 'falco-canary',
                values: ['helm-values/event-generator.yaml'],
                extraArgs: setArgs(argv),
              });
              const job = findObject(objects, 'Job');
              return [
                job.spec.template.spec.containers[0].image,
                job.metadata.labels?.['app.kubernetes.io/version'],
              ];
            }),
          );

          expect(commands.length).toBeGreaterThan(0);
          for (const [image, appVersion] of images)
            expect(image).toBe(`falcosecurity/event-generator:${appVersion}`);
        },
      );

      // Regression: the chart's image.tag default ("latest") ran the newest event-generator, not the
      // one whose actions a run expects.
      it.skipIf(!archive)(
        "runs the image of its event-generator version with a trigger run's values",
        async () => {
          const version = file === 'event-generator-0.2.0.tgz' ? 'v0.10' : 'v0.13';
          const objects = await renderChart(archive!, {
            release: 'falco-eg-0123abcd',
            namespace: 'falco-canary',
            values: [],
            extraArgs: buildHelmValueArgs('^syscall', GENERATOR_ACTIONS[version].imageTag),
          });
          const image = findObject(objects, 'Job').spec.template.spec.containers[0].image;

          expect(image).toBe(`falcosecurity/event-generator:${version === 'v0.10' ? '0.10.0' : '0.13.0'}`);
        },
      );

      // Regression (review): Falco's Debugfs and Mount rules ask for container.privileged=true, and a
      // run's Job container was never privileged: by default it still is not (a run expects none of
      // those rules), and TRIGGER_EVENT_GENERATOR_PRIVILEGED makes it privileged.
      it.skipIf(!archive)(
        "leaves the Job container unprivileged unless a run's values ask for privileged",
        async () => {
          const render = async (privileged: boolean) =>
            findObject(
              await renderChart(archive!, {
                release: 'falco-eg-0123abcd',
                namespace: 'falco-canary',
                values: [],
                extraArgs: buildHelmValueArgs('^syscall', '0.13.0', { privileged }),
              }),
              'Job',
            ).spec.template.spec;

          const plain = await render(false);
          expect(plain.securityContext ?? {}).toEqual({});
          expect(plain.containers[0].securityContext ?? {}).toEqual({});
          const granted = await render(true);
          expect(granted.securityContext ?? {}).toEqual({});
          expect(granted.containers[0].securityContext).toEqual({ privileged: true });
        },
      );
    });
  },
);
