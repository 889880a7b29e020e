// The worker table: rank, id, address, host, device, state, step, throughput, step time, memory, last report age, lanes;
// the straggler (the worker the others wait for) is flagged.
import { arr, enumLabel, fmtBytes, fmtInt, fmtMs, fmtNum, h, num, obj, str } from '../format.js';

/** A lane as text, whatever shape the server gives it ("Forward/0: shm" or { name, transport }). */
export function laneText(lane) {
  if (typeof lane !== 'object' || lane === null) return str(lane);
  return Object.values(lane).map(str).filter(Boolean).join(': ');
}

function reportAge(w, snapshot) {
  if (w.lastReportAgeS !== undefined) return num(w.lastReportAgeS);
  const hb = Date.parse(str(w.lastHeartbeat));
  const at = Date.parse(str(snapshot.updatedAt)) || Date.now();
  return Number.isFinite(hb) ? Math.max(0, (at - hb) / 1000) : NaN;
}

/** Resident set size now / peak ("—" for what the worker did not report); the managed heap in the cell's title. */
export function memoryText(w) {
  if (w.residentBytes === undefined && w.peakResidentBytes === undefined) return '—';
  const part = (v) => (v === undefined ? '—' : fmtBytes(v));
  return `${part(w.residentBytes)} / ${part(w.peakResidentBytes)}`;
}

function memoryTitle(w) {
  const heap = w.managedHeapBytes === undefined ? '' : `; .NET heap ${fmtBytes(w.managedHeapBytes)}`;
  return `resident set size now / peak (host memory; no device memory statistics)${heap}`;
}

export function sortedWorkers(snapshot) {
  return [...arr(snapshot.workers)].sort((a, b) => num(a.rank) - num(b.rank) || str(a.workerId).localeCompare(str(b.workerId)));
}

export function renderWorkers(snapshot) {
  const body = document.querySelector('#worker-table tbody');
  const rows = sortedWorkers(snapshot).map((w) => {
    const age = reportAge(w, snapshot);
    const straggler = w.straggler === true;
    const state = enumLabel(w.state, 'WORKER_STATE_');
    return h('tr', { 'data-worker-id': str(w.workerId), class: straggler ? 'straggler' : null },
      h('td', { class: 'num' }, fmtInt(w.rank)),
      h('th', { scope: 'row' }, str(w.workerId),
        straggler ? h('span', { class: 'badge warn', 'data-testid': 'straggler', title: 'the other workers wait for this one' }, 'straggler') : null),
      h('td', { class: 'mono' }, str(w.address) || '—'),
      h('td', {}, str(w.host) || '—'),
      h('td', { class: 'mono', 'data-testid': 'worker-device' }, str(w.device) || '—'),
      h('td', {}, h('span', { class: `worker-state ws-${state.replaceAll(' ', '-')}` }, state)),
      h('td', { class: 'num' }, fmtInt(w.step)),
      h('td', { class: 'num' }, fmtNum(w.samplesPerS, 4)),
      h('td', { class: 'num' }, fmtMs(w.stepTimeMs)),
      h('td', { class: 'num' }, fmtMs(w.collectiveTimeMs)),
      h('td', { class: 'num', 'data-testid': 'worker-memory', title: memoryTitle(w) }, memoryText(w)),
      h('td', { class: 'num' }, Number.isFinite(age) ? `${age.toFixed(1)} s` : '—'),
      h('td', { class: 'lanes' }, arr(w.lanes).map(laneText).join(', ') || '—'));
  });
  body.replaceChildren(...(rows.length ? rows : [h('tr', {}, h('td', { colspan: 13, class: 'empty' }, 'no worker has registered yet'))]));
  const caption = document.getElementById('worker-caption');
  const straggler = arr(snapshot.workers).find((w) => w.straggler === true);
  caption.textContent = `${arr(snapshot.workers).length} workers; collectives take ${(num(snapshot.collectiveFraction) * 100).toFixed(0)} % of step time`
    + (straggler ? `; straggler: ${str(straggler.workerId)}` : '');
  return obj(straggler);
}
