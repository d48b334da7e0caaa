import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseRenderedDocuments } from '../../src/deploy/rendered-documents.js';

const SECRET = `apiVersion: v1
kind: Secret
metadata: { name: falco-alert-receiver-triggers, namespace: falco }
stringData:
`;
const VALUE = 's3cr3t-value';

// What parseRenderedDocuments threw, to assert on its message.
function refusal(renderedYaml: string): string {
  try {
    parseRenderedDocuments(renderedYaml);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('parseRenderedDocuments did not throw');
}

describe('parseRenderedDocuments', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('returns the object of each document, leaving out the empty ones', () => {
    expect(parseRenderedDocuments(`${SECRET}  token: ${VALUE}\n---\n---\nkind: ConfigMap\n`)).toEqual([
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'falco-alert-receiver-triggers', namespace: 'falco' },
        stringData: { token: VALUE },
      },
      { kind: 'ConfigMap' },
    ]);
  });

  // Regression: the yaml library's message quotes the lines around the error, and deploy.ts printed
  // it, so a Secret's value beside a YAML error reached the terminal or CI log.
  it.each([
    ['followed by', `${SECRET}  token: ${VALUE}\n bad: [x\n`, 'BAD_INDENT at line 6, column 1'],
    ['preceded by', `${SECRET}  other: [\n  token: ${VALUE}\n`, 'BAD_INDENT at line 6, column 3'],
    ['on its line', `${SECRET}  token: ${VALUE}: more\n`, 'BLOCK_AS_IMPLICIT_KEY at line 5, column 10'],
  ])("names a YAML error's code and place, never a Secret's value %s it", (_where, renderedYaml, place) => {
    const message = refusal(renderedYaml);

    expect(message).toContain(`not YAML kubectl kustomize could have written: ${place}`);
    expect(message).not.toContain(VALUE);
    expect(message).not.toContain('\n');
  });

  it('refuses an error in any document, placed by its line in the whole text', () => {
    expect(refusal(`kind: ConfigMap\n---\n${SECRET}  token: ${VALUE}\n bad: [x\n`)).toBe(
      'not YAML kubectl kustomize could have written: BAD_INDENT at line 8, column 1 (and 1 more)',
    );
  });

  it("refuses an alias without its anchor without naming it (the yaml library's message does)", () => {
    expect(refusal(`${SECRET}  token: *${VALUE}\n`)).toBe(
      'not YAML kubectl kustomize could have written: an alias it cannot resolve',
    );
  });

  // Regression: reading a list as a mapping's key, the yaml library warned through
  // process.emitWarning, quoting the key, and Node printed it to stderr: a Secret's value with it.
  it("reads a key that is a list without a warning that quotes it, which may be a Secret's value", () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);

    const documents = parseRenderedDocuments(`${SECRET}  ? [${VALUE}]\n  : x\n`);

    expect(documents[0]?.stringData).toEqual({ [`[ ${VALUE} ]`]: 'x' });
    expect(warn).not.toHaveBeenCalled();
  });
});
