// A small wrapper around uPlot: one chart over steps, rebuilt when its series change, resized with its container,
// keeping the user's zoom (drag to zoom, double-click to reset) while new points arrive. Every chart draws the run's
// failures and recoveries as vertical markers (markersPlugin).
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
    new ResizeObserver(() => this.resize()).observe(el);
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
    const key = labels.join('\u0001');
    if (!this.plot || key !== this.key) {
      this.labels = labels;
      this.key = key;
      this.rebuild();
      return;
    }
    this.plot.setData(data, !this.zoomed);
    if (this.zoomed) this.plot.redraw(false, false);
  }

  /** Rebuilds the chart (new series, or the color scheme changed). */
  rebuild() {
    if (this.plot) this.plot.destroy();
    this.zoomed = false;
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
        hooks: { setSelect: [(u) => { if (u.select.width > 0) this.zoomed = true; }] },
      },
      this.data,
      this.el,
    );
    this.plot.over.addEventListener('dblclick', () => { this.zoomed = false; });
  }
}
