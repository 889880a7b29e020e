// Failures and recoveries: a list with cause and timings, and the markers every chart draws.
import { arr, enumLabel, fmtInt, fmtMs, h, num, str } from '../format.js';

export const RECOVERY_COLOR = '#e8833a';
export const FAILURE_COLOR = '#d62728';

/** Markers for the charts of one stage: each recovery at its step, and the failure when the run failed there. */
export function markersFor(snapshot, stage) {
  const out = arr(snapshot.recoveries)
    .map((r, i) => ({ r, i }))
    .filter(({ r }) => str(r.stage) === stage)
    .map(({ r, i }) => ({ step: num(r.step), label: `R${i + 1}`, color: RECOVERY_COLOR }));
  if (str(snapshot.state) === 'RUN_STATE_FAILED' && str(snapshot.stage) === stage) {
    out.push({ step: num(snapshot.step), label: 'failed', color: FAILURE_COLOR });
  }
  return out;
}

export function renderRecoveries(snapshot) {
  const list = document.getElementById('recoveries');
  const items = arr(snapshot.recoveries).map((r, i) => {
    const noticed = Date.parse(str(r.noticedAt));
    const seen = Number.isFinite(noticed) && noticed > 0; // an unset Timestamp reads as 1970 or year 1
    const sizes = num(r.worldSizeBefore) || num(r.worldSizeAfter)
      ? `, world ${fmtInt(r.worldSizeBefore)} → ${fmtInt(r.worldSizeAfter)}` : '';
    const timings = [['abort', r.abortMs], ['re-form', r.reformMs], ['state transfer', r.transferMs], ['first step', r.firstStepMs]]
      .filter(([, v]) => num(v) > 0).map(([k, v]) => `${k} ${fmtMs(v)}`).join(' · ');
    return h('li', { class: 'recovery', 'data-step': fmtInt(r.step) },
      h('span', { class: 'marker-chip', style: `background:${RECOVERY_COLOR}` }, `R${i + 1}`),
      h('strong', {}, `${str(r.stage)} @ step ${fmtInt(r.step)}`), ' ',
      h('span', { class: 'cause' }, str(r.cause) || 'unknown cause'),
      h('div', { class: 'detail' },
        `generation ${fmtInt(r.generationBefore)} → ${fmtInt(r.generationAfter)}${sizes}`
          + `${r.grow ? ' (grown)' : ''}, ${fmtInt(r.lostSteps)} steps lost`
          + (seen ? `, noticed ${new Date(noticed).toLocaleTimeString()}` : '')),
      timings ? h('div', { class: 'detail timings' }, `from first sign: ${timings}`) : null);
  });
  if (str(snapshot.state) === 'RUN_STATE_FAILED') {
    items.push(h('li', { class: 'failure' },
      h('span', { class: 'marker-chip', style: `background:${FAILURE_COLOR}` }, '✕'),
      h('strong', {}, `${str(snapshot.stage)} @ step ${fmtInt(snapshot.step)}`), ' ',
      h('span', { class: 'cause' }, str(snapshot.error) || enumLabel(snapshot.state, 'RUN_STATE_'))));
  }
  list.replaceChildren(...items);
  document.getElementById('recoveries-empty').hidden = items.length > 0;
}
