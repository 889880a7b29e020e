// Links to the run's files (checkpoints, logs, metrics, summary, journal) from /api/files.
import { withToken } from '../api.js';
import { arr, fmtBytes, h, str } from '../format.js';

const ORDER = ['checkpoint', 'log', 'metrics', 'summary', 'journal'];

export function renderFiles(reply) {
  const host = document.getElementById('files');
  const files = arr(reply?.files);
  if (!files.length) {
    host.replaceChildren(h('p', { class: 'empty' }, 'no files yet'));
    return;
  }
  const kinds = [...new Set(files.map((f) => str(f.kind)))].sort((a, b) => {
    const ia = ORDER.indexOf(a);
    const ib = ORDER.indexOf(b);
    return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a.localeCompare(b);
  });
  host.replaceChildren(...kinds.map((kind) => h('div', { class: 'file-group' },
    h('h3', {}, kind || 'other'),
    h('ul', {}, ...files.filter((f) => str(f.kind) === kind)
      .sort((a, b) => str(a.path).localeCompare(str(b.path), 'en', { numeric: true }))
      .map((f) => h('li', {},
        h('a', { href: withToken(`files/${str(f.path).split('/').map(encodeURIComponent).join('/')}`), download: str(f.path).split('/').at(-1), 'data-kind': kind }, str(f.path)),
        h('span', { class: 'size' }, fmtBytes(f.bytes))))))));
}
