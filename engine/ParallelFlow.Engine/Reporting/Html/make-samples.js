#!/usr/bin/env node
// Makes run reports for the HTML report's checks, by simulating a list scheduler on N worker slots.
//   node make-samples.js small  [out.json]              the hand-made 12-task sample (default: sample-report.json beside this file)
//   node make-samples.js large  out.json [tasks] [slots] a random DAG (default 2000 tasks on 8 slots, 2000+ attempts)
//   node make-samples.js empty  out.json                 every task skipped: no attempts at all
//   node make-samples.js single out.json                 one task
'use strict';
const fs = require('fs');
const path = require('path');

const T0 = Date.UTC(2026, 11, 1, 9, 14, 3, 217);
function iso(sec) {
  const ms = T0 + sec * 1000, whole = Math.floor(ms);
  const frac = String(Math.round((ms - whole) * 1e4)).padStart(4, '0').slice(0, 4);
  return new Date(whole).toISOString().replace('Z', frac + '+00:00');
}
const r6 = x => Math.round(x * 1e6) / 1e6;

// spec: { id, worker, deps, after, runs: [{ dur, status, error, delay, slot0 }], status (final), output, ... extra fields copied }
function simulate(specs, slots, base) {
  const byId = new Map(specs.map(s => [s.id, s]));
  const dependents = new Map(specs.map(s => [s.id, []]));
  for (const s of specs) for (const d of [...(s.deps || []), ...(s.after || [])]) dependents.get(d).push(s.id);
  const st = new Map(specs.map((s, i) => [s.id, { i, done: false, final: null, k: 0, log: [], ready: null, start: null, end: null }]));
  let now = 0.011, ready = [], running = [], retries = [], free = Array.from({ length: slots }, (_, i) => i + 1), peak = 0;
  const finish = (id, status, t) => {
    const x = st.get(id); x.done = true; x.final = status; x.endT = t;
    for (const d of dependents.get(id)) check(d, t);
  };
  const check = (id, t) => {
    const s = byId.get(id), x = st.get(id);
    if (x.done || x.ready != null) return;
    const all = [...(s.deps || []), ...(s.after || [])];
    if (!all.every(d => st.get(d).done)) return;
    const bad = (s.deps || []).find(d => !['succeeded', 'cached'].includes(st.get(d).final));
    if (bad) { x.skipBy = bad; finish(id, 'skipped', t); return; }
    x.ready = t; ready.push(id);
  };
  for (const s of specs) check(s.id, now);
  for (let guard = 0; guard < 1e6; guard++) {
    ready.sort((a, b) => (byId.get(b).prio || 0) - (byId.get(a).prio || 0) || st.get(a).i - st.get(b).i);
    free.sort((a, b) => a - b);
    while (free.length && ready.length) {
      const id = ready.shift(), s = byId.get(id), x = st.get(id), run = s.runs[x.k], slot = free.shift();
      const s0 = now + 0.0004 + (x.i % 7) * 0.00013;
      running.push({ id, run, slot, s: s0, e: s0 + run.dur, k: x.k });
    }
    peak = Math.max(peak, running.length);
    const next = Math.min(...running.map(r => r.e), ...retries.map(r => r.at));
    if (!isFinite(next)) break;
    now = next;
    for (const r of running.filter(r => r.e <= now + 1e-12)) {
      running.splice(running.indexOf(r), 1); free.push(r.slot);
      const s = byId.get(r.id), x = st.get(r.id), last = r.k === s.runs.length - 1;
      const status = last ? s.status : (r.run.status || 'failed');
      x.log.push({ attempt: r.k + 1, start: iso(r.s), end: iso(r.e), slot: r.run.slot0 ? 0 : r.slot, status, error: r.run.error, retry_delay: last ? undefined : r.run.delay || 0, _s: r.s, _e: r.e });
      if (last) finish(r.id, s.status, r.e); else { x.k++; retries.push({ id: r.id, at: r.e + (r.run.delay || 0) }); }
    }
    for (const q of retries.filter(q => q.at <= now + 1e-12)) { retries.splice(retries.indexOf(q), 1); ready.push(q.id); }
  }
  // waves: longest path over hard and soft dependencies
  const wave = new Map();
  const w = id => { if (wave.has(id)) return wave.get(id); const s = byId.get(id); const v = Math.max(-1, ...[...(s.deps || []), ...(s.after || [])].map(w)) + 1; wave.set(id, v); return v; };
  let wall = 0, total = 0, busy = 0;
  const results = specs.map(s => {
    const x = st.get(s.id), ran = x.log.length > 0;
    const o = { id: s.id, worker: s.worker, status: x.final || s.status, attempts: x.log.length, wave: w(s.id) };
    if (ran) { o.start = iso(x.log[0]._s); o.end = iso(x.log[x.log.length - 1]._e); }
    const dur = ran ? x.log[x.log.length - 1]._e - x.log[0]._s : 0;
    o.duration = r6(dur);
    if (s.deps && s.deps.length) o.depends_on = s.deps;
    if (s.after && s.after.length) o.after = s.after;
    if (x.ready != null) o.ready_at = iso(x.ready);
    if (ran) o.attempt_log = x.log.map(a => { const c = { ...a }; delete c._s; delete c._e; if (c.error === undefined) delete c.error; if (c.retry_delay === undefined) delete c.retry_delay; return c; });
    for (const k of ['output', 'output_json', 'artifacts', 'usage', 'decision']) if (s[k] !== undefined && ran) o[k] = s[k];
    if (o.status === 'skipped') { o.error = `not run: dependency '${x.skipBy}' did not succeed`; o.failure_kind = 'dependency'; }
    else if (s.error) { o.error = s.error; o.failure_kind = s.failure_kind || 'fatal'; }
    if (ran) { wall = Math.max(wall, x.log[x.log.length - 1]._e); total += dur; for (const a of x.log) busy += a._e - a._s; }
    o._s = ran ? x.log[0]._s : null; o._e = ran ? x.log[x.log.length - 1]._e : null;
    return o;
  });
  wall += 0.004;
  // observed critical path: from the last task to end, back through the dependency that ended last
  const res = new Map(results.map(r => [r.id, r]));
  let cur = results.filter(r => r._e != null).sort((a, b) => b._e - a._e)[0];
  const cp = [];
  while (cur) { cp.unshift(cur.id); const s = byId.get(cur.id); cur = [...(s.deps || []), ...(s.after || [])].map(d => res.get(d)).filter(r => r._e != null).sort((a, b) => b._e - a._e)[0]; }
  const cpTime = cp.reduce((a, id) => a + res.get(id).duration, 0);
  for (const r of results) { delete r._s; delete r._e; }
  const counts = { succeeded: 0, failed: 0, timed_out: 0, cancelled: 0, skipped: 0, cached: 0 };
  for (const r of results) counts[r.status]++;
  const waves = Math.max(...results.map(r => r.wave)) + 1, width = [];
  for (const r of results) width[r.wave] = (width[r.wave] || 0) + 1;
  const est = specs.reduce((a, s) => a + s.runs[0].dur, 0), lb = Math.max(cpTime, total / slots);
  return Object.assign({
    task_id: base.task_id, run_id: base.run_id, mode: base.mode || 'dag',
    status: counts.failed || counts.timed_out ? 'failed' : counts.cancelled ? 'cancelled' : 'succeeded', started_at: iso(0)
  }, base.inputs ? { inputs: base.inputs } : {}, {
    execution_summary: {
      total_subtasks: specs.length, parallel_executions: peak, execution_time: r6(wall), speedup_factor: r6(total / wall), workers_used: slots,
      strategy: 'critical_path', strategy_reranks: 3, sync_points: specs.filter(s => (s.deps || []).length >= 2).length, status_counts: counts
    },
    results,
    performance_metrics: { worker_utilization: r6(busy / (wall * slots)), avg_task_time: r6(total / Math.max(1, results.filter(r => r.attempts).length)), critical_path_time: r6(cpTime), critical_path: cp, total_task_time: r6(total) },
  }, base.budget ? { budget: base.budget } : {}, {
    lower_bound: r6(lb), efficiency: r6(lb / wall),
    plan_analysis: { waves, max_width: Math.max(...width.filter(Boolean)), estimated_critical_path_time: r6(cpTime * 0.9), estimated_total_work: r6(est), estimated_lower_bound: r6(Math.max(cpTime * 0.9, est / slots)) },
    next_steps: base.next_steps || []
  });
}

function small() {
  const vote = {
    kind: 'vote', scorer: 'weighted', quorum: 2, succeeded: 3, decided_early: false, winner: 'claude-style', output_from: 'winner',
    rationale: 'claude-style has the highest weighted score, 0.912: best on agreement (0.81) and brevity. Others: concise 0.744; local-8b 0.401 (slowest).',
    candidates: [
      { name: 'claude-style', worker: 'llm', status: 'succeeded', duration_seconds: 6.84, output: 'ParallelFlow 2.4: Faster Retries and a Real Timeline', usage: { input_tokens: 420, output_tokens: 18, cost: 0.0021 }, total: 0.912, rank: 1, scores: { agreement: 1, brevity: 0.82, speed: 0.71 } },
      { name: 'concise', worker: 'llm', status: 'succeeded', duration_seconds: 4.12, output: 'ParallelFlow 2.4 — retries & timelines', usage: { input_tokens: 420, output_tokens: 11, cost: 0.0019 }, total: 0.744, rank: 2, scores: { agreement: 0.64, brevity: 1, speed: 1 } },
      { name: 'local-8b', worker: 'llm', status: 'succeeded', duration_seconds: 8.61, output: '{"title": "Release 2.4", "tagline": "timelines for every run"}', usage: { input_tokens: 402, output_tokens: 36, cost: 0 }, total: 0.401, rank: 3, scores: { agreement: 0.52, brevity: 0.31, speed: 0 } },
      { name: 'remote-large', worker: 'llm', status: 'failed', duration_seconds: 2.01, error: 'HTTP 429 Too Many Requests (retry-after: 30s)' }
    ],
    details: { criteria: [
      { name: 'agreement', weight: 0.6, goal: 'max', measured_by: 'agreement' },
      { name: 'brevity', weight: 0.2, goal: 'min', measured_by: 'length' },
      { name: 'speed', weight: 0.2, goal: 'min', measured_by: 'duration' }] }
  };
  const section = {
    kind: 'section', worker: 'llm', merger: 'markdown', sections: 5, succeeded: 5, failed: 0, parallelism: 4, capacity: 8, peak_in_flight: 4,
    sequential_seconds: 17.92, wall_seconds: 6.21, speedup: 2.886,
    conflicts: [{ section: 'migration', with: 'breaking-changes', heading: '## Removed endpoints', resolution: 'kept both, flagged for review' }, { section: 'overview', with: 'install', heading: '## Requirements', resolution: 'deduplicated (identical text)' }],
    conflicts_resolved: 1,
    manual_review_required: ["section 'migration' and 'breaking-changes' both rewrite '## Removed endpoints'"],
    completed_sections: [
      { name: 'overview', status: 'succeeded', attempts: 1, duration_seconds: 3.12, output: '## Overview\nParallelFlow 2.4 brings a timeline view and faster retries.' },
      { name: 'install', status: 'succeeded', attempts: 1, duration_seconds: 2.48, path: 'artifacts/docs/sections/install.md' },
      { name: 'breaking-changes', status: 'succeeded', attempts: 1, duration_seconds: 4.05, output: '## Removed endpoints\n- /v1/export (use /v2/export)' },
      { name: 'migration', status: 'succeeded', attempts: 2, duration_seconds: 5.77, output: '## Removed endpoints\nMove calls from /v1/export to /v2/export; the payload is unchanged.' },
      { name: 'changelog', status: 'succeeded', attempts: 1, duration_seconds: 2.5, output: '## Changelog\n* retries honour `retry_delay`\n* <timeline> view in reports & dashboards' }
    ],
    merged_output: '# ParallelFlow 2.4\n\n## Overview\nParallelFlow 2.4 brings a timeline view and faster retries.\n\n## Install\n`dotnet tool install -g parallelflow`\n\n## Removed endpoints\n- /v1/export (use /v2/export)\n\n<script>alert("this must show as text")</script>\n\n## Changelog\n* retries honour `retry_delay`\n'
  };
  const specs = [
    { id: 'fetch-changelog', worker: 'http', runs: [{ dur: 0.84 }], status: 'succeeded', output: { commits: 42, since: 'v2.3.0', breaking: ['removed /v1/export'], authors: ['ada', 'lin', 'sam'] } },
    { id: 'build-linux', worker: 'process', runs: [{ dur: 4.1 }], status: 'succeeded', output: 'linux build ok: 14 projects, 0 warnings', artifacts: [{ name: 'parallelflow-linux-x64.tar.gz', path: 'artifacts/parallelflow-linux-x64.tar.gz', media_type: 'application/gzip' }] },
    { id: 'build-windows', worker: 'process', runs: [{ dur: 3.05, status: 'failed', error: 'link.exe exited with code 1120: unresolved external symbol __imp_CryptAcquireContextW', delay: 2 }, { dur: 4.85 }], status: 'succeeded', output: 'windows build ok (second attempt)', artifacts: [{ name: 'parallelflow-win-x64.zip', path: 'artifacts/parallelflow-win-x64.zip', media_type: 'application/zip' }] },
    { id: 'lint', worker: 'process', runs: [{ dur: 0.004 }], status: 'cached', output: 'clean (restored from cache, key 5f2c9a)' },
    { id: 'research-api', worker: 'llm', deps: ['fetch-changelog'], runs: [{ dur: 5.3 }], status: 'succeeded', output: 'Three endpoints changed:\n1. GET /v2/export gains ?format=ndjson\n2. /v1/export is removed\n3. POST /runs accepts "priority"', usage: { input_tokens: 1840, output_tokens: 612, cost: 0.0124 } },
    { id: 'security-scan', worker: 'process', after: ['lint'], runs: [{ dur: 2.6 }], status: 'failed', error: "scanner exited with code 2: CVE database unavailable (HTTP 503 from the mirror)\n  at step 'fetch-db'\n  at step 'scan'", failure_kind: 'fatal', output: 'scanned 0 of 212 packages' },
    { id: 'unit-tests', worker: 'process', deps: ['build-linux'], runs: [{ dur: 5.6 }], status: 'succeeded', output: '412 passed, 3 skipped, 0 failed' },
    { id: 'integration-tests', worker: 'process', deps: ['build-linux', 'build-windows'], runs: [{ dur: 8.0 }], status: 'timed_out', error: 'timed out after 8 s (the task\'s timeout)', failure_kind: 'timeout', output: 'ran 37 of 58 scenarios before the timeout' },
    { id: 'pick-title', worker: 'vote', deps: ['research-api'], runs: [{ dur: 8.7 }], status: 'succeeded', output: 'ParallelFlow 2.4: Faster Retries and a Real Timeline', usage: { input_tokens: 1662, output_tokens: 83, cost: 0.0061 }, decision: vote },
    { id: 'write-docs', worker: 'section', deps: ['research-api'], after: ['lint'], runs: [{ dur: 6.3 }], status: 'succeeded', output: '5 sections merged into artifacts/docs/release-2.4.md (1 conflict for review)', usage: { input_tokens: 5210, output_tokens: 2380, cost: 0.0418 }, artifacts: [{ name: 'release-2.4.md', path: 'artifacts/docs/release-2.4.md', media_type: 'text/markdown' }], decision: section },
    { id: 'publish', worker: 'process', deps: ['integration-tests', 'security-scan', 'unit-tests'], runs: [{ dur: 1.5 }], status: 'succeeded' },
    { id: 'release-notes', worker: 'template', deps: ['pick-title', 'write-docs', 'unit-tests'], after: ['publish'], runs: [{ dur: 0.021 }], status: 'succeeded', output: '# ParallelFlow 2.4: Faster Retries and a Real Timeline\n\nTests: 412 passed.\nDocs: artifacts/docs/release-2.4.md\n\n<b>not bold</b> & <img src=x onerror=alert(1)> stays text.' }
  ];
  return simulate(specs, 3, {
    task_id: 'docs-release', run_id: '20261201-091403-a7c2e1', inputs: { version: '2.4.0', channel: 'beta', dry_run: false, targets: ['linux-x64', 'win-x64'] },
    budget: { policy: 'warn', token_limit: 20000, tokens_remaining: 7787, cost_limit: 0.25, cost_remaining: 0.1897, tokens_spent: 12213, cost_spent: 0.0603, tasks: [
      { id: 'research-api', allowed_tokens: 4000, allowed_cost: 0.05, spent_tokens: 2452, spent_cost: 0.0124 },
      { id: 'pick-title', allowed_tokens: 2000, allowed_cost: 0.02, spent_tokens: 1745, spent_cost: 0.0061 },
      { id: 'write-docs', allowed_tokens: 7000, allowed_cost: 0.06, spent_tokens: 7590, spent_cost: 0.0418 }] },
    next_steps: [
      "fix what failed in 'security-scan', 'integration-tests' (see their errors), then resume: parallelflow resume 20261201-091403-a7c2e1 (runs the 3 unfinished task(s), keeps the 9 that succeeded)",
      "review 1 merge conflict(s) of task 'write-docs' (manual_review_required in its decision)",
      "validate the merged output of task 'write-docs' (or give the section task 'validate' to run it with the plan)"
    ]
  });
}

function rng(seed) { let x = seed >>> 0; return () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x / 4294967296; }; }
function large(n, slots) {
  const R = rng(20261201), specs = [], workers = ['process', 'llm', 'http', 'template', 'simulate'];
  for (let i = 0; i < n; i++) {
    const id = `t${String(i).padStart(4, '0')}-${['build', 'test', 'fetch', 'render', 'index', 'check'][i % 6]}`;
    const deps = new Set(), after = new Set();
    if (i > 0) { const k = R() < 0.15 ? 0 : 1 + Math.floor(R() * 3); for (let j = 0; j < k; j++) deps.add(specs[Math.max(0, i - 1 - Math.floor(R() * 80))].id); }
    if (i > 5 && R() < 0.05) { const d = specs[i - 1 - Math.floor(R() * 5)].id; if (!deps.has(d)) after.add(d); }
    const dur = 0.05 + Math.pow(R(), 2.2) * 3, runs = [], roll = R();
    let status = 'succeeded';
    if (roll < 0.1) runs.push({ dur: dur * R(), status: R() < 0.7 ? 'failed' : 'timed_out', error: 'transient: connection reset by peer', delay: 0.2 + R() });
    if (roll < 0.02) runs.push({ dur: dur * R(), status: 'failed', error: 'transient: 503 Service Unavailable', delay: 0.5 + R() });
    const cached = R() < 0.08;
    runs.push({ dur: cached ? 0.002 : dur, slot0: R() < 0.04 });
    if (cached) status = 'cached';
    if (i > n - 200 && R() < 0.06) { status = R() < 0.6 ? 'failed' : 'timed_out'; }
    const s = { id, worker: workers[i % 5], deps: [...deps], after: [...after], runs, status, prio: -i + R() * 60, output: `${id}: ${status}, ${Math.floor(R() * 1000)} items` };
    if (status === 'failed') s.error = 'exit code 1: assertion failed in ' + id;
    if (status === 'timed_out') { s.error = 'timed out after ' + dur.toFixed(1) + ' s'; s.failure_kind = 'timeout'; }
    if (s.worker === 'llm') s.usage = { input_tokens: 200 + Math.floor(R() * 2000), output_tokens: 50 + Math.floor(R() * 600), cost: Math.round(R() * 1e4) / 1e6 };
    specs.push(s);
  }
  const rep = simulate(specs, slots, { task_id: 'large-random-dag', run_id: '20261201-100000-big001', next_steps: ['parallelflow resume 20261201-100000-big001 (failed tasks)'] });
  return rep;
}

const [, , kind = 'small', out, a1, a2] = process.argv;
let rep;
if (kind === 'small') rep = small();
else if (kind === 'large') rep = large(+(a1 || 2000), +(a2 || 8));
else if (kind === 'empty') {
  rep = small();
  rep.status = 'cancelled';
  for (const r of rep.results) { for (const k of ['start', 'end', 'attempt_log', 'ready_at', 'output', 'usage', 'decision', 'artifacts', 'output_json']) delete r[k]; r.status = 'skipped'; r.attempts = 0; r.duration = 0; }
  rep.execution_summary.status_counts = { succeeded: 0, failed: 0, timed_out: 0, cancelled: 0, skipped: rep.results.length, cached: 0 };
  rep.performance_metrics.critical_path = []; delete rep.budget; rep.next_steps = [];
} else if (kind === 'single') {
  rep = simulate([{ id: 'only-task', worker: 'process', runs: [{ dur: 1.25 }], status: 'succeeded', output: 'hello' }], 1, { task_id: 'single', run_id: '20261201-110000-one001' });
} else { console.error('unknown kind ' + kind); process.exit(2); }
const file = out || path.join(__dirname, 'sample-report.json');
fs.writeFileSync(file, JSON.stringify(rep, null, 2) + '\n');
const att = rep.results.reduce((a, r) => a + (r.attempt_log || []).length, 0);
console.log(`${file}: ${rep.results.length} tasks, ${att} attempts, ${rep.execution_summary.workers_used} slots, status ${rep.status}`);
