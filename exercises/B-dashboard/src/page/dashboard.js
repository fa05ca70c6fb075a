// The monitoring dashboard's page. One WebSocket carries a subscription per
// panel (the server filters and rate-caps, the page only draws) and the
// alerts; HTTP carries the lists, past ranges and silences.
//
// Performance is the point of this file: messages only write into each
// panel's columns and mark it dirty; one requestAnimationFrame callback
// redraws the dirty panels, each at most once per frame, and nothing at
// all while the tab is hidden or a panel is scrolled out of view.
/* global uPlot */

const $ = (selector) => document.querySelector(selector);

const WINDOW_MS = 5 * 60_000; // the live view
const CAP_PER_SERIES = 3_600; // points kept per series (10 Hz × 5 min = 3 000 fit)
const TRIM_SLACK_MS = 10_000; // trim while buffering only once this far past the window
const POLICY = { mode: 'latest', max_hz: 10 };
const RANGES = { live: WINDOW_MS, '1h': 3_600_000, '24h': 86_400_000 };
const MAX_QUERY_POINTS = 1_000;
const SECOND = 1_000;
const MINUTE = 60_000;
const REFRESH_MS = 10_000; // the metric list and the silences
const STABLE_MS = 10_000; // a connection this old resets the backoff
const CHART_HEIGHT = 220;
const SILENCE_MS = 3_600_000;
const TOAST_MS = 6_000;
const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22'];

const state = {
  socket: null,
  connected: false,
  openedAt: 0,
  attempt: 0, // reconnections since the last stable connection
  lastClose: '', // why the last connection ended, shown until the next one opens
  filter: '', // label matchers, without braces
  range: 'live',
  panels: new Map(), // metric name -> panel, in the order they appeared
  subs: new Map(), // subscription id -> panel; only the current ones
  nextSub: 1,
  alerts: [],
  silences: [],
  alertsDirty: false,
  openWhy: new Set(), // alert keys whose "why" is expanded, kept across redraws
  framePending: false,
  offset: 0, // the server's clock minus ours (a test server's clock may be anywhere)
  lastRefreshError: '',
};

// Times sent to the server (`since`, query ranges) are on its clock, which
// `/health` tells; the browser's may be off, or the server's a test clock.
const serverNow = () => Date.now() + state.offset;
async function syncClock() {
  const before = Date.now();
  const { now } = await api('GET', '/health');
  state.offset = now - (before + Date.now()) / 2;
}

function toast(message) {
  const element = document.createElement('div');
  element.className = 'toast';
  element.textContent = message;
  $('#toasts').append(element);
  setTimeout(() => element.remove(), TOAST_MS);
}

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let value = null;
  try {
    value = text ? JSON.parse(text) : null;
  } catch {
    value = { error: text };
  }
  if (!response.ok) throw new Error(value?.error ?? `${method} ${path}: HTTP ${response.status}`);
  return value;
}

// ------------------------------------------------------------ formatting
// One formatter, made once: formatting runs for every axis tick and legend
// value, and building an Intl.NumberFormat each time is slow.
const compactFormat = new Intl.NumberFormat(undefined, { notation: 'compact', maximumSignificantDigits: 3 });
function compact(value) {
  if (value == null || Number.isNaN(value)) return '–';
  if (value !== 0 && Math.abs(value) < 0.001) return value.toExponential(1);
  return compactFormat.format(value);
}

function localTime(ms) {
  const date = new Date(ms);
  const today = date.toDateString() === new Date().toDateString();
  return today ? date.toLocaleTimeString() : date.toLocaleString();
}

const quote = (value) => `"${String(value).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
const labelText = (labels) => Object.entries(labels).map(([key, value]) => `${key}=${quote(value)}`).join(', ');
const seriesText = (series) => `${series.name}{${labelText(series.labels ?? {})}}`;

// The box takes matchers as Prometheus writes them between braces; braces
// typed around them are forgiven.
function normaliseFilter(text) {
  const trimmed = text.trim();
  return trimmed.startsWith('{') && trimmed.endsWith('}') ? trimmed.slice(1, -1).trim() : trimmed;
}
const selectorFor = (name) => (state.filter ? `${name}{${state.filter}}` : name);

// ------------------------------------------------------------ panel data
// A panel's columns are uPlot's own data layout, kept between frames:
// data[0] the times (sorted, unique), data[c] the values of column c, with
// `undefined` where that series has no sample at that time (uPlot draws a
// line across `undefined`, but breaks it at `null`). Handing uPlot the same
// arrays every frame means a redraw allocates nothing of ours.
function newPanel(name) {
  const section = document.createElement('section');
  section.className = 'panel';
  section.dataset.metric = name;
  section.setAttribute('aria-labelledby', `panel-${name}`);
  const title = document.createElement('h2');
  title.id = `panel-${name}`;
  title.textContent = name;
  const note = document.createElement('p');
  note.className = 'note';
  note.hidden = true;
  const chart = document.createElement('div');
  chart.className = 'chart';
  chart.setAttribute('role', 'figure');
  chart.setAttribute('aria-label', `Chart of ${name}`);
  section.append(title, note, chart);
  return {
    name, section, note, chart,
    uplot: null,
    message: '', // an error or the history range, shown above the chart
    width: 0,
    data: [[]],
    columns: new Map(), // label text -> column index: survives resubscribing
    ids: new Map(), // series id -> column index, for the current subscription
    info: [], // column index - 1 -> series {name, labels}
    lastTime: -Infinity, // the newest sample held (server's clock)
    subId: null,
    lastSeq: 0,
    seqGaps: 0,
    dropped: 0,
    draws: 0,
    dirty: false,
    rebuild: true, // the series changed: make a new chart
    resized: false,
    visible: true,
    query: 0, // the latest history query: older answers are ignored
  };
}

function resetData(panel) {
  panel.data = [[]];
  panel.columns.clear();
  panel.ids.clear();
  panel.info = [];
  panel.lastTime = -Infinity;
  panel.rebuild = true;
  markDirty(panel);
}

function addSeries(panel, id, series) {
  const key = labelText(series.labels ?? {});
  let column = panel.columns.get(key);
  if (column === undefined) {
    column = panel.data.length;
    panel.columns.set(key, column);
    panel.info.push(series);
    panel.data.push(new Array(panel.data[0].length).fill(undefined));
    panel.rebuild = true;
  }
  panel.ids.set(id, column);
}

// First index whose time is >= t.
function lowerBound(xs, t) {
  let low = 0;
  let high = xs.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (xs[mid] < t) low = mid + 1;
    else high = mid;
  }
  return low;
}

// Samples nearly always come after the newest row (a push); an older one
// (another series' backfill, a late collector) is put in its place. The same
// time twice overwrites, so a sample sent again after a resubscription is
// harmless.
function insert(panel, column, t, v) {
  const data = panel.data;
  const xs = data[0];
  let row = xs.length;
  if (row === 0 || t > xs[row - 1]) {
    xs.push(t);
    for (let c = 1; c < data.length; c += 1) data[c].push(undefined);
  } else {
    row = lowerBound(xs, t);
    if (xs[row] !== t) {
      xs.splice(row, 0, t);
      for (let c = 1; c < data.length; c += 1) data[c].splice(row, 0, undefined);
    }
  }
  data[column][row] = v;
  if (t > panel.lastTime) panel.lastTime = t;
}

// Drops the rows older than the window, measured from the newest sample
// rather than the browser's clock (which may disagree with the server's),
// and the oldest beyond the cap.
function trim(panel) {
  const data = panel.data;
  const xs = data[0];
  const limit = CAP_PER_SERIES * Math.max(1, data.length - 1);
  let cut = lowerBound(xs, panel.lastTime - WINDOW_MS);
  if (xs.length - cut > limit) cut = xs.length - limit;
  if (cut > 0) for (const column of data) column.splice(0, cut);
}

function pointCount(panel) {
  let count = 0;
  for (let c = 1; c < panel.data.length; c += 1) {
    for (const value of panel.data[c]) if (value !== undefined) count += 1;
  }
  return count;
}

// ------------------------------------------------------------ drawing
function markDirty(panel) {
  panel.dirty = true;
  schedule();
}

function schedule() {
  if (state.framePending) return;
  state.framePending = true;
  requestAnimationFrame(frame);
}

// The one frame callback: at most one redraw per dirty panel per frame,
// none while hidden (the data waits in the columns; `visibilitychange` and
// the IntersectionObserver ask for a frame when it can be seen again).
// A frame that drew something says so with a `dashboard:frame` event on
// `window` (a chart is a canvas: its drawing changes no element), so that
// tools and tests can wait for the page instead of polling it.
function frame() {
  state.framePending = false;
  if (document.hidden) return;
  let drew = false;
  for (const panel of state.panels.values()) {
    if (panel.dirty && panel.visible) {
      draw(panel);
      drew = true;
    }
  }
  if (state.alertsDirty) drawAlerts();
  if (drew) window.dispatchEvent(new Event('dashboard:frame'));
}

function draw(panel) {
  panel.dirty = false;
  if (state.range === 'live') trim(panel);
  const width = panel.width || panel.chart.clientWidth || 400;
  const note = panel.message || (panel.info.length ? '' : 'No series match (yet).');
  if (panel.note.textContent !== note) panel.note.textContent = note;
  panel.note.hidden = note === '';
  if (panel.rebuild || !panel.uplot) {
    panel.uplot?.destroy();
    panel.uplot = new uPlot(chartOptions(panel, width), panel.data, panel.chart);
    panel.rebuild = false;
    panel.resized = false;
  } else {
    panel.uplot.batch(() => {
      if (panel.resized) panel.uplot.setSize({ width, height: CHART_HEIGHT });
      panel.uplot.setData(panel.data);
    });
    panel.resized = false;
  }
  panel.draws += 1;
}

function chartOptions(panel, width) {
  return {
    width,
    height: CHART_HEIGHT,
    ms: 1, // times are milliseconds; uPlot draws them in local time
    series: [
      { label: 'time', value: (u, t) => (t == null ? '–' : localTime(t)) },
      ...panel.info.map((series, i) => ({
        label: Object.entries(series.labels ?? {}).map(([key, value]) => `${key}=${value}`).join(', ') || series.name,
        stroke: COLOURS[i % COLOURS.length],
        width: 1.5,
        points: { show: false },
        value: (u, v) => compact(v),
      })),
    ],
    axes: [{}, { values: (u, splits) => splits.map(compact), size: 56 }],
    legend: { live: true },
    // Drag to zoom only in a past range: live, every frame's setData
    // rescales to the data and would undo the zoom at once.
    cursor: { drag: { x: state.range !== 'live', y: false } },
  };
}

// ------------------------------------------------------------ panels
function ensurePanel(name) {
  if (state.panels.has(name)) return;
  const panel = newPanel(name);
  state.panels.set(name, panel);
  // Sorted by name (disk_2 before disk_10), so that panels do not jump
  // when a new metric appears.
  const after = [...document.querySelectorAll('#panels > .panel')]
    .find((other) => other.dataset.metric.localeCompare(name, 'en', { numeric: true }) > 0);
  $('#panels').insertBefore(panel.section, after ?? null);
  $('#no-panels').hidden = true;
  resizes.observe(panel.chart);
  sightings.observe(panel.section);
  if (state.range === 'live') subscribe(panel, serverNow() - WINDOW_MS);
  else loadHistory(panel);
  markDirty(panel);
}

const resizes = new ResizeObserver((entries) => {
  for (const entry of entries) {
    const panel = state.panels.get(entry.target.parentElement.dataset.metric);
    const width = Math.floor(entry.contentRect.width);
    if (!panel || width === panel.width) continue;
    panel.width = width;
    panel.resized = true;
    markDirty(panel);
  }
});

const sightings = new IntersectionObserver((entries) => {
  for (const entry of entries) {
    const panel = state.panels.get(entry.target.dataset.metric);
    if (!panel) continue;
    panel.visible = entry.isIntersecting;
    if (panel.visible && panel.dirty) schedule();
  }
}, { rootMargin: '200px' });

async function refreshMetrics() {
  const { series } = await api('GET', `/api/series?match=${encodeURIComponent('{}')}`);
  for (const name of new Set(series.map((s) => s.name))) ensurePanel(name);
}

// ------------------------------------------------------------ subscriptions
function send(message) {
  if (state.socket?.readyState === WebSocket.OPEN) state.socket.send(JSON.stringify(message));
}

// A new id for every subscription: whatever is still on its way for the
// old one is then recognisably stale and ignored.
function subscribe(panel, since) {
  unsubscribe(panel);
  if (!state.connected) return; // `onopen` subscribes every panel
  const id = `${panel.name}#${state.nextSub}`;
  state.nextSub += 1;
  panel.subId = id;
  panel.lastSeq = 0;
  panel.ids.clear();
  state.subs.set(id, panel);
  send({ type: 'subscribe', id, selector: selectorFor(panel.name), since: Math.floor(since), policy: POLICY });
}

function unsubscribe(panel) {
  if (panel.subId === null) return;
  send({ type: 'unsubscribe', id: panel.subId });
  state.subs.delete(panel.subId);
  panel.subId = null;
}

// Where a resubscription starts: the newest sample the panel has (sent
// again, it overwrites itself), or the start of the window.
function resumeFrom(panel) {
  return Math.max(panel.lastTime, serverNow() - WINDOW_MS);
}

function onData(panel, message) {
  if (message.seq !== panel.lastSeq + 1) {
    // Something went missing: take nothing from here and ask again from
    // the last sample we are sure of.
    panel.seqGaps += 1;
    subscribe(panel, resumeFrom(panel));
    return;
  }
  panel.lastSeq = message.seq;
  panel.dropped += message.dropped ?? 0;
  const oldest = panel.lastTime - WINDOW_MS;
  for (const point of message.points) {
    const column = panel.ids.get(point[0]);
    if (column === undefined || point[1] < oldest) continue;
    insert(panel, column, point[1], point[2]);
  }
  // Trim here too, but rarely: a hidden tab draws nothing, and its buffers
  // must still stay within the window.
  const xs = panel.data[0];
  const limit = CAP_PER_SERIES * Math.max(1, panel.data.length - 1);
  if (xs[0] < panel.lastTime - WINDOW_MS - TRIM_SLACK_MS || xs.length > limit * 1.25) trim(panel);
  markDirty(panel);
}

function onMessage(event) {
  const message = JSON.parse(event.data);
  const panel = message.id === undefined ? undefined : state.subs.get(message.id);
  switch (message.type) {
    case 'data':
      if (panel) onData(panel, message);
      break;
    case 'series':
      if (!panel) break;
      for (const series of message.series) addSeries(panel, series.id, series);
      markDirty(panel);
      break;
    case 'subscribed':
      if (panel) {
        panel.message = '';
        markDirty(panel);
      }
      break;
    case 'alerts':
      state.alerts = message.alerts;
      state.alertsDirty = true;
      schedule();
      break;
    case 'error':
      if (panel) {
        panel.message = `${message.code}: ${message.message}`;
        markDirty(panel);
      } else if (message.id === undefined) {
        toast(`The server refused a message: ${message.message}`);
      }
      break;
    default: // `unsubscribed`, and anything newer than this page
      break;
  }
}

// ------------------------------------------------------------ the connection
function showStatus(text, which) {
  $('#status').textContent = text;
  $('#status').dataset.state = which;
}

// 0.5 s, 1 s, 2 s, … capped at 30 s, less up to a fifth at random: clients
// dropped together (a server restart) do not all come back at once.
function backoff(attempt) {
  const delay = Math.min(30_000, 500 * 2 ** attempt);
  return delay - Math.random() * delay * 0.2;
}

function connect() {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const socket = new WebSocket(`${scheme}://${location.host}/ws`);
  state.socket = socket;
  showStatus(state.attempt ? `reconnecting… (attempt ${state.attempt}; ${state.lastClose})` : 'connecting…', 'connecting');
  socket.onopen = () => {
    state.connected = true;
    state.openedAt = Date.now();
    showStatus('connected', 'connected');
    send({ type: 'watch_alerts' });
    if (state.range === 'live') {
      for (const panel of state.panels.values()) subscribe(panel, resumeFrom(panel));
    }
  };
  socket.onmessage = onMessage;
  socket.onclose = (event) => {
    if (state.socket !== socket) return;
    state.connected = false;
    state.subs.clear();
    for (const panel of state.panels.values()) panel.subId = null;
    // Only a connection that lasted resets the backoff: a server that
    // accepts and closes at once must not be hammered.
    if (state.openedAt && Date.now() - state.openedAt >= STABLE_MS) state.attempt = 0;
    state.openedAt = 0;
    const delay = backoff(state.attempt);
    state.attempt += 1;
    state.lastClose = event.code === 1008
      ? `closed by the server: too slow to keep up (1008${event.reason ? `, ${event.reason}` : ''})`
      : `disconnected (${event.code})`;
    // The code stays on the status line's element, for people and tests.
    $('#status').dataset.lastClose = String(event.code);
    showStatus(`${state.lastClose}; reconnecting in ${(delay / 1000).toFixed(1)} s`, event.code === 1008 ? 'too-slow' : 'offline');
    setTimeout(connect, delay);
  };
}

// ------------------------------------------------------------ history
// Steps are whole seconds up to an hour (the raw tier) and whole minutes
// beyond (the minute tier, which the server picks when start and step are
// whole minutes), so that a panel gets at most ~1 000 points.
function plan(rangeMs, tier) {
  const unit = tier === 'raw' ? SECOND : MINUTE;
  const step = Math.max(unit, Math.ceil(rangeMs / MAX_QUERY_POINTS / unit) * unit);
  const end = Math.ceil((serverNow() + 1) / step) * step; // exclusive: include the current step
  // One step less than the range at the old end: the raw tier keeps an
  // hour exactly, and a start older than that would switch tiers.
  const start = end - Math.floor(rangeMs / step) * step + (tier === 'raw' ? step : 0);
  return { start, end, step };
}

async function loadHistory(panel) {
  const rangeMs = RANGES[state.range];
  panel.query += 1;
  const query = panel.query;
  const ask = ({ start, end, step }) => api('GET', `/api/query?match=${encodeURIComponent(selectorFor(panel.name))}`
    + `&start=${start}&end=${end}&step=${step}&aggregation=avg`);
  let result;
  try {
    try {
      result = await ask(plan(rangeMs, rangeMs <= RANGES['1h'] ? 'raw' : 'minute'));
    } catch {
      // The clocks disagree enough that the start fell out of the raw
      // tier: ask the minute tier instead.
      result = await ask(plan(rangeMs, 'minute'));
    }
  } catch (error) {
    if (query !== panel.query) return;
    panel.message = error.message;
    markDirty(panel);
    return;
  }
  if (query !== panel.query || state.range === 'live') return;
  resetData(panel);
  for (const answer of result.series) {
    addSeries(panel, answer.id, answer.series);
    const column = panel.ids.get(answer.id);
    for (const [t, v] of answer.points) insert(panel, column, t, v);
  }
  panel.message = `${state.range === '1h' ? 'last hour' : 'last 24 hours'}, ${result.tier} tier; live updates paused`;
  markDirty(panel);
}

// Live: a fresh window from the server. A past range: no subscription at
// all (nothing to pay for while looking back), one query per panel.
function applyView() {
  for (const panel of state.panels.values()) {
    unsubscribe(panel);
    panel.query += 1; // forget any query still on its way
    panel.message = '';
    resetData(panel);
    if (state.range === 'live') subscribe(panel, serverNow() - WINDOW_MS);
    else loadHistory(panel);
  }
}

// ------------------------------------------------------------ alerts
const STATE_ORDER = { firing: 0, pending: 1, resolved: 2 };
const alertKey = (alert) => `${alert.rule} ${seriesText(alert.series)}`;

function drawAlerts() {
  state.alertsDirty = false;
  const list = $('#alerts');
  const alerts = [...state.alerts].sort((a, b) => (STATE_ORDER[a.state] ?? 3) - (STATE_ORDER[b.state] ?? 3) || b.since - a.since);
  list.replaceChildren(...alerts.map(alertRow));
  $('#no-alerts').hidden = alerts.length > 0;
  const silences = $('#silences');
  silences.replaceChildren(...state.silences.map(silenceRow));
  $('#no-silences').hidden = state.silences.length > 0;
}

function alertRow(alert) {
  const item = document.createElement('li');
  item.className = `alert ${alert.state}${alert.silenced ? ' silenced' : ''}`;
  item.dataset.rule = alert.rule;
  item.dataset.state = alert.state;
  item.dataset.silenced = String(Boolean(alert.silenced));
  const head = document.createElement('div');
  head.className = 'alert-head';
  const badge = document.createElement('span');
  badge.className = 'badge';
  badge.textContent = alert.state;
  const rule = document.createElement('strong');
  rule.textContent = alert.rule;
  head.append(badge, rule);
  if (alert.silenced) {
    const silenced = document.createElement('span');
    silenced.className = 'badge muted';
    silenced.textContent = 'silenced';
    head.append(silenced);
  }
  const series = document.createElement('code');
  series.textContent = seriesText(alert.series);
  const facts = document.createElement('p');
  const time = document.createElement('time');
  if (Number.isFinite(alert.since)) time.dateTime = new Date(alert.since).toISOString();
  time.textContent = localTime(alert.since);
  facts.append(`value ${compact(alert.value)} · since `, time);
  item.append(head, series, facts);
  if (!alert.silenced && alert.state !== 'resolved') {
    const button = document.createElement('button');
    button.textContent = 'Silence 1 h';
    button.dataset.action = 'silence';
    button.onclick = () => silence(alert, button);
    item.append(button);
  }
  if (alert.why?.length) item.append(whyDetails(alert));
  return item;
}

function whyDetails(alert) {
  const key = alertKey(alert);
  const details = document.createElement('details');
  details.open = state.openWhy.has(key);
  details.ontoggle = () => (details.open ? state.openWhy.add(key) : state.openWhy.delete(key));
  const summary = document.createElement('summary');
  summary.textContent = `why (${alert.why.length})`;
  const steps = document.createElement('ol');
  for (const step of alert.why) {
    const entry = document.createElement('li');
    entry.textContent = `${localTime(step.at)}: ${step.from} → ${step.to}, value ${compact(step.value)}${step.reason ? `: ${step.reason}` : ''}`;
    steps.append(entry);
  }
  details.append(summary, steps);
  return details;
}

function silenceRow(silence) {
  const item = document.createElement('li');
  item.className = `silence ${silence.state}`;
  item.dataset.silenceId = String(silence.id);
  item.dataset.state = silence.state;
  const matchers = document.createElement('code');
  matchers.textContent = silence.matchers;
  const facts = document.createElement('p');
  facts.textContent = `${silence.state}, ${localTime(silence.starts)} – ${localTime(silence.ends)}${silence.comment ? ` · ${silence.comment}` : ''}`;
  item.append(matchers, facts);
  if (silence.state !== 'expired') {
    const button = document.createElement('button');
    button.textContent = 'Expire';
    button.dataset.action = 'expire';
    button.onclick = () => expire(silence, button);
    item.append(button);
  }
  return item;
}

async function refreshAlerts() {
  const { alerts, silences } = await api('GET', '/api/alerts');
  // The socket's `alerts` are the fresher while it is up; HTTP keeps the
  // list right when it is not. Silences come only from here.
  if (!state.connected) state.alerts = alerts;
  state.silences = silences;
  state.alertsDirty = true;
  schedule();
}

async function silence(alert, button) {
  button.disabled = true;
  const labels = Object.entries(alert.series.labels ?? {}).map(([key, value]) => `,${key}=${quote(value)}`).join('');
  try {
    await api('POST', '/api/silences', {
      matchers: `{alertname=${quote(alert.rule)}${labels}}`,
      duration_ms: SILENCE_MS,
      comment: 'silenced for 1 h from the dashboard',
    });
    toast(`Silenced ${alert.rule} on ${seriesText(alert.series)} for an hour.`);
    await refreshAlerts();
  } catch (error) {
    toast(`Could not silence ${alert.rule}: ${error.message}`);
    button.disabled = false;
  }
}

async function expire(silence, button) {
  button.disabled = true;
  try {
    await api('DELETE', `/api/silences/${silence.id}`);
    await refreshAlerts();
  } catch (error) {
    toast(`Could not expire silence ${silence.id}: ${error.message}`);
    button.disabled = false;
  }
}

// ------------------------------------------------------------ start
async function applyFilter(event) {
  event.preventDefault();
  const filter = normaliseFilter($('#filter').value);
  if (filter === state.filter) return;
  // Ask the server whether the matchers parse before dropping the panels'
  // working subscriptions for a selector it would refuse.
  try {
    await api('GET', `/api/series?match=${encodeURIComponent(`{${filter}}`)}`);
  } catch (error) {
    $('#filter').setAttribute('aria-invalid', 'true');
    $('#filter-error').textContent = error.message;
    return;
  }
  $('#filter').removeAttribute('aria-invalid');
  $('#filter-error').textContent = '';
  state.filter = filter;
  applyView();
}

// Every 10 s; a failure is shown once, not every time it repeats.
function refresh() {
  const failed = (what) => (error) => {
    const message = `Could not ${what}: ${error.message}`;
    if (message !== state.lastRefreshError) toast(message);
    state.lastRefreshError = message;
  };
  syncClock().catch(failed('read the server\'s clock'));
  refreshMetrics().catch(failed('list the metrics'));
  refreshAlerts().catch(failed('read the alerts'));
}

window.dashboard = {
  panels: () => [...state.panels.values()].map((panel) => ({
    name: panel.name,
    selector: selectorFor(panel.name),
    series: panel.info.length,
    points: pointCount(panel),
    draws: panel.draws,
    seqGaps: panel.seqGaps,
    dropped: panel.dropped,
  })),
  alerts: () => state.alerts.map((alert) => ({ ...alert })),
  silences: () => state.silences.map((silence) => ({ ...silence })),
  connected: () => state.connected,
};

$('#filter-form').addEventListener('submit', applyFilter);
for (const radio of document.querySelectorAll('input[name=range]')) {
  radio.addEventListener('change', () => {
    state.range = radio.value;
    applyView();
  });
}
document.addEventListener('visibilitychange', () => document.hidden || schedule());
// The clock first: the first subscriptions' `since` depends on it.
syncClock().catch(() => {}).finally(() => {
  connect();
  refresh();
  setInterval(refresh, REFRESH_MS);
});
