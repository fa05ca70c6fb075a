// The collaborative editor's page. Every edit, transform and undo happens in
// the replica compiled from Rust (pkg/editor_wasm.js); this file draws the
// document, turns keystrokes into edits and carries the protocol's JSON.
import init, { Editor, transformSelection } from './pkg/editor_wasm.js';

const $ = (selector) => document.querySelector(selector);
const INLINE = ['bold', 'italic', 'underline', 'link'];
const TOAST_MS = 5000;

const state = {
  token: localStorage.getItem('editor.token'),
  name: localStorage.getItem('editor.name'),
  docId: null,
  client: `p${Math.random().toString(36).slice(2, 10)}`,
  editor: null,
  socket: null,
  role: null,
  others: new Map(), // client -> {name, colour, selection}
  backoff: 500,
  typing: null, // attributes for the next typed text, after a toolbar toggle
};

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
    headers: {
      'Content-Type': 'application/json',
      ...(state.token ? { Authorization: `Bearer ${state.token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const value = text ? JSON.parse(text) : null;
  if (!response.ok) {
    throw new Error(value?.message ?? `${method} ${path}: ${response.status}`);
  }
  return value;
}

// ------------------------------------------------------------ positions
// The model counts Unicode scalar values; the DOM counts UTF-16 units.
const points = (text) => Array.from(text).length;
function unitsFor(text, count) {
  let units = 0;
  for (const ch of text) {
    if (count === 0) break;
    units += ch.length;
    count -= 1;
  }
  return units;
}

function lines() {
  return Array.from($('#text').children);
}

function domToOffset(node, offset) {
  const root = $('#text');
  if (node === root) {
    const line = lines()[offset];
    return line ? Number(line.dataset.from) : state.editor.length();
  }
  let line = node.nodeType === Node.ELEMENT_NODE ? node : node.parentElement;
  while (line && line.parentElement !== root) line = line.parentElement;
  if (!line) return 0;
  const range = document.createRange();
  range.setStart(line, 0);
  range.setEnd(node, offset);
  return Number(line.dataset.from) + points(range.toString());
}

function offsetToDom(position) {
  for (const line of lines()) {
    const from = Number(line.dataset.from);
    const to = Number(line.dataset.to);
    if (position < from || position > to) continue;
    let left = position - from;
    const walker = document.createTreeWalker(line, NodeFilter.SHOW_TEXT);
    let last = null;
    for (let text = walker.nextNode(); text; text = walker.nextNode()) {
      const count = points(text.data);
      if (left <= count) return [text, unitsFor(text.data, left)];
      left -= count;
      last = text;
    }
    return last ? [last, last.data.length] : [line, 0];
  }
  const all = lines();
  const line = all[all.length - 1];
  return [line, line ? line.childNodes.length : 0];
}

function selection() {
  const selected = getSelection();
  if (!selected.rangeCount || !$('#text').contains(selected.anchorNode)) return null;
  const anchor = domToOffset(selected.anchorNode, selected.anchorOffset);
  const head = domToOffset(selected.focusNode, selected.focusOffset);
  return { anchor, head, from: Math.min(anchor, head), to: Math.max(anchor, head) };
}

function select(anchor, head = anchor) {
  const [anchorNode, anchorOffset] = offsetToDom(anchor);
  const [headNode, headOffset] = offsetToDom(head);
  getSelection().setBaseAndExtent(anchorNode, anchorOffset, headNode, headOffset);
}

// ------------------------------------------------------------ drawing
function render() {
  const doc = JSON.parse(state.editor.docJson());
  const chars = Array.from(doc.text);
  const attrs = chars.map(() => ({}));
  for (const [key, spans] of Object.entries(doc.marks ?? {})) {
    for (const span of spans) {
      for (let i = span.from; i < span.to; i += 1) attrs[i][key] = span.value;
    }
  }
  const root = $('#text');
  root.replaceChildren();
  let start = 0;
  for (let i = 0; i <= chars.length; i += 1) {
    if (i < chars.length && chars[i] !== '\n') continue;
    const line = document.createElement('div');
    line.className = 'line';
    const block = i < chars.length ? attrs[i] : {};
    if (block.heading) line.classList.add(`h${block.heading}`);
    if (block.list) line.classList.add(block.list);
    line.dataset.from = String(start);
    line.dataset.to = String(i);
    let run = null;
    let runKey = null;
    for (let j = start; j < i; j += 1) {
      const inline = INLINE.map((key) => attrs[j][key] ?? '').join('|');
      if (inline !== runKey) {
        run = document.createElement(attrs[j].link ? 'a' : 'span');
        if (attrs[j].link) run.href = attrs[j].link;
        if (attrs[j].bold) run.style.fontWeight = '700';
        if (attrs[j].italic) run.style.fontStyle = 'italic';
        if (attrs[j].underline) run.style.textDecoration = 'underline';
        line.append(run);
        runKey = inline;
      }
      run.append(chars[j]);
    }
    if (start === i) line.append(document.createElement('br'));
    root.append(line);
    start = i + 1;
  }
  $('[data-role=revision]').textContent = String(state.editor.revision());
  drawCursors();
  drawToolbar();
}

function caretRect(position) {
  const [node, offset] = offsetToDom(position);
  const range = document.createRange();
  range.setStart(node, offset);
  range.collapse(true);
  const rects = range.getClientRects();
  if (rects.length) return rects[0];
  const element = node.nodeType === Node.ELEMENT_NODE ? node : node.parentElement;
  return element.getBoundingClientRect();
}

function drawCursors() {
  const layer = $('#cursors');
  layer.replaceChildren();
  const origin = $('#page').getBoundingClientRect();
  for (const [client, other] of state.others) {
    if (!other.selection) continue;
    const rect = caretRect(Math.min(other.selection.head, state.editor.length()));
    const caret = document.createElement('div');
    caret.className = 'caret';
    caret.dataset.client = client;
    caret.style.background = other.colour;
    caret.style.left = `${rect.left - origin.left}px`;
    caret.style.top = `${rect.top - origin.top}px`;
    caret.style.height = `${rect.height || 20}px`;
    const label = document.createElement('span');
    label.textContent = other.name;
    label.style.background = other.colour;
    caret.append(label);
    layer.append(caret);
  }
  const people = $('#people');
  people.replaceChildren();
  const me = document.createElement('li');
  me.textContent = `${state.name} (you)`;
  me.style.background = state.colour ?? '#555';
  people.append(me);
  for (const other of state.others.values()) {
    const item = document.createElement('li');
    item.textContent = other.name;
    item.style.background = other.colour;
    people.append(item);
  }
}

function drawToolbar() {
  const editable = state.role !== 'viewer';
  for (const button of document.querySelectorAll('#toolbar button')) {
    if (button.dataset.format || button.dataset.block) button.disabled = !editable;
  }
  $('[data-action=undo]').disabled = !editable || !state.editor.canUndo();
  $('[data-action=redo]').disabled = !editable || !state.editor.canRedo();
  const at = selection();
  const attrs = at ? JSON.parse(state.editor.attributesAt(Math.max(at.from - 1, 0))) : {};
  for (const button of document.querySelectorAll('[data-format]')) {
    const on = (state.typing ?? attrs)[button.dataset.format];
    button.classList.toggle('on', Boolean(on));
  }
}

// ------------------------------------------------------------ editing
function send(message) {
  if (message && state.socket?.readyState === WebSocket.OPEN) state.socket.send(message);
}

function local(change) {
  let message;
  try {
    message = change();
  } catch (error) {
    toast(`That edit could not be applied: ${error.message}`);
    return;
  }
  send(message);
}

function typingAttributes(from) {
  if (state.typing) return state.typing;
  if (from === 0) return {};
  const attrs = JSON.parse(state.editor.attributesAt(from - 1));
  return Object.fromEntries(Object.entries(attrs).filter(([key]) => INLINE.includes(key)));
}

function replace(from, to, text) {
  const attributes = text === '\n' ? {} : typingAttributes(from);
  local(() => state.editor.replace(from, to, text, JSON.stringify(attributes)));
  state.typing = null;
  render();
  select(from + points(text));
}

function onBeforeInput(event) {
  if (!state.editor || state.role === 'viewer') {
    event.preventDefault();
    return;
  }
  const at = selection();
  if (!at) return;
  let { from, to } = at;
  const targets = event.getTargetRanges?.() ?? [];
  if (targets.length && event.inputType.startsWith('delete')) {
    from = domToOffset(targets[0].startContainer, targets[0].startOffset);
    to = domToOffset(targets[0].endContainer, targets[0].endOffset);
  }
  switch (event.inputType) {
    case 'insertText':
    case 'insertReplacementText':
      event.preventDefault();
      replace(from, to, event.data ?? event.dataTransfer?.getData('text/plain') ?? '');
      break;
    case 'insertParagraph':
    case 'insertLineBreak':
      event.preventDefault();
      replace(from, to, '\n');
      break;
    case 'insertFromPaste':
    case 'insertFromDrop':
      event.preventDefault();
      replace(from, to, event.dataTransfer?.getData('text/plain') ?? '');
      break;
    case 'formatBold':
    case 'formatItalic':
    case 'formatUnderline':
      event.preventDefault();
      toggle(event.inputType.slice(6).toLowerCase());
      break;
    case 'historyUndo':
    case 'historyRedo':
      event.preventDefault();
      undoRedo(event.inputType === 'historyUndo' ? 'undo' : 'redo');
      break;
    default:
      if (event.inputType.startsWith('delete')) {
        event.preventDefault();
        if (from === to && !targets.length) {
          if (event.inputType.includes('Backward')) from = Math.max(0, from - 1);
          else to = Math.min(state.editor.length(), to + 1);
        }
        if (from !== to) replace(from, to, '');
      }
  }
}

function toggle(key, value = 'true') {
  const at = selection();
  if (!at) return;
  if (at.from === at.to) {
    const attrs = typingAttributes(at.from);
    state.typing = { ...attrs };
    if (attrs[key]) delete state.typing[key];
    else state.typing[key] = value;
    drawToolbar();
    return;
  }
  let all = true;
  for (let i = at.from; i < at.to; i += 1) {
    if (!JSON.parse(state.editor.attributesAt(i))[key]) all = false;
  }
  local(() => state.editor.format(at.from, at.to, key, all ? undefined : value));
  render();
  select(at.anchor, at.head);
}

function block(key, value) {
  const at = selection();
  if (!at) return;
  const text = Array.from(state.editor.text());
  if (!text.slice(at.to).includes('\n')) {
    local(() => state.editor.replace(text.length, text.length, '\n', '{}'));
    text.push('\n');
  }
  let start = at.from;
  while (start > 0 && text[start - 1] !== '\n') start -= 1;
  for (let i = start; i < text.length; i += 1) {
    if (text[i] !== '\n') continue;
    const current = JSON.parse(state.editor.attributesAt(i))[key];
    local(() => state.editor.format(i, i + 1, key, current === value ? undefined : value));
    if (i >= at.to) break;
  }
  render();
  select(at.anchor, at.head);
}

function undoRedo(which) {
  const at = selection();
  local(() => (which === 'undo' ? state.editor.undo() : state.editor.redo()));
  render();
  if (at) select(Math.min(at.head, state.editor.length()));
}

let lastSent = '';
function onSelectionChange() {
  const at = selection();
  if (!at || !state.editor) return;
  drawToolbar();
  const message = JSON.stringify({ type: 'select', selection: { anchor: at.anchor, head: at.head } });
  if (message !== lastSent) {
    lastSent = message;
    send(message);
  }
}

// ------------------------------------------------------------ the server
function onMessage(event) {
  const message = JSON.parse(event.data);
  switch (message.type) {
    case 'welcome':
      state.editor = new Editor(state.client, JSON.stringify(message.doc), message.revision, 1);
      welcomed(message);
      break;
    case 'catch_up':
      for (const logged of message.edits) {
        const applied = state.editor.catchUp(JSON.stringify(logged));
        send(applied);
      }
      send(state.editor.resend());
      welcomed(message);
      break;
    case 'ack': {
      // Only the edit in flight can be acknowledged: an ack for another
      // seq (a server's mistake) would otherwise acknowledge the wrong one.
      const inFlight = state.editor.resend();
      if (!inFlight || JSON.parse(inFlight).seq !== message.seq) {
        console.warn(`ignored an ack for edit ${message.seq}, which is not in flight`);
        break;
      }
      send(state.editor.acknowledge());
      drawToolbar();
      break;
    }
    case 'remote': {
      const at = selection();
      const applied = state.editor.receive(JSON.stringify(message.edit));
      for (const other of state.others.values()) {
        if (!other.selection) continue;
        const [anchor, head] = transformSelection(other.selection.anchor, other.selection.head, applied);
        other.selection = { anchor, head };
      }
      render();
      if (at) {
        const [anchor, head] = transformSelection(at.anchor, at.head, applied);
        select(anchor, head);
      }
      break;
    }
    case 'presence':
      state.others.set(message.participant.client, message.participant);
      drawCursors();
      break;
    case 'left':
      state.others.delete(message.client);
      drawCursors();
      break;
    case 'role':
      state.role = message.role;
      showRole();
      toast(message.role ? `You are now ${message.role} of this document.` : 'You are no longer a member of this document.');
      break;
    case 'error':
      toast(message.message);
      if (message.code === 'too_far_behind') location.reload();
      break;
    default:
      break;
  }
}

function welcomed(message) {
  state.role = message.role;
  state.colour = message.you.colour;
  state.others = new Map(message.participants.map((p) => [p.client, p]));
  state.backoff = 500;
  showRole();
  render();
}

function showRole() {
  const viewer = state.role === 'viewer';
  $('#text').contentEditable = String(!viewer && state.role !== null);
  $('[data-role=banner]').hidden = !viewer;
  $('[data-role=banner]').textContent = viewer ? 'View only: you can read this document and see the others, but not change it.' : '';
  $('[data-role=share-button]').hidden = state.role !== 'owner';
  drawToolbar();
}

function connect() {
  const since = state.editor ? `&since=${state.editor.revision()}` : '';
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const url = `${scheme}://${location.host}/ws/${encodeURIComponent(state.docId)}?token=${state.token}&client=${state.client}${since}`;
  const socket = new WebSocket(url);
  state.socket = socket;
  $('#status').textContent = 'connecting…';
  socket.onopen = () => {
    $('#status').textContent = 'connected';
    $('#status').className = 'connected';
  };
  socket.onmessage = onMessage;
  socket.onclose = (event) => {
    $('#status').className = '';
    state.others.clear();
    if (state.editor) drawCursors();
    if (event.code === 1008 && /member/.test(event.reason)) {
      $('#status').textContent = 'no access';
      return;
    }
    const delay = state.backoff;
    state.backoff = Math.min(state.backoff * 2, 10000);
    $('#status').textContent = `offline: reconnecting in ${Math.round(delay / 1000)} s`;
    setTimeout(connect, delay);
  };
}

// ------------------------------------------------------------ panels
async function showHistory() {
  const panel = $('[data-role=history]');
  panel.hidden = !panel.hidden;
  if (panel.hidden) return;
  const list = await api('GET', `/api/docs/${state.docId}/versions`);
  const items = $('[data-role=versions]');
  items.replaceChildren();
  for (const [name, revision] of Object.entries(list.names)) {
    const item = document.createElement('li');
    item.textContent = `${name} (revision ${revision}) `;
    for (const [label, action] of [['view', viewVersion], ['compare', compareVersion], ['restore', restoreVersion]]) {
      const button = document.createElement('button');
      button.textContent = label;
      button.dataset.version = name;
      button.onclick = () => action(revision).catch((error) => toast(error.message));
      item.append(button);
    }
    items.append(item);
  }
}

async function viewVersion(revision) {
  const doc = await api('GET', `/api/docs/${state.docId}/versions/${revision}`);
  const view = $('[data-role=version-view]');
  view.replaceChildren();
  const pre = document.createElement('pre');
  pre.textContent = doc.text;
  view.append(pre);
}

async function compareVersion(revision) {
  const now = state.editor.revision();
  const [old, edit] = await Promise.all([
    api('GET', `/api/docs/${state.docId}/versions/${revision}`),
    api('GET', `/api/docs/${state.docId}/diff?from=${revision}&to=${now}`),
  ]);
  const view = $('[data-role=version-view]');
  view.replaceChildren();
  const pre = document.createElement('pre');
  const chars = Array.from(old.text);
  let at = 0;
  for (const component of edit.text) {
    if (typeof component === 'number' && component > 0) {
      pre.append(chars.slice(at, at + component).join(''));
      at += component;
    } else if (typeof component === 'number') {
      const removed = document.createElement('del');
      removed.textContent = chars.slice(at, at - component).join('');
      pre.append(removed);
      at -= component;
    } else {
      const added = document.createElement('ins');
      added.textContent = component;
      pre.append(added);
    }
  }
  view.append(pre);
}

async function restoreVersion(revision) {
  await api('POST', `/api/docs/${state.docId}/restore`, { revision });
  toast(`Restored revision ${revision} for everyone.`);
}

async function share(role) {
  const { code } = await api('POST', `/api/docs/${state.docId}/links`, { role });
  const url = `${location.origin}/d/${encodeURIComponent(state.docId)}?join=${code}`;
  $('[data-role=share-url]').value = url;
  $('[data-role=share-url]').select();
  navigator.clipboard?.writeText(url).catch(() => {});
}

// ------------------------------------------------------------ start
async function identify() {
  if (state.token) return;
  $('#welcome').hidden = false;
  await new Promise((resolve) => {
    $('#name-form').onsubmit = async (event) => {
      event.preventDefault();
      try {
        const user = await api('POST', '/api/users', { name: $('#name').value });
        state.token = user.token;
        state.name = user.name;
        localStorage.setItem('editor.token', user.token);
        localStorage.setItem('editor.name', user.name);
        resolve();
      } catch (error) {
        toast(error.message);
      }
    };
  });
  $('#name-form').hidden = true;
}

async function main() {
  await init();
  await identify();
  const match = location.pathname.match(/^\/d\/([^/]+)$/);
  if (!match) {
    $('#welcome').hidden = false;
    $('#name-form').hidden = true;
    $('#new-doc').hidden = false;
    $('#new-doc').onclick = async () => {
      try {
        const { id } = await api('POST', '/api/docs', {});
        location.assign(`/d/${id}`);
      } catch (error) {
        toast(error.message);
      }
    };
    $('#status').textContent = '';
    return;
  }
  state.docId = decodeURIComponent(match[1]);
  $('#doc-name').textContent = state.docId;
  const code = new URLSearchParams(location.search).get('join');
  if (code) {
    try {
      await api('POST', `/api/docs/${state.docId}/join`, { code });
    } catch (error) {
      toast(error.message);
    }
    history.replaceState(null, '', `/d/${encodeURIComponent(state.docId)}`);
  }
  $('#welcome').hidden = true;
  $('#workspace').hidden = false;
  const text = $('#text');
  text.addEventListener('beforeinput', onBeforeInput);
  text.addEventListener('keydown', (event) => {
    const key = event.key.toLowerCase();
    if (!(event.ctrlKey || event.metaKey)) return;
    if (key === 'z' || key === 'y') {
      event.preventDefault();
      undoRedo(key === 'y' || event.shiftKey ? 'redo' : 'undo');
    } else if (key === 'b' || key === 'i' || key === 'u') {
      event.preventDefault();
      toggle({ b: 'bold', i: 'italic', u: 'underline' }[key]);
    }
  });
  document.addEventListener('selectionchange', onSelectionChange);
  for (const button of document.querySelectorAll('[data-format]')) {
    button.onmousedown = (event) => event.preventDefault();
    button.onclick = () => {
      if (button.dataset.format === 'link') {
        const url = prompt('Link to');
        if (url) toggle('link', url);
      } else {
        toggle(button.dataset.format);
      }
    };
  }
  for (const button of document.querySelectorAll('[data-block]')) {
    button.onmousedown = (event) => event.preventDefault();
    button.onclick = () => block(button.dataset.block, button.dataset.value);
  }
  $('[data-action=undo]').onclick = () => undoRedo('undo');
  $('[data-action=redo]').onclick = () => undoRedo('redo');
  $('[data-action=history]').onclick = () => showHistory().catch((error) => toast(error.message));
  $('[data-action=share]').onclick = () => { $('[data-role=share]').hidden = !$('[data-role=share]').hidden; };
  for (const button of document.querySelectorAll('[data-share]')) {
    button.onclick = () => share(button.dataset.share).catch((error) => toast(error.message));
  }
  $('#save-version').onsubmit = async (event) => {
    event.preventDefault();
    try {
      await api('POST', `/api/docs/${state.docId}/versions`, { name: $('[data-role=version-name]').value, revision: state.editor.revision() });
      $('[data-role=version-name]').value = '';
      $('[data-role=history]').hidden = true;
      await showHistory();
    } catch (error) {
      toast(error.message);
    }
  };
  window.addEventListener('resize', () => state.editor && drawCursors());
  connect();
}

main().catch((error) => toast(`The editor could not start: ${error.message}`));
