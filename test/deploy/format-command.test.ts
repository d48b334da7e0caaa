import { describe, expect, it } from 'vitest';
import { formatCommand } from '../../src/deploy/format-command.js';

describe('formatCommand', () => {
  it('prints plain words as they are', () => {
    expect(
      formatCommand('helm', ['repo', 'add', 'falcosecurity', 'https://falcosecurity.github.io/charts']),
    ).toBe('helm repo add falcosecurity https://falcosecurity.github.io/charts');
  });

  it('single-quotes words a shell would split or expand, escaping embedded quotes', () => {
    expect(formatCommand('kubectl', ['apply', '--kustomize', "my dir/it's $HOME"])).toBe(
      `kubectl apply --kustomize 'my dir/it'\\''s $HOME'`,
    );
  });
});
