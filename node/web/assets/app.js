// Cairn's read-only web viewer: the page side of node/web/VIEWER.md.
//
// One websocket to the node that served this page (`ws` next to the page). The node pushes
// `hello`, `facts` (every second), `cluster` (every second), `change` (every change it applies,
// in rev order) and `resync`; the page asks `getdir`, `get`, `history` and `walk`, each with an
// `id` the reply echoes. Reads are the node's own state. The page never writes.
//
// The one rule the code keeps: a read's reply carries the `head` it read at, and the changes that
// arrive while the read is in flight are kept and replayed on top of it when their rev is above
// that head (the Clone pattern of the feed, on a small scale). Changes are applied in batches
// every kFlushMs, and any other message first flushes the batch, so the page sees the node's
// messages in the order they came.
//
// Stable hooks for tests (ids are unique; testids may repeat, told apart by their data-*):
//   #conn-status        [data-testid=conn-status]  data-state = connecting | open | closed
//   #conn-banner        [data-testid=conn-banner]  shown while disconnected ("disconnected from
//                                                  this node — reconnecting …")
//   #resync-banner      [data-testid=resync-banner] shown for a while after a `resync`
//   #readonly-notice    [data-testid=readonly-notice]
//   #node-facts         [data-testid=node-facts]   this node's SELF facts; data-node, data-role
//   #cluster-summary    [data-testid=cluster-summary]
//   #members            [data-testid=members]
//     [data-testid=member]  one per member/learner: data-member-id, data-state (leader |
//                           follower | candidate | learner | halted | down), data-up (true |
//                           false), data-role; class "leader" / "down" / "self"
//     [data-testid=member-state], [data-testid=member-error] inside a member
//   #tree               [data-testid=tree]
//     [data-testid=tree-row]   data-path, data-kind (dir | file), data-rev, aria-expanded on dirs;
//                              click toggles a dir / opens a file
//     [data-testid=tree-more]  data-path (the directory): loads its next page
//   #tree-glob          [data-testid=tree-glob]    the tree's glob box (applied on Enter or when
//                                                  typing pauses)
//   #tree-glob-error    [data-testid=tree-glob-error]
//   #glob-list          [data-testid=glob-list]    shown instead of the tree while a glob is set
//     [data-testid=glob-row]   data-path, data-rev; click opens the file
//     [data-testid=glob-more]  loads the next page
//   #head-rev           [data-testid=head-rev]     data-rev
//   #file-path          [data-testid=file-path]
//   #file               [data-testid=file]
//     [data-testid=value-rev]    data-rev (0: no such file)
//     [data-testid=value-text]   the value as shown (text, pretty JSON or hex dump);
//                                data-kind = text | json | hex | none
//     [data-testid=history]      the history list, newest first
//     [data-testid=history-entry] data-rev, data-op; its [data-testid=history-value]
//   #activity           [data-testid=activity]
//     [data-testid=spark-writes], [data-testid=spark-p50], [data-testid=spark-p99] (svg charts)
//     [data-testid=leader-mark] a vertical mark per sample with leader_changed
//   #subscribers        [data-testid=subscribers]  data-count
//   #stream             [data-testid=stream]
//     [data-testid=stream-row] data-path, data-rev, data-op; newest first
//   #stream-glob        [data-testid=stream-glob]
//   #stream-pause       [data-testid=stream-pause] data-paused = true | false
//   #stream-count       [data-testid=stream-count] while paused: data-pending

// ---------------------------------------------------------------------------------------------
// Constants

const kBackoffMs = [1000, 2000, 4000, 8000, 10000]; // reconnect delays; the last one repeats
const kRequestTimeoutMs = 10000;  // a request without a reply by then fails on the page
const kFlushMs = 50;              // changes are applied to the page in batches this often
const kDirPage = 200;             // getdir page size (VIEWER.md: 1..1000)
const kWalkPage = 200;            // walk page size
// History entries asked for (VIEWER.md: 1..200). Few enough that a reply of 64 KiB binary values
// (hex: twice that) stays under the 4 MiB a connection may have waiting: over it, the node drops us.
const kHistoryLimit = 20;
const kStreamRows = 500;          // change rows kept in the stream's DOM
const kStreamKeep = 2000;         // changes kept in memory, so a new stream filter has a past
const kSeriesWindowMs = 5 * 60 * 1000;
const kClusterStaleMs = 3500;     // cluster arrives every second: older than this is stale
const kGlobDebounceMs = 300;
const kPreviewChars = 200;
const kComponent = /^[A-Za-z0-9._-]+$/;
const kGlobComponent = /^[A-Za-z0-9._*?-]+$/;

// ---------------------------------------------------------------------------------------------
// Small helpers

const $ = (id) => document.getElementById(id);

/** Builds an element: props are attributes, except class, text and on<event>. */
function h(tag, props = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v == null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const kid of kids.flat()) {
    if (kid != null && kid !== false) e.append(kid instanceof Node ? kid : String(kid));
  }
  return e;
}

function svg(tag, attrs = {}, ...kids) {
  const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  for (const kid of kids) e.append(kid);
  return e;
}

const fmtInt = (n) => (n == null ? '—' : Number(n).toLocaleString('en-US'));

function fmtUs(us) {
  if (us == null) return '—';
  if (us < 1000) return `${Math.round(us)} µs`;
  if (us < 1e6) return `${(us / 1000).toFixed(us < 10000 ? 1 : 0)} ms`;
  return `${(us / 1e6).toFixed(2)} s`;
}

function fmtRate(n) {
  if (n == null) return '—';
  return n < 10 ? n.toFixed(1) : fmtInt(Math.round(n));
}

function fmtUptime(ms) {
  if (ms == null) return '—';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const hr = Math.floor(m / 60);
  if (hr < 48) return `${hr}h ${m % 60}m`;
  return `${Math.floor(hr / 24)}d ${hr % 24}h`;
}

const fmtClock = (ms) => new Date(ms).toLocaleTimeString('en-GB', { hour12: false });

/** Restarts a row's flash: two classes with the same animation, so no reflow is needed. */
function flash(el) {
  if (!el) return;
  const a = el.classList.contains('flash-a');
  el.classList.remove(a ? 'flash-a' : 'flash-b');
  el.classList.add(a ? 'flash-b' : 'flash-a');
}

// ---------------------------------------------------------------------------------------------
// Paths and globs (wire/PROTOCOL.md §4)

const splitPath = (p) => (p === '/' ? [] : p.slice(1).split('/'));
const joinPath = (parts) => '/' + parts.join('/');
const parentOf = (p) => joinPath(splitPath(p).slice(0, -1));
const baseName = (p) => splitPath(p).pop() ?? '/';
const depthOf = (p) => splitPath(p).length;

/** WALK's order: component by component, so everything below /a comes before /a-b. */
function comparePaths(a, b) {
  const x = splitPath(a), y = splitPath(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;   // names are ASCII: code units = bytes
  }
  return x.length - y.length;
}

/** Returns why a glob breaks §4, or '' when it is fine. */
function globProblem(glob) {
  if (!glob.startsWith('/')) return 'a glob starts with /';
  if (glob === '/') return '';
  if (glob.length > 4096) return 'a glob is at most 4096 bytes';
  for (const c of splitPath(glob)) {
    if (c === '') return 'no empty components (// or a trailing /)';
    if (c === '.' || c === '..') return 'no . or .. components';
    if (!kGlobComponent.test(c)) return `"${c}": a component is made of A-Z a-z 0-9 . _ - * ?`;
  }
  return '';
}

function componentRegex(c) {
  const body = c.replace(/\*+/g, '*').replace(/[.\-]/g, '\\$&')
    .replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]');
  return new RegExp(`^${body}$`);
}

/**
 * Compiles a valid glob into a predicate on file paths: `?` one character and `*` any run inside
 * a component; a component that is exactly `**` matches zero or more components when more follow,
 * one or more when it is the last.
 */
function compileGlob(glob) {
  const parts = splitPath(glob).map((c) => (c === '**' ? c : componentRegex(c)));
  return (path) => {
    const p = splitPath(path);
    const memo = new Map();
    const match = (i, j) => {
      const key = i * 4097 + j;
      if (memo.has(key)) return memo.get(key);
      let ok;
      if (i === parts.length) ok = j === p.length;
      else if (parts[i] === '**') {
        ok = false;
        const last = i === parts.length - 1;
        if (last) ok = p.length - j >= 1;
        else for (let k = j; k <= p.length && !ok; k++) ok = match(i + 1, k);
      } else ok = j < p.length && parts[i].test(p[j]) && match(i + 1, j + 1);
      memo.set(key, ok);
      return ok;
    };
    return match(0, 0);
  };
}

// ---------------------------------------------------------------------------------------------
// Values: bytes sent as text or hex (VIEWER.md)

function hexDump(hex) {
  const lines = [];
  for (let off = 0; off < hex.length / 2; off += 16) {
    const bytes = [];
    for (let i = off; i < Math.min(off + 16, hex.length / 2); i++) bytes.push(hex.substr(i * 2, 2));
    const ascii = bytes.map((b) => {
      const c = parseInt(b, 16);
      return c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '.';
    }).join('');
    const cols = bytes.slice(0, 8).join(' ') + '  ' + bytes.slice(8).join(' ');
    lines.push(`${off.toString(16).padStart(8, '0')}  ${cols.padEnd(49)}  ${ascii}`);
  }
  return lines.join('\n');
}

/** {kind, text, bytes}: how a value is shown in full. */
function showValue(value, enc) {
  if (enc === 'hex') return { kind: 'hex', text: hexDump(value), bytes: value.length / 2 };
  const bytes = new TextEncoder().encode(value).length;
  const t = value.trim();
  if (t.startsWith('{') || t.startsWith('[')) {
    try {
      return { kind: 'json', text: JSON.stringify(JSON.parse(t), null, 2), bytes };
    } catch { /* not JSON: shown as text */ }
  }
  return { kind: 'text', text: value, bytes };
}

/** One line for lists: text as is (cut), hex as "0x…". */
function preview(value, enc, max = kPreviewChars) {
  if (value == null) return '';
  const s = enc === 'hex' ? `0x${value}` : value.replace(/\s+/g, ' ');
  return s.length > max ? s.slice(0, max) + '…' : s;
}

// ---------------------------------------------------------------------------------------------
// Connection: one websocket, reconnected with backoff; requests matched to replies by id

class ReplyError extends Error {
  constructor(code, detail) {
    super(detail ? `${code}: ${detail}` : code);
    this.code = code;
  }
}

const conn = {
  ws: null,
  ready: false,        // hello received on this socket
  everReady: false,    // some earlier socket said hello: a new hello means "reload"
  failures: 0,
  nextId: 1,
  pending: new Map(),  // id -> {resolve, reject, timer}
  retryAt: 0,
  hello: null,
};

function wsUrl() {
  const u = new URL('ws', location.href);
  u.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return u.href;
}

function connect() {
  setConnState('connecting');
  const ws = new WebSocket(wsUrl());
  conn.ws = ws;
  conn.ready = false;
  ws.onmessage = (ev) => { if (conn.ws === ws) onMessage(ev.data); };
  ws.onclose = () => { if (conn.ws === ws) onClose(); };
  // An error is always followed by close, which does the work.
}

function onClose() {
  conn.ws = null;
  conn.ready = false;
  for (const [id, p] of conn.pending) {
    clearTimeout(p.timer);
    p.reject(new ReplyError('DISCONNECTED', 'the connection to the node closed'));
    conn.pending.delete(id);
  }
  const delay = kBackoffMs[Math.min(conn.failures, kBackoffMs.length - 1)];
  conn.failures++;
  conn.retryAt = Date.now() + delay;
  setConnState('closed');
  setTimeout(connect, delay);
}

function request(op, params) {
  return new Promise((resolve, reject) => {
    if (!conn.ready) {
      reject(new ReplyError('DISCONNECTED', 'not connected to the node'));
      return;
    }
    const id = conn.nextId++;
    const timer = setTimeout(() => {
      conn.pending.delete(id);
      reject(new ReplyError('TIMEOUT', `no reply within ${kRequestTimeoutMs / 1000} s`));
    }, kRequestTimeoutMs);
    conn.pending.set(id, { resolve, reject, timer });
    conn.ws.send(JSON.stringify({ id, op, ...params }));
  });
}

function onMessage(data) {
  let msg;
  try {
    msg = JSON.parse(data);
  } catch {
    return;  // not JSON: nothing the page can use
  }
  if (msg.type === 'change') {
    queueChange(msg);
    return;
  }
  flushChanges();  // keep the node's order: earlier changes before this message
  switch (msg.type) {
    case 'hello': onHello(msg); break;
    case 'reply': onReply(msg); break;
    case 'facts': onFacts(msg); break;
    case 'cluster': onCluster(msg); break;
    case 'resync': onResync(msg); break;
    default: break;  // a newer server's message: ignored
  }
}

function onReply(msg) {
  const p = conn.pending.get(msg.id);
  if (!p) return;
  conn.pending.delete(msg.id);
  clearTimeout(p.timer);
  if (msg.error) p.reject(new ReplyError(msg.error, msg.detail));
  else p.resolve(msg);
}

function onHello(msg) {
  conn.hello = msg;
  conn.ready = true;
  conn.failures = 0;
  activity.fresh = true;  // this connection's first facts holds the whole 5 minutes
  setConnState('open');
  $('version').textContent = msg.version ? `v${msg.version}` : '';
  document.title = `Cairn · node ${msg.node}`;
  if (conn.everReady) {
    streamAdd([{ type: 'marker', text: 'reconnected: changes made while disconnected are not listed' }]);
    reloadAll();
  } else {
    startViews();
  }
  conn.everReady = true;
}

function setConnState(state) {
  const status = $('conn-status');
  status.dataset.state = state;
  const node = conn.hello ? `node ${conn.hello.node}` : 'the node';
  status.textContent = { connecting: 'connecting…', open: `connected to ${node}`,
    closed: 'disconnected' }[state];
  updateConnBanner();
  document.body.classList.toggle('offline', state !== 'open');
}

function updateConnBanner() {
  const banner = $('conn-banner');
  const closed = $('conn-status').dataset.state === 'closed';
  banner.hidden = !closed;
  if (!closed) return;
  const wait = Math.max(0, Math.ceil((conn.retryAt - Date.now()) / 1000));
  banner.textContent = 'disconnected from this node — reconnecting' +
    (wait > 0 ? ` (next try in ${wait} s)` : '…');
}

// ---------------------------------------------------------------------------------------------
// This node's facts and the head revision

const headState = { rev: 0 };

function noteHead(rev) {
  if (rev == null || rev <= headState.rev) return;
  headState.rev = rev;
  const el = $('head-rev');
  el.dataset.rev = rev;
  el.textContent = `head rev ${fmtInt(rev)}`;
}

function onFacts(msg) {
  const n = msg.node || {};
  noteHead(n.rev);
  const box = $('node-facts');
  box.dataset.node = n.id ?? '';
  box.dataset.role = n.role ?? '';
  const fact = (label, value, cls) => h('span', { class: `fact ${cls || ''}` },
    h('span', { class: 'label', text: label }), ' ', h('b', { text: value }));
  box.replaceChildren(
    h('span', { class: `badge state-${n.halted ? 'halted' : n.role}`, text: n.halted ? 'halted' : n.role || '?' }),
    fact('node', n.id ?? '?'),
    fact('leader', n.leader ? n.leader : 'none', n.leader ? '' : 'bad'),
    fact('rev', fmtInt(n.rev)),
    fact('slot', fmtInt(n.slot)),
    fact('lag', fmtInt(n.lag), n.lag > 0 ? 'warn' : ''),
    fact('fsync', fmtUs(n.fsync_us)),
    fact('up', fmtUptime(n.uptime_ms)),
  );
  addSamples(msg.series || []);
}

// ---------------------------------------------------------------------------------------------
// Cluster: one card per member and learner

const clusterState = { at: 0 };

function onCluster(msg) {
  clusterState.at = Date.now();
  const members = [...(msg.members || [])].sort((a, b) => a.id - b.id);
  const up = members.filter((m) => m.up).length;
  $('cluster-summary').textContent =
    `config ${msg.config ?? '?'} · leader ${msg.leader ? `node ${msg.leader}` : 'none'} · ` +
    `${up} of ${members.length} up`;
  $('cluster-summary').classList.toggle('bad', !msg.leader || up < members.length);
  $('members').replaceChildren(...members.map(memberCard));
  $('cluster').classList.remove('stale');
}

function memberCard(m) {
  const state = m.up ? m.state : 'down';
  const leader = state === 'leader';
  const stat = (label, value, cls) => h('div', { class: `stat ${cls || ''}` },
    h('span', { class: 'label', text: label }), h('b', { text: value }));
  return h('div', {
    class: `member ${leader ? 'leader' : ''} ${m.up ? '' : 'down'} ${m.self ? 'self' : ''}`,
    'data-testid': 'member', 'data-member-id': m.id, 'data-state': state,
    'data-up': String(!!m.up), 'data-role': m.role,
  },
  h('div', { class: 'm-head' },
    h('span', { class: 'm-id', text: `${leader ? '★ ' : ''}node ${m.id}` }),
    h('span', { class: `badge state-${state}`, 'data-testid': 'member-state', text: state }),
    h('span', { class: 'badge role', text: m.role }),
    m.self ? h('span', { class: 'badge self', text: 'this node' }) : null),
  m.up
    ? h('div', { class: 'm-stats' },
      stat('rev', fmtInt(m.rev)), stat('slot', fmtInt(m.slot)),
      stat('lag', fmtInt(m.lag), m.lag > 0 ? 'warn' : ''), stat('fsync', fmtUs(m.fsync_us)))
    : h('div', { class: 'm-error', 'data-testid': 'member-error', text: m.error || 'no answer' }),
  h('div', { class: 'm-ep', title: 'client endpoint', text: m.client || '' }));
}

function checkStale() {
  updateConnBanner();
  const age = Date.now() - clusterState.at;
  if (clusterState.at && age > kClusterStaleMs) {
    $('cluster').classList.add('stale');
    $('cluster-summary').textContent = `no cluster update for ${Math.round(age / 1000)} s`;
  }
}

// ---------------------------------------------------------------------------------------------
// Activity: sparklines over the last 5 minutes of facts.series

const activity = { samples: [], fresh: true };

const kCharts = [
  { id: 'writes', title: 'writes/s', field: 'writes_per_s', fmt: fmtRate, zeroIsGap: false },
  { id: 'p50', title: 'commit latency p50', field: 'commit_p50_us', fmt: fmtUs, zeroIsGap: true },
  { id: 'p99', title: 'commit latency p99', field: 'commit_p99_us', fmt: fmtUs, zeroIsGap: true },
];

function addSamples(series) {
  if (activity.fresh) {
    activity.samples = [];
    activity.fresh = false;
  }
  const last = activity.samples.at(-1);
  for (const s of series) {
    if (!last || s.at > last.at) activity.samples.push(s);
  }
  activity.samples.sort((a, b) => a.at - b.at);
  const end = activity.samples.at(-1)?.at ?? 0;
  while (activity.samples.length && activity.samples[0].at < end - kSeriesWindowMs) {
    activity.samples.shift();
  }
  renderActivity();
}

function renderActivity() {
  const samples = activity.samples;
  const latest = samples.at(-1);
  const subs = $('subscribers');
  subs.dataset.count = latest ? latest.subscribers : '';
  subs.textContent = latest
    ? `${fmtInt(latest.subscribers)} feed subscriber${latest.subscribers === 1 ? '' : 's'}` : '';
  const end = latest ? latest.at : Date.now();
  $('activity').replaceChildren(...kCharts.map((c) => sparkline(c, samples, end)));
}

function maxLabel(chart, values) {
  const top = Math.max(0, ...values);
  // Latency is over the writes this node proposed: a follower that forwards them has none.
  if (chart.zeroIsGap && top === 0) return 'no writes proposed here';
  return `max ${chart.fmt(top)}`;
}

function sparkline(chart, samples, end) {
  const W = 300, H = 48, start = end - kSeriesWindowMs;
  const values = samples.map((s) => s[chart.field] ?? 0);
  const max = Math.max(1, ...values) * 1.15;  // headroom: a steady rate is not drawn on the top edge
  const x = (at) => (((at - start) / kSeriesWindowMs) * W).toFixed(1);
  const y = (v) => (H - 2 - (v / max) * (H - 6)).toFixed(1);
  // The line breaks where samples are missing, and for latency where there were no writes (0).
  const runs = [];
  let run = [];
  samples.forEach((s, i) => {
    const blank = chart.zeroIsGap && values[i] === 0;
    if (run.length && (blank || s.at - samples[i - 1].at > 3000)) {
      runs.push(run);
      run = [];
    }
    if (!blank) run.push([x(s.at), y(values[i])]);
  });
  if (run.length) runs.push(run);
  const g = svg('svg', { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none', class: 'spark',
    'data-testid': `spark-${chart.id}`, role: 'img', 'aria-label': chart.title });
  for (const r of runs) {
    if (r.length === 1) {
      g.append(svg('rect', { class: 'dot', x: r[0][0] - 1, y: r[0][1] - 1, width: 2, height: 2 }));
      continue;
    }
    const pts = r.map((p) => p.join(',')).join(' ');
    g.append(svg('polygon', { class: 'area', points: `${r[0][0]},${H} ${pts} ${r.at(-1)[0]},${H}` }));
    g.append(svg('polyline', { class: 'line', points: pts }));
  }
  for (const s of samples) {
    if (!s.leader_changed) continue;
    const lx = x(s.at);
    g.append(svg('line', { class: 'leader-mark', 'data-testid': 'leader-mark', x1: lx, x2: lx, y1: 0, y2: H },
      svg('title', {}, `leader → node ${s.leader} at ${fmtClock(s.at)}`)));
  }
  const latest = samples.at(-1);
  const now = latest ? latest[chart.field] : null;
  const shown = chart.zeroIsGap && !now ? '—' : chart.fmt(now);
  return h('div', { class: 'chart' },
    h('div', { class: 'chart-head' },
      h('span', { class: 'chart-title', text: chart.title }),
      h('span', { class: 'chart-now', text: shown }),
      h('span', { class: 'muted', text: maxLabel(chart, values) })),
    g);
}

// ---------------------------------------------------------------------------------------------
// Tree: expanded directories are loaded lazily and paged, and kept live by the changes.
//
// A DirView exists for each expanded directory: its loaded entries, the `next` cursor of its
// last page, and its element. A collapsed directory has no DirView: expanding it reads it again.
// While a page is in flight the directory's changes are also kept, to replay those above the
// page's head.

const tree = {
  dirs: new Map(),  // path -> DirView
  nodes: new Map(), // path -> the .node element of every shown entry (and '/')
  // What the operator has open, path -> entries loaded: it outlives a reload that a
  // disconnect interrupts, so the next reload opens the same directories.
  want: new Map([['/', kDirPage]]),
  reloads: 0,
};

function makeNode(path, name, entry) {
  const kind = entry.dir ? 'dir' : 'file';
  const row = h('div', {
    class: `row is-${kind}`, 'data-testid': 'tree-row', 'data-path': path, 'data-kind': kind,
    'data-rev': entry.rev, role: 'treeitem', tabindex: 0, style: `--depth:${depthOf(path)}`,
    'aria-expanded': entry.dir ? 'false' : null,
  },
  h('span', { class: 'twisty', text: entry.dir ? '▸' : '' }),
  h('span', { class: 'name', text: name + (entry.dir ? '/' : '') }),
  h('span', { class: 'rev', text: entry.rev ? `rev ${entry.rev}` : '' }));
  row.addEventListener('click', () => onRowClick(path, kind));
  row.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' || ev.key === ' ') {
      ev.preventDefault();
      onRowClick(path, kind);
    }
  });
  if (path === fileView.path) row.classList.add('selected');
  const node = h('div', { class: 'node', 'data-name': name }, row);
  tree.nodes.set(path, node);
  return node;
}

function onRowClick(path, kind) {
  if (kind === 'file') selectFile(path);
  else if (path === '/') return;  // the root stays open
  else if (tree.dirs.has(path)) collapseDir(path);
  else expandDir(path);
}

function setRowRev(path, rev) {
  const row = tree.nodes.get(path)?.firstChild;
  if (!row || rev <= Number(row.dataset.rev || 0)) return;
  row.dataset.rev = rev;
  row.querySelector('.rev').textContent = `rev ${rev}`;
}

function resetTree() {
  tree.dirs.clear();
  tree.nodes.clear();
  const root = makeNode('/', '/', { dir: true, rev: 0 });
  root.firstChild.querySelector('.name').textContent = '/';
  $('tree').replaceChildren(root);
}

/** Expands a directory and loads its first page, at least `want` entries. */
async function expandDir(path, want = kDirPage) {
  const node = tree.nodes.get(path);
  if (!node || tree.dirs.has(path)) return;
  const dv = { path, entries: new Map(), next: null, last: null, loading: null, loaded: false,
    kids: h('div', { class: 'kids', role: 'group' }), more: null };
  tree.want.set(path, Math.max(want, tree.want.get(path) ?? 0));
  tree.dirs.set(path, dv);
  node.append(dv.kids);
  node.firstChild.setAttribute('aria-expanded', 'true');
  node.firstChild.querySelector('.twisty').textContent = '▾';
  await loadPage(dv, null, Math.min(1000, Math.max(kDirPage, want)));
}

function collapseDir(path) {
  const below = (p) => p === path || p.startsWith(path === '/' ? '/' : path + '/');
  for (const p of [...tree.dirs.keys()]) if (below(p)) tree.dirs.delete(p);
  for (const p of [...tree.want.keys()]) if (below(p)) tree.want.delete(p);
  const node = tree.nodes.get(path);
  if (!node) return;
  for (const p of [...tree.nodes.keys()]) {
    if (p !== path && p.startsWith(path === '/' ? '/' : path + '/')) tree.nodes.delete(p);
  }
  node.querySelector(':scope > .kids')?.remove();
  node.firstChild.setAttribute('aria-expanded', 'false');
  node.firstChild.querySelector('.twisty').textContent = '▸';
}

async function loadPage(dv, after, limit = kDirPage) {
  if (dv.loading) return;
  dv.loading = { changes: [] };
  setMore(dv, 'loading…');
  let reply;
  try {
    reply = await request('getdir', { path: dv.path, limit, ...(after != null ? { after } : {}) });
  } catch (err) {
    dv.loading = null;
    if (tree.dirs.get(dv.path) !== dv) return;
    if (err.code === 'NOENT' || err.code === 'NOTDIR') {
      if (dv.path !== '/') removeEntry(parentOf(dv.path), baseName(dv.path));
      else setMore(dv, null);
      return;
    }
    if (err.code === 'DISCONNECTED') setMore(dv, 'not connected: read again on reconnect');
    else setMore(dv, `could not read: ${err.message} (retry)`, () => loadPage(dv, after, limit), 'error');
    return;
  }
  const buffered = dv.loading.changes;
  dv.loading = null;
  if (tree.dirs.get(dv.path) !== dv) return;  // collapsed meanwhile
  for (const e of reply.entries) upsertEntry(dv, e.name, { rev: e.rev, dir: e.dir }, false, true);
  dv.next = reply.next ?? null;
  dv.loaded = true;
  if (reply.entries.length) dv.last = reply.entries.at(-1).name;
  tree.want.set(dv.path, Math.max(kDirPage, dv.entries.size));
  setRowRev(dv.path, reply.rev);
  noteHead(reply.head);
  for (const c of buffered) if (c.rev > reply.head) applyToTree(c);
  if (!reply.entries.length && !dv.entries.size && dv.next == null) {
    setMore(dv, dv.path === '/' ? 'the store is empty' : 'empty', null, 'note');
  } else {
    setMore(dv, dv.next != null ? 'more…' : null, () => loadPage(dv, dv.next));
  }
}

/** The control at the end of a directory: "more…", "loading…", an error, or nothing. */
function setMore(dv, text, onClick, cls) {
  dv.more?.remove();
  dv.more = null;
  if (!text) return;
  const pad = `--depth:${depthOf(dv.path) + 1}`;
  dv.more = onClick
    ? h('button', { class: `more ${cls || ''}`, type: 'button', 'data-testid': 'tree-more',
      'data-path': dv.path, style: pad, onclick: onClick, text })
    : h('div', { class: `more ${cls || 'note'}`, style: pad, text });
  dv.kids.append(dv.more);
}

/** Shows or updates an entry; a new name past the loaded pages is left for "more…". */
function upsertEntry(dv, name, entry, flashIt, fromPage = false) {
  const path = dv.path === '/' ? `/${name}` : `${dv.path}/${name}`;
  const old = dv.entries.get(name);
  if (old) {
    old.rev = Math.max(old.rev, entry.rev);
    setRowRev(path, entry.rev);
  } else {
    if (!fromPage && dv.next != null && dv.last != null && name > dv.last) return;
    dv.entries.set(name, { ...entry });
    const node = makeNode(path, name, entry);
    let before = dv.more;
    for (const kid of dv.kids.children) {
      if (kid.classList.contains('node') && kid.dataset.name > name) { before = kid; break; }
    }
    dv.kids.insertBefore(node, before);
    if (dv.more?.classList.contains('note')) setMore(dv, null);
  }
  if (flashIt) flash(tree.nodes.get(path)?.firstChild);
}

function removeEntry(dirPath, name) {
  const dv = tree.dirs.get(dirPath);
  if (!dv || !dv.entries.has(name)) return;
  const path = dirPath === '/' ? `/${name}` : `${dirPath}/${name}`;
  if (dv.entries.get(name).dir) collapseDir(path);
  dv.entries.delete(name);
  tree.nodes.get(path)?.remove();
  tree.nodes.delete(path);
  if (dirPath === '/' && !dv.entries.size && dv.next == null && !dv.loading) {
    setMore(dv, 'the store is empty', null, 'note');
  }
}

/** Applies one change to every expanded directory on its path. */
function applyToTree(c) {
  setRowRev('/', c.rev);
  const parts = splitPath(c.path);
  for (let i = 0; i < parts.length; i++) {
    const dv = tree.dirs.get(joinPath(parts.slice(0, i)));
    if (!dv) break;
    if (dv.loading) dv.loading.changes.push(c);
    const isFile = i === parts.length - 1;
    if (isFile && c.op === 'del') {
      removeEntry(dv.path, parts[i]);
    } else {
      upsertEntry(dv, parts[i], { rev: c.rev, dir: !isFile }, true);
    }
  }
  if (c.op === 'del') pruneQueue.add(c.path);
}

// A directory exists while it holds a file. After a delete, the directory shown highest on the
// deleted path (the first one whose parent is expanded) may have emptied: an expanded one is
// checked from its entries, a collapsed one by asking the node.

const pruneQueue = new Set();

function pruneDirs() {
  const dirs = new Set();
  for (const path of pruneQueue) {
    let d = parentOf(path);
    while (d !== '/' && !tree.dirs.has(parentOf(d))) d = parentOf(d);
    dirs.add(d);
  }
  pruneQueue.clear();
  for (const d of dirs) checkGone(d);
}

function checkGone(dir) {
  if (dir === '/') return;
  const parent = tree.dirs.get(parentOf(dir));
  const entry = parent?.entries.get(baseName(dir));
  if (!entry) return;
  const dv = tree.dirs.get(dir);
  if (dv && !dv.loading) {
    if (dv.entries.size > 0) return;
    if (dv.next == null) {
      removeEntry(parent.path, baseName(dir));
      checkGone(parent.path);
    } else {
      loadPage(dv, null);
    }
    return;
  }
  const revAsked = entry.rev;
  request('getdir', { path: dir, limit: 1 }).catch((err) => {
    // Gone, unless a change under it came meanwhile (it moved the entry's rev).
    if (err.code !== 'NOENT' && err.code !== 'NOTDIR') return;
    const now = tree.dirs.get(parent.path)?.entries.get(baseName(dir));
    if (now && now.rev === revAsked) {
      removeEntry(parent.path, baseName(dir));
      checkGone(parent.path);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Glob list: the files matching the tree's glob box, paged with `walk`, kept live

const globView = { glob: '', match: null, entries: new Map(), next: null, last: null,
  loading: null, token: 0, more: null };

function onTreeGlobInput() {
  clearTimeout(globView.timer);
  globView.timer = setTimeout(() => setGlob($('tree-glob').value.trim()), kGlobDebounceMs);
}

function setGlob(glob, force = false) {
  if (glob === globView.glob && !force) return;
  const problem = glob ? globProblem(glob) : '';
  const err = $('tree-glob-error');
  err.hidden = !problem;
  err.textContent = problem;
  globView.token++;
  globView.glob = problem ? '' : glob;
  globView.match = glob && !problem ? compileGlob(glob) : null;
  globView.entries = new Map();
  globView.next = globView.last = globView.loading = globView.more = null;
  $('glob-list').replaceChildren();
  const on = !!globView.match;
  $('glob-list').hidden = !on;
  $('tree').hidden = on;
  if (on) walkPage(null);
}

async function walkPage(after) {
  if (globView.loading) return;
  const token = globView.token;
  globView.loading = { changes: [] };
  setGlobMore('loading…');
  let reply;
  try {
    reply = await request('walk', { glob: globView.glob, limit: kWalkPage,
      ...(after != null ? { after } : {}) });
  } catch (err) {
    if (token !== globView.token) return;
    globView.loading = null;
    if (err.code === 'DISCONNECTED') setGlobMore('not connected: walked again on reconnect');
    else setGlobMore(`could not walk: ${err.message} (retry)`, () => walkPage(after));
    return;
  }
  if (token !== globView.token) return;
  const buffered = globView.loading.changes;
  globView.loading = null;
  for (const e of reply.entries) upsertGlobRow(e.path, e, false, true);
  globView.next = reply.next ?? null;
  if (reply.entries.length) globView.last = reply.entries.at(-1).path;
  noteHead(reply.head);
  for (const c of buffered) if (c.rev > reply.head) applyToGlob(c);
  if (globView.next != null) setGlobMore('more…', () => walkPage(globView.next));
  else setGlobMore(globView.entries.size ? null : 'no file matches');
}

function setGlobMore(text, onClick) {
  globView.more?.remove();
  globView.more = null;
  if (!text) return;
  globView.more = onClick
    ? h('button', { class: 'more', type: 'button', 'data-testid': 'glob-more', onclick: onClick, text })
    : h('div', { class: 'more note', text });
  $('glob-list').append(globView.more);
}

function upsertGlobRow(path, e, flashIt, fromPage = false) {
  const list = $('glob-list');
  let row = list.querySelector(`:scope > .row[data-path="${path}"]`);
  if (!row) {
    if (!fromPage && globView.next != null && globView.last != null &&
        comparePaths(path, globView.last) > 0) return;
    row = h('div', { class: 'row is-file flat', 'data-testid': 'glob-row', 'data-path': path,
      role: 'treeitem', tabindex: 0, onclick: () => selectFile(path),
      onkeydown: (ev) => { if (ev.key === 'Enter') selectFile(path); } },
    h('span', { class: 'name', text: path }), h('span', { class: 'val' }), h('span', { class: 'rev' }));
    if (path === fileView.path) row.classList.add('selected');
    let before = globView.more;
    for (const kid of list.children) {
      if (kid.dataset.path && comparePaths(kid.dataset.path, path) > 0) { before = kid; break; }
    }
    list.insertBefore(row, before);
    if (globView.more?.classList.contains('note')) setGlobMore(null);
  }
  globView.entries.set(path, e);
  row.dataset.rev = e.rev;
  row.querySelector('.rev').textContent = `rev ${e.rev}`;
  row.querySelector('.val').textContent = preview(e.value, e.enc, 80);
  if (flashIt) flash(row);
}

function applyToGlob(c) {
  if (!globView.match || !globView.match(c.path)) return;
  if (globView.loading) globView.loading.changes.push(c);
  if (c.op === 'del') {
    globView.entries.delete(c.path);
    $('glob-list').querySelector(`:scope > .row[data-path="${c.path}"]`)?.remove();
    if (!globView.entries.size && globView.next == null && !globView.loading) setGlobMore('no file matches');
  } else {
    upsertGlobRow(c.path, c, true);
  }
}

// ---------------------------------------------------------------------------------------------
// File: the selected file's value and history

const fileView = { path: null, token: 0, value: null, history: null, loading: null };

function markSelected(path) {
  for (const el of document.querySelectorAll('.row.selected')) el.classList.remove('selected');
  if (!path) return;
  for (const el of document.querySelectorAll(`.row[data-path="${path}"]`)) {
    if (el.dataset.kind !== 'dir') el.classList.add('selected');
  }
}

async function selectFile(path) {
  const token = ++fileView.token;
  fileView.path = path;
  fileView.loading = { changes: [] };
  markSelected(path);
  $('file-path').textContent = path;
  $('file').replaceChildren(h('div', { class: 'empty', text: 'loading…' }));
  let got, hist;
  try {
    [got, hist] = await Promise.all([request('get', { path }),
      request('history', { path, limit: kHistoryLimit })]);
  } catch (err) {
    if (token !== fileView.token) return;
    fileView.loading = null;
    $('file').replaceChildren(err.code === 'DISCONNECTED'
      ? h('div', { class: 'empty', text: 'not connected: the file is read again on reconnect' })
      : h('div', { class: 'error' }, `could not read ${path}: ${err.message} `,
        h('button', { type: 'button', onclick: () => selectFile(path), text: 'retry' })));
    return;
  }
  if (token !== fileView.token) return;
  const buffered = fileView.loading.changes;
  fileView.loading = null;
  noteHead(got.head);
  fileView.value = { rev: got.rev, value: got.value, enc: got.enc, size: got.size,
    truncated: got.truncated, lease: got.lease };
  fileView.history = { entries: hist.entries, oldest: hist.oldest };
  for (const c of buffered) {
    if (c.rev > got.head) applyValue(c);
    if (c.rev > hist.head) addHistory(c);
  }
  renderFile();
}

function applyValue(c) {
  fileView.value = c.op === 'del'
    ? { rev: 0, deletedAt: c.rev }
    : { rev: c.rev, value: c.value, enc: c.enc, size: c.size, truncated: c.truncated };
}

function addHistory(c) {
  const list = fileView.history.entries;
  if (list.length && list[0].rev >= c.rev) return;
  list.unshift({ rev: c.rev, op: c.op, value: c.value, enc: c.enc });
  if (list.length > kHistoryLimit) list.pop();
}

function applyToFile(c) {
  if (c.path !== fileView.path) return false;
  if (fileView.loading) {
    fileView.loading.changes.push(c);
    return false;
  }
  if (!fileView.value) return false;
  applyValue(c);
  addHistory(c);
  return true;
}

function renderFile() {
  const v = fileView.value;
  const parts = [];
  if (v.rev === 0) {
    parts.push(h('div', { class: 'file-meta' },
      h('span', { class: 'badge state-down', 'data-testid': 'value-rev', 'data-rev': 0,
        text: v.deletedAt ? `deleted at rev ${fmtInt(v.deletedAt)}` : 'no such file' })));
    parts.push(h('pre', { class: 'value none', 'data-testid': 'value-text', 'data-kind': 'none' }));
  } else {
    const shown = showValue(v.value, v.enc);
    const size = v.truncated ? v.size : shown.bytes;
    parts.push(h('div', { class: 'file-meta' },
      h('span', { class: 'badge rev', 'data-testid': 'value-rev', 'data-rev': v.rev, text: `rev ${fmtInt(v.rev)}` }),
      h('span', { text: `${fmtInt(size)} bytes` }),
      h('span', { class: 'badge', text: shown.kind }),
      v.lease ? h('span', { text: `lease ${v.lease}` }) : null,
      v.truncated ? h('span', { class: 'warn', text: `showing the first 65536 of ${fmtInt(v.size)} bytes` }) : null));
    parts.push(h('pre', { class: `value ${shown.kind}`, 'data-testid': 'value-text',
      'data-kind': shown.kind, text: shown.text }));
  }
  const hist = fileView.history;
  parts.push(h('h3', {}, 'History ',
    h('span', { class: 'muted', text: `newest first · the window holds revs from ${fmtInt(hist.oldest)}` })));
  parts.push(h('ol', { class: 'history', 'data-testid': 'history' },
    hist.entries.length ? hist.entries.map(historyEntry)
      : h('li', { class: 'empty', text: 'no change to this file inside the history window' })));
  $('file').replaceChildren(...parts);
}

function historyEntry(e) {
  const body = e.op === 'del' ? h('span', { class: 'muted', text: 'deleted' })
    : h('pre', { class: 'hvalue', 'data-testid': 'history-value', title: 'click to show it whole',
      onclick: (ev) => {
        const pre = ev.currentTarget;
        pre.classList.toggle('open');
        pre.textContent = pre.classList.contains('open') ? showValue(e.value, e.enc).text : preview(e.value, e.enc);
      },
      text: preview(e.value, e.enc) });
  return h('li', { 'data-testid': 'history-entry', 'data-rev': e.rev, 'data-op': e.op },
    h('span', { class: 'rev', text: `rev ${fmtInt(e.rev)}` }),
    h('span', { class: `op op-${e.op}`, text: e.op }), body);
}

// ---------------------------------------------------------------------------------------------
// Change stream: a tail of the changes, newest first, filterable and pausable

const stream = { buf: [], glob: '', match: null, paused: false, pending: 0 };

function streamAdd(batch) {
  // concat, not push(...batch): a background tab's timers are throttled and a batch can be huge
  stream.buf = stream.buf.concat(batch.slice(-kStreamKeep)).slice(-kStreamKeep);
  const shown = batch.filter(streamShows);
  if (!shown.length) return;
  if (stream.paused) {
    stream.pending += shown.length;
    renderStreamCount();
    return;
  }
  const list = $('stream');
  const frag = document.createDocumentFragment();
  for (const c of shown.slice(-kStreamRows).reverse()) frag.append(streamRow(c));
  list.prepend(frag);
  while (list.childElementCount > kStreamRows) list.lastElementChild.remove();
}

function streamShows(c) {
  return c.type === 'marker' || !stream.match || stream.match(c.path);
}

function streamRow(c) {
  if (c.type === 'marker') return h('div', { class: 'srow marker', text: c.text });
  return h('div', { class: 'srow', 'data-testid': 'stream-row', 'data-path': c.path,
    'data-rev': c.rev, 'data-op': c.op, title: `${fmtClock(c.seenAt)} · click to open`,
    onclick: () => selectFile(c.path) },
  h('span', { class: 'rev', text: c.rev }),
  h('span', { class: `op op-${c.op}`, text: c.op }),
  h('span', { class: 'path', text: c.path }),
  h('span', { class: 'val', text: c.op === 'del' ? '' : preview(c.value, c.enc, 120) }));
}

function renderStream() {
  const rows = stream.buf.filter(streamShows).slice(-kStreamRows).reverse().map(streamRow);
  $('stream').replaceChildren(...rows);
  renderStreamCount();
}

function renderStreamCount() {
  const count = $('stream-count');
  count.dataset.pending = stream.pending;
  count.textContent = stream.paused ? `paused · ${fmtInt(stream.pending)} new` : '';
  count.classList.toggle('warn', stream.paused);
  const button = $('stream-pause');
  button.dataset.paused = String(stream.paused);
  button.textContent = stream.paused ? 'resume' : 'pause';
}

function toggleStreamPause() {
  stream.paused = !stream.paused;
  stream.pending = 0;
  if (!stream.paused) renderStream();
  else renderStreamCount();
}

function onStreamGlobInput() {
  clearTimeout(stream.timer);
  stream.timer = setTimeout(() => {
    const glob = $('stream-glob').value.trim();
    const problem = glob ? globProblem(glob) : '';
    $('stream-glob-error').hidden = !problem;
    $('stream-glob-error').textContent = problem;
    stream.glob = problem ? '' : glob;
    stream.match = glob && !problem ? compileGlob(glob) : null;
    stream.pending = 0;
    renderStream();
  }, kGlobDebounceMs);
}

// ---------------------------------------------------------------------------------------------
// Changes in, in batches

const changeQueue = [];
let flushTimer = 0;

function queueChange(c) {
  c.seenAt = Date.now();
  changeQueue.push(c);
  if (!flushTimer) flushTimer = setTimeout(flushChanges, kFlushMs);
}

function flushChanges() {
  clearTimeout(flushTimer);
  flushTimer = 0;
  if (!changeQueue.length) return;
  const batch = changeQueue.splice(0);
  let fileChanged = false;
  for (const c of batch) {
    applyToTree(c);
    applyToGlob(c);
    fileChanged = applyToFile(c) || fileChanged;
    noteHead(c.rev);
  }
  pruneDirs();
  if (fileChanged) {
    renderFile();
    flash($('file').querySelector('.file-meta'));
  }
  streamAdd(batch);
}

// ---------------------------------------------------------------------------------------------
// Start, reconnect and resync

function startViews() {
  resetTree();
  expandDir('/');
}

/** Reads again what is open: the expanded directories, the glob list and the selected file. */
async function reloadAll() {
  const token = ++tree.reloads;
  const open = [...tree.want].sort((a, b) => depthOf(a[0]) - depthOf(b[0]));
  resetTree();
  for (const [path, want] of open) {
    if (token !== tree.reloads) return;  // a newer reload took over
    const parent = tree.dirs.get(parentOf(path));
    if (path === '/' || parent?.entries.get(baseName(path))?.dir) await expandDir(path, want);
    else if (parent?.loaded && parent.next == null) tree.want.delete(path);  // it is gone
  }
  if (globView.glob) setGlob(globView.glob, true);
  if (fileView.path) selectFile(fileView.path);
}

function onResync(msg) {
  const banner = $('resync-banner');
  banner.textContent = `the node lost changes (${msg.reason || 'resync'}): reloaded what is open`;
  banner.hidden = false;
  clearTimeout(banner.timer);
  banner.timer = setTimeout(() => { banner.hidden = true; }, 8000);
  streamAdd([{ type: 'marker', text: `resync: ${msg.reason || 'changes were lost'}` }]);
  reloadAll();
}

function start() {
  $('tree-glob').addEventListener('input', onTreeGlobInput);
  $('tree-glob').addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter') {
      clearTimeout(globView.timer);
      setGlob($('tree-glob').value.trim());
    }
  });
  $('stream-glob').addEventListener('input', onStreamGlobInput);
  $('stream-pause').addEventListener('click', toggleStreamPause);
  renderStreamCount();
  renderActivity();
  setInterval(checkStale, 1000);
  connect();
}

start();
