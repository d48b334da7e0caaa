// @ts-check
import { svgEl } from './dom.js';

/** @typedef {{ label: string, value: number, className: string }} Bar */

const WIDTH = 480;
const ROW = 24;
const LABEL_WIDTH = 190;
const COUNT_WIDTH = 48;
const MAX_LABEL_CHARS = 30;

/**
 * @param {string} label
 */
function shorten(label) {
  return label.length > MAX_LABEL_CHARS ? `${label.slice(0, MAX_LABEL_CHARS - 1)}…` : label;
}

/**
 * Draws a horizontal bar chart as SVG into the container (labels are SVG text nodes, set as text).
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
  const barSpace = WIDTH - LABEL_WIDTH - COUNT_WIDTH;
  const height = bars.length * ROW;
  const chart = svgEl('svg', {
    viewBox: `0 0 ${WIDTH} ${height}`,
    role: 'img',
    'aria-label': `${description}: ${bars.map((bar) => `${bar.label} ${bar.value}`).join(', ')}`,
    className: 'chart',
  });
  bars.forEach((bar, index) => {
    const y = index * ROW;
    const width = bar.value === 0 ? 0 : Math.max(2, (bar.value / max) * barSpace);
    chart.append(
      svgEl('g', { className: 'chart-row' }, [
        svgEl('title', { text: `${bar.label}: ${bar.value}` }),
        svgEl('text', {
          x: LABEL_WIDTH - 8,
          y: y + ROW / 2,
          className: 'chart-label',
          text: shorten(bar.label),
        }),
        svgEl('rect', {
          x: LABEL_WIDTH,
          y: y + 4,
          width,
          height: ROW - 8,
          rx: 2,
          className: `bar ${bar.className}`,
        }),
        svgEl('text', {
          x: LABEL_WIDTH + width + 6,
          y: y + ROW / 2,
          className: 'chart-count',
          text: bar.value,
        }),
      ]),
    );
  });
  container.replaceChildren(chart);
}
