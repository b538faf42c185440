// Ferry web console: one page served by a keeper (ZooKeeper views) or a broker (Kafka views).
//
// The page knows the server only through /console/api/* (JSON). The current view is named by
// the URL hash (#topics, #topic/NAME, #znodes/a/b, #messages/T/P?offset=N ...), so views can be
// bookmarked and the back button works. Each view is mounted once per hash (its forms are built
// then) and its data sections are refreshed every 2 s; a refresh never touches the forms, so an
// operator typing is never interrupted.
'use strict';

const API = '/console/api';
const REFRESH_MS = 2000;
const AUTH_KEY = 'ferry.console.auth'; // base64(user:password), per browser tab

const state = {
  session: null, // GET /session
  view: null, // the mounted view: {name, update(), inflight}
  errorSource: null, // 'load' errors clear themselves on the next good refresh; others stay
};

// ----- escaping -------------------------------------------------------------------------------

// Everything inserted into the DOM goes through `html`, which escapes every interpolated value
// (znode data, keys and values of messages are user data) unless it is itself html`...`.
class Raw {
  constructor(text) { this.text = text; }
  toString() { return this.text; }
}

function esc(value) {
  return String(value).replace(/[&<>"']/g, (c) => (
    { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}

function piece(value) {
  if (value instanceof Raw) return value.text;
  if (Array.isArray(value)) return value.map(piece).join('');
  if (value === null || value === undefined || value === false) return '';
  return esc(value);
}

function html(strings, ...values) {
  return new Raw(strings.reduce((out, s, i) => out + s + (i < values.length ? piece(values[i]) : ''), ''));
}

// Replaces an element's content only when it changed: fewer repaints, and the elements a user
// (or a test) is about to click survive refreshes that bring nothing new.
function setHtml(element, raw) {
  const text = String(raw);
  if (element.dataset.rendered !== text) {
    element.innerHTML = text;
    element.dataset.rendered = text;
  }
}

const $ = (selector, root = document) => root.querySelector(selector);

// ----- formatting -----------------------------------------------------------------------------

const none = html`<span class="none">&ndash;</span>`;
const orNone = (v) => (v === null || v === undefined || v === '' ? none : v);

function bytes(n) {
  if (n === null || n === undefined) return none;
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const text = unit === 0 ? `${n} B` : `${value.toFixed(1)} ${units[unit]}`;
  return html`<span title="${n} bytes">${text}</span>`;
}

function isoTime(ms) {
  if (ms === null || ms === undefined || ms < 0) return none;
  try {
    return new Date(ms).toISOString();
  } catch {
    return String(ms);
  }
}

// Lists the server may leave out or send as null are read through `list`.
const list = (v) => (Array.isArray(v) ? v : []);

const hex = (n) => (typeof n === 'number' ? `0x${n.toString(16)}` : orNone(n));
const ms = (v) => (v === null || v === undefined ? none : Number(v).toFixed(2));

// A count that is bad when non-zero (under-replicated, offline, lag).
function alarm(n, level = 'warn') {
  if (n === null || n === undefined) return html`<td class="num">${none}</td>`;
  return html`<td class="num ${n > 0 ? level : ''}">${n}</td>`;
}

const num = (v) => html`<td class="num">${orNone(v)}</td>`;

// headers: 'Name' or ['Size', 'num'] (right-aligned); rows: html`<tr>...</tr>` items.
function table(headers, rows, cls = '') {
  const head = headers.map((h) => (Array.isArray(h) ? html`<th class="${h[1]}">${h[0]}</th>` : html`<th>${h}</th>`));
  const body = rows.length ? rows : html`<tr><td class="empty" colspan="${headers.length}">none</td></tr>`;
  return html`<table class="grid ${cls}"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

// ----- the server -----------------------------------------------------------------------------

class ApiError extends Error {
  constructor(message, status, code = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.handled = false; // true when the login form already took care of it
  }
}

// UTF-8 safe base64 (btoa alone rejects characters outside Latin-1).
function base64(text) {
  return btoa(String.fromCharCode(...new TextEncoder().encode(text)));
}

async function api(path, { method = 'GET', body, headers = {} } = {}) {
  const sent = { ...headers };
  const auth = sessionStorage.getItem(AUTH_KEY);
  if (auth) sent.Authorization = `Basic ${auth}`;
  if (body !== undefined) sent['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(API + path, {
      method, headers: sent, cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    throw new ApiError(`cannot reach the server (${error.message})`, 0);
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (response.ok) return data;
  const message = (data && data.error) || `HTTP ${response.status} ${response.statusText}`;
  const error = new ApiError(message, response.status, data && data.code);
  if (response.status === 401) {
    // Credentials gone or changed on the server: back to the login form.
    sessionStorage.removeItem(AUTH_KEY);
    showLogin(message);
    error.handled = true;
  }
  throw error;
}

const q = (params) => new URLSearchParams(params).toString();

// ----- alerts and the "updated" indicator --------------------------------------------------------

function showError(error, source = 'action') {
  if (error && error.handled) return;
  const message = error instanceof Error ? error.message : String(error);
  const code = error && error.code;
  $('#error-text').textContent = code && !message.includes(code) ? `${code}: ${message}` : message;
  $('#error').hidden = false;
  state.errorSource = source;
}

function clearError(source) {
  if (source === undefined || state.errorSource === source) {
    $('#error').hidden = true;
    $('#error-text').textContent = '';
    state.errorSource = null;
  }
}

// A success message, shown on the view it belongs to (`forHash`: the view a change leads to)
// and dropped when the operator moves on to another one.
let noticeTimer = null;
let noticeHash = null;
function notice(message, forHash = location.hash) {
  const box = $('#notice');
  box.textContent = message;
  box.hidden = false;
  noticeHash = forHash;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => { box.hidden = true; }, 5000);
}

function clearNotice() {
  if (noticeHash !== location.hash) $('#notice').hidden = true;
}

function markUpdated() {
  const time = new Date().toTimeString().slice(0, 8);
  $('#updated-at').textContent = `updated ${time}`;
}

// Runs a change (create, save, delete): its error stays shown until the next change or view.
async function act(button, work) {
  clearError();
  $('#notice').hidden = true;
  if (button) button.disabled = true;
  try {
    await work();
  } catch (error) {
    showError(error, 'action');
  } finally {
    if (button) button.disabled = false;
  }
}

// ----- session and login ----------------------------------------------------------------------

const readOnly = () => !state.session || state.session.read_only;

function renderChrome() {
  const s = state.session;
  $('#node-name').textContent = s.node || s.served_by || '';
  $('#read-only').hidden = !s.read_only;
  for (const link of document.querySelectorAll('#nav a')) {
    link.hidden = !s[link.dataset.source];
  }
  $('#logout').hidden = !(s.auth_required && s.authenticated);
  document.body.classList.toggle('is-read-only', !!s.read_only);
}

function showLogin(message) {
  state.view = null;
  $('#nav').hidden = true;
  $('#logout').hidden = true;
  $('#updated-at').textContent = '';
  const main = $('#main');
  main.innerHTML = html`
    <section id="view-login" class="login">
      <form id="login-form" class="panel" autocomplete="on">
        <h2>Log in to ${state.session ? state.session.node : 'Ferry'}</h2>
        <label>User <input id="login-user" name="user" autocomplete="username" required></label>
        <label>Password <input id="login-password" name="password" type="password"
          autocomplete="current-password"></label>
        <button id="login-submit" type="submit">Log in</button>
      </form>
    </section>`;
  if (message) showError(message, 'auth');
  $('#login-form').addEventListener('submit', (event) => {
    event.preventDefault();
    logIn($('#login-user').value, $('#login-password').value);
  });
  $('#login-user').focus();
}

async function logIn(user, password) {
  sessionStorage.setItem(AUTH_KEY, base64(`${user}:${password}`));
  $('#login-submit').disabled = true;
  try {
    const session = await api('/session');
    state.session = session;
    if (!session.authenticated) {
      sessionStorage.removeItem(AUTH_KEY);
      showError('Wrong user or password.', 'auth');
      $('#login-submit').disabled = false;
      $('#login-password').select();
      return;
    }
    clearError();
    renderChrome();
    route();
  } catch (error) {
    sessionStorage.removeItem(AUTH_KEY);
    showError(error, 'auth');
    const button = $('#login-submit');
    if (button) button.disabled = false;
  }
}

async function logOut() {
  sessionStorage.removeItem(AUTH_KEY);
  clearError();
  await start();
}

// ----- routing --------------------------------------------------------------------------------

// #view/arg1/arg2?query; each arg is URI-encoded (topic and group names may contain '/').
function parseHash() {
  const raw = location.hash.replace(/^#/, '');
  const [path, query = ''] = raw.split('?');
  const parts = path.split('/').map((part) => {
    try {
      return decodeURIComponent(part);
    } catch {
      return part;
    }
  });
  return { name: parts[0], args: parts.slice(1).filter((a) => a !== ''), query: new URLSearchParams(query) };
}

function hashOf(name, args = [], query = null) {
  const path = [name, ...args.map((a) => encodeURIComponent(a))].join('/');
  const search = query ? new URLSearchParams(query).toString() : '';
  return `#${path}${search ? `?${search}` : ''}`;
}

const VIEWS = {
  ensemble: { source: 'zookeeper', nav: 'ensemble', mount: mountEnsemble },
  znodes: { source: 'zookeeper', nav: 'znodes', mount: mountZnodes },
  brokers: { source: 'kafka', nav: 'brokers', mount: mountBrokers },
  topics: { source: 'kafka', nav: 'topics', mount: mountTopics },
  topic: { source: 'kafka', nav: 'topics', mount: mountTopic },
  groups: { source: 'kafka', nav: 'groups', mount: mountGroups },
  group: { source: 'kafka', nav: 'groups', mount: mountGroup },
  messages: { source: 'kafka', nav: 'messages', mount: mountMessages },
};

function defaultView() {
  return state.session.kafka ? 'topics' : 'ensemble';
}

function route() {
  const s = state.session;
  if (!s || (s.auth_required && !s.authenticated)) return;
  const target = parseHash();
  const spec = VIEWS[target.name];
  if (!spec || !s[spec.source]) {
    // Unknown view, or one whose source this server lacks: its default view instead.
    history.replaceState(null, '', hashOf(defaultView()));
    target.name = defaultView();
    target.args = [];
  }
  const { nav, mount } = VIEWS[target.name];
  $('#nav').hidden = false;
  for (const link of document.querySelectorAll('#nav a')) {
    link.classList.toggle('active', link.id === `nav-${nav}`);
  }
  clearError();
  clearNotice();
  const main = $('#main');
  main.innerHTML = '';
  const root = document.createElement('section');
  root.id = `view-${target.name}`;
  root.className = 'view';
  main.appendChild(root);
  state.view = { name: target.name, inflight: null, ...mount(root, target) };
  load();
}

// Loads the current view's data. Loads of one view run one after another (an older answer
// never overwrites a newer one); the timer skips a tick while one is still running.
async function load(fromTimer = false) {
  const view = state.view;
  if (!view || (fromTimer && view.inflight)) return;
  const run = async () => {
    try {
      await view.update();
      if (view === state.view) {
        markUpdated();
        clearError('load');
      }
    } catch (error) {
      if (view === state.view) showError(error, 'load');
    }
  };
  const mine = (view.inflight || Promise.resolve()).then(run);
  view.inflight = mine;
  await mine;
  if (view.inflight === mine) view.inflight = null;
}

function tick() {
  if (document.hidden) return;
  load(true);
}

// ----- ensemble -------------------------------------------------------------------------------

function mountEnsemble(root) {
  root.innerHTML = html`<h2>Ensemble</h2><div class="data"></div>`;
  const data = $('.data', root);
  return {
    async update() {
      setHtml(data, renderEnsemble(await api('/ensemble')));
    },
  };
}

function renderEnsemble({ servers }) {
  const rows = list(servers).map((s) => html`
    <tr class="${s.error ? 'down' : ''}">
      <td>${s.address}</td>
      <td>${s.mode ? html`<span class="mode mode-${s.mode}">${s.mode}</span>` : none}</td>
      <td class="mono">${orNone(s.zxid)}</td>
      ${num(s.connections)}${num(s.outstanding)}
      <td class="num">${ms(s.latency_min)} / ${ms(s.latency_avg)} / ${ms(s.latency_max)}</td>
      ${num(s.node_count)}
      <td>${orNone(s.version)}</td>
      <td class="${s.error ? 'bad' : ''}">${orNone(s.error)}</td>
    </tr>`);
  return table(['Address', 'Mode', 'Zxid', ['Connections', 'num'], ['Outstanding', 'num'],
    ['Latency min/avg/max (ms)', 'num'], ['Nodes', 'num'], 'Version', 'Error'], rows);
}

// ----- znodes ---------------------------------------------------------------------------------

const znodePath = (args) => `/${args.join('/')}`;
const znodeHash = (path) => hashOf('znodes', path.split('/').filter(Boolean));
const childPath = (parent, name) => (parent === '/' ? `/${name}` : `${parent}/${name}`);

function crumbs(path) {
  const parts = path.split('/').filter(Boolean);
  const links = [html`<a class="crumb" href="${znodeHash('/')}">/</a>`];
  parts.forEach((part, i) => {
    const prefix = `/${parts.slice(0, i + 1).join('/')}`;
    links.push(html`<a class="crumb" href="${znodeHash(prefix)}">${part}</a>`);
    if (i < parts.length - 1) links.push(html`<span class="sep">/</span>`);
  });
  return links;
}

function mountZnodes(root, route) {
  const path = znodePath(route.args);
  root.innerHTML = html`
    <h2 class="crumbs">ZNode ${crumbs(path)}</h2>
    <div class="split">
      <aside class="panel children-panel">
        <h3>Children <span class="count"></span></h3>
        <ul class="children"></ul>
      </aside>
      <div class="node">
        <div class="panel">
          <h3>Data <span class="meta data-meta"></span></h3>
          <pre class="znode-text" id="znode-text"></pre>
        </div>
        <div class="columns">
          <div class="panel"><h3>Stat</h3><div class="stat"></div></div>
          <div class="panel"><h3>ACL</h3><div class="acl"></div></div>
        </div>
        ${readOnly() ? '' : znodeForms(path)}
      </div>
    </div>`;
  const editor = { version: -1, dirty: false };
  if (!readOnly()) bindZnodeForms(root, path, editor);
  return {
    async update() {
      renderZnode(root, await api(`/znode?${q({ path })}`), editor);
    },
  };
}

function znodeForms(path) {
  return html`
    <div class="panel changes">
      <h3>Change</h3>
      <label class="inline">ZooKeeper digest auth (for ACL'd nodes)
        <input id="znode-zk-auth" placeholder="user:password" autocomplete="off" spellcheck="false"></label>
      <form id="znode-edit-form">
        <textarea id="znode-data" rows="5" spellcheck="false"></textarea>
        <div class="row">
          <button id="znode-save" type="submit">Save</button>
          <span class="meta editing"></span>
          <span class="grow"></span>
          ${path === '/' ? '' : html`<button id="znode-delete" type="button" class="danger">Delete node</button>`}
        </div>
      </form>
      <form id="znode-create-form">
        <h4>New child of ${path}</h4>
        <div class="row">
          <input id="znode-new-name" placeholder="name" required spellcheck="false">
          <button id="znode-create" type="submit">Create</button>
        </div>
        <textarea id="znode-new-data" rows="2" placeholder="data (optional)" spellcheck="false"></textarea>
      </form>
    </div>`;
}

function bindZnodeForms(root, path, editor) {
  const textarea = $('#znode-data', root);
  const zkAuth = () => $('#znode-zk-auth', root).value.trim() || undefined;
  // Once the operator has changed the text, refreshes leave it (and the version it was based
  // on) alone: the save then fails with BadVersion if someone else changed the node meanwhile.
  const markDirty = () => { editor.dirty = true; };
  textarea.addEventListener('input', markDirty);
  textarea.addEventListener('change', markDirty);

  $('#znode-edit-form', root).addEventListener('submit', (event) => {
    event.preventDefault();
    act($('#znode-save', root), async () => {
      const body = { data: textarea.value, version: editor.version, zk_auth: zkAuth() };
      const node = await api(`/znode?${q({ path })}`, { method: 'PUT', body });
      editor.dirty = false;
      renderZnode(root, node, editor, true);
      notice(`Saved ${path} (version ${node.stat.version}).`);
    });
  });

  const remove = $('#znode-delete', root);
  if (remove) {
    remove.addEventListener('click', () => {
      if (!confirm(`Delete znode ${path}?`)) return;
      act(remove, async () => {
        const headers = zkAuth() ? { 'X-ZK-Auth': zkAuth() } : {};
        await api(`/znode?${q({ path, version: editor.version })}`, { method: 'DELETE', headers });
        const parent = znodeHash(path.slice(0, path.lastIndexOf('/')) || '/');
        notice(`Deleted ${path}.`, parent);
        location.hash = parent;
      });
    });
  }

  $('#znode-create-form', root).addEventListener('submit', (event) => {
    event.preventDefault();
    act($('#znode-create', root), async () => {
      const child = childPath(path, $('#znode-new-name', root).value.trim());
      const body = { data: $('#znode-new-data', root).value, zk_auth: zkAuth() };
      await api(`/znode?${q({ path: child })}`, { method: 'POST', body });
      notice(`Created ${child}.`, znodeHash(child));
      location.hash = znodeHash(child);
    });
  });
}

function renderZnode(root, node, editor, force = false) {
  const children = list(node.children).map((name) => {
    const path = childPath(node.path, name);
    return html`<li><a class="znode-child" data-path="${path}" href="${znodeHash(path)}">${name}</a></li>`;
  });
  setHtml($('.children', root), children.length ? children : html`<li class="none">no children</li>`);
  $('.count', root).textContent = `(${node.stat.numChildren})`;
  $('.znode-text', root).textContent = node.data;
  $('.data-meta', root).textContent = `${node.stat.dataLength} bytes${node.binary ? ', binary: shown lossy' : ''}`;
  setHtml($('.stat', root), renderStat(node.stat));
  setHtml($('.acl', root), table(['Scheme', 'Id', 'Perms'],
    list(node.acl).map((a) => html`<tr><td>${a.scheme}</td><td class="mono">${a.id}</td><td class="mono">${a.perms}</td></tr>`)));

  const textarea = $('#znode-data', root);
  if (!textarea) return;
  const typing = document.activeElement === textarea;
  if (force || (!editor.dirty && !typing)) {
    textarea.value = node.data;
    editor.version = node.stat.version;
  }
  const stale = editor.dirty && editor.version !== node.stat.version;
  $('.editing', root).textContent = stale
    ? `editing version ${editor.version}; the node is now at version ${node.stat.version}`
    : `version ${editor.version}`;
  $('.editing', root).classList.toggle('warn', stale);
}

function renderStat(stat) {
  const rows = [
    ['czxid', hex(stat.czxid)], ['mzxid', hex(stat.mzxid)], ['pzxid', hex(stat.pzxid)],
    ['ctime', html`<span title="${stat.ctime}">${isoTime(stat.ctime)}</span>`],
    ['mtime', html`<span title="${stat.mtime}">${isoTime(stat.mtime)}</span>`],
    ['version', stat.version], ['cversion', stat.cversion], ['aversion', stat.aversion],
    ['ephemeralOwner', stat.ephemeralOwner], ['dataLength', stat.dataLength],
    ['numChildren', stat.numChildren],
  ];
  return html`<table class="grid kv">${rows.map(([k, v]) => html`<tr><th>${k}</th><td class="mono">${v}</td></tr>`)}</table>`;
}

// ----- brokers --------------------------------------------------------------------------------

function mountBrokers(root) {
  root.innerHTML = html`<h2>Brokers</h2><div class="data"></div>`;
  const data = $('.data', root);
  return {
    async update() {
      setHtml(data, renderBrokers(await api('/cluster')));
    },
  };
}

function renderBrokers(cluster) {
  const rows = list(cluster.brokers).map((b) => html`
    <tr data-broker="${b.id}">
      ${num(b.id)}<td>${b.host}</td>${num(b.port)}<td>${orNone(b.rack)}</td>
      <td>${b.controller ? html`<span class="badge controller">controller</span>` : ''}</td>
    </tr>`);
  return html`
    <dl class="facts">
      <dt>Cluster id</dt><dd class="mono">${orNone(cluster.cluster_id)}</dd>
      <dt>Controller</dt><dd>${orNone(cluster.controller)}</dd>
      <dt>Brokers</dt><dd>${list(cluster.brokers).length}</dd>
    </dl>
    ${table([['Id', 'num'], 'Host', ['Port', 'num'], 'Rack', ''], rows)}`;
}

// ----- topics ---------------------------------------------------------------------------------

function mountTopics(root) {
  root.innerHTML = html`
    <h2>Topics</h2>
    ${readOnly() ? '' : html`
      <form id="topic-create-form" class="panel row">
        <strong>New topic</strong>
        <input id="topic-new-name" placeholder="name" required spellcheck="false">
        <label>partitions <input id="topic-new-partitions" type="number" min="1" value="3" class="small"></label>
        <label>replication <input id="topic-new-rf" type="number" min="-1" placeholder="default" class="medium"></label>
        <input id="topic-new-configs" placeholder="configs: k=v, k=v (optional)" class="wide" spellcheck="false">
        <button id="topic-create" type="submit">Create</button>
      </form>`}
    <div class="data"></div>`;
  const data = $('.data', root);
  if (!readOnly()) bindTopicCreate(root);
  return {
    async update() {
      setHtml(data, renderTopics(await api('/topics')));
    },
  };
}

function parseConfigs(text) {
  const configs = {};
  for (const item of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const at = item.indexOf('=');
    if (at < 1) throw new Error(`config "${item}" is not key=value`);
    configs[item.slice(0, at).trim()] = item.slice(at + 1).trim();
  }
  return configs;
}

function bindTopicCreate(root) {
  $('#topic-create-form', root).addEventListener('submit', (event) => {
    event.preventDefault();
    act($('#topic-create', root), async () => {
      const name = $('#topic-new-name', root).value.trim();
      const rf = $('#topic-new-rf', root).value;
      const body = {
        name,
        partitions: Number($('#topic-new-partitions', root).value || 1),
        replication_factor: rf === '' ? -1 : Number(rf),
        configs: parseConfigs($('#topic-new-configs', root).value),
      };
      await api('/topics', { method: 'POST', body });
      $('#topic-new-name', root).value = '';
      notice(`Created topic ${name}.`);
      await load();
    });
  });
}

function renderTopics({ topics }) {
  // User topics first, internal ones (__consumer_offsets) after them.
  const sorted = [...list(topics)].sort((a, b) => (a.internal - b.internal) || a.name.localeCompare(b.name));
  const rows = sorted.map((t) => html`
    <tr data-topic="${t.name}">
      <td><a class="topic-link" href="${hashOf('topic', [t.name])}">${t.name}</a>
        ${t.internal ? html`<span class="badge internal">internal</span>` : ''}</td>
      ${num(t.partitions)}${num(t.replication_factor)}
      ${alarm(t.under_replicated, 'warn')}${alarm(t.offline, 'bad')}
      <td class="num messages">${orNone(t.messages)}</td>
      <td class="num">${bytes(t.size_bytes)}</td>
    </tr>`);
  return table(['Name', ['Partitions', 'num'], ['Replication', 'num'], ['Under-replicated', 'num'],
    ['Offline', 'num'], ['Messages', 'num'], ['Size', 'num']], rows, 'topics');
}

function mountTopic(root, route) {
  const name = route.args[0] || '';
  root.innerHTML = html`
    <h2><a href="#topics">Topics</a> <span class="sep">/</span> <span class="topic-name">${name}</span>
      <span class="grow"></span>
      ${readOnly() ? '' : html`<button id="topic-delete" type="button" class="danger">Delete topic</button>`}</h2>
    <h3>Partitions</h3><div class="partitions"></div>
    <h3>Configs</h3><div class="configs"></div>`;
  const remove = $('#topic-delete', root);
  if (remove) {
    remove.addEventListener('click', () => {
      if (!confirm(`Delete topic ${name} and all its messages?`)) return;
      act(remove, async () => {
        await api(`/topic?${q({ name })}`, { method: 'DELETE' });
        notice(`Deleted topic ${name}.`, '#topics');
        location.hash = '#topics';
      });
    });
  }
  return {
    async update() {
      const topic = await api(`/topic?${q({ name })}`);
      setHtml($('.partitions', root), renderPartitions(topic));
      setHtml($('.configs', root), renderConfigs(topic.configs));
    },
  };
}

function renderPartitions(topic) {
  const rows = list(topic.partitions).map((p) => {
    const [replicas, isr, offline] = [list(p.replicas), list(p.isr), list(p.offline)];
    const under = isr.length < replicas.length;
    return html`
      <tr class="${under ? 'under-replicated' : ''}" data-partition="${p.partition}">
        ${num(p.partition)}
        <td class="num ${p.leader < 0 ? 'bad' : ''}">${p.leader < 0 ? 'none' : p.leader}</td>
        <td>${replicas.join(', ')}</td>
        <td class="${under ? 'warn' : ''}">${isr.join(', ')}</td>
        <td class="${offline.length ? 'bad' : ''}">${offline.length ? offline.join(', ') : none}</td>
        ${num(p.start_offset)}${num(p.end_offset)}
        <td class="num">${typeof p.end_offset === 'number' && typeof p.start_offset === 'number'
    ? p.end_offset - p.start_offset : none}</td>
        <td class="num">${bytes(p.size_bytes)}</td>
        <td><a class="partition-messages" href="${hashOf('messages', [topic.name, String(p.partition)])}">messages</a></td>
      </tr>`;
  });
  return table([['Partition', 'num'], ['Leader', 'num'], 'Replicas', 'ISR', 'Offline replicas',
    ['Start offset', 'num'], ['End offset', 'num'], ['Messages', 'num'], ['Size', 'num'], ''], rows, 'partitions');
}

function renderConfigs(configs) {
  // What the operator set first: defaults are the long, dull part of the list.
  const sorted = [...list(configs)].sort((a, b) => (a.default - b.default) || a.name.localeCompare(b.name));
  const rows = sorted.map((c) => html`
    <tr class="${c.default ? 'default' : 'set'}">
      <td class="mono">${c.name}</td><td class="mono">${orNone(c.value)}</td>
      <td>${c.default ? 'default' : html`<span class="badge set">set</span>`}</td>
    </tr>`);
  return table(['Name', 'Value', ''], rows, 'configs');
}

// ----- groups ---------------------------------------------------------------------------------

function mountGroups(root) {
  root.innerHTML = html`<h2>Consumer groups</h2><div class="data"></div>`;
  const data = $('.data', root);
  return {
    async update() {
      setHtml(data, renderGroups(await api('/groups')));
    },
  };
}

function renderGroups({ groups }) {
  const sorted = [...list(groups)].sort((a, b) => a.group_id.localeCompare(b.group_id));
  const rows = sorted.map((g) => html`
    <tr data-group="${g.group_id}">
      <td><a class="group-link" href="${hashOf('group', [g.group_id])}">${g.group_id}</a></td>
      <td><span class="state state-${g.state}">${g.state}</span></td>
      <td>${orNone(g.protocol_type)}</td>${num(g.members)}${alarm(g.lag, 'warn')}
    </tr>`);
  return table(['Group', 'State', 'Protocol type', ['Members', 'num'], ['Lag', 'num']], rows, 'groups');
}

function mountGroup(root, route) {
  const id = route.args[0] || '';
  root.innerHTML = html`
    <h2><a href="#groups">Consumer groups</a> <span class="sep">/</span> <span class="group-name">${id}</span></h2>
    <div class="summary"></div>
    <h3>Members</h3><div class="members"></div>
    <h3>Offsets</h3><div class="offsets"></div>`;
  return {
    async update() {
      const group = await api(`/group?${q({ id })}`);
      setHtml($('.summary', root), renderGroupSummary(group));
      setHtml($('.members', root), renderMembers(group.members));
      setHtml($('.offsets', root), renderOffsets(group.offsets));
    },
  };
}

function renderGroupSummary(group) {
  const lag = list(group.offsets).reduce((sum, o) => sum + (o.lag || 0), 0);
  return html`
    <dl class="facts">
      <dt>State</dt><dd><span class="state state-${group.state}">${group.state}</span></dd>
      <dt>Protocol</dt><dd>${orNone(group.protocol_type)} / ${orNone(group.protocol)}</dd>
      <dt>Members</dt><dd>${list(group.members).length}</dd>
      <dt>Total lag</dt><dd class="${lag > 0 ? 'warn' : ''}">${lag}</dd>
    </dl>`;
}

function renderMembers(members) {
  const rows = list(members).map((m) => html`
    <tr>
      <td class="mono">${m.member_id}</td><td>${orNone(m.client_id)}</td><td>${orNone(m.host)}</td>
      <td>${list(m.assignment).length
    ? list(m.assignment).map((a) => html`<span class="assignment">${a.topic}: ${list(a.partitions).join(', ')}</span>`)
    : none}</td>
    </tr>`);
  return table(['Member', 'Client', 'Host', 'Assignment'], rows, 'members');
}

function renderOffsets(offsets) {
  const sorted = [...list(offsets)].sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  const rows = sorted.map((o) => html`
    <tr data-topic="${o.topic}" data-partition="${o.partition}">
      <td><a href="${hashOf('topic', [o.topic])}">${o.topic}</a></td>${num(o.partition)}
      <td class="num committed">${orNone(o.committed)}</td><td class="num end">${o.end}</td>
      ${alarm(o.lag, 'warn')}<td class="mono">${orNone(o.member_id)}</td>
    </tr>`);
  return table(['Topic', ['Partition', 'num'], ['Committed', 'num'], ['End', 'num'], ['Lag', 'num'], 'Member'],
    rows, 'offsets');
}

// ----- messages -------------------------------------------------------------------------------

// #messages/TOPIC/PARTITION?offset=N | ?timestamp=MS, &limit=L. Neither: the latest messages.
function mountMessages(root, route) {
  const [topic = '', partition = '0'] = route.args;
  const query = route.query;
  root.innerHTML = html`
    <h2>Messages</h2>
    <form id="msg-form" class="panel row">
      <label>topic <input id="msg-topic" list="msg-topics" value="${topic}" required spellcheck="false"></label>
      <datalist id="msg-topics"></datalist>
      <label>partition <input id="msg-partition" type="number" min="0" value="${partition}" class="small"></label>
      <label>from offset <input id="msg-offset" type="number" min="0" value="${query.get('offset') || ''}" placeholder="latest" class="medium"></label>
      <label>or from time <input id="msg-time" type="datetime-local" step="1" value="${localInput(query.get('timestamp'))}"></label>
      <label>limit <input id="msg-limit" type="number" min="1" max="500" value="${query.get('limit') || '50'}" class="small"></label>
      <button id="msg-load" type="submit">Load</button>
    </form>
    <div class="summary"></div>
    <div class="data"></div>`;
  $('#msg-form', root).addEventListener('submit', (event) => {
    event.preventDefault();
    const target = messagesHash(root);
    if (target === location.hash) load();
    else location.hash = target;
  });
  fillTopicOptions(root);
  return {
    async update() {
      if (!topic) {
        setHtml($('.summary', root), html`<p class="hint">Choose a topic and a partition.</p>`);
        return;
      }
      const params = { topic, partition, limit: query.get('limit') || '50' };
      if (query.get('offset')) params.offset = query.get('offset');
      else if (query.get('timestamp')) params.timestamp = query.get('timestamp');
      const page = await api(`/messages?${q(params)}`);
      setHtml($('.summary', root), renderMessagesSummary(page, params.limit));
      setHtml($('.data', root), renderMessages(page.messages));
    },
  };
}

// The hash the form asks for: an offset wins over a time; neither means the latest messages.
function messagesHash(root) {
  const query = {};
  const offset = $('#msg-offset', root).value;
  const time = $('#msg-time', root).value;
  if (offset !== '') query.offset = offset;
  else if (time) query.timestamp = String(new Date(time).getTime());
  query.limit = $('#msg-limit', root).value || '50';
  const args = [$('#msg-topic', root).value.trim(), $('#msg-partition', root).value || '0'];
  return hashOf('messages', args, query);
}

// datetime-local wants local time without a zone: YYYY-MM-DDTHH:MM:SS.
function localInput(msText) {
  if (!msText) return '';
  const date = new Date(Number(msText));
  if (Number.isNaN(date.getTime())) return '';
  return new Date(date.getTime() - date.getTimezoneOffset() * 60000).toISOString().slice(0, 19);
}

async function fillTopicOptions(root) {
  try {
    const { topics } = await api('/topics');
    setHtml($('#msg-topics', root), list(topics).map((t) => html`<option value="${t.name}">`));
  } catch {
    // Only a convenience: the topic can still be typed.
  }
}

function renderMessagesSummary(page, limit) {
  const shown = list(page.messages).length;
  const pageHash = (offset) => hashOf('messages', [page.topic, String(page.partition)], { offset, limit });
  const older = page.from > page.start_offset
    ? html`<a class="older" href="${pageHash(Math.max(page.start_offset, page.from - Number(limit)))}">&larr; older</a>` : '';
  const next = page.from + shown;
  const newer = next < page.end_offset ? html`<a class="newer" href="${pageHash(next)}">newer &rarr;</a>` : '';
  return html`
    <p class="summary-line">${page.topic} / partition ${page.partition}: offsets ${page.start_offset}
      to ${page.end_offset} (high watermark); ${shown} message${shown === 1 ? '' : 's'} from offset ${page.from}
      ${older} ${newer}</p>`;
}

function renderMessages(messages) {
  const text = (v) => (v === null || v === undefined ? html`<span class="none">null</span>` : v);
  const rows = list(messages).map((m) => html`
    <tr class="message-row" data-offset="${m.offset}">
      <td class="num">${m.offset}</td>
      <td class="mono nowrap" title="${m.timestamp}">${isoTime(m.timestamp)}</td>
      <td class="mono key">${text(m.key)}</td>
      <td class="mono headers">${list(m.headers).map((h) => html`<span class="header">${h.key}=${h.value === null ? 'null' : h.value}</span>`)}</td>
      <td class="value"><pre>${text(m.value)}</pre></td>
    </tr>`);
  return table([['Offset', 'num'], 'Timestamp', 'Key', 'Headers', 'Value'], rows, 'messages');
}

// ----- start ----------------------------------------------------------------------------------

async function start() {
  try {
    state.session = await api('/session');
  } catch (error) {
    showError(error, 'load');
    return;
  }
  renderChrome();
  if (state.session.auth_required && !state.session.authenticated) {
    sessionStorage.removeItem(AUTH_KEY);
    showLogin();
  } else {
    route();
  }
}

window.addEventListener('hashchange', route);
document.addEventListener('DOMContentLoaded', () => {
  $('#logout').addEventListener('click', logOut);
  $('#error-close').addEventListener('click', () => clearError());
  setInterval(tick, REFRESH_MS);
  start();
});
