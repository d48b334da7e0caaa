// @ts-check
import { el } from './dom.js';

/** @typedef {{ label: string, value: number, className: string, title?: string }} Bar `title`: the label's, when not the label itself */

/**
 * Draws a horizontal bar chart into the container: a row a bar of label, bar and count. The labels
 * are text in HTML, not SVG, so a long one (a rule name) ends in an ellipsis inside its column with
 * the whole name (or `title`) as its title, and the count beside it stays in view.
 * @param {HTMLElement} container
 * @param {Bar[]} bars
 * @param {string} description what the chart shows, for screen readers
 */
export function drawBarChart(container, bars, description) {
  if (bars.length === 0) {
    container.replaceChildren(document.createTextNode('Nothing in this window.'));
    return;
  }
  const max = Math.max(1, ...bars.map((bar) => bar.value));
  const chart = el('div', {
    role: 'img',
    'aria-label': `${description}: ${bars.map((bar) => `${bar.label} ${bar.value}`).join(', ')}`,
    className: 'chart',
  });
  for (const bar of bars) {
    const fill = el('span', { className: `bar ${bar.className}` });
    // Set through the CSSOM: the policy (style-src 'self') refuses style attributes.
    fill.style.width = bar.value === 0 ? '0' : `max(2px, ${(bar.value / max) * 100}%)`;
    chart.append(
      el('div', { className: 'chart-row' }, [
        el('span', { className: 'chart-label', title: bar.title ?? bar.label, text: bar.label }),
        el('span', { className: 'chart-track' }, [fill]),
        el('span', { className: 'chart-count', text: bar.value }),
      ]),
    );
  }
  container.replaceChildren(chart);
}
