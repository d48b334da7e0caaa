import { rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { requireComponent } from '../helpers/components.js';
import { LOW_CONTRAST_SCRIPT } from './dashboard-contrast-script.js';
import {
  CHROMIUM_PATH,
  TRIGGER_TOKEN,
  alertOf,
  launchBrowser,
  openDashboard,
  readSample,
  row,
  startDashboardServer,
  useDashboardSuite,
} from './dashboard-browser-harness.js';

const available = requireComponent('chromium', CHROMIUM_PATH !== undefined);
// The README's picture is rewritten only when asked (UPDATE_DOCS=1): a test run leaves the clone as it was.
const SCREENSHOT =
  process.env.UPDATE_DOCS === '1'
    ? fileURLToPath(new URL('../../docs/dashboard.png', import.meta.url))
    : join(tmpdir(), `falco-dashboard-${process.pid}.png`);

// Realistic alerts for the screenshot and the first load.
const SAMPLES = [
  '102-034-internal-syscall-event-drop.json',
  '002-demo-034-write-below-root.json',
  '086-latest-k8saudit-attach-exec-pod.json',
  '095-latest-with-message-property.json',
  '096-latest-no-output-fields-property.json',
  '093-latest-terminal-shell-in-container.json',
];

describe.skipIf(!available)(
  'dashboard in headless Chromium against the real server',
  { timeout: 60_000 },
  () => {
    const suite = useDashboardSuite(SAMPLES);
    const { open } = suite;

    it('loads with no console errors or CSP violations and lists the alerts already held', async () => {
      const page = await open();

      await row(page, 'Write below root').waitFor({ timeout: 5000 });
      await expect.poll(() => page.locator('tr.alert-row').count()).toBe(SAMPLES.length);
      await expect
        .poll(() => page.locator('#summary-total').textContent())
        .toBe(`${SAMPLES.length} alerts in the last 1 hour.`);
      const first = row(page, 'Terminal shell in container');
      await expect.poll(() => first.textContent()).toContain('default / nginx-7c5ddbdf54-2xq9p / nginx');
      // A k8saudit alert's namespace is its object's (ka.target.namespace), a filter like any other.
      expect(await row(page, 'Attach/Exec Pod').locator('button.ns-link').textContent()).toBe('default');
      await page.close();
    });

    it('shows an alert posted after the page loaded', async () => {
      const page = await open();

      await suite.server.postAlert(alertOf('Live probe posted after load', 'Critical'));

      // The bar: a posted alert shows up within a second.
      await row(page, 'Live probe posted after load').waitFor({ timeout: 1000 });
      await page.close();
    });

    it('narrows the list with the minimum priority, free text and rule filters', async () => {
      const page = await open();
      await suite.server.postAlert(alertOf('Filter probe low', 'Warning', { output: 'needle-low' }));
      await suite.server.postAlert(alertOf('Filter probe high', 'Critical', { output: 'needle-high' }));
      await row(page, 'Filter probe low').waitFor({ timeout: 5000 });

      await page.selectOption('select[name="min_priority"]', 'Critical');

      await row(page, 'Filter probe low').waitFor({ state: 'detached', timeout: 5000 });
      await row(page, 'Filter probe high').waitFor({ timeout: 5000 });
      await expect.poll(() => page.locator('tr.alert-row', { hasText: 'Notice' }).count()).toBe(0);

      await page.fill('input[name="text"]', 'needle-high');

      await expect.poll(() => page.locator('tr.alert-row:visible').count()).toBe(1);
      await row(page, 'Filter probe high').waitFor({ state: 'visible', timeout: 5000 });
      // The free text searches the rows on the page only, and the downloads skip it: the status says so.
      const rows = await page.locator('tr.alert-row').count();
      expect(await page.locator('#list-status').textContent()).toBe(
        `Showing 1 of ${rows} alerts. The text filter searches only the ${rows} rows on the page; downloads ignore it.`,
      );

      // Clear, then an exact rule filter submitted with Enter.
      await page.click('#filters button[type="reset"]');
      await row(page, 'Filter probe low').waitFor({ timeout: 5000 });
      await page.fill('input[name="rule"]', 'Filter probe low');
      await page.press('input[name="rule"]', 'Enter');

      await row(page, 'Filter probe high').waitFor({ state: 'detached', timeout: 5000 });
      await expect.poll(() => page.locator('tr.alert-row').count()).toBe(1);
      await page.close();
    });

    // Regression: ArrowDown stopped at a row the free text hid (focus() on a hidden row does nothing).
    it('moves the keyboard focus past the rows the free text hides', async () => {
      const page = await open();
      for (const [rule, output] of [
        ['Arrow probe 1', 'arrow-keep'],
        ['Arrow probe 2', 'arrow-hide'],
        ['Arrow probe 3', 'arrow-keep'],
      ])
        await suite.server.postAlert(alertOf(rule!, 'Notice', { output }));
      await row(page, 'Arrow probe 3').waitFor({ timeout: 5000 });
      await page.fill('input[name="text"]', 'arrow-keep');
      await row(page, 'Arrow probe 2').waitFor({ state: 'hidden', timeout: 5000 });

      // Newest first: probe 3, then (hidden) probe 2, then probe 1.
      await row(page, 'Arrow probe 3').focus();
      await page.keyboard.press('ArrowDown');

      await expect
        .poll(() => page.evaluate<string>("document.activeElement?.textContent ?? ''"))
        .toContain('Arrow probe 1');
      await page.keyboard.press('ArrowUp');
      await expect
        .poll(() => page.evaluate<string>("document.activeElement?.textContent ?? ''"))
        .toContain('Arrow probe 3');
      await page.close();
    });

    it('renders markup in alert fields as text and runs none of it', async () => {
      const page = await open();
      const cmdline = '<img src=x onerror=window.__xss=1>';
      const output = '<script>window.__xss=2</script>';
      await suite.server.postAlert(
        alertOf('XSS probe <b>bold</b>', 'Critical', {
          output,
          hostname: '<svg onload=window.__xss=3>',
          output_fields: { 'proc.cmdline': cmdline },
        }),
      );
      const probe = row(page, 'XSS probe <b>bold</b>');
      await probe.waitFor({ timeout: 5000 });

      // Keyboard: a focused row shows a focus ring and opens its details with Enter.
      await probe.focus();
      expect(await page.evaluate('getComputedStyle(document.activeElement).outlineStyle')).toBe('solid');
      await page.keyboard.press('Enter');
      const details = page.locator('#details');
      await details.waitFor({ state: 'visible', timeout: 5000 });

      await expect.poll(() => details.locator('pre.output').textContent()).toBe(output);
      await expect.poll(() => details.locator('.fields').textContent()).toContain(cmdline);
      expect(await details.locator('h2').textContent()).toBe('XSS probe <b>bold</b>');
      expect(await page.locator('main img, main script, main b, [onerror], [onload]').count()).toBe(0);
      expect(await page.evaluate('typeof window.__xss')).toBe('undefined');

      await page.keyboard.press('Escape');
      await details.waitFor({ state: 'hidden', timeout: 5000 });
      expect(await page.evaluate('document.activeElement.dataset.id')).toBe(
        await probe.getAttribute('data-id'),
      );
      await page.close();
    });

    it('shows bidirectional controls and zero-width characters in alert text as ⟨U+202E⟩, so a file name cannot read backwards nor two users look the same, and filters by the exact value', async () => {
      const page = await open();
      const RLO = '\u202E';
      // Rendered raw, "/tmp/<RLO>fdp.exe" reads "/tmp/exe.pdf", and the rest of the output reverses.
      await suite.server.postAlert(
        alertOf(`Bidi probe ${RLO}gnp.tac`, 'Critical', {
          output: `File opened /tmp/${RLO}fdp.exe\u2066 by\u2069 user=ro\u200Bot`,
          tags: [`${RLO}kat`],
          output_fields: { 'fd.name': `/tmp/${RLO}fdp.exe` },
        }),
      );
      const probe = row(page, 'Bidi probe');
      await probe.waitFor({ timeout: 5000 });

      const output = 'File opened /tmp/⟨U+202E⟩fdp.exe⟨U+2066⟩ by⟨U+2069⟩ user=ro⟨U+200B⟩ot';
      expect(await probe.locator('.output-line').textContent()).toBe(output);
      expect(await probe.locator('.output-line').getAttribute('title')).toBe(output);
      expect(await probe.locator('button.rule-link').textContent()).toBe('Bidi probe ⟨U+202E⟩gnp.tac');
      expect(await probe.locator('button.chip').textContent()).toBe('⟨U+202E⟩kat');
      await probe.locator('.time').click();
      const details = page.locator('#details');
      await expect.poll(() => details.locator('h2').textContent()).toBe('Bidi probe ⟨U+202E⟩gnp.tac');
      expect(await details.locator('pre.output').textContent()).toBe(output);
      expect(await details.locator('.fields tbody td').textContent()).toBe('/tmp/⟨U+202E⟩fdp.exe');
      expect(await page.locator('main').textContent()).not.toMatch(
        /[\u200B-\u200F\u202A-\u202E\u2066-\u2069\uFEFF]/,
      );

      // The chip still filters by the value as Falco sent it.
      await probe.locator('button.rule-link').click();
      await expect
        .poll(() => page.inputValue('#filters input[name="rule"]'))
        .toBe(`Bidi probe ${RLO}gnp.tac`);
      await expect.poll(() => page.locator('tr.alert-row').count()).toBe(1);
      await page.close();
    });

    // Regression: the marker could be typed as text ("⟨U+202E⟩" looked like a real U+202E, and its
    // suggestion, shown alike, was picked for the real rule), and invisible characters outside the
    // list (U+2062, U+00AD, U+034F, U+3164, tag characters) showed as nothing.
    it('shows every invisible character as ⟨U+…⟩ and a typed marker as text, so no two values look the same', async () => {
      const page = await open();
      const real = 'Spoof probe \u202Efdp.exe';
      const decoy = 'Spoof probe ⟨U+202E⟩fdp.exe';
      // The decoy first: suggestions kept the first value seen for a text.
      await suite.server.postAlert(alertOf(decoy, 'Critical'));
      await suite.server.postAlert(alertOf(real, 'Critical'));
      await suite.server.postAlert(
        alertOf('Spoof probe invisibles', 'Critical', {
          hostname: 'prod\u2062-\u00AD\u034F\u3164\uFE0F\u180Edb\u{E0041}',
        }),
      );
      const invisibles = row(page, 'Spoof probe invisibles');
      await invisibles.waitFor({ timeout: 5000 });

      const shownReal = 'Spoof probe ⟨U+202E⟩fdp.exe';
      const shownDecoy = 'Spoof probe ⟨U+27E8⟩U+202E⟩fdp.exe';
      const rules = await page.$$eval('button.rule-link', (nodes) => nodes.map((node) => node.textContent));
      expect(rules).toEqual(expect.arrayContaining([shownReal, shownDecoy]));
      expect(await invisibles.locator('button.host-link').textContent()).toBe(
        'prod⟨U+2062⟩-⟨U+00AD⟩⟨U+034F⟩⟨U+3164⟩⟨U+FE0F⟩⟨U+180E⟩db⟨U+E0041⟩',
      );

      // The real rule's suggestion, typed as shown, selects the real rule, not the decoy.
      const field = page.locator('#filters input[name="rule"]');
      await field.fill(shownReal);
      await field.press('Enter');
      await row(page, 'Spoof probe invisibles').waitFor({ state: 'detached', timeout: 5000 });
      await expect.poll(() => page.locator('tr.alert-row').count()).toBe(1);
      expect(await page.getAttribute('#export-csv', 'href')).toContain(
        `rule=${encodeURIComponent(real).replaceAll('%20', '+')}`,
      );
      await page.close();
    });

    // Regression: values differing only by whitespace (a line break, a tab, repeated spaces, a
    // no-break space, U+2028, a trailing space, U+2800) looked the same in the list and the suggestions.
    it('shows values differing only by whitespace apart, in the rows and the suggestions', async () => {
      const page = await open();
      const twins = [
        'Twin rule',
        'Twin\nrule',
        'Twin  rule',
        'Twin\trule',
        'Twin\u00A0rule',
        'Twin\u2028rule',
        // A space at the end, and U+2800 (drawn blank): the next review's twins.
        'Twin rule ',
        'Twin\u2800rule',
      ];
      for (const rule of twins) await suite.server.postAlert(alertOf(rule, 'Critical', { hostname: rule }));
      await expect.poll(() => page.locator('tr.alert-row', { hasText: /Twin/ }).count()).toBe(twins.length);

      // Inner text: the text as drawn, after the stylesheet's handling of whitespace.
      for (const selector of ['button.rule-link', 'button.host-link']) {
        const drawn = await page.locator(selector, { hasText: /^Twin/ }).allInnerTexts();
        expect(new Set(drawn).size).toBe(twins.length);
      }
      for (const shown of ['Twin⟨U+000A⟩rule', 'Twin rule⟨U+0020⟩', 'Twin⟨U+2800⟩rule'])
        expect(await page.locator('button.rule-link', { hasText: shown }).count()).toBe(1);
      const options = await page.$$eval('#rule-names option', (nodes) =>
        nodes.map((node) => node.getAttribute('value') ?? '').filter((value) => value.startsWith('Twin')),
      );
      expect(new Set(options).size).toBe(twins.length);

      // The line break's suggestion, typed as shown, filters by that rule.
      const field = page.locator('#filters input[name="rule"]');
      await field.fill('Twin⟨U+000A⟩rule');
      await field.press('Enter');
      await expect.poll(() => page.locator('tr.alert-row').count()).toBe(1);
      expect(await page.getAttribute('#export-csv', 'href')).toContain('rule=Twin%0Arule');
      await page.close();
    });

    // Regression: docs/dashboard.md promised suggestions for Namespace and Tag, which had none.
    it('suggests the namespaces and tags seen, as it does rules and hostnames', async () => {
      const page = await open();
      await suite.server.postAlert(
        alertOf('Suggestion probe', 'Notice', {
          tags: ['suggested-tag'],
          output_fields: { 'k8s.ns.name': 'suggested-ns' },
        }),
      );
      await row(page, 'Suggestion probe').waitFor({ timeout: 5000 });

      const values = (list: string) =>
        page.$$eval(`#${list} option`, (nodes) => nodes.map((node) => node.getAttribute('value')));
      expect(await values('namespace-names')).toContain('suggested-ns');
      expect(await values('tag-names')).toContain('suggested-tag');
      expect(await page.getAttribute('#filters input[name="namespace"]', 'list')).toBe('namespace-names');
      expect(await page.getAttribute('#filters input[name="tag"]', 'list')).toBe('tag-names');
      await page.close();
    });

    // Regression: a clicked value was trimmed before it went to GET /alerts, so a rule or tag with
    // spaces around it filtered to an empty list (and the export links missed it too).
    it('filters by a clicked rule or tag exactly as Falco sent it, spaces around it included', async () => {
      const page = await open();
      await suite.server.postAlert(alertOf('Spaced rule probe ', 'Notice', { tags: [' spaced tag'] }));
      const probe = row(page, 'Spaced rule probe');
      await probe.waitFor({ timeout: 5000 });

      await probe.locator('button.rule-link').click();
      await expect.poll(() => page.inputValue('#filters input[name="rule"]')).toBe('Spaced rule probe ');
      await expect.poll(() => page.locator('tr.alert-row').count()).toBe(1);
      expect(await page.getAttribute('#export-csv', 'href')).toContain('rule=Spaced+rule+probe+&');

      await page.locator('#filters button[type="reset"]').click();
      await expect.poll(() => page.locator('tr.alert-row').count()).toBeGreaterThan(1);
      await row(page, 'Spaced rule probe').locator('button.chip').click();
      await expect.poll(() => page.inputValue('#filters input[name="tag"]')).toBe(' spaced tag');
      await expect.poll(() => page.locator('tr.alert-row').count()).toBe(1);
      await page.close();
    });

    // Regression: the suggestions under the rule, source and hostname filters listed the values raw,
    // so a rule named "Bidi suggestion <U+202E>gnp.tac" read "Bidi suggestion cat.png" there.
    it('suggests a rule with a bidirectional control as ⟨U+202E⟩ and filters by the exact rule once it is chosen', async () => {
      const page = await open();
      const RLO = '\u202E';
      const rule = `Bidi suggestion ${RLO}gnp.tac`;
      const shown = 'Bidi suggestion ⟨U+202E⟩gnp.tac';
      await suite.server.postAlert(alertOf(rule, 'Critical'));
      await suite.server.postAlert(alertOf('Bidi suggestion plain', 'Critical'));
      await row(page, 'Bidi suggestion plain').waitFor({ timeout: 5000 });

      const options = await page.$$eval('#rule-names option', (nodes) =>
        nodes.map((node) => node.getAttribute('value')),
      );
      expect(options).toContain(shown);
      expect(await page.locator('#rule-names').innerHTML()).not.toMatch(
        /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/,
      );

      // Choosing a suggestion types its value into the field; headless Chromium opens no datalist
      // popup to choose from, so the test types that value itself.
      const field = page.locator('#filters input[name="rule"]');
      await field.fill(shown);
      await field.press('Enter');

      await row(page, 'Bidi suggestion plain').waitFor({ state: 'detached', timeout: 5000 });
      await expect.poll(() => page.locator('tr.alert-row').count()).toBe(1);
      expect(await row(page, 'Bidi suggestion').locator('button.rule-link').textContent()).toBe(shown);
      expect(await page.getAttribute('#export-csv', 'href')).toContain(
        `rule=${encodeURIComponent(rule).replaceAll('%20', '+')}`,
      );
      await page.close();
    });

    it('shows every digit of an evt.time above 2^53, and numbers as Falco wrote them, in the fields and the raw JSON', async () => {
      const page = await open();

      await suite.server.postAlert(
        '{"rule":"Big number probe","priority":"Notice","time":"2026-06-15T09:31:44.611094417Z","output_fields":{"evt.time":1781515904611094417,"f.one":1.0,"f.thousand":1e3,"f.half":0.5}}',
      );

      await row(page, 'Big number probe').click({ timeout: 5000 });
      await expect
        .poll(() => page.locator('#details .fields').textContent())
        .toContain('evt.time1781515904611094417');
      expect(await page.locator('#details pre').last().textContent()).toContain(
        '"evt.time": 1781515904611094417',
      );
      // As Falco wrote them, not as they read back (1.0 is not 1 on the page).
      const fields = await page.locator('#details .fields').textContent();
      expect(fields).toContain('f.one1.0');
      expect(fields).toContain('f.thousand1e3');
      expect(fields).toContain('f.half0.5');
      const raw = await page.locator('#details pre').last().textContent();
      expect(raw).toContain('"f.one": 1.0');
      expect(raw).toContain('"f.thousand": 1e3');
      await page.close();
    });

    it('runs a trigger with the typed token, follows it and shows the verdict', async () => {
      const page = await open();
      const panel = page.locator('#triggers');
      await panel.waitFor({ state: 'visible', timeout: 5000 });

      await page.fill('#trigger-form input[name="token"]', TRIGGER_TOKEN);
      await page.fill('#trigger-form input[name="namespace"]', 'default');
      await page.fill('#trigger-form input[name="pod"]', 'nginx-7c5ddbdf54-2xq9p');
      await page.click('#trigger-form button[type="submit"]');

      const verdict = page.locator('#trigger-output .verdict-detected');
      await verdict.waitFor({ timeout: 10_000 });
      expect(await verdict.textContent()).toBe('Verdict: the expected rule was detected.');
      expect(await page.locator('#trigger-output .expectation-detected').textContent()).toContain(
        'Terminal shell in container',
      );
      const post = suite.server.triggers.calls.find((call) => call.method === 'POST');
      expect(post).toMatchObject({
        path: '/triggers/shell',
        authorization: `Bearer ${TRIGGER_TOKEN}`,
        body: { namespace: 'default', pod: 'nginx-7c5ddbdf54-2xq9p' },
      });
      expect(
        suite.server.triggers.calls.filter((call) => call.method === 'GET').length,
      ).toBeGreaterThanOrEqual(2);
      // The token lives in the page's memory only.
      const stored = await page.evaluate('[localStorage.length, sessionStorage.length, document.cookie]');
      expect(stored).toEqual([0, 0, '']);

      await page.close();
    });

    it('starts the event-generator trigger with the actions regex as typed', async () => {
      const page = await open();
      await page.locator('#triggers').waitFor({ state: 'visible', timeout: 5000 });

      await page.selectOption('#trigger-form select[name="kind"]', 'event-generator');
      await page.locator('#trigger-form input[name="pod"]').waitFor({ state: 'hidden', timeout: 5000 });
      await page.fill('#trigger-form input[name="token"]', TRIGGER_TOKEN);
      await page.fill('#trigger-form input[name="namespace"]', 'event-generator');
      await page.fill(
        '#trigger-form input[name="actions"]',
        '^syscall.(ReadSensitiveFileUntrusted|WriteBelowRoot)$',
      );
      await page.click('#trigger-form button[type="submit"]');

      await page.locator('#trigger-output .verdict-detected').waitFor({ timeout: 10_000 });
      const posts = suite.server.triggers.calls.filter((call) => call.method === 'POST');
      expect(posts.at(-1)).toMatchObject({
        path: '/triggers/event-generator',
        body: {
          namespace: 'event-generator',
          actions: '^syscall.(ReadSensitiveFileUntrusted|WriteBelowRoot)$',
        },
      });
      expect(posts.at(-1)?.body).not.toHaveProperty('pod');
      await page.close();
    });

    // A page whose trigger panel started a shell run for `namespace` (the stand-in's cue) with the token.
    async function startRunIn(namespace: string) {
      const page = await open();
      await page.locator('#triggers').waitFor({ state: 'visible', timeout: 5000 });
      await page.fill('#trigger-form input[name="token"]', TRIGGER_TOKEN);
      await page.fill('#trigger-form input[name="namespace"]', namespace);
      await page.click('#trigger-form button[type="submit"]');
      return page;
    }

    // Regression (issue 18 point 6): a failed run whose rules were all not_run showed "detected".
    it('shows a failed run as failed, never as a detected verdict', async () => {
      const page = await startRunIn('failing');

      const verdict = page.locator('#trigger-output .verdict-missed');
      await verdict.waitFor({ timeout: 10_000 });
      expect(await verdict.textContent()).toBe('Run failed: helm is not installed or not on PATH');
      expect(await page.locator('#trigger-output .verdict-detected').count()).toBe(0);
      await page.close();
    });

    it('says when alerts went by unseen while a run waited, beside its missed verdict', async () => {
      const page = await startRunIn('unseen');

      const verdict = page.locator('#trigger-output .verdict-missed');
      await verdict.waitFor({ timeout: 10_000 });
      expect(await verdict.textContent()).toBe('Verdict: 1 of 1 expected rules missed.');
      expect(await page.locator('#trigger-output .verdict-note').textContent()).toContain(
        'a missed rule may have been detected',
      );

      // Not beside a run that detected every rule, gap or none (review).
      await page.fill('#trigger-form input[name="namespace"]', 'unseen-detected');
      await page.click('#trigger-form button[type="submit"]');
      await page.locator('#trigger-output .verdict-detected').waitFor({ timeout: 10_000 });
      expect(await page.locator('#trigger-output .verdict-note').count()).toBe(0);
      await page.close();
    });

    // Regression: behind a load balancer, a replica that does not keep the run answers 503 while
    // Redis is briefly down, and the panel stopped following the run at the first one.
    it('keeps following a run through 503 answers, saying so meanwhile, and shows its verdict', async () => {
      const page = await startRunIn('flaky');

      const note = page.locator('#trigger-output .trigger-retrying');
      await note.waitFor({ timeout: 10_000 });
      expect(await note.textContent()).toBe(
        'Could not read the run just now (503: The shared store (Redis) is unavailable: a run another replica started cannot be read now; try again.); trying again.',
      );
      await page.locator('#trigger-output .verdict-detected').waitFor({ timeout: 10_000 });

      expect(await note.count()).toBe(0);
      const reads = suite.server.triggers.calls.filter(
        (call) => call.method === 'GET' && call.path.startsWith('/triggers/run-'),
      );
      const id = reads.at(-1)?.path;
      expect(reads.filter((call) => call.path === id).length).toBeGreaterThanOrEqual(4);
      // The browser logs each failed request itself: the expected outcome here, not a script error.
      suite.problems.errors = suite.problems.errors.filter(
        (text) => !text.includes('503 (Service Unavailable)'),
      );
      await page.close();
    });

    it('cancels a running run from the panel with the typed token, and hides the button once it ended', async () => {
      const page = await open();
      await page.locator('#triggers').waitFor({ state: 'visible', timeout: 5000 });
      const cancel = page.locator('#trigger-form button[name="cancel"]');
      expect(await cancel.isHidden()).toBe(true);

      await page.fill('#trigger-form input[name="token"]', TRIGGER_TOKEN);
      await page.fill('#trigger-form input[name="namespace"]', 'slow');
      await page.click('#trigger-form button[type="submit"]');
      await cancel.waitFor({ state: 'visible', timeout: 10_000 });
      await cancel.click();

      const verdict = page.locator('#trigger-output .verdict-missed');
      await verdict.waitFor({ timeout: 10_000 });
      expect(await verdict.textContent()).toBe('Run failed: cancelled on request: kubectl was cancelled');
      await cancel.waitFor({ state: 'hidden', timeout: 5000 });
      const post = suite.server.triggers.calls.findLast((call) => call.method === 'POST');
      expect(post).toMatchObject({
        path: expect.stringMatching(/^\/triggers\/run-\d+\/cancel$/),
        authorization: `Bearer ${TRIGGER_TOKEN}`,
      });
      await page.close();
    });

    it('says so when the server refuses the token', async () => {
      const page = await open();
      await page.locator('#triggers').waitFor({ state: 'visible', timeout: 5000 });

      await page.fill('#trigger-form input[name="token"]', 'wrong-token');
      await page.click('#trigger-form button[type="submit"]');

      await expect
        .poll(() => page.locator('#trigger-output').textContent())
        .toContain('The trigger was not started: 401: Missing or wrong bearer token');
      // The browser logs the failed request itself; that is the expected outcome here, not a script error.
      suite.problems.errors = suite.problems.errors.filter((text) => !text.includes('401 (Unauthorized)'));
      await page.close();
    });
  },
);

describe.skipIf(!available)('dashboard screenshot for the README', { timeout: 90_000 }, () => {
  it('renders the README screenshot (docs/dashboard.png with UPDATE_DOCS=1) with realistic alerts, the chart over time and a trigger verdict, all text readable with and without an alert opened', async () => {
    const server = await startDashboardServer();
    const browser = await launchBrowser();
    try {
      for (const sample of SAMPLES) await server.postAlert(readSample(sample));
      const { page, problems } = await openDashboard(browser.context, server.baseUrl);
      await row(page, 'Write below root').waitFor({ timeout: 5000 });
      await page.fill('#trigger-form input[name="token"]', TRIGGER_TOKEN);
      await page.fill('#trigger-form input[name="namespace"]', 'default');
      await page.fill('#trigger-form input[name="pod"]', 'nginx-7c5ddbdf54-2xq9p');
      await page.click('#trigger-form button[type="submit"]');
      await page.locator('#trigger-output .verdict-detected').waitFor({ timeout: 10_000 });
      await row(page, 'Terminal shell in container').click();
      await page.locator('#details').waitFor({ state: 'visible' });
      await page.locator('#chart-rules .chart').waitFor();
      await page.locator('#chart-timeline canvas').first().waitFor();
      await page.locator('tr.alert-row button.chip').first().waitFor();

      // Readable contrast, measured on everything this page shows at once.
      expect(await page.evaluate(LOW_CONTRAST_SCRIPT)).toEqual([]);
      // The picture shows the whole list (output, workload, tags), so the details are closed for it.
      await page.keyboard.press('Escape');
      await page.locator('#details').waitFor({ state: 'hidden' });
      expect(await page.evaluate(LOW_CONTRAST_SCRIPT)).toEqual([]);

      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      // A full-page PNG of the whole dashboard, not an empty or cut one.
      expect(statSync(SCREENSHOT).size).toBeGreaterThan(50_000);

      expect(problems).toEqual({ errors: [], cspViolations: [] });
    } finally {
      await browser.close();
      await server.close();
      if (process.env.UPDATE_DOCS !== '1') rmSync(SCREENSHOT, { force: true });
    }
  });
});
