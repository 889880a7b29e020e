// The stage schedule as a graph: one box per stage, placed in columns by dependency depth, with arrows from each
// stage it depends on, colored by state, with a progress bar.
import { arr, enumLabel, fmtInt, num, str } from '../format.js';

const SVG = 'http://www.w3.org/2000/svg';
const BOX_W = 220;
const BOX_H = 64;
const GAP_X = 56;
const GAP_Y = 16;

function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

export function layoutStages(stages) {
  const byName = new Map(stages.map((s) => [str(s.name), s]));
  const depth = new Map();
  const depthOf = (name, seen = new Set()) => {
    if (depth.has(name)) return depth.get(name);
    if (seen.has(name)) return 0; // a cycle is refused by the server; never loop here
    seen.add(name);
    const deps = arr(byName.get(name)?.dependsOn).filter((d) => byName.has(d));
    const d = deps.length ? 1 + Math.max(...deps.map((x) => depthOf(x, seen))) : 0;
    depth.set(name, d);
    return d;
  };
  const rows = new Map();
  const pos = new Map();
  for (const s of stages) {
    const name = str(s.name);
    const col = depthOf(name);
    const row = rows.get(col) ?? 0;
    rows.set(col, row + 1);
    pos.set(name, { x: 8 + col * (BOX_W + GAP_X), y: 8 + row * (BOX_H + GAP_Y) });
  }
  const cols = Math.max(1, ...[...rows.keys()].map((c) => c + 1));
  const maxRows = Math.max(1, ...rows.values());
  return { pos, width: 16 + cols * BOX_W + (cols - 1) * GAP_X, height: 16 + maxRows * BOX_H + (maxRows - 1) * GAP_Y };
}

export function renderStages(snapshot) {
  const host = document.getElementById('stage-graph');
  const stages = arr(snapshot.stages);
  const key = JSON.stringify(stages.map((s) => [s.name, s.state, s.step, s.totalSteps, s.dependsOn]));
  if (host.dataset.key === key) return;
  host.dataset.key = key;
  const { pos, width, height } = layoutStages(stages);
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-labelledby': 'stage-graph-title' },
    svg('title', { id: 'stage-graph-title' },
      stages.map((s) => `${str(s.name)}: ${enumLabel(s.state, 'STAGE_STATE_')}`).join('; ') || 'no stages yet'),
    svg('defs', {},
      svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' },
        svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: 'arrow-head' }))));
  for (const s of stages) {
    const to = pos.get(str(s.name));
    for (const d of arr(s.dependsOn)) {
      const from = pos.get(d);
      if (!from) continue;
      const x1 = from.x + BOX_W;
      const y1 = from.y + BOX_H / 2;
      const x2 = to.x;
      const y2 = to.y + BOX_H / 2;
      const mx = (x1 + x2) / 2;
      root.append(svg('path', { d: `M ${x1} ${y1} C ${mx} ${y1}, ${mx} ${y2}, ${x2} ${y2}`, class: 'edge', 'marker-end': 'url(#arrow)' }));
    }
  }
  for (const s of stages) {
    const name = str(s.name);
    const { x, y } = pos.get(name);
    const state = enumLabel(s.state, 'STAGE_STATE_');
    const total = num(s.totalSteps);
    const frac = total > 0 ? Math.min(1, num(s.step) / total) : state === 'done' ? 1 : 0;
    root.append(svg('g', { class: `stage state-${state.replaceAll(' ', '-')}`, 'data-testid': `stage-${name}`, transform: `translate(${x} ${y})` },
      svg('title', {}, `${name} (${str(s.kind)}): ${state}, step ${fmtInt(s.step)} of ${total ? fmtInt(total) : '?'}`),
      svg('rect', { class: 'box', width: BOX_W, height: BOX_H, rx: 6 }),
      svg('text', { class: 'name', x: 10, y: 20 }, name),
      svg('text', { class: 'meta', x: 10, y: 38 },
        `${str(s.kind) && str(s.kind) !== name ? `${str(s.kind)} · ` : ''}${state} · ${fmtInt(s.step)}/${total ? fmtInt(total) : '?'}`),
      svg('rect', { class: 'bar-bg', x: 10, y: 48, width: BOX_W - 20, height: 6, rx: 3 }),
      svg('rect', { class: 'bar', x: 10, y: 48, width: (BOX_W - 20) * frac, height: 6, rx: 3 })));
  }
  host.replaceChildren(root);
}
