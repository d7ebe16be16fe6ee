// The dashboard of `parallelflow serve`: the service's runs, and per run a live graph coloured by status, a timeline
// per worker slot that grows as tasks run, counts and task details, following the run's Server-Sent Events.
// Everything a run sends is put into the page as text (textContent, canvas text), never as markup.
'use strict';
(function () {
  const COLOURS = {
    pending: '#e5e7eb', queued: '#93c5fd', running: '#2563eb', retrying: '#f59e0b', succeeded: '#16a34a', cached: '#15803d',
    failed: '#dc2626', timed_out: '#ea580c', cancelled: '#6b7280', skipped: '#a3a3a3', requeued: '#c084fc',
  };
  const ORDER = ['pending', 'queued', 'running', 'retrying', 'succeeded', 'cached', 'failed', 'timed_out', 'cancelled', 'skipped'];
  const FINAL = new Set(['succeeded', 'cached', 'failed', 'timed_out', 'cancelled', 'skipped']);
  const RESUMABLE = new Set(['failed', 'cancelled', 'interrupted']);
  const $ = id => document.getElementById(id);
  const el = (tag, props, ...kids) => {
    const e = document.createElement(tag);
    if (props) { for (const [k, v] of Object.entries(props)) { if (v != null) { if (k === 'text') e.textContent = v; else e.setAttribute(k, v); } } }
    for (const kid of kids) { if (kid != null) e.append(kid); }
    return e;
  };

  // ---- the token: kept for this tab only; given once as #token=… in the address, or typed in when asked ----
  let token = sessionStorage.getItem('pf-token') || '';
  const fromHash = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (fromHash) {
    token = decodeURIComponent(fromHash[1]);
    sessionStorage.setItem('pf-token', token);
    history.replaceState(null, '', location.pathname + location.search);
  }
  const headers = extra => Object.assign(token ? { Authorization: 'Bearer ' + token } : {}, extra || {});
  async function api(path, options) {
    const response = await fetch(path, Object.assign({}, options, { headers: headers(options && options.headers) }));
    if (response.status === 401) { askForToken(); }
    return response;
  }
  function askForToken() { $('pf-token-form').hidden = false; }
  $('pf-token-form').addEventListener('submit', e => {
    e.preventDefault();
    token = $('pf-token').value.trim();
    sessionStorage.setItem('pf-token', token);
    $('pf-token-form').hidden = true;
    refreshRuns();
    if (view) { open(view.runId); }
  });
  async function problemText(response) {
    try { const p = await response.json(); return p.detail || p.title || response.statusText; } catch { return response.status + ' ' + response.statusText; }
  }

  // ---- the list of runs ----
  let selected = null;
  async function refreshRuns() {
    let response;
    try { response = await api('/runs?page_size=200'); } catch { $('pf-connection').textContent = 'the service does not answer'; return; }
    if (!response.ok) { $('pf-connection').textContent = await problemText(response); return; }
    $('pf-connection').textContent = '';
    const body = await response.json();
    $('pf-runs-total').textContent = '(' + body.total + ')';
    const rows = body.runs.map(run => {
      const tr = el('tr', { 'data-run': run.run_id, class: run.run_id === selected ? 'pf-selected' : null },
        // Run ids start with the date: the time and the suffix tell runs apart.
        el('td', { text: /^\d{8}-/.test(run.run_id) ? run.run_id.slice(9) : run.run_id, title: run.run_id }),
        el('td', { text: run.plan }),
        el('td', null, el('span', { class: 'pf-status pf-s-' + run.status, text: run.status })),
        el('td', { text: new Date(run.started_at).toLocaleTimeString() }));
      tr.addEventListener('click', () => { location.hash = '#/runs/' + encodeURIComponent(run.run_id); });
      return tr;
    });
    $('pf-runs').tBodies[0].replaceChildren(...rows);
  }

  // ---- one run ----
  let view = null;

  function route() {
    const m = /^#\/runs\/([^/]+)$/.exec(location.hash);
    if (m) { open(decodeURIComponent(m[1])); } else { close(); }
  }

  function close() {
    if (view) { view.stop(); }
    view = null;
    selected = null;
    $('pf-run').hidden = true;
    $('pf-empty').hidden = false;
  }

  async function open(runId, note) {
    if (view) { view.stop(); }
    selected = runId;
    for (const tr of $('pf-runs').tBodies[0].rows) { tr.classList.toggle('pf-selected', tr.dataset.run === runId); }
    $('pf-empty').hidden = true;
    $('pf-run').hidden = false;
    $('pf-run-title').textContent = runId;
    say(note || '', true);
    $('pf-task').replaceChildren(el('p', { class: 'pf-muted', text: 'Click a task in the graph or the timeline for its details.' }));
    const graph = await api('/runs/' + encodeURIComponent(runId) + '/graph');
    if (!graph.ok) { say(await problemText(graph)); return; }
    if (selected !== runId) { return; }
    view = new RunView(runId, await graph.json());
    window.pfDashboard.view = view;
    view.start();
  }

  function say(text, ok) {
    $('pf-message').textContent = text;
    $('pf-message').classList.toggle('pf-ok', !!ok);
  }

  class RunView {
    constructor(runId, graph) {
      this.runId = runId;
      this.plan = graph.plan;
      this.status = graph.status;
      const n = graph.tasks.length;
      this.n = n;
      this.ids = graph.tasks.map(t => t.id);
      this.workers = graph.tasks.map(t => t.worker);
      this.deps = graph.tasks.map(t => t.depends_on || []);
      this.index = new Map(this.ids.map((id, i) => [id, i]));
      this.state = new Array(n).fill('pending');
      this.line = new Array(n).fill(null);
      this.attempts = [];          // { task, slot, start, end, status }
      this.open = new Map();       // task → its attempt that has not ended
      this.counts = Object.fromEntries(ORDER.map(s => [s, 0]));
      this.counts.pending = n;
      this.slots = new Set();
      this.t0 = null;
      this.tEnd = null;
      this.lastId = 0;
      this.queue = [];
      this.head = 0;
      this.ended = false;
      this.stopped = false;
      this.dirty = true;
      this.finals = 0;
      this.highlight = -1;
      this.layout();
      this.bind();
    }

    start() {
      this.showHead();
      this.follow();
      this.frame = requestAnimationFrame(() => this.tick());
      this.clock = setInterval(() => { if (this.open.size > 0) { this.dirty = true; } }, 250);
    }

    stop() {
      this.stopped = true;
      if (this.abort) { this.abort.abort(); }
      cancelAnimationFrame(this.frame);
      clearInterval(this.clock);
    }

    // The events, read with fetch so the token goes in a header; a dropped stream is taken up again after the last
    // event seen (Last-Event-ID), so nothing is missed.
    async follow() {
      while (!this.stopped && !this.streamEnded) {
        this.abort = new AbortController();
        try {
          const response = await api('/runs/' + encodeURIComponent(this.runId) + '/events', { headers: this.lastId ? { 'Last-Event-ID': String(this.lastId) } : {}, signal: this.abort.signal });
          if (response.status === 404) { await this.fromReport(); return; }
          if (!response.ok) { say(await problemText(response)); return; }
          const reader = response.body.getReader();
          const decoder = new TextDecoder();
          let text = '';
          for (;;) {
            const { value, done } = await reader.read();
            if (done) { break; }
            text += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
            let cut;
            while ((cut = text.indexOf('\n\n')) >= 0) {
              this.take(text.slice(0, cut));
              text = text.slice(cut + 2);
            }
          }
        } catch (e) {
          if (this.stopped) { return; }
        }
        if (!this.streamEnded && !this.stopped) { await new Promise(r => setTimeout(r, 1000)); }
      }
    }

    // One event of the stream (Server-Sent Events: field lines; data lines joined with a line break).
    take(block) {
      let id = null, name = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) { continue; }
        const at = line.indexOf(':');
        const field = at < 0 ? line : line.slice(0, at);
        const value = at < 0 ? '' : line.slice(at + 1).replace(/^ /, '');
        if (field === 'id') { id = value; } else if (field === 'event') { name = value; } else if (field === 'data') { data.push(value); }
      }
      if (name === 'end') { this.streamEnded = true; this.queue.push({ kind: 'end' }); return; }
      if (data.length === 0) { return; }
      const e = JSON.parse(data.join('\n'));
      if (id) { this.lastId = Number(id); }
      this.queue.push(e);
    }

    // A run this service no longer holds the events of (before a restart): drawn from its report in the journal.
    async fromReport() {
      const response = await api('/runs/' + encodeURIComponent(this.runId));
      if (!response.ok) { say(await problemText(response)); return; }
      const report = await response.json();
      this.status = report.status;
      for (const t of report.results || []) {
        const i = this.index.get(t.id);
        if (i === undefined) { continue; }
        this.set(i, t.status);
        for (const a of t.attempt_log || []) {
          const start = Date.parse(a.start), end = Date.parse(a.end);
          if (this.t0 === null || start < this.t0) { this.t0 = start; }
          if (this.tEnd === null || end > this.tEnd) { this.tEnd = end; }
          this.slots.add(a.slot);
          this.attempts.push({ task: i, slot: a.slot, start, end, status: a.status });
        }
      }
      this.ended = true;
      this.streamEnded = true;
      this.showHead();
      this.dirty = true;
    }

    apply(e) {
      const i = e.task !== undefined ? this.index.get(e.task) : undefined;
      const time = e.time ? Date.parse(e.time) : null;
      switch (e.kind) {
        case 'run_started':
          this.t0 = time; this.status = 'running'; this.showHead();
          break;
        case 'task_queued':
          if (i !== undefined && !FINAL.has(this.state[i])) { this.set(i, 'queued'); }
          break;
        case 'task_started':
          if (i !== undefined) {
            this.set(i, 'running');
            const a = { task: i, slot: e.worker || 0, start: time, end: null, status: 'running' };
            this.slots.add(a.slot);
            this.attempts.push(a);
            this.open.set(i, a);
          }
          break;
        case 'task_retrying':
          if (i !== undefined) { this.closeAttempt(i, time, 'failed'); this.set(i, 'retrying'); }
          break;
        case 'task_requeued':
          if (i !== undefined) { this.closeAttempt(i, time, 'requeued'); this.set(i, 'queued'); }
          break;
        case 'task_output':
          if (i !== undefined) { this.line[i] = e.message; if (i === this.shown) { this.showLine(); } }
          break;
        case 'task_finished':
          if (i !== undefined) { this.closeAttempt(i, time, e.status); this.set(i, e.status); }
          break;
        case 'run_finished':
          this.tEnd = time;
          break;
        case 'end':
          this.ended = true;
          this.finish();
          break;
      }
    }

    closeAttempt(i, time, status) {
      const a = this.open.get(i);
      if (a) { a.end = time; a.status = status; this.open.delete(i); }
    }

    set(i, status) {
      const old = this.state[i];
      if (old === status) { return; }
      this.counts[old] = (this.counts[old] || 0) - 1;
      this.counts[status] = (this.counts[status] || 0) + 1;
      if (FINAL.has(status) && !FINAL.has(old)) { this.finals++; }
      this.state[i] = status;
      this.dirty = true;
      this.countsDirty = true;
    }

    async finish() {
      const response = await api('/runs/' + encodeURIComponent(this.runId));
      if (response.ok) { this.status = (await response.json()).status; }
      this.showHead();
      refreshRuns();
    }

    // Each frame takes events for at most 12 ms, then draws: a 10,000-task run's replay arrives in a burst, and the
    // page stays responsive while it is worked through.
    tick() {
      if (this.stopped) { return; }
      const until = performance.now() + 12;
      const q = this.queue;
      while (this.head < q.length && performance.now() < until) {
        const stop = Math.min(q.length, this.head + 256);
        for (; this.head < stop; this.head++) { this.apply(q[this.head]); }
      }
      if (this.head === q.length) { q.length = 0; this.head = 0; }
      if (this.countsDirty) { this.showCounts(); this.countsDirty = false; }
      if (this.dirty) { this.drawGraph(); this.drawGantt(); this.dirty = false; }
      this.frame = requestAnimationFrame(() => this.tick());
    }

    showHead() {
      const status = this.ended || this.status !== 'running' ? this.status : 'running';
      const badge = $('pf-run-status');
      badge.textContent = status;
      badge.className = 'pf-badge pf-s-' + status;
      $('pf-cancel').disabled = this.ended || status !== 'running';
      $('pf-resume').disabled = !(this.ended && RESUMABLE.has(status));
      $('pf-run-title').textContent = this.plan + ' · ' + this.runId;
      this.showCounts();
    }

    showCounts() {
      const chips = ORDER.filter(s => this.counts[s] > 0).map(s =>
        el('span', { class: 'pf-count', 'data-status': s }, el('span', { class: 'pf-status pf-s-' + s, text: s }), ' ' + this.counts[s]));
      $('pf-counts').replaceChildren(...chips);
      $('pf-progress-bar').style.width = (this.n === 0 ? 100 : 100 * this.finals / this.n).toFixed(1) + '%';
    }

    // ---- the graph: tasks in columns by depth (a deep column wraps), drawn on a canvas so that 10,000 nodes stay cheap ----
    layout() {
      const n = this.n, depth = new Array(n).fill(0), indegree = new Array(n).fill(0), next = Array.from({ length: n }, () => []);
      this.deps.forEach((ds, i) => { for (const d of ds) { indegree[i]++; next[d].push(i); } });
      const order = [];
      for (let i = 0; i < n; i++) { if (indegree[i] === 0) { order.push(i); } }
      for (let k = 0; k < order.length; k++) {
        for (const j of next[order[k]]) {
          depth[j] = Math.max(depth[j], depth[order[k]] + 1);
          if (--indegree[j] === 0) { order.push(j); }
        }
      }
      const layers = [];
      for (let i = 0; i < n; i++) { (layers[depth[i]] = layers[depth[i]] || []).push(i); }
      this.layers = layers.filter(l => l);
      this.edges = this.deps.reduce((s, d) => s + d.length, 0);
    }

    // Columns by depth when they fit the width at 3 px a node or more; else a grid in dependency order (a long chain,
    // or a very wide plan), without edges.
    place(width) {
      const usable = width - 16, maxHeight = 600;
      let size, cols = 0, rows = 1;
      for (size = 28; size >= 3; size--) {
        rows = Math.max(1, Math.floor(maxHeight / size));
        cols = this.layers.reduce((c, l) => c + Math.ceil(l.length / rows), 0);
        if (cols * size * 1.8 <= usable) { break; }
      }
      this.x = new Float32Array(this.n);
      this.y = new Float32Array(this.n);
      this.grid = size < 3;
      if (!this.grid) {
        const gap = Math.min(160, usable / Math.max(1, cols));
        let col = 0;
        for (const layer of this.layers) {
          layer.forEach((task, k) => {
            // Whole pixels: a node is drawn crisp, in its status's colour to its edges.
            this.x[task] = Math.round(8 + (col + Math.floor(k / rows)) * gap);
            this.y[task] = 8 + (k % rows) * size;
          });
          col += Math.ceil(layer.length / rows);
        }
        this.size = size;
        this.boxW = Math.max(2, size - 2, Math.floor(Math.min(gap - 8, size * 5)));
        this.graphHeight = Math.min(rows, Math.max(1, ...this.layers.map(l => l.length))) * size + 16;
      } else {
        size = Math.max(3, Math.min(28, Math.floor(Math.sqrt(usable * maxHeight / this.n))));
        const perRow = Math.max(1, Math.floor(usable / size));
        let k = 0;
        for (const layer of this.layers) {
          for (const task of layer) {
            this.x[task] = 8 + (k % perRow) * size;
            this.y[task] = 8 + Math.floor(k / perRow) * size;
            k++;
          }
        }
        this.size = size;
        this.boxW = Math.max(2, size - 1);
        this.graphHeight = Math.ceil(this.n / perRow) * size + 16;
      }
      $('pf-graph-note').textContent = this.n + ' tasks' + (this.grid ? ', in dependency order (too many columns to draw the edges)' : '');
      this.placedFor = width;
    }

    drawGraph() {
      const canvas = $('pf-graph');
      const width = canvas.parentElement.clientWidth || 800;
      if (this.placedFor !== width) { this.place(width); }
      const ratio = window.devicePixelRatio || 1;
      if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(this.graphHeight * ratio)) {
        canvas.width = Math.round(width * ratio);
        canvas.height = Math.round(this.graphHeight * ratio);
        canvas.style.height = this.graphHeight + 'px';
      }
      const g = canvas.getContext('2d');
      g.setTransform(ratio, 0, 0, ratio, 0, 0);
      g.clearRect(0, 0, width, this.graphHeight);
      const s = this.size, box = Math.max(2, s - 2), w = this.boxW;
      if (!this.grid && this.edges <= 4000) {
        g.strokeStyle = '#cbd5e1';
        g.lineWidth = 1;
        g.beginPath();
        this.deps.forEach((ds, i) => {
          for (const d of ds) {
            g.moveTo(this.x[d] + w, this.y[d] + box / 2);
            g.lineTo(this.x[i], this.y[i] + box / 2);
          }
        });
        g.stroke();
      }
      // One fill per status: a batch of rectangles each.
      const byStatus = new Map();
      for (let i = 0; i < this.n; i++) {
        const list = byStatus.get(this.state[i]);
        if (list) { list.push(i); } else { byStatus.set(this.state[i], [i]); }
      }
      for (const [status, list] of byStatus) {
        g.fillStyle = COLOURS[status] || '#000';
        g.beginPath();
        for (const i of list) { g.rect(this.x[i], this.y[i], w, box); }
        g.fill();
      }
      if (this.highlight >= 0) {
        g.strokeStyle = '#111827';
        g.lineWidth = 2;
        g.strokeRect(this.x[this.highlight] - 1, this.y[this.highlight] - 1, w + 2, box + 2);
      }
      if (s >= 16) {
        g.font = Math.min(12, s - 6) + 'px system-ui, sans-serif';
        g.textBaseline = 'middle';
        for (let i = 0; i < this.n; i++) {
          g.fillStyle = this.state[i] === 'pending' || this.state[i] === 'queued' ? '#111827' : '#fff';
          g.fillText(this.ids[i], this.x[i] + 3, this.y[i] + box / 2, w - 6);
        }
      }
    }

    taskAt(x, y) {
      const w = this.boxW || this.size, box = Math.max(2, this.size - 2);
      for (let i = 0; i < this.n; i++) {
        if (x >= this.x[i] && x <= this.x[i] + w && y >= this.y[i] && y <= this.y[i] + box) { return i; }
      }
      return -1;
    }

    // ---- the timeline: a row per worker slot, a bar per attempt; it grows while tasks run ----
    drawGantt() {
      const canvas = $('pf-gantt');
      const width = canvas.parentElement.clientWidth || 800;
      const slots = [...this.slots].sort((a, b) => a - b);
      this.slotRow = new Map(slots.map((s, k) => [s, k]));
      const row = slots.length > 60 ? 6 : 18, top = 18, left = 56;
      const height = top + Math.max(1, slots.length) * row + 4;
      const ratio = window.devicePixelRatio || 1;
      if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
        canvas.width = Math.round(width * ratio);
        canvas.height = Math.round(height * ratio);
        canvas.style.height = height + 'px';
      }
      const g = canvas.getContext('2d');
      g.setTransform(ratio, 0, 0, ratio, 0, 0);
      g.clearRect(0, 0, width, height);
      if (this.t0 === null) { return; }
      const now = this.ended ? (this.tEnd || Date.now()) : Date.now();
      const span = Math.max(1000, now - this.t0);
      const scale = (width - left - 8) / span;
      this.gantt = { left, top, row, scale };
      g.font = '11px system-ui, sans-serif';
      g.fillStyle = '#6b7280';
      g.textBaseline = 'top';
      const step = niceStep(span / 8);
      for (let t = 0; t <= span; t += step) {
        const x = left + t * scale;
        g.fillRect(x, top - 4, 1, height - top + 4);
        if (x + 2 + g.measureText(seconds(t)).width < width) { g.fillText(seconds(t), x + 2, 2); }
      }
      g.textBaseline = 'middle';
      if (row >= 12) { slots.forEach((s, k) => g.fillText('slot ' + s, 4, top + k * row + row / 2)); }
      $('pf-gantt-note').textContent = plural(this.attempts.length, 'attempt') + ' on ' + plural(slots.length, 'slot') + ' · ' + seconds(span);
      const bars = new Map();
      for (const a of this.attempts) {
        const list = bars.get(a.status);
        if (list) { list.push(a); } else { bars.set(a.status, [a]); }
      }
      for (const [status, list] of bars) {
        g.fillStyle = COLOURS[status] || '#000';
        g.beginPath();
        for (const a of list) {
          const x = left + (a.start - this.t0) * scale;
          // A pixel between two attempts that follow each other on a slot.
          const w = Math.max(1, ((a.end === null ? now : a.end) - a.start) * scale - 1);
          g.rect(x, top + this.slotRow.get(a.slot) * row + 1, w, row - 2);
        }
        g.fill();
      }
    }

    attemptAt(x, y) {
      if (!this.gantt) { return -1; }
      const { left, top, row, scale } = this.gantt;
      const now = this.ended ? (this.tEnd || Date.now()) : Date.now();
      for (const a of this.attempts) {
        const ax = left + (a.start - this.t0) * scale, aw = Math.max(2, ((a.end === null ? now : a.end) - a.start) * scale), ay = top + this.slotRow.get(a.slot) * row;
        if (x >= ax && x <= ax + aw && y >= ay && y <= ay + row) { return a.task; }
      }
      return -1;
    }

    bind() {
      const point = (canvas, e) => { const b = canvas.getBoundingClientRect(); return [e.clientX - b.left, e.clientY - b.top]; };
      $('pf-graph').onclick = e => { const i = this.taskAt(...point($('pf-graph'), e)); if (i >= 0) { this.details(i); } };
      $('pf-gantt').onclick = e => { const i = this.attemptAt(...point($('pf-gantt'), e)); if (i >= 0) { this.details(i); } };
      $('pf-graph').onmousemove = e => { const i = this.taskAt(...point($('pf-graph'), e)); $('pf-graph').title = i >= 0 ? this.ids[i] + ' · ' + this.state[i] : ''; };
      $('pf-cancel').onclick = async () => {
        $('pf-cancel').disabled = true;
        const response = await api('/runs/' + encodeURIComponent(this.runId) + '/cancel', { method: 'POST' });
        if (response.ok) { say('cancelling: running tasks are stopped, the rest will not start', true); } else { say(await problemText(response)); $('pf-cancel').disabled = false; }
      };
      $('pf-resume').onclick = async () => {
        $('pf-resume').disabled = true;
        const response = await api('/runs/' + encodeURIComponent(this.runId) + '/resume', { method: 'POST' });
        if (response.ok) {
          const body = await response.json();
          open(this.runId, 'resumed: ' + body.restored + ' task(s) kept from the journal');
        } else { say(await problemText(response)); $('pf-resume').disabled = false; }
      };
    }

    async details(i) {
      this.highlight = i;
      this.shown = i;
      this.dirty = true;
      const id = this.ids[i];
      const known = this.attempts.filter(a => a.task === i);
      const box = $('pf-task');
      const list = el('dl', null,
        el('dt', { text: 'status' }), el('dd', null, el('span', { class: 'pf-status pf-s-' + this.state[i], text: this.state[i] })),
        el('dt', { text: 'worker' }), el('dd', { text: this.workers[i] }),
        el('dt', { text: 'depends on' }), el('dd', { text: this.deps[i].map(d => this.ids[d]).join(', ') || '—' }),
        el('dt', { text: 'attempts' }), el('dd', { text: String(known.length) }));
      box.replaceChildren(el('h4', { text: id }), list, el('div', { id: 'pf-task-line' }), el('div', { id: 'pf-task-body' }));
      this.showLine();
      if (!FINAL.has(this.state[i])) { return; }
      const response = await api('/runs/' + encodeURIComponent(this.runId) + '/tasks/' + encodeURIComponent(id));
      if (this.shown !== i || !response.ok) { return; }
      const t = await response.json();
      const body = [el('p', null, 'took ' + seconds((t.duration || 0) * 1000))];
      if (t.output != null) { body.push(el('h5', { text: 'Output' }), el('pre', { class: 'pf-output', text: t.output })); }
      if (t.error) { body.push(el('h5', { text: 'Error' }), el('pre', { class: 'pf-error', text: t.error })); }
      $('pf-task-body').replaceChildren(...body);
    }

    showLine() {
      const target = $('pf-task-line');
      if (!target || this.shown === undefined) { return; }
      const line = this.line[this.shown];
      target.replaceChildren(...(line && !FINAL.has(this.state[this.shown]) ? [el('h5', { text: 'Now' }), el('pre', { text: line })] : []));
    }

    // For tests and scripts: where a task is drawn, and its status.
    where(id) {
      const i = this.index.get(id);
      if (i === undefined) { return null; }
      return this.x ? { x: this.x[i] + Math.floor(this.boxW / 2), y: this.y[i] + Math.floor(Math.max(2, this.size - 2) / 2), status: this.state[i] } : { x: null, y: null, status: this.state[i] };
    }
  }

  function niceStep(raw) {
    const p = Math.pow(10, Math.floor(Math.log10(Math.max(raw, 1))));
    for (const m of [1, 2, 5, 10]) { if (p * m >= raw) { return p * m; } }
    return p * 10;
  }
  function plural(n, word) { return n + ' ' + word + (n === 1 ? '' : 's'); }
  function seconds(ms) { return ms < 1000 ? Math.round(ms) + ' ms' : ms < 120000 ? (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + ' s' : (ms / 60000).toFixed(1) + ' min'; }

  window.pfDashboard = { view: null, refreshRuns };
  window.addEventListener('hashchange', route);
  window.addEventListener('resize', () => { if (view) { view.dirty = true; } });
  refreshRuns();
  setInterval(refreshRuns, 3000);
  route();
})();
