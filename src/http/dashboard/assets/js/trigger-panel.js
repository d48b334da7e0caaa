// @ts-check
import { describeFailure, el } from './dom.js';
import { isSettled, renderRun } from './trigger-run-view.js';

/** @typedef {import('./trigger-run-view.js').TriggerRun} TriggerRun */

const POLL_MS = 1000;
// Commands may take minutes (an event-generator install); past this beyond the verification window, stop polling.
const FOLLOW_MARGIN_MS = 5 * 60_000;

/**
 * The trigger panel: starts a run with the bearer token typed in (kept in this page's memory only),
 * follows GET /triggers/:id and shows each expected rule as detected or missed. While the run is
 * queued or running, "Cancel run" asks POST /triggers/:id/cancel (its cleanup still runs).
 * @param {HTMLFormElement} form
 * @param {HTMLElement} output
 * @param {{ csrfToken?: string, role?: string }} [session] a cookie session: with the trigger role, no token needs typing
 */
export function setupTriggerPanel(form, output, session = {}) {
  let runNumber = 0;
  // The run being followed, while it can still be cancelled.
  /** @type {string | undefined} */
  let cancellable;
  const cancelButton = form.elements.namedItem('cancel');
  const tokenField = form.elements.namedItem('token');
  if (session.role === 'trigger' && tokenField instanceof HTMLInputElement) {
    tokenField.required = false;
    tokenField.placeholder = 'signed in';
  }

  /** @param {string} name */
  function value(name) {
    const field = form.elements.namedItem(name);
    return field instanceof HTMLInputElement || field instanceof HTMLSelectElement ? field.value.trim() : '';
  }

  function buildBody() {
    /** @type {Record<string, unknown>} */
    const body = {};
    const kind = value('kind');
    for (const name of kind === 'shell' ? ['namespace', 'pod', 'container'] : ['namespace']) {
      if (value(name) !== '') body[name] = value(name);
    }
    // event-generator's --actions is one regular expression over action names.
    if (kind === 'event-generator' && value('actions') !== '') body.actions = value('actions');
    return { kind, body };
  }

  // A typed token goes as a bearer token; else the session cookie goes by itself, with its CSRF token.
  /** @returns {Record<string, string>} */
  function authHeaders() {
    if (value('token') !== '') return { Authorization: `Bearer ${value('token')}` };
    return session.csrfToken ? { 'X-CSRF-Token': session.csrfToken } : {};
  }

  /** @param {string} message */
  const failure = (message) => el('p', { className: 'verdict verdict-missed', text: message });

  /** @param {string} message */
  function showMessage(message) {
    output.replaceChildren(failure(message));
  }

  /** @param {string | undefined} location the run's, while it is queued or running */
  function offerCancel(location) {
    cancellable = location;
    if (!(cancelButton instanceof HTMLButtonElement)) return;
    cancelButton.hidden = location === undefined;
    cancelButton.disabled = false;
  }

  /**
   * @param {string} location
   * @param {number} mine
   */
  async function follow(location, mine) {
    const started = Date.now();
    /** @type {TriggerRun | undefined} the run as last read */
    let run;
    while (mine === runNumber) {
      const response = await fetch(location, { headers: authHeaders() });
      if (mine !== runNumber) return;
      // 503 passes (behind a load balancer, a replica that does not keep the run answers it while
      // Redis is briefly down): the run as last read stays, with a note, and the next poll retries.
      if (response.status === 503) {
        const note = `Could not read the run just now (${await describeFailure(response)}); trying again.`;
        if (mine !== runNumber) return;
        output.replaceChildren(
          ...(run ? renderRun(run) : []),
          el('p', { className: 'trigger-retrying', text: note }),
        );
      } else if (!response.ok) {
        offerCancel(undefined);
        return showMessage(`Could not read the run: ${await describeFailure(response)}`);
      } else {
        run = /** @type {TriggerRun} */ (await response.json());
        output.replaceChildren(...renderRun(run));
        const running = run.status === 'queued' || run.status === 'running';
        if (running !== (cancellable !== undefined)) offerCancel(running ? location : undefined);
        if (isSettled(run)) return;
      }
      if (Date.now() - started > (run?.verification?.windowMs ?? 0) + FOLLOW_MARGIN_MS) {
        output.append(el('p', { text: `Stopped following; the run is still at ${location}.` }));
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  if (cancelButton instanceof HTMLButtonElement)
    cancelButton.addEventListener('click', () => {
      const location = cancellable;
      if (location === undefined) return;
      cancelButton.disabled = true;
      void (async () => {
        const response = await fetch(`${location}/cancel`, { method: 'POST', headers: authHeaders() });
        // The run's end (failed, "cancelled on request") comes through the polling.
        if (response.status !== 202)
          output.append(failure(`Not cancelled: ${await describeFailure(response)}`));
      })().catch((error) =>
        output.append(
          failure(`The cancel request failed: ${error instanceof Error ? error.message : String(error)}`),
        ),
      );
    });

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    runNumber += 1;
    offerCancel(undefined);
    const mine = runNumber;
    const { kind, body } = buildBody();
    output.replaceChildren(
      el('p', { className: 'verdict verdict-pending', text: `Starting the ${kind} trigger…` }),
    );
    void (async () => {
      const response = await fetch(`/triggers/${kind}`, {
        method: 'POST',
        headers: { ...authHeaders(), 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (response.status !== 202)
        return showMessage(`The trigger was not started: ${await describeFailure(response)}`);
      /** @type {TriggerRun} */
      const run = await response.json();
      await follow(response.headers.get('Location') ?? `/triggers/${encodeURIComponent(run.id)}`, mine);
    })().catch((error) =>
      showMessage(`The trigger request failed: ${error instanceof Error ? error.message : String(error)}`),
    );
  });
  form.addEventListener('change', () => {
    const kind = value('kind');
    for (const node of form.querySelectorAll('[data-kind]')) {
      if (node instanceof HTMLElement) node.hidden = node.dataset.kind !== kind;
    }
  });
}
