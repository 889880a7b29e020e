// What the page knows about the run: the latest snapshot and every history point, deduplicated by (stage, step), so
// the first load and the stream's "points" events can overlap without double points.
import { arr, num, obj, str } from './format.js';

const isEval = (p) => Object.keys(obj(p.eval)).length > 0 && Object.keys(obj(p.losses)).length === 0;

export class RunStore {
  constructor() {
    this.snapshot = {};
    this.totalPoints = 0;
    this.cursor = null; // the server's history position after the points held (GetHistoryReply.cursor), if it sends one
    this.train = new Map(); // stage -> Map(step -> HistoryPoint)
    this.evals = new Map(); // stage -> Map(step -> HistoryPoint)
    this.workers = new Map(); // stage -> Map(workerId -> Map(step -> WorkerHistoryPoint))
    this.version = 0;
  }

  setSnapshot(s) {
    this.snapshot = obj(s);
    this.version++;
  }

  /** Adds a GetHistoryReply's points and worker points. */
  addHistory(reply) {
    const r = obj(reply);
    if (r.totalPoints !== undefined) this.totalPoints = Math.max(this.totalPoints, num(r.totalPoints));
    if (r.cursor !== undefined) this.cursor = Math.max(this.cursor ?? 0, num(r.cursor));
    for (const p of arr(r.points)) {
      const target = isEval(p) ? this.evals : this.train;
      const stage = str(p.stage);
      if (!target.has(stage)) target.set(stage, new Map());
      const byStep = target.get(stage);
      const step = num(p.step);
      // An evaluation point and a training point may share a step; merge the eval into the training point's row.
      byStep.set(step, { ...byStep.get(step), ...p });
    }
    for (const w of arr(r.workerPoints)) {
      const stage = str(w.stage);
      if (!this.workers.has(stage)) this.workers.set(stage, new Map());
      const byWorker = this.workers.get(stage);
      const id = str(w.workerId);
      if (!byWorker.has(id)) byWorker.set(id, new Map());
      byWorker.get(id).set(num(w.step), w);
    }
    this.version++;
  }

  /** How many history points the page holds (every stage, training and evaluation). */
  loadedPoints() {
    let n = 0;
    for (const m of [...this.train.values(), ...this.evals.values()]) n += m.size;
    return n;
  }

  /** Stages that have points, in schedule order (then any others). */
  stagesWithPoints() {
    const names = arr(this.snapshot.stages).map((s) => str(s.name));
    const have = new Set([...this.train.keys(), ...this.evals.keys(), ...this.workers.keys()]);
    return [...names.filter((n) => have.has(n)), ...[...have].filter((n) => !names.includes(n))];
  }

  trainPoints(stage) {
    return [...(this.train.get(stage)?.values() ?? [])].sort((a, b) => num(a.step) - num(b.step));
  }

  evalPoints(stage) {
    const fromEval = [...(this.evals.get(stage)?.values() ?? [])];
    const merged = this.trainPoints(stage).filter((p) => Object.keys(obj(p.eval)).length > 0);
    return [...fromEval, ...merged].sort((a, b) => num(a.step) - num(b.step));
  }

  /** Map(workerId -> points sorted by step) for a stage. */
  workerPoints(stage) {
    const out = new Map();
    for (const [id, bySteps] of this.workers.get(stage) ?? new Map()) {
      out.set(id, [...bySteps.values()].sort((a, b) => num(a.step) - num(b.step)));
    }
    return out;
  }
}
