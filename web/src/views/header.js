// The header: run name, status, current stage, step/total, epoch, elapsed, ETA, world size, generation.
import { arr, enumLabel, fmtDuration, fmtInt, num, str, setText } from '../format.js';

export const TERMINAL_STATES = ['RUN_STATE_SUCCEEDED', 'RUN_STATE_FAILED', 'RUN_STATE_CANCELLED'];

/** Steps per second over the current stage's last ~60 points, or 0 when unknown. */
function stepRate(points) {
  if (points.length < 2) return 0;
  const last = points[points.length - 1];
  const first = points[Math.max(0, points.length - 60)];
  const ds = num(last.step) - num(first.step);
  const dt = num(last.wallS) - num(first.wallS);
  return ds > 0 && dt > 0 ? ds / dt : 0;
}

export function renderHeader(snapshot, trainPoints) {
  const s = snapshot;
  const state = str(s.state);
  const stages = arr(s.stages);
  const current = stages.find((st) => str(st.name) === str(s.stage));
  const total = num(current?.totalSteps);
  setText('run-name', str(s.runName) || str(s.runId) || 'run');
  setText('run-state', enumLabel(state, 'RUN_STATE_'));
  document.getElementById('run-state').dataset.state = enumLabel(state, 'RUN_STATE_');
  setText('current-stage', str(s.stage) || '—');
  setText('step', fmtInt(s.step));
  setText('total-steps', total ? fmtInt(total) : '—');
  setText('epoch', fmtInt(s.epoch));
  setText('elapsed', fmtDuration(s.wallS));
  setText('world-size', fmtInt(s.worldSize));
  setText('generation', fmtInt(s.generation));

  let eta = '—';
  if (TERMINAL_STATES.includes(state)) {
    eta = 'done';
  } else if (current) {
    const rate = stepRate(trainPoints);
    const idx = stages.indexOf(current);
    const remaining = Math.max(0, total - num(s.step))
      + stages.slice(idx + 1).filter((st) => str(st.state) !== 'STAGE_STATE_DONE').reduce((a, st) => a + num(st.totalSteps), 0);
    if (rate > 0) eta = fmtDuration(remaining / rate);
  }
  setText('eta', eta);

  const err = document.getElementById('run-error');
  err.hidden = !str(s.error);
  setText('run-error', str(s.error));
  document.title = `${str(s.runName) || 'run'} · ${enumLabel(state, 'RUN_STATE_')} · MmCluster`;
}
