// The web viewer (node/web/VIEWER.md) in a real browser against a real 3-node cluster.
//
// Run: cd tests/browser && npm ci && CAIRND=.../cairnd CAIRN=.../cairn node --test
// It starts three cairnd with --http on free ports of 127.0.0.1, opens node 1's page in Debian's
// chromium (/usr/bin/chromium, driven by playwright-core: no browser is downloaded), writes with
// the cairn CLI and checks what the page shows. Screenshots and the nodes' logs go to
// $CAIRN_ARTIFACTS (default: a new temp directory, printed). The steps run in order and share
// the cluster and the page.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const kChromium = '/usr/bin/chromium';
const kHealthyWithinMs = 20000;   // a node's /healthz answers 200 (it knows a leader) by then
const kLiveWithinMs = 1000;       // a write is on the page this soon after the CLI returns
const kDeleteSeenWithinMs = 2000; // the same after a node was killed (the cluster may re-elect)
const kDownSeenWithinMs = 4000;   // SELF times out in 1 s and cluster comes every second
const kLeaderWithinMs = 15000;    // a new leader after a kill
const kStopWithinMs = 5000;       // SIGTERM, then SIGKILL

const CAIRND = process.env.CAIRND;
const CAIRN = process.env.CAIRN;

const state = {
  tmp: null,        // data dirs and the browser profile; removed at the end
  artifacts: null,  // screenshots and node logs; kept
  nodes: [],        // {id, proc, exited, http, client, log}
  addrs: '',        // the CLI's --addr
  context: null,
  page: null,
  problems: [],     // console errors and warnings, page errors
};

// ---------------------------------------------------------------------------------------------
// Helpers

async function freePorts(n) {
  const servers = [];
  for (let i = 0; i < n; i++) {
    const s = net.createServer();
    await new Promise((resolve, reject) => s.once('error', reject).listen(0, '127.0.0.1', resolve));
    servers.push(s);
  }
  const ports = servers.map((s) => s.address().port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

function logTail(node, lines = 20) {
  try {
    return fs.readFileSync(node.log, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

async function waitHealthy(node) {
  const url = `http://127.0.0.1:${node.http}/healthz`;
  const deadline = Date.now() + kHealthyWithinMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (node.exited) {
      assert.fail(`cairnd ${node.id} exited (${node.exited}) before ${url} said 200; its log ends:\n${logTail(node)}`);
    }
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
      last = `${r.status} ${(await r.text()).trim()}`;
      if (r.status === 200) return;
    } catch (err) {
      last = err.cause?.code || err.message;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));  // poll interval
  }
  assert.fail(`cairnd ${node.id}: ${url} was not 200 within ${kHealthyWithinMs} ms (last: ${last}); its log ends:\n${logTail(node)}`);
}

function cairn(...args) {
  return new Promise((resolve) => {
    execFile(CAIRN, ['--addr', state.addrs, ...args], { timeout: 30000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (err.code ?? err.signal) : 0, stdout, stderr });
    });
  });
}

async function cairnOk(...args) {
  const r = await cairn(...args);
  assert.equal(r.code, 0, `cairn ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return r;
}

/** Waits for a locator within what is left of a deadline, and says what it waited for. */
async function seen(locator, deadline, what, stateWanted = 'visible') {
  const timeout = Math.max(1, deadline - Date.now());
  try {
    await locator.waitFor({ state: stateWanted, timeout });
  } catch (err) {
    assert.fail(`${what}: not ${stateWanted} in time (${err.message.split('\n')[0]})`);
  }
}

async function screenshot(name) {
  await state.page.screenshot({ path: path.join(state.artifacts, name), fullPage: true });
}

const row = (p) => state.page.locator(`#tree [data-testid=tree-row][data-path="${p}"]`);
const member = (id) => state.page.locator(`[data-testid=member][data-member-id="${id}"]`);

async function stopNode(node) {
  if (node.exited) return;
  const exited = new Promise((resolve) => node.proc.once('exit', resolve));
  node.proc.kill('SIGTERM');
  const timer = new Promise((resolve) => setTimeout(resolve, kStopWithinMs, 'timeout'));
  if ((await Promise.race([exited, timer])) === 'timeout' && !node.exited) {
    node.proc.kill('SIGKILL');
    await exited;
  }
}

// ---------------------------------------------------------------------------------------------
// The cluster and the page

before(async () => {
  assert.ok(CAIRND && CAIRN, 'set CAIRND and CAIRN to the cairnd and cairn executables, e.g. ' +
    'CAIRND=build/node/cairnd CAIRN=build/tools/cairn node --test tests/browser/');
  for (const bin of [CAIRND, CAIRN]) {
    assert.doesNotThrow(() => fs.accessSync(bin, fs.constants.X_OK), `${bin} is not an executable`);
  }
  assert.doesNotThrow(() => fs.accessSync(kChromium, fs.constants.X_OK),
    `${kChromium} is missing: apt-get install -y chromium`);

  state.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-viewer-'));
  state.artifacts = process.env.CAIRN_ARTIFACTS || fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-viewer-artifacts-'));
  fs.mkdirSync(state.artifacts, { recursive: true });
  console.log(`screenshots and node logs: ${state.artifacts}`);

  const ports = await freePorts(12);
  const peer = (i) => ports[i * 4], client = (i) => ports[i * 4 + 1];
  const events = (i) => ports[i * 4 + 2], http = (i) => ports[i * 4 + 3];
  const cluster = [0, 1, 2].map((i) => `${i + 1}=tcp://127.0.0.1:${peer(i)}`).join(',');
  state.addrs = [0, 1, 2].map((i) => `tcp://127.0.0.1:${client(i)}`).join(',');
  for (let i = 0; i < 3; i++) {
    const id = i + 1;
    const data = path.join(state.tmp, `data-${id}`);
    fs.mkdirSync(data);
    const log = path.join(state.artifacts, `cairnd-${id}.log`);
    const out = fs.openSync(log, 'w');
    const proc = spawn(CAIRND, ['--data', data, '--id', String(id), '--cluster', cluster,
      '--client', `tcp://127.0.0.1:${client(i)}`, '--events', `tcp://127.0.0.1:${events(i)}`,
      '--http', `127.0.0.1:${http(i)}`], { stdio: ['ignore', out, out] });
    fs.closeSync(out);
    const node = { id, proc, exited: null, http: http(i), client: client(i), log };
    proc.on('exit', (code, signal) => { node.exited = signal || `exit ${code}`; });
    proc.on('error', (err) => { node.exited = err.message; });
    state.nodes.push(node);
  }
  await Promise.all(state.nodes.map(waitHealthy));

  state.context = await chromium.launchPersistentContext(path.join(state.tmp, 'chromium'), {
    executablePath: kChromium,
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  state.page = state.context.pages()[0] ?? await state.context.newPage();
  state.page.setDefaultTimeout(10000);
  state.page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') state.problems.push(`console ${m.type()}: ${m.text()}`);
  });
  state.page.on('pageerror', (err) => state.problems.push(`page error: ${err.message}`));
  await state.page.goto(`http://127.0.0.1:${state.nodes[0].http}/`);
});

after(async () => {
  await state.context?.close().catch(() => {});
  await Promise.all(state.nodes.map(stopNode));
  if (state.tmp) fs.rmSync(state.tmp, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// The steps

describe('the viewer of a 3-node cluster', () => {
  it('shows a write from the CLI in the tree and the change stream within a second', async () => {
    const page = state.page;
    const ready = Date.now() + 10000;
    await seen(page.locator('#conn-status[data-state=open]'), ready, 'the connection to node 1');
    await seen(page.locator('#readonly-notice'), ready, 'the read-only notice');
    assert.match(await page.locator('#readonly-notice').innerText(), /writes from the page come once the cluster authenticates users/);
    await seen(row('/'), ready, 'the tree root');
    for (const id of [1, 2, 3]) {
      await seen(member(id).and(page.locator('[data-up=true]')), ready, `node ${id} up in the cluster view`);
    }
    await seen(page.locator('[data-testid=member].leader[data-state=leader]'), ready, 'a leader in the cluster view');
    assert.equal(await page.locator('[data-testid=member][data-state=leader]').count(), 1, 'exactly one leader is marked');
    assert.equal(await member(1).getAttribute('class').then((c) => c.includes('self')), true, 'node 1 is marked as this node');

    await cairnOk('set', '/viewer/keep', 'stays');
    await cairnOk('set', '/viewer/app/config.json', '{"v":1,"name":"alpha"}');
    const deadline = Date.now() + kLiveWithinMs;
    await seen(row('/viewer'), deadline, 'the new directory /viewer in the tree');
    await seen(page.locator('[data-testid=stream-row][data-path="/viewer/app/config.json"][data-op=set]'),
      deadline, 'the change of /viewer/app/config.json in the stream');
    await screenshot('viewer-1-tree.png');
  });

  it('opens a file below a subtree and shows its three values with their revs in its history', async () => {
    const page = state.page;
    const open = async () => {
      await row('/viewer').click();
      await row('/viewer/app').click();
      await row('/viewer/app/config.json').click();
    };
    await open();
    await seen(page.locator('[data-testid=value-text][data-kind=json]'), Date.now() + 5000, 'the JSON value');
    assert.match(await page.locator('[data-testid=value-text]').innerText(), /"v": 1,\s+"name": "alpha"/);

    await cairnOk('set', '/viewer/app/config.json', '{"v":2,"name":"beta"}');
    await cairnOk('set', '/viewer/app/config.json', '{"v":3,"name":"gamma"}');
    await seen(page.locator('[data-testid=value-text]', { hasText: '"v": 3' }), Date.now() + kLiveWithinMs,
      'the open file updated to its third value');
    const streamRevs = await page.locator('[data-testid=stream-row][data-path="/viewer/app/config.json"]')
      .evaluateAll((els) => els.map((e) => Number(e.dataset.rev)));
    assert.equal(streamRevs.length, 3, `three changes of the file in the stream, got ${streamRevs}`);

    // A fresh page: its history comes from the node's history op alone.
    await page.reload();
    await seen(page.locator('#conn-status[data-state=open]'), Date.now() + 10000, 'the connection after reload');
    await open();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=history-entry]').length === 3,
      null, { timeout: 5000 }).catch(() => {});
    const history = await page.locator('[data-testid=history-entry]').evaluateAll((els) => els.map((e) => ({
      rev: Number(e.dataset.rev), op: e.dataset.op,
      value: e.querySelector('[data-testid=history-value]')?.textContent ?? '',
    })));
    assert.deepEqual(history.map((e) => e.op), ['set', 'set', 'set'], `three sets in the history: ${JSON.stringify(history)}`);
    assert.deepEqual(history.map((e) => e.value),
      ['{"v":3,"name":"gamma"}', '{"v":2,"name":"beta"}', '{"v":1,"name":"alpha"}'], 'the values, newest first');
    assert.deepEqual(history.map((e) => e.rev), streamRevs, 'the history revs are the revs of the changes');
    assert.ok(history[0].rev > history[1].rev && history[1].rev > history[2].rev, 'revs decrease');
    assert.equal(Number(await page.locator('[data-testid=value-rev]').getAttribute('data-rev')), history[0].rev,
      'the value shown is at the newest rev');
    await seen(member(1), Date.now() + 5000, 'the cluster view after reload');
    await screenshot('viewer-2-history.png');
  });

  it('marks a killed node down in the cluster view within about 3 s', async () => {
    const page = state.page;
    const victim = state.nodes[2];
    victim.proc.kill('SIGKILL');
    const deadline = Date.now() + kDownSeenWithinMs;
    await seen(member(3).and(page.locator('[data-up=false][data-state=down]')), deadline, 'node 3 marked down');
    assert.match(await member(3).getAttribute('class'), /\bdown\b/);
    assert.notEqual((await member(3).locator('[data-testid=member-error]').innerText()).trim(), '',
      'a down member says why');
    assert.equal(await page.locator('#conn-status').getAttribute('data-state'), 'open', 'the page stays connected to node 1');
    await screenshot('viewer-3-down.png');
  });

  it('removes a deleted file, and the directory it emptied, from the tree', async () => {
    const page = state.page;
    // Node 3 may have led: write once the page shows a live leader again.
    await seen(page.locator('[data-testid=member][data-state=leader][data-up=true]'), Date.now() + kLeaderWithinMs,
      'a live leader after the kill');
    await cairnOk('del', '/viewer/app/config.json');
    const deadline = Date.now() + kDeleteSeenWithinMs;
    await seen(row('/viewer/app/config.json'), deadline, 'the deleted file gone from the tree', 'detached');
    await seen(row('/viewer/app'), deadline, 'the emptied directory gone from the tree', 'detached');
    await seen(page.locator('[data-testid=value-rev][data-rev="0"]'), deadline, 'the open file shown deleted');
    assert.ok(await row('/viewer/keep').isVisible(), '/viewer/keep stays');
    await screenshot('viewer-4-deleted.png');
  });

  it('logs no console error or warning and throws no page error', () => {
    assert.deepEqual(state.problems, []);
  });
});
