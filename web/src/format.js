// Formatting and protobuf-JSON helpers. The API is Google.Protobuf's JsonFormatter: int64 fields arrive as strings,
// enums as names, and fields with default values are left out, so every read goes through num()/str()/obj().

export const num = (v) => (v === undefined || v === null || v === '' ? 0 : Number(v));
export const str = (v) => (v === undefined || v === null ? '' : String(v));
export const arr = (v) => (Array.isArray(v) ? v : []);
export const obj = (v) => (v && typeof v === 'object' ? v : {});

/** "RUN_STATE_RUNNING" -> "running" */
export function enumLabel(value, prefix) {
  const s = str(value);
  if (!s) return 'unknown';
  return (s.startsWith(prefix) ? s.slice(prefix.length) : s).toLowerCase().replaceAll('_', ' ');
}

export function fmtInt(v) {
  return Math.round(num(v)).toLocaleString('en-US');
}

export function fmtNum(v, digits = 4) {
  const x = num(v);
  if (!Number.isFinite(x)) return '—';
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1000) return Math.round(x).toLocaleString('en-US');
  if (a < 1e-3) return x.toExponential(2);
  return Number(x.toPrecision(digits)).toString();
}

export function fmtDuration(seconds) {
  let s = Math.max(0, Math.round(num(seconds)));
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m ${String(s).padStart(2, '0')}s`;
  return `${s}s`;
}

export function fmtMs(v) {
  const x = num(v);
  return x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(x >= 100 ? 0 : 1)} ms`;
}

export function fmtBytes(v) {
  const x = num(v);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let y = x;
  while (y >= 1024 && i < units.length - 1) {
    y /= 1024;
    i++;
  }
  return `${i === 0 ? y : y.toFixed(1)} ${units[i]}`;
}

/** Creates an element: h('td', { class: 'x', 'data-testid': 'y' }, 'text', child). */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function setText(id, text) {
  const el = document.getElementById(id);
  if (el && el.textContent !== text) el.textContent = text;
}
