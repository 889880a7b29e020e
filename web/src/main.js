// The dashboard page: asks for the token when one is required, loads /api/snapshot and /api/history, then follows
// /api/stream (server-sent events) and redraws at most once per animation frame.
import { Unauthorized, auth, getConfig, getJson, openStream } from './api.js';
import { h, str } from './format.js';
import { RunStore } from './store.js';
import { TERMINAL_STATES, renderHeader } from './views/header.js';
import { renderFiles } from './views/files.js';
import { renderLedger } from './views/ledger.js';
import { Plots } from './views/plots.js';
import { renderRecoveries } from './views/recoveries.js';
import { renderStages } from './views/stages.js';
import { renderWorkers } from './views/workers.js';

const HISTORY_POINTS = 4000;
const FILES_EVERY_MS = 15000;

const store = new RunStore();
let plots = null;
let mode = 'live';
let stream = null;
let filesTimer = 0;
let renderQueued = false;
let followStage = true;
let selectedStage = '';

const $ = (id) => document.getElementById(id);

function setConnection(state, text) {
  const el = $('connection');
  el.dataset.state = state;
  el.textContent = text ?? state;
}

function showToken(message) {
  stream?.close();
  stream = null;
  clearInterval(filesTimer);
  $('dashboard').hidden = true;
  document.body.classList.add('locked');
  $('token-panel').hidden = false;
  $('token-message').textContent = message;
  $('token-input').value = '';
  $('token-input').focus();
  setConnection('locked', 'token needed');
}

function fail(error) {
  if (error instanceof Unauthorized) {
    auth.token = '';
    showToken('The token was refused. Enter the token this run was started with.');
    return true;
  }
  console.error(error);
  setConnection('error', `error: ${error.message}`);
  return false;
}

function queueRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    render();
  });
}

function renderStageSelect() {
  const select = $('plot-stage');
  const names = store.stagesWithPoints();
  const current = str(store.snapshot.stage);
  if (current && !names.includes(current)) names.push(current);
  if (followStage || !names.includes(selectedStage)) selectedStage = current || names.at(-1) || '';
  const key = names.join('\u0001');
  if (select.dataset.key !== key) {
    select.dataset.key = key;
    select.replaceChildren(...names.map((n) => h('option', { value: n }, n)));
  }
  select.value = selectedStage;
}

function render() {
  const s = store.snapshot;
  renderStageSelect();
  renderHeader(s, store.trainPoints(str(s.stage)));
  renderStages(s);
  const straggler = renderWorkers(s);
  renderLedger(s);
  renderRecoveries(s);
  plots.render(selectedStage, straggler);
  const loaded = store.loadedPoints();
  $('points-note').textContent = store.totalPoints > loaded
    ? `${loaded.toLocaleString('en-US')} of ${store.totalPoints.toLocaleString('en-US')} recorded points loaded (the server thins long histories)`
    : '';
}

async function loadFiles() {
  try {
    renderFiles(await getJson('api/files'));
  } catch (e) {
    fail(e);
  }
}

async function reloadHistory() {
  store.addHistory(await getJson(`api/history?maxPoints=${HISTORY_POINTS}`));
  queueRender();
}

function connect() {
  stream = openStream(store.cursor, {
    onSnapshot: (snap) => {
      store.setSnapshot(snap);
      if (TERMINAL_STATES.includes(str(snap.state))) {
        stream?.close();
        stream = null;
        setConnection('ended', 'run ended');
        loadFiles();
      }
      queueRender();
    },
    onPoints: (reply) => {
      store.addHistory(reply);
      queueRender();
    },
    onState: (state) => {
      const was = $('connection').dataset.state;
      setConnection(state);
      // A server without history positions cannot resume a stream: fetch what it may have missed.
      if (state === 'live' && was === 'reconnecting' && store.cursor === null) reloadHistory().catch(fail);
    },
    onClosed: () => {
      stream = null;
      setConnection('reconnecting');
      // The browser gave up (refused or not an event stream): find out why, then try again.
      setTimeout(async () => {
        try {
          store.setSnapshot(await getJson('api/snapshot'));
          if (store.cursor === null) await reloadHistory();
          if (!TERMINAL_STATES.includes(str(store.snapshot.state))) connect();
          else setConnection('ended', 'run ended');
        } catch (e) {
          if (!fail(e)) setTimeout(() => stream || connect(), 3000);
        }
      }, 2000);
    },
  });
}

async function start() {
  $('token-panel').hidden = true;
  document.body.classList.remove('locked');
  $('dashboard').hidden = false;
  setConnection('loading', 'loading…');
  try {
    const [snapshot, history] = await Promise.all([getJson('api/snapshot'), getJson(`api/history?maxPoints=${HISTORY_POINTS}`)]);
    store.setSnapshot(snapshot);
    store.addHistory(history);
    render();
    await loadFiles();
    if (mode === 'offline' || TERMINAL_STATES.includes(str(snapshot.state))) {
      setConnection('ended', mode === 'offline' ? 'offline view' : 'run ended');
      return;
    }
    connect();
    filesTimer = setInterval(loadFiles, FILES_EVERY_MS);
  } catch (e) {
    fail(e);
  }
}

async function boot() {
  auth.adoptFromUrl();
  plots = new Plots(store);
  $('plot-stage').addEventListener('change', (e) => {
    selectedStage = e.target.value;
    followStage = selectedStage === str(store.snapshot.stage);
    queueRender();
  });
  $('token-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const value = $('token-input').value.trim();
    if (!value) return;
    auth.token = value;
    start();
  });
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
    for (const c of plots.all()) c.rebuild();
  });
  let config;
  try {
    config = await getConfig();
  } catch (e) {
    fail(e);
    return;
  }
  auth.required = config.tokenRequired === true;
  mode = str(config.mode) || 'live';
  if (auth.missing) {
    showToken('This run is protected by a token: nothing is shown without it. Open the link that mmcluster dev printed, or enter the token.');
    return;
  }
  await start();
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
else boot();
