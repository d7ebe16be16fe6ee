#!/usr/bin/env node
// Opens an HTML run report in headless Chromium, checks the page's DOM contract against the report it embeds,
// clicks through it, and prints counts, timings and every console error or uncaught exception.
//
//   node check-report.js PAGE.html [--json REPORT.json] [--out SHOT.png] [--full] [--width 1280] [--no-interact]
//
// PAGE.html is a written report, or the template (report.html) with --json: the report is then put in the
// placeholder, escaped the way the C# writer escapes it, into a page beside the screenshot.
// Needs playwright-core (npm install playwright-core, in this folder, the current one, or NODE_PATH) and
// Chromium (/usr/bin/chromium, or CHROMIUM=path). Exit code: 0 when everything matched and nothing was logged.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { createRequire } = require('module');

function load(name) {
  for (const base of [__filename, path.join(process.cwd(), 'x.js'), '/tmp/htmlcheck/x.js']) {
    try { return createRequire(base)(name); } catch (e) { /* next */ }
  }
  console.error(`cannot find ${name}: npm install ${name} here, in the current folder, or in /tmp/htmlcheck`);
  process.exit(2);
}

const args = process.argv.slice(2);
const opt = (k, d) => { const i = args.indexOf(k); return i >= 0 ? args[i + 1] : d; };
const page0 = args.find((a, i) => !a.startsWith('--') && !(i > 0 && ['--json', '--out', '--width'].includes(args[i - 1])));
if (!page0) { console.error('usage: node check-report.js PAGE.html [--json REPORT.json] [--out SHOT.png] [--full] [--width 1280] [--no-interact]'); process.exit(2); }
const out = path.resolve(opt('--out', path.join(os.tmpdir(), 'pf-report.png')));
let file = path.resolve(page0);
if (opt('--json')) {
  const tpl = fs.readFileSync(file, 'utf8'), mark = '/*PARALLELFLOW_' + 'REPORT*/';
  if (tpl.split(mark).length !== 2) { console.error('the template must hold the placeholder exactly once'); process.exit(1); }
  const json = JSON.stringify(JSON.parse(fs.readFileSync(opt('--json'), 'utf8')))
    .replace(/</g, '\\u003C').replace(/>/g, '\\u003E').replace(/&/g, '\\u0026').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
  file = out.replace(/\.png$/, '') + '.html';
  fs.writeFileSync(file, tpl.replace(mark, () => json));
}

(async () => {
  const { chromium } = load('playwright-core');
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox'] });
  const width = +opt('--width', 1280);
  const page = await browser.newPage({ viewport: { width, height: 900 } });
  const problems = [], network = [];
  page.on('console', m => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()}`); });
  page.on('pageerror', e => problems.push('uncaught: ' + (e.stack || e.message)));
  page.on('request', r => { if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) network.push(r.url()); });
  const t0 = Date.now();
  await page.goto('file://' + file, { waitUntil: 'load' });
  await page.waitForSelector('#pf-summary, .pf-empty', { timeout: 30000 });
  const loadMs = Date.now() - t0;
  // in-page times from navigation start: DOMContentLoaded done (the render runs in it) and first contentful paint
  const nav = await page.evaluate(() => new Promise(done => requestAnimationFrame(() => setTimeout(() => {
    const n = performance.getEntriesByType('navigation')[0], p = performance.getEntriesByName('first-contentful-paint')[0];
    done({ dcl: n ? n.domContentLoadedEventEnd : NaN, fcp: p ? p.startTime : NaN });
  }, 50))));

  const res = await page.evaluate(() => {
    const q = s => document.querySelectorAll(s).length;
    let r = {};
    try { r = JSON.parse(document.getElementById('pf-report').textContent); } catch (e) { return { noReport: true }; }
    const isObj = v => v !== null && typeof v === 'object' && !Array.isArray(v), list = v => Array.isArray(v) ? v : [];
    const tasks = list(r.results).filter(isObj), ids = new Set(tasks.map(t => String(t.id)));
    let attempts = 0, maxSlot = 0, edges = 0;
    for (const t of tasks) {
      for (const a of list(t.attempt_log)) { attempts++; if (isObj(a) && a.slot >= 1) maxSlot = Math.max(maxSlot, Math.floor(a.slot)); }
      const deps = new Set(list(t.depends_on).map(String));
      for (const d of deps) if (ids.has(d) && d !== String(t.id)) edges++;
      for (const d of new Set(list(t.after).map(String))) if (ids.has(d) && d !== String(t.id) && !deps.has(d)) edges++;
    }
    const dec = k => tasks.filter(t => isObj(t.decision) && t.decision.kind === k);
    const expect = {
      'svg#pf-graph g.pf-node': tasks.length,
      'svg#pf-graph path.pf-edge': edges,
      'svg#pf-gantt .pf-bar': attempts,
      'table#pf-tasks tbody tr.pf-task-row': tasks.length,
      '.pf-vote[data-task]': dec('vote').length,
      '.pf-section[data-task]': dec('section').length,
      '.pf-section-row': dec('section').reduce((a, t) => a + list(t.decision.completed_sections).filter(isObj).length, 0),
      '#pf-summary': 1,
      '#pf-next-steps li': list(r.next_steps).length,
    };
    const got = {};
    for (const k in expect) got[k] = q(k);
    const slots = q('svg#pf-gantt .pf-slot'), workers = (r.execution_summary || {}).workers_used || 0;
    const bad = [];
    // every node and bar names a task of the report, with the right status and a slot row to sit in
    const st = new Map(tasks.map((t, i) => [t.id == null ? '#' + (i + 1) : String(t.id), typeof t.status === 'string' ? t.status : 'unknown']));
    for (const g of document.querySelectorAll('g.pf-node')) if (st.get(g.getAttribute('data-task')) !== g.getAttribute('data-status')) bad.push('node ' + g.getAttribute('data-task') + ' status');
    const nodeIds = new Set([...document.querySelectorAll('g.pf-node')].map(g => g.getAttribute('data-task')));
    if (nodeIds.size !== new Set(tasks.map(t => String(t.id))).size) bad.push('node ids differ from task ids');
    for (const b of document.querySelectorAll('.pf-bar')) {
      const s = +b.getAttribute('data-slot');
      if (!st.has(b.getAttribute('data-task')) || !b.getAttribute('data-attempt') || !(s >= 1 && s <= slots)) bad.push('bar ' + b.getAttribute('data-task'));
    }
    for (const e of document.querySelectorAll('path.pf-edge')) if (!st.has(e.getAttribute('data-from')) || !st.has(e.getAttribute('data-to'))) bad.push('edge');
    const cp = list(isObj(r.performance_metrics) ? r.performance_metrics.critical_path : null).map(String);
    const critNodes = q('g.pf-node.pf-critical');
    if (critNodes !== new Set(cp.filter(id => ids.has(id))).size) bad.push(`critical nodes ${critNodes} != ${cp.length}`);
    return {
      expect, got, bad: bad.slice(0, 20), slots, workers, maxSlot, sortable: q('table#pf-tasks th[data-sort]'),
      critNodes, critEdges: q('path.pf-edge.pf-critical'), dom: document.getElementsByTagName('*').length,
      html: document.documentElement.outerHTML.length, scripts: q('script[src]') + q('link[href]') + q('img[src]')
    };
  });
  if (res.noReport) { console.log('the page embeds no report'); await browser.close(); process.exit(1); }

  // render again in the page, timed: what the live dashboard will do
  const renderMs = await page.evaluate(() => {
    const r = JSON.parse(document.getElementById('pf-report').textContent), t = performance.now();
    window.ParallelFlowReport.render(r, document.getElementById('pf-root'));
    return performance.now() - t;
  });

  const inter = [];
  if (!args.includes('--no-interact')) {
    const step = async (name, fn) => { try { inter.push(name + ': ' + await fn()); } catch (e) { problems.push(`interaction '${name}' threw: ${e.message}`); } };
    await step('sort by duration', async () => {
      await page.click('th[data-sort=duration]'); await page.click('th[data-sort=duration]');
      return await page.evaluate(() => [...document.querySelectorAll('#pf-tasks tr.pf-task-row')].slice(0, 3).map(r => r.getAttribute('data-task')).join(', '));
    });
    await step('filter "fail"', async () => {
      await page.fill('.pf-filter input[type=search]', 'fail');
      const n = await page.evaluate(() => [...document.querySelectorAll('#pf-tasks tr.pf-task-row')].filter(r => !r.hidden).length);
      await page.fill('.pf-filter input[type=search]', '');
      return n + ' rows shown';
    });
    await step('expand first row', async () => {
      const row = await page.$('#pf-tasks tr.pf-task-row');
      if (!row) return 'no rows';
      await row.evaluate(r => r.scrollIntoView({ block: 'center' }));
      await row.click();
      return (await page.$$('#pf-tasks tr.pf-detail-row')).length + ' detail row(s)';
    });
    await step('click a graph node', async () => {
      const n = await page.$('#pf-graph g.pf-node');
      if (!n) return 'no nodes';
      await page.evaluate(() => document.getElementById('pf-graph').scrollIntoView({ block: 'center' }));
      const b = await n.boundingBox();
      await page.mouse.click(b.x + b.width / 2, b.y + b.height / 2);
      return await page.evaluate(() => { const i = document.querySelector('.pf-insp'); return i && !i.hidden ? 'inspector shows ' + i.querySelector('header b').textContent : 'inspector hidden'; });
    });
    await step('wheel-zoom the graph', async () => {
      await page.evaluate(() => document.getElementById('pf-graph').scrollIntoView({ block: 'center' }));
      const b = await (await page.$('#pf-graph')).boundingBox();
      await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2);
      await page.mouse.wheel(0, -300);
      return await page.evaluate(() => document.querySelector('#pf-graph .pf-vp').getAttribute('transform'));
    });
    await step('zoom the timeline', async () => {
      await page.evaluate(() => document.getElementById('pf-gantt').scrollIntoView({ block: 'center' }));
      const w0 = await page.evaluate(() => document.getElementById('pf-gantt').getAttribute('width'));
      await page.click('#pf-timeline-card .pf-tb button');
      await page.click('#pf-timeline-card .pf-tb button');
      const w1 = await page.evaluate(() => document.getElementById('pf-gantt').getAttribute('width'));
      return `width ${w0} -> ${w1}`;
    });
    await step('hover a bar', async () => {
      const bar = await page.$('#pf-gantt .pf-bar');
      if (!bar) return 'no bars';
      await page.evaluate(() => { const s = document.querySelector('.pf-gs'); s.scrollLeft = 0; });
      await bar.hover({ force: true });
      return await page.evaluate(() => document.querySelector('.pf-tip').innerText.replace(/\n/g, ' | '));
    });
    await page.keyboard.press('Escape');
    await step('reset timeline', async () => { await page.click('#pf-timeline-card .pf-tb button:nth-of-type(3)'); return 'ok'; });
    await page.evaluate(() => window.scrollTo(0, 0));
  }
  await page.screenshot({ path: out, fullPage: args.includes('--full') });
  await browser.close();

  let ok = problems.length === 0 && network.length === 0 && res.bad.length === 0 && res.scripts === 0;
  console.log(`page: ${file}`);
  console.log(`navigation to rendered: ${nav.dcl.toFixed(0)} ms (DOMContentLoaded end), first paint ${nav.fcp.toFixed(0)} ms; wall incl. page load ${loadMs} ms; render() again: ${renderMs.toFixed(0)} ms`);
  console.log(`DOM elements: ${res.dom}; page HTML ${(res.html / 1024).toFixed(0)} KB`);
  for (const k in res.expect) {
    const m = res.expect[k] === res.got[k];
    if (!m) ok = false;
    console.log(`${m ? 'ok  ' : 'FAIL'} ${k}: ${res.got[k]}${m ? '' : ' (expected ' + res.expect[k] + ')'}`);
  }
  const slotsOk = res.slots >= Math.max(res.workers, res.maxSlot);
  if (!slotsOk) ok = false;
  console.log(`${slotsOk ? 'ok  ' : 'FAIL'} svg#pf-gantt .pf-slot: ${res.slots} (workers_used ${res.workers}, highest slot in the log ${res.maxSlot})`);
  console.log(`${res.sortable >= 8 ? 'ok  ' : 'FAIL'} th[data-sort]: ${res.sortable}`);
  console.log(`critical path: ${res.critNodes} nodes, ${res.critEdges} edges`);
  for (const b of res.bad) console.log('FAIL ' + b);
  for (const i of inter) console.log('  ' + i);
  for (const n of network) console.log('FAIL network request: ' + n);
  for (const p of problems) console.log('FAIL ' + p);
  console.log(`screenshot: ${out}`);
  console.log(ok ? 'PASS' : 'FAILED');
  process.exit(ok ? 0 : 1);
})().catch(e => { console.error(e); process.exit(1); });
