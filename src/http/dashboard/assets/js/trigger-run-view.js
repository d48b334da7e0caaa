// @ts-check
import { el } from './dom.js';

/**
 * @typedef {{ rule: string, status: 'pending' | 'detected' | 'missed' | 'not_run', alertId?: string, latencyMs?: number }} Expectation
 * @typedef {{ argv: string[], exitCode?: number, durationMs?: number, timedOut?: boolean, failed?: boolean, reason?: string, output?: string }} CommandResult
 * @typedef {{ id: string, kind: string, status: string, error?: string, commands?: CommandResult[],
 *   verification?: { windowMs: number, expectations: Expectation[], unseenAlertsAt?: string } }} TriggerRun
 */

/**
 * True once nothing will change any more: the run failed, or it succeeded and no rule is pending.
 * @param {TriggerRun} run
 */
export function isSettled(run) {
  if (run.status === 'failed') return true;
  const pending = (run.verification?.expectations ?? []).some((e) => e.status === 'pending');
  return run.status === 'succeeded' && !pending;
}

/** @param {TriggerRun} run */
function verdictOf(run) {
  const expectations = run.verification?.expectations ?? [];
  const missed = expectations.filter((e) => e.status === 'missed').length;
  const detected = expectations.filter((e) => e.status === 'detected').length;
  if (!isSettled(run))
    return {
      text: `Run ${run.status}: ${detected} of ${expectations.length} expected rules detected so far…`,
      className: 'verdict-pending',
    };
  // A failed run proves nothing either way: its rules are not_run, never a "detected" verdict.
  if (run.status === 'failed')
    return { text: `Run failed: ${run.error ?? 'see the commands below'}`, className: 'verdict-missed' };
  if (missed === 0 && expectations.length > 0)
    return {
      text:
        expectations.length === 1
          ? 'Verdict: the expected rule was detected.'
          : `Verdict: all ${expectations.length} expected rules were detected.`,
      className: 'verdict-detected',
    };
  return {
    text: `Verdict: ${missed} of ${expectations.length} expected rules missed.`,
    className: 'verdict-missed',
  };
}

/**
 * The verdict, each expected rule as detected, missed or pending, and the commands run.
 * @param {TriggerRun} run
 */
export function renderRun(run) {
  const verdict = verdictOf(run);
  const expectations = el('ul', { className: 'expectations' });
  for (const e of run.verification?.expectations ?? []) {
    const latency = typeof e.latencyMs === 'number' ? ` after ${e.latencyMs} ms` : '';
    expectations.append(
      el(
        'li',
        {
          className: `expectation expectation-${e.status === 'detected' || e.status === 'missed' ? e.status : 'pending'}`,
        },
        [
          el('span', { className: 'expectation-status', text: e.status }),
          ' ',
          el('span', { className: 'rule', text: e.rule }),
          latency,
        ],
      ),
    );
  }
  const commands = el('ul', { className: 'commands' });
  for (const c of run.commands ?? []) {
    const outcome = c.timedOut
      ? 'timed out'
      : c.failed
        ? `failed (exit ${c.exitCode ?? '?'})`
        : `exit ${c.exitCode ?? 0}`;
    commands.append(
      el('li', {}, [
        el('code', { text: (c.argv ?? []).join(' ') }),
        ` — ${outcome}${c.reason ? `: ${c.reason}` : ''}`,
        c.output ? el('details', {}, [el('summary', { text: 'Output' }), el('pre', { text: c.output })]) : '',
      ]),
    );
  }
  // Alerts went by unseen while it waited (removed from the shared store first, or not read back on
  // a takeover: a refusal, a busy rule's share): a miss, or a rule still pending, may be wrong.
  // Nothing to say of a run that failed or detected every rule.
  const open = (run.verification?.expectations ?? []).some(
    (e) => e.status === 'missed' || e.status === 'pending',
  );
  const unseen =
    run.verification?.unseenAlertsAt && run.status !== 'failed' && open
      ? el('p', {
          className: 'verdict-note',
          text: 'Some alerts went unread while the run waited (removed from the shared store first, or left out of what the replica that took the run over read back): a missed rule may have been detected.',
        })
      : '';
  return [
    el('p', { className: `verdict ${verdict.className}`, text: verdict.text }),
    unseen,
    expectations,
    commands,
  ];
}
