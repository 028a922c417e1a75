// The manager's dashboard. Everything it shows comes from the manager's JSON-RPC api at /rpc/v0,
// called with the operator's token, so the page can do what that token allows and nothing more.
// Data reaches the page only through textContent: a worker's error text is never parsed as HTML.
'use strict';

const TOKEN_KEY = 'venus-sector-manager-token';
// A worker is expired when its last ping is older than this, as `util worker list` says by default.
const EXPIRATION_SECONDS = 600;
// The sectors table shows this many rows of the chosen state; the counts cover every sector.
const SECTOR_ROWS = 200;

const view = {
  token: sessionStorage.getItem(TOKEN_KEY) || '',
  admin: false,
  pings: [],      // the last WorkerPingInfoList
  worker: null,   // the name of the worker whose threads are shown
  sector: null,   // the abi.SectorID whose history is shown
  state: null,    // the sector state the table is filtered on, null for all
  timer: null,
  busy: false,
};

const $ = (id) => document.getElementById(id);

class RPCError extends Error {
  constructor(message, status) { super(message); this.status = status; }
}

let rpcID = 0;
let serverNow = 0; // the manager's clock (unix seconds) from its last answer's Date header

// rpc calls Venus.<method> and returns its result; HTTP refusals carry their status.
async function rpc(method, ...params) {
  const headers = { 'Content-Type': 'application/json' };
  if (view.token) headers.Authorization = 'Bearer ' + view.token;
  const res = await fetch('/rpc/v0', {
    method: 'POST', headers, credentials: 'omit',
    body: JSON.stringify({ jsonrpc: '2.0', id: ++rpcID, method: 'Venus.' + method, params }),
  });
  const date = Date.parse(res.headers.get('Date') || '');
  if (!Number.isNaN(date)) serverNow = date / 1000;
  if (!res.ok) throw new RPCError((await res.text()).trim() || res.statusText, res.status);
  const body = await res.json();
  // go-jsonrpc refuses a method the token does not allow inside a 200 answer.
  if (body.error) throw new RPCError(body.error.message, /^missing permission to invoke/.test(body.error.message) ? 403 : 200);
  return body.result;
}

function now() { return serverNow || Date.now() / 1000; }

function sectorName(id) { return 's-t0' + id.Miner + '-' + id.Number; }

function duration(seconds) {
  seconds = Math.max(0, Math.floor(seconds));
  const h = Math.floor(seconds / 3600), m = Math.floor(seconds / 60) % 60, s = seconds % 60;
  if (h > 0) return h + 'h' + String(m).padStart(2, '0') + 'm';
  if (m > 0) return m + 'm' + String(s).padStart(2, '0') + 's';
  return s + 's';
}

// row builds a table row of cells; a cell is text, or a Node put in as it is.
function row(cells, opts = {}) {
  const tr = document.createElement('tr');
  for (const c of cells) {
    const td = document.createElement('td');
    if (c instanceof Node) td.appendChild(c); else td.textContent = c == null ? '' : String(c);
    tr.appendChild(td);
  }
  if (opts.className) tr.className = opts.className;
  if (opts.wrap != null) tr.children[opts.wrap].className = 'wrap';
  return tr;
}

function fill(tbody, rows) { tbody.replaceChildren(...rows); }

function span(text, className) {
  const s = document.createElement('span');
  s.textContent = text;
  if (className) s.className = className;
  return s;
}

function button(text, className, onClick) {
  const b = document.createElement('button');
  b.textContent = text;
  b.className = className;
  b.addEventListener('click', (e) => { e.stopPropagation(); onClick(b); });
  return b;
}

// ---- sign in -------------------------------------------------------------------------------

async function start() {
  $('interval').addEventListener('change', schedule);
  $('login-form').addEventListener('submit', (e) => { e.preventDefault(); signIn($('token').value.trim()); });
  $('signout').addEventListener('click', signOut);
  $('worker-close').addEventListener('click', () => { view.worker = null; $('worker').hidden = true; renderWorkersSelection(); });
  $('sector-close').addEventListener('click', () => { view.sector = null; $('sector').hidden = true; });
  $('offline').addEventListener('change', () => { view.state = null; refresh(); });
  $('drain').addEventListener('click', () => setDrained(true));
  $('undrain').addEventListener('click', () => setDrained(false));
  try {
    await findPermissions();
    showApp();
  } catch (e) {
    if (e.status === 401 || e.status === 403) return showLogin(view.token ? e.message : '');
    $('status').textContent = 'manager unreachable: ' + e.message;
  }
}

// findPermissions learns what the current token (or no token) allows: an open manager answers
// AuthVerify with an error and lets everyone do everything.
async function findPermissions() {
  await rpc('WorkerPingInfoList');
  if (!view.token) { view.admin = true; $('who').textContent = 'open manager (no auth)'; return; }
  const perms = await rpc('AuthVerify', view.token);
  view.admin = perms.includes('admin');
  $('who').textContent = 'token: ' + perms.join(', ');
}

async function signIn(token) {
  if (!token) { $('login-error').textContent = 'paste a token first'; return; }
  view.token = token;
  try {
    await findPermissions();
  } catch (e) {
    view.token = '';
    $('login-error').textContent = 'token refused: ' + e.message;
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  $('token').value = '';
  showApp();
}

function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  view.token = '';
  clearTimeout(view.timer);
  showLogin('');
}

function showLogin(message) {
  $('app').hidden = true;
  $('signout').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message;
  $('status').textContent = 'signed out';
  $('who').textContent = '';
}

function showApp() {
  $('login').hidden = true;
  $('app').hidden = false;
  $('signout').hidden = !view.token;
  for (const b of document.querySelectorAll('button.admin')) adminOnly(b);
  refresh();
}

function adminOnly(b) {
  b.disabled = !view.admin;
  if (!view.admin) b.title = 'needs an admin token';
}

// ---- refresh -------------------------------------------------------------------------------

function schedule() {
  clearTimeout(view.timer);
  const every = Number($('interval').value);
  if (every > 0) view.timer = setTimeout(refresh, every * 1000);
}

async function refresh() {
  clearTimeout(view.timer);
  if (view.busy) return;
  view.busy = true;
  try {
    const parts = [refreshWorkers(), refreshSectors()];
    if (view.worker) parts.push(refreshWorker());
    if (view.sector) parts.push(refreshSector());
    await Promise.all(parts);
    $('error').textContent = '';
    $('status').textContent = 'updated ' + new Date().toLocaleTimeString();
  } catch (e) {
    if (e.status === 401) { signOut(); $('login-error').textContent = e.message; return; }
    $('error').textContent = e.message;
  } finally {
    view.busy = false;
    // The time from navigation to the first complete view, as the browser measures it: what an
    // operator waits for when opening the page (the benchmarks read it).
    if (!document.body.dataset.firstViewMs) document.body.dataset.firstViewMs = performance.now().toFixed(1);
    document.body.dataset.refreshed = String(Number(document.body.dataset.refreshed || 0) + 1);
    if (!$('app').hidden) schedule();
  }
}

// ---- workers -------------------------------------------------------------------------------

async function refreshWorkers() {
  const list = await rpc('WorkerPingInfoList') || [];
  list.sort((a, b) => a.Info.Name.localeCompare(b.Info.Name));
  const at = now();
  let online = 0, drained = 0;
  const rows = list.map((p) => {
    const info = p.Info, sum = info.Summary || {};
    const expired = at - p.LastPing > EXPIRATION_SECONDS;
    if (!expired) online++;
    if (info.Drained) drained++;
    const tr = row([info.Name, info.Dest, info.Version || '', span(expired ? 'expired' : 'online', expired ? 'expired' : 'online'),
      duration(at - p.LastPing) + ' ago', sum.Threads, sum.Empty, sum.Running, sum.Waiting, sum.Paused, sum.Errors,
      info.Drained ? span('drained', 'badge') : ''], { className: 'pick' });
    tr.dataset.worker = info.Name;
    tr.addEventListener('click', () => openWorker(info.Name));
    return tr;
  });
  fill($('workers-body'), rows);
  $('workers-summary').textContent = `${list.length} workers: ${online} online, ${list.length - online} expired, ${drained} drained`;
  view.pings = list;
  renderWorkersSelection();
  renderDrained();
}

function renderWorkersSelection() {
  for (const tr of $('workers-body').children) tr.classList.toggle('selected', tr.dataset.worker === view.worker);
}

function openWorker(name) {
  view.worker = name;
  $('worker-name').textContent = name;
  $('worker').hidden = false;
  fill($('threads-body'), []);
  renderWorkersSelection();
  renderDrained();
  refreshWorker().catch((e) => { $('worker-error').textContent = e.message; });
}

async function refreshWorker() {
  const name = view.worker;
  if (!view.admin) {
    $('worker-error').textContent = "a worker's threads are read through the manager's proxy, which needs an admin token";
    return;
  }
  let threads, progress = [];
  try {
    [threads, progress] = await Promise.all([rpc('WorkerAdminList', name), workerProgress(name)]);
  } catch (e) {
    if (name === view.worker) $('worker-error').textContent = e.message;
    return;
  }
  if (name !== view.worker) return;
  $('worker-error').textContent = '';
  const since = new Map((progress || []).map((p) => [p.index, p]));
  const at = now();
  fill($('threads-body'), (threads || []).map((t) => {
    const p = since.get(t.index);
    const inState = p && p.state_entered_at ? duration(at - Date.parse(p.state_entered_at) / 1000) : '';
    const act = t.paused
      ? button('resume', 'admin resume', (b) => threadAction(b, 'WorkerAdminResume', name, t.index, null))
      : button('pause', 'admin pause', (b) => threadAction(b, 'WorkerAdminPause', name, t.index));
    adminOnly(act);
    const tr = row([t.index, t.location, t.sector_id ? sectorName(t.sector_id) : '', t.state, inState,
      t.paused ? 'paused ' + duration(t.paused_elapsed || 0) : '', t.last_error || '', act], { wrap: 6 });
    tr.dataset.index = String(t.index);
    tr.dataset.paused = String(t.paused);
    return tr;
  }));
}

// workerProgress is the worker's per-thread progress, [] from a worker or manager without it.
async function workerProgress(name) {
  try { return await rpc('WorkerAdminProgress', name); } catch (e) { return []; }
}

// renderDrained shows whether the open worker is drained, as its last ping said.
function renderDrained() {
  const p = view.pings.find((w) => w.Info.Name === view.worker);
  const drained = !!(p && p.Info.Drained);
  $('worker-drained').hidden = !drained;
  $('drain').hidden = drained;
  $('undrain').hidden = !drained;
}

async function threadAction(b, method, ...params) {
  b.disabled = true;
  try {
    await rpc(method, ...params);
  } catch (e) {
    $('worker-error').textContent = e.message;
  }
  await refresh();
}

async function setDrained(drained) {
  try {
    await rpc('WorkerAdminDrain', view.worker, drained);
    $('worker-error').textContent = '';
  } catch (e) {
    $('worker-error').textContent = e.message;
  }
  await refresh();
}

// ---- sectors -------------------------------------------------------------------------------

// sectorState is what the sector is doing, as `util sealer sectors list` shows it.
function sectorState(st) {
  if (st.AbortReason) return 'Aborted';
  if (st.Finalized) return 'Finalized';
  return st.LatestState ? st.LatestState.StateChange.Next : 'Allocated';
}

async function refreshSectors() {
  const list = (await rpc('ListSectors', 'online', 0)) || [];
  if ($('offline').checked) list.push(...((await rpc('ListSectors', 'offline', 0)) || []));
  const counts = new Map();
  for (const st of list) counts.set(sectorState(st), (counts.get(sectorState(st)) || 0) + 1);
  renderStates(counts, list.length);
  const shown = list.filter((st) => view.state === null || sectorState(st) === view.state);
  shown.sort((a, b) => a.ID.Miner - b.ID.Miner || a.ID.Number - b.ID.Number);
  fill($('sectors-body'), shown.slice(0, SECTOR_ROWS).map((st) => {
    const ls = st.LatestState;
    const failure = ls && ls.Failure ? ls.Failure.Level + ': ' + ls.Failure.Desc : st.AbortReason || '';
    const tr = row([sectorName(st.ID), sectorState(st), ls ? ls.Worker.Instance : '', ls ? ls.Worker.Location : '', failure],
      { className: 'pick', wrap: 4 });
    tr.dataset.sector = sectorName(st.ID);
    tr.addEventListener('click', () => openSector(st));
    return tr;
  }));
  $('sectors-summary').textContent = `${list.length} sectors`;
  $('sectors-more').textContent = shown.length > SECTOR_ROWS ? `showing ${SECTOR_ROWS} of ${shown.length}` : '';
}

function renderStates(counts, total) {
  const chips = [chip('all', total, null)];
  for (const [state, n] of [...counts].sort((a, b) => a[0].localeCompare(b[0]))) chips.push(chip(state, n, state));
  $('states').replaceChildren(...chips);
}

function chip(label, n, state) {
  const c = span(`${label} ${n}`, 'chip' + (view.state === state ? ' active' : ''));
  c.dataset.state = state === null ? '' : state;
  c.addEventListener('click', () => { view.state = state; refresh(); });
  return c;
}

function openSector(st) {
  view.sector = st.ID;
  $('sector-id').textContent = sectorName(st.ID);
  $('sector').hidden = false;
  refreshSector().catch((e) => { $('sector-error').textContent = e.message; });
}

async function refreshSector() {
  const id = view.sector;
  const [history, state] = await Promise.all([rpc('SectorHistory', id), findSector(id)]);
  if (view.sector !== id) return;
  $('sector-error').textContent = '';
  fill($('history-body'), (history || []).map((h) => row([
    new Date(h.Time).toISOString().replace('.000Z', 'Z'), h.Worker.Instance, h.StateChange.Prev, h.StateChange.Next,
    h.StateChange.Event, h.Failure ? h.Failure.Level + ': ' + h.Failure.Desc : ''], { wrap: 5 })));
  $('sector-state').textContent = JSON.stringify(state, null, 2);
}

// findSector is the sector's record from the online store, else the offline one.
async function findSector(id) {
  try { return await rpc('FindSector', 'online', id); } catch (e) { return rpc('FindSector', 'offline', id); }
}

start();
