// The charts over steps for one stage: loss terms, learning rate, evaluation metrics (points), global samples/s, and
// per worker samples/s and the step time split. Every chart gets the stage's recovery and failure markers.
import { StepChart } from '../chart.js';
import { h, num, obj, str } from '../format.js';
import { markersFor } from './recoveries.js';

const STEP_SPLIT = [
  ['whole step', 'stepTimeMs'],
  ['forward+backward', 'forwardBackwardMs'],
  ['grad averaging', 'gradAverageMs'],
  ['optimizer', 'optimizerMs'],
  ['collectives', 'collectiveTimeMs'],
];

/** [xs, ...ys] from points, one series per key, null where a point lacks it. */
export function columns(points, keys, read) {
  const xs = points.map((p) => num(p.step));
  return [xs, ...keys.map((k) => points.map((p) => {
    const v = read(p, k);
    return v === undefined || v === null ? null : Number(v);
  }))];
}

const keysOf = (points, field) => [...new Set(points.flatMap((p) => Object.keys(obj(p[field]))))]
  .sort((a, b) => (a === 'loss' ? -1 : b === 'loss' ? 1 : a.localeCompare(b)));

export class Plots {
  constructor(store) {
    this.store = store;
    this.stage = '';
    const markers = () => markersFor(this.store.snapshot, this.stage);
    const chart = (id, yLabel, extra) => new StepChart(document.getElementById(id), { yLabel, getMarkers: markers, ...extra });
    this.loss = chart('plot-loss', 'loss');
    this.lr = chart('plot-lr', 'learning rate');
    this.eval = chart('plot-eval', 'metric', { pointsOnly: true });
    this.throughput = chart('plot-throughput', 'samples/s');
    this.workerThroughput = chart('plot-worker-throughput', 'samples/s');
    this.workerSplit = new Map(); // workerId -> { chart, section }
    this.markers = markers;
  }

  all() {
    return [this.loss, this.lr, this.eval, this.throughput, this.workerThroughput, ...[...this.workerSplit.values()].map((w) => w.chart)];
  }

  render(stage, straggler) {
    this.stage = stage;
    const s = this.store;
    const train = s.trainPoints(stage);
    const lossKeys = keysOf(train, 'losses');
    this.loss.update(lossKeys, columns(train, lossKeys, (p, k) => obj(p.losses)[k]));
    // JsonFormatter leaves out zeros: a training point without lr or samplesPerS had 0 there.
    this.lr.update(['lr'], columns(train, ['lr'], (p) => num(p.lr)));
    this.throughput.update(['samples/s'], columns(train, ['samplesPerS'], (p) => num(p.samplesPerS)));
    const evals = s.evalPoints(stage);
    // Counts (images, pairs, captions evaluated) and dotted breakdowns (itm_wrong.IMAGE|CAPTION: wrong decisions per
    // class pair) would squash the 0..1 metrics on a shared axis; metrics.jsonl and summary.json keep them.
    const evalKeys = keysOf(evals, 'eval').filter((k) => !/(^|_)(images|pairs|captions)$/.test(k) && !k.includes('.'));
    this.eval.update(evalKeys, columns(evals, evalKeys, (p, k) => obj(p.eval)[k]));
    document.getElementById('eval-empty').hidden = evals.length > 0;
    document.getElementById('plot-eval').hidden = evals.length === 0;

    const byWorker = s.workerPoints(stage);
    const ids = [...byWorker.keys()].sort((a, b) => num(byWorker.get(a)[0]?.rank) - num(byWorker.get(b)[0]?.rank) || a.localeCompare(b));
    // samples/s of every worker on one x axis: the union of their steps.
    const steps = [...new Set(ids.flatMap((id) => byWorker.get(id).map((p) => num(p.step))))].sort((a, b) => a - b);
    const index = new Map(steps.map((x, i) => [x, i]));
    const ys = ids.map((id) => {
      const col = new Array(steps.length).fill(null);
      for (const p of byWorker.get(id)) col[index.get(num(p.step))] = num(p.samplesPerS);
      return col;
    });
    const stragglerId = str(straggler?.workerId);
    this.workerThroughput.update(ids.map((id) => (id === stragglerId ? `${id} (straggler)` : id)), [steps, ...ys]);
    document.getElementById('workers-empty').hidden = ids.length > 0;
    this.renderSplits(ids, byWorker, stragglerId);
  }

  renderSplits(ids, byWorker, stragglerId) {
    const host = document.getElementById('worker-split-plots');
    for (const [id, w] of this.workerSplit) {
      if (!ids.includes(id)) {
        w.chart.destroy();
        w.section.remove();
        this.workerSplit.delete(id);
      }
    }
    for (const id of ids) {
      let w = this.workerSplit.get(id);
      if (!w) {
        const plotEl = h('div', { class: 'plot', 'data-testid': 'plot-step-split', 'data-worker-id': id });
        const title = h('h4', {});
        const section = h('figure', { class: 'worker-split' }, title, plotEl);
        host.append(section);
        w = { section, title, chart: new StepChart(plotEl, { yLabel: 'ms', getMarkers: this.markers, height: 170 }) };
        this.workerSplit.set(id, w);
      }
      const points = byWorker.get(id);
      const rank = points.at(-1)?.rank;
      w.title.replaceChildren(`${id} (rank ${num(rank)}) · step time split`,
        id === stragglerId ? h('span', { class: 'badge warn' }, 'straggler') : '');
      w.section.classList.toggle('straggler', id === stragglerId);
      const present = STEP_SPLIT.filter(([, f]) => points.some((p) => p[f] !== undefined));
      w.chart.update(present.map(([label]) => label), columns(points, present.map(([, f]) => f), (p, f) => num(p[f])));
    }
  }
}
