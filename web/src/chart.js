// A small wrapper around uPlot: one chart over steps, rebuilt when its series change, resized with its container,
// keeping the user's zoom (drag to zoom, double-click to reset) while new points arrive; a zoom or reset on one chart
// applies to every chart (they share the step axis). Every chart draws the run's failures and recoveries as vertical
// markers (markersPlugin).
import uPlot from 'uplot';

const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#59a14f', '#b07aa1', '#76b7b2', '#edc948', '#9c755f', '#ff9da7'];
export const seriesColor = (i) => PALETTE[i % PALETTE.length];

/** Tick labels that stay readable from 1e-5 (learning rates) to 1e5 (samples/s). */
export function tickLabel(v) {
  if (v === null || v === undefined) return '';
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a < 1e-2 || a >= 1e5) return v.toExponential(1);
  return Number(v.toPrecision(3)).toLocaleString('en-US');
}

const cssVar = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

/** Draws a dashed vertical line and a label at each marker's step: [{ step, label, color }]. */
export function markersPlugin(getMarkers) {
  return {
    hooks: {
      draw: [
        (u) => {
          const markers = getMarkers();
          // The steps drawn, for tests and for anyone inspecting the page (a canvas shows no DOM).
          u.root.parentElement.dataset.markers = markers.map((m) => m.step).join(',');
          if (!markers.length) return;
          const { ctx } = u;
          const { left, top, width, height } = u.bbox;
          const dpr = uPlot.pxRatio;
          ctx.save();
          ctx.lineWidth = 2 * dpr;
          ctx.setLineDash([6 * dpr, 4 * dpr]);
          ctx.font = `${11 * dpr}px system-ui, sans-serif`;
          for (const m of markers) {
            const x = Math.round(u.valToPos(m.step, 'x', true));
            if (!Number.isFinite(x) || x < left || x > left + width) continue;
            ctx.strokeStyle = m.color;
            ctx.fillStyle = m.color;
            ctx.beginPath();
            ctx.moveTo(x, top);
            ctx.lineTo(x, top + height);
            ctx.stroke();
            ctx.fillText(m.label, x + 4 * dpr, top + 12 * dpr);
          }
          ctx.restore();
        },
      ],
    },
  };
}

const charts = new Set();
let syncing = false;

export class StepChart {
  /**
   * @param {HTMLElement} el container (its id is what tests find: #plot-loss canvas)
   * @param {{ yLabel: string, getMarkers: () => any[], pointsOnly?: boolean, height?: number, yLog?: boolean }} opts
   */
  constructor(el, opts) {
    this.el = el;
    this.opts = opts;
    this.plot = null;
    this.key = '';
    this.zoomed = false;
    this.data = [[]];
    this.labels = [];
    this.range = '';
    this.updating = false;
    charts.add(this);
    new ResizeObserver(() => this.resize()).observe(el);
  }

  /** Drops the chart (a worker that left). */
  destroy() {
    charts.delete(this);
    this.plot?.destroy();
    this.plot = null;
  }

  /** uPlot's setScale hook for x: zoomed means the scale shows less than the data; a user's change goes to every chart. */
  onScale(u) {
    const xs = u.data[0];
    const { min, max } = u.scales.x;
    if (!xs.length || min === null || min === undefined) return;
    const range = `${min}..${max}`;
    if (range === this.range) return;
    this.range = range;
    this.el.dataset.xRange = range;
    this.zoomed = min > xs[0] || max < xs[xs.length - 1];
    if (syncing || this.updating || !this.plot) return;
    syncing = true;
    try {
      for (const other of charts) {
        const oxs = other.plot?.data[0];
        if (other === this || !oxs?.length) continue;
        const x = this.zoomed ? { min, max } : { min: oxs[0], max: oxs[oxs.length - 1] };
        // A chart of one step keeps its own padded range: a zero-wide scale makes uPlot's axis splits loop forever.
        if (x.max > x.min) other.plot.setScale('x', x);
      }
    } finally {
      syncing = false;
    }
  }

  size() {
    return { width: Math.max(200, Math.floor(this.el.clientWidth)), height: this.opts.height ?? 200 };
  }

  resize() {
    if (this.plot) this.plot.setSize(this.size());
  }

  /** data: [xs, ...ys] with one label per ys. */
  update(labels, data) {
    this.data = data;
    // The steps plotted, for tests (a canvas shows no DOM; a chart of one point pads its x range).
    this.el.dataset.points = String(data[0].length);
    if (labels.length === 0) {
      // No series yet (a stage's first point, recorded before any loss): uPlot cannot scale a y axis with nothing on it.
      this.plot?.destroy();
      this.plot = null;
      this.key = '';
      return;
    }
    const key = labels.join('\u0001');
    if (!this.plot || key !== this.key) {
      this.labels = labels;
      this.key = key;
      this.rebuild();
      return;
    }
    this.updating = true;
    try {
      this.plot.setData(data, !this.zoomed);
    } finally {
      this.updating = false;
    }
  }

  /** Rebuilds the chart (new series, or the color scheme changed). */
  rebuild() {
    if (this.plot) this.plot.destroy();
    this.plot = null;
    this.zoomed = false;
    this.range = '';
    const axis = { stroke: cssVar('--fg-muted'), grid: { stroke: cssVar('--grid'), width: 1 }, ticks: { stroke: cssVar('--grid') } };
    const series = [
      { label: 'step', value: (u, v) => (v === null || v === undefined ? '—' : Math.round(v).toLocaleString('en-US')) },
      ...this.labels.map((label, i) => ({
        label,
        stroke: seriesColor(i),
        width: 1.5,
        spanGaps: true,
        value: (u, v) => (v === null || v === undefined ? '—' : Number(v.toPrecision(4)).toString()),
        ...(this.opts.pointsOnly
          ? { paths: () => null, points: { show: true, size: 8, fill: seriesColor(i), stroke: seriesColor(i) } }
          : { points: { show: false } }),
      })),
    ];
    this.plot = new uPlot(
      {
        ...this.size(),
        series,
        scales: { x: { time: false }, y: this.opts.yLog ? { distr: 3 } : {} },
        axes: [
          { ...axis, label: 'step' },
          { ...axis, label: this.opts.yLabel, size: 64, values: (u, splits) => splits.map(tickLabel) },
        ],
        cursor: { sync: { key: 'mmcluster-steps' }, drag: { x: true, y: false } },
        legend: { live: true },
        plugins: [markersPlugin(this.opts.getMarkers)],
        hooks: { setScale: [(u, key) => { if (key === 'x') this.onScale(u); }] },
      },
      this.data,
      this.el,
    );
  }
}
