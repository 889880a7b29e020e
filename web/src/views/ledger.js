// The current epoch's ledger: committed / leased / pending rows as one bar, with duplicates, missing and skipped rows.
import { arr, fmtInt, h, num, str } from '../format.js';

export function currentLedgerRow(snapshot) {
  const rows = arr(snapshot.ledger);
  const ofStage = rows.filter((r) => str(r.stage) === str(snapshot.stage));
  return (ofStage.length ? ofStage : rows).at(-1);
}

export function renderLedger(snapshot) {
  const host = document.getElementById('ledger');
  const row = currentLedgerRow(snapshot);
  if (!row) {
    host.replaceChildren(h('p', { class: 'empty' }, 'no epoch planned yet'));
    return;
  }
  const finished = /SUCCEEDED|FAILED|CANCELLED/.test(str(snapshot.state));
  const expected = num(row.samplesExpected);
  const committed = num(row.samplesCommitted);
  const hasLeased = row.leased !== undefined || row.pending !== undefined;
  const leased = num(row.leased);
  const pending = num(row.pending);
  const other = Math.max(0, expected - committed - leased - pending);
  const pct = (v) => (expected > 0 ? (100 * v) / expected : 0);
  const segments = [
    ['committed', committed, 'committed'],
    ...(hasLeased ? [['leased', leased, 'leased'], ['pending', pending, 'pending']] : []),
    ['other', other, hasLeased ? 'done, not committed' : 'not committed yet'],
  ];
  const label = segments.map(([, v, text]) => `${text} ${fmtInt(v)}`).join(', ');
  const bar = h('div', { class: 'ledger-bar', role: 'img', 'aria-label': `epoch ${fmtInt(row.epoch)} of ${fmtInt(expected)} rows: ${label}` },
    ...segments.filter(([, v]) => v > 0).map(([cls, v, text]) =>
      h('span', { class: `seg seg-${cls}`, style: `width:${pct(v).toFixed(3)}%`, title: `${text}: ${fmtInt(v)}` })));
  const item = (id, text, v, cls) => h('div', { class: cls ?? null }, h('dt', {}, text), h('dd', { 'data-testid': `ledger-${id}` }, fmtInt(v)));
  const numbers = h('dl', { class: 'ledger-numbers' },
    item('expected', 'expected', expected),
    item('committed', 'committed', committed, 'k-committed'),
    hasLeased ? item('leased', 'leased', leased, 'k-leased') : null,
    hasLeased ? item('pending', 'pending', pending, 'k-pending') : null,
    item('other', hasLeased ? 'done, not committed' : 'not committed yet', other, 'k-other'),
    item('duplicates', 'duplicates', row.duplicates, num(row.duplicates) > 0 ? 'bad' : null),
    // While the run goes, rows not committed yet are not lost: they count as missing (red) only once it ended.
    item('missing', finished ? 'missing' : 'not reached yet', row.missing, finished && num(row.missing) > 0 ? 'bad' : null),
    item('skipped', 'skipped (bad rows)', row.skipped));
  host.replaceChildren(h('p', { class: 'ledger-title' }, `${str(row.stage) || 'stage'}, epoch ${fmtInt(row.epoch)}${row.ran === false ? ' (not run yet)' : ''}`), bar, numbers);
}
