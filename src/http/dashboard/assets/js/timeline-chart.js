// @ts-check
// Alerts over time as stacked bars per priority, drawn by uPlot (served from its npm package at
// /ui/vendor/, loaded as a classic script before the modules). uPlot draws on a canvas; its labels
// are canvas text or set with textContent, so alert text cannot become markup here.

/** @typedef {import('./summary-model.js').Timeline} Timeline */
/** @typedef {import('uplot')} UPlot */

const uPlot = /** @type {{ uPlot: typeof import('uplot') }} */ (/** @type {unknown} */ (globalThis)).uPlot;

const HEIGHT = 180;

/** @param {string} priority */
function colourOf(priority) {
  // The stylesheet's palette (--prio-*), so the bars match the priority badges.
  const value = getComputedStyle(document.documentElement).getPropertyValue(
    `--prio-${priority.toLowerCase()}`,
  );
  return value.trim() || '#374151';
}

/**
 * Stacks the rows: the series drawn first is the sum of all, each next one the sum without the
 * row above it, so bars painted over each other read as a stack (least severe on top).
 * @param {Timeline} timeline
 * @returns {{ priorities: string[], data: number[][], raw: number[][] }}
 */
function stack(timeline) {
  const rows = [...timeline.byPriority].reverse();
  const length = rows[0]?.counts.length ?? 0;
  const xs = Array.from({ length }, (_, i) => (timeline.startMs + i * timeline.stepMs) / 1000);
  const sums = rows.map((_, r) =>
    xs.map((_x, i) => rows.slice(r).reduce((sum, row) => sum + (row.counts[i] ?? 0), 0)),
  );
  return {
    priorities: rows.map((row) => row.priority),
    data: [xs, ...sums],
    raw: rows.map((row) => row.counts),
  };
}

/**
 * @param {HTMLElement} container
 */
export function createTimelineChart(container) {
  /** @type {UPlot | undefined} */
  let plot;
  /** @type {string} */
  let shape = '';
  /** @type {number[][]} */
  let raw = [];

  function width() {
    return Math.max(300, container.clientWidth);
  }

  /** @param {string[]} priorities */
  function build(priorities) {
    plot?.destroy();
    /** @type {import('uplot').Options} */
    const options = {
      width: width(),
      height: HEIGHT,
      // The page shows times in UTC.
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
      cursor: { drag: { x: false, y: false } },
      scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
      axes: [
        {},
        { size: 40, values: (_u, splits) => splits.map((v) => (Number.isInteger(v) ? String(v) : '')) },
      ],
      series: [
        { label: 'Time (UTC)' },
        ...priorities.map((priority, index) => ({
          label: priority,
          fill: colourOf(priority),
          stroke: colourOf(priority),
          width: 0,
          paths: uPlot.paths.bars?.({ size: [0.8, 40] }),
          points: { show: false },
          // The legend shows each priority's own count, not the running sum.
          value: (
            /** @type {UPlot} */ _u,
            /** @type {number | null} */ _v,
            /** @type {number} */ _s,
            /** @type {number | null} */ idx,
          ) => (idx === null ? '' : String(raw[index]?.[idx] ?? 0)),
        })),
      ],
    };
    plot = new uPlot(options, [[]], container);
  }

  new ResizeObserver(() => plot?.setSize({ width: width(), height: HEIGHT })).observe(container);

  return {
    /** @param {Timeline} timeline */
    draw(timeline) {
      const stacked = stack(timeline);
      raw = stacked.raw;
      const nextShape = stacked.priorities.join(',');
      if (nextShape !== shape) {
        shape = nextShape;
        build(stacked.priorities);
      }
      plot?.setData(/** @type {import('uplot').AlignedData} */ (stacked.data));
      const total = raw.reduce((sum, row) => sum + row.reduce((a, b) => a + b, 0), 0);
      const peak = Math.max(0, ...(stacked.data[1] ?? []));
      container.dataset.total = String(total);
      container.setAttribute(
        'aria-label',
        `Alerts over time: ${total} in ${stacked.data[0]?.length ?? 0} intervals of ${timeline.stepMs / 60000} minutes, at most ${peak} in one`,
      );
    },
  };
}
