// The scaler dashboard: polls /api/status (live state) and /api/dashboard (history, failures,
// completion rate) and redraws in place. Vanilla JS, no build step; Chart.js is served locally.
'use strict';

const STATUS_EVERY_MS = 3000;
const DASHBOARD_EVERY_MS = 5000;
const HOUR_MS = 3_600_000;

/** Latest documents from the server. */
const state = { status: null, dashboard: null, live: new Map(), range: 'pico' };
/** Queue name → { root, chart } */
const views = new Map();

function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'text') node.textContent = v;
    else if (k === 'class') node.className = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

function time(ms) {
  return new Date(ms).toLocaleTimeString('pt-BR', { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

function dayTime(ms) {
  const d = new Date(ms);
  return `${d.toLocaleDateString('pt-BR', { day: '2-digit', month: '2-digit' })} ${time(ms).slice(0, 5)}`;
}

/** Axis label: seconds only when the window is short, the day when it spans days. */
function tick(ms) {
  const w = chartWindow();
  const span = w.until - w.since;
  if (span > 26 * HOUR_MS) return dayTime(ms);
  return span <= 15 * 60_000 ? time(ms) : time(ms).slice(0, 5);
}

const RANGE_NAMES = {
  pico: 'desde o último pico',
  '5m': 'últimos 5 min',
  '1h': 'última hora',
  '24h': 'últimas 24 h',
  '7d': 'últimos 7 dias',
};

function renderWindow() {
  const w = chartWindow();
  const range = state.dashboard?.range ?? state.range;
  const span = Math.max(1, Math.round((w.until - w.since) / 60_000));
  const at = w.until - w.since > 26 * HOUR_MS ? dayTime : time;
  const step = state.dashboard?.stepMs > 60_000 ? `, pontos de ${Math.round(state.dashboard.stepMs / 60_000)} min` : '';
  document.getElementById('window').textContent = state.dashboard
    ? `${RANGE_NAMES[range] ?? range}: ${at(w.since)} – ${w.live ? 'agora' : at(w.until)} (${span} min${step})`
    : '';
}

function renderKpis() {
  const status = state.status;
  const tbody = document.querySelector('#kpi-table tbody');
  const rows = status.queues.map((q) => {
    const completed = state.dashboard?.lastMinute?.[q.name]?.completed ?? 0;
    const jpw = el('td', { 'data-kpi': 'jobs-per-worker' });
    const cpm = el('td', { 'data-kpi': 'completions-per-minute' });
    const wrk = el('td', { 'data-kpi': 'workers' });
    paintKpi(jpw, kpiJobsPerWorker(q));
    paintKpi(cpm, kpiCompletions(q, completed));
    paintKpi(wrk, kpiWorkers(q));
    if (q.scaling && q.scaling.bound !== 'rule') wrk.title = q.scaling.reason;
    return el('tr', { 'data-queue': q.name }, [el('th', { text: q.name }), jpw, cpm, wrk]);
  });
  tbody.replaceChildren(...rows);
  paintKpi(document.querySelector('[data-kpi="total-workers"]'), kpiTotal(status));
  paintKpi(document.querySelector('[data-kpi="capacity"]'), kpiCapacity(status));
}

// Waiting age, postponed items and deadlines at risk, per queue (/api/status fields).
function duration(ms) {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

function renderScheduling() {
  const tbody = document.querySelector('#scheduling-table tbody');
  const rows = state.status.queues.map((q) => {
    const age = q.oldestWaitingAgeMs == null ? '—' : duration(q.oldestWaitingAgeMs);
    const next = q.nextDelayedAt ? `, próximo às ${time(Date.parse(q.nextDelayedAt))}` : '';
    const d = q.deadlines;
    const pace = d.drainPerMinute == null ? 'ritmo ainda desconhecido' : `drena ~${d.drainPerMinute}/min`;
    const risk =
      d.atRisk > 0
        ? `${d.atRisk} de ${d.withDeadline} (prazo mais próximo ${time(Date.parse(d.earliestAtRisk))}; ${pace})`
        : `0 de ${d.withDeadline}`;
    const riskTd = el('td', { 'data-field': 'deadlines-at-risk', text: risk });
    if (d.withDeadline === 0) riskTd.textContent = '—';
    else riskTd.className = d.atRisk > 0 ? 'kpi-crit' : 'kpi-ok';
    return el('tr', { 'data-queue': q.name }, [
      el('th', { text: q.name }),
      el('td', { 'data-field': 'oldest-waiting-age', text: age }),
      el('td', { 'data-field': 'delayed', text: `${q.delayed}${next}` }),
      riskTd,
    ]);
  });
  tbody.replaceChildren(...rows);
}

function queueView(name) {
  let view = views.get(name);
  if (view) return view;
  const root = document.getElementById('queue-template').content.firstElementChild.cloneNode(true);
  root.dataset.queue = name;
  root.querySelector('.queue-name').textContent = `Fila ${name}`;
  document.getElementById('queues').append(root);
  view = { root, charts: makeCharts(root) };
  views.set(name, view);
  return view;
}

function renderState(view, q) {
  const rows = [
    ['pendentes', q.pending],
    ['na lista', q.listLength],
    ['aguardando', q.waiting],
    ['ativos', q.active],
    ['atrasados', q.delayed],
    ['falhos', q.failed],
    ['concluídos', q.completed],
    ['workers', q.workers],
    ['ocupados', q.busy],
    ['iniciando', q.starting],
    ['drenando', q.draining],
    ['desejado', q.desired],
    ['teto', q.maxWorkers],
    ['jobs/worker', q.jobsPerWorker],
  ];
  const items = rows.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', { text: String(v), 'data-field': k })]);
  items.push(el('dt', { text: 'nomes' }), el('dd', { class: 'worker-names', text: q.workerNames.join(', ') || '—' }));
  view.root.querySelector('dl.state').replaceChildren(...items);
}

const ACTIONS = { up: 'escalar', down: 'reduzir', hold: 'manter' };

function renderDecisions(view, name) {
  const decisions = state.dashboard?.queues?.[name]?.rows ?? [];
  const rows = decisions.map((d) =>
    el('tr', { 'data-action': d.action, 'data-count': String(d.count) }, [
      el('td', { text: d.count > 1 ? `${time(d.firstAt)}–${time(d.at)}` : time(d.at) }),
      el('td', { class: `action-${d.action}`, text: ACTIONS[d.action] ?? d.action }),
      el('td', { class: 'num', text: d.count > 1 ? `×${d.count}` : '' }),
      el('td', { class: 'num', text: String(d.pending) }),
      el('td', { class: 'num', text: `${d.current} → ${d.target}` }),
      el('td', { text: d.reason }),
    ]),
  );
  if (rows.length === 0)
    rows.push(el('tr', {}, [el('td', { colspan: '6', class: 'muted', text: 'nenhuma decisão recente' })]));
  view.root.querySelector('table.decisions tbody').replaceChildren(...rows);
}

function renderFailures(view, name) {
  const failures = (state.dashboard?.failures ?? []).filter((f) => f.queue === name);
  const items = failures.map((f) => {
    const li = el('li', { 'data-job': f.id }, [
      el('strong', { text: `#${f.id}` }),
      ` ${f.failedAt ? time(f.failedAt) : ''} · ${f.attemptsMade} tentativa(s) · `,
      el('span', { class: 'reason', text: f.reason }),
    ]);
    for (const url of f.screenshots) {
      li.append(
        el('a', { href: url, target: '_blank', rel: 'noopener', class: 'screenshot', text: url.split('/').pop() }),
      );
    }
    return li;
  });
  if (items.length === 0) items.push(el('li', { class: 'muted', text: 'nenhuma falha retida' }));
  view.root.querySelector('ul.failures').replaceChildren(...items);
}

function render() {
  if (!state.status) return;
  renderKpis();
  renderWindow();
  renderScheduling();
  renderInstances(state.status, state.dashboard);
  for (const q of state.status.queues) {
    const view = queueView(q.name);
    renderState(view, q);
    renderCharts(view, q.name);
    renderDecisions(view, q.name);
    renderFailures(view, q.name);
  }
}

function setConnection(text, isError) {
  const p = document.getElementById('connection');
  p.textContent = text;
  p.className = isError ? 'error' : 'muted';
}

async function getJson(url) {
  const res = await fetch(url, { cache: 'no-store' });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.json();
}

async function pollStatus() {
  try {
    const status = await getJson('/api/status');
    state.status = status;
    const at = Date.parse(status.at) || Date.now();
    for (const q of status.queues) {
      const series = state.live.get(q.name) ?? [];
      series.push({ x: at, pending: q.pending, workers: q.workers });
      while (series.length > 0 && series[0].x < at - HOUR_MS) series.shift();
      state.live.set(q.name, series);
    }
    setConnection(
      `atualizado às ${time(Date.now())} · Redis ${status.redis === 'up' ? 'conectado' : 'indisponível'} · ${status.totalWorkers}/${status.maxTotalWorkers} workers`,
      status.redis !== 'up',
    );
    render();
  } catch (err) {
    setConnection(`sem status: ${err.message}`, true);
  }
}

async function pollDashboard() {
  try {
    const range = state.range;
    const dashboard = await getJson(`/api/dashboard?range=${encodeURIComponent(range)}`);
    if (range === state.range) state.dashboard = dashboard;
    render();
  } catch (err) {
    setConnection(`sem histórico: ${err.message}`, true);
  }
}

function loop(fn, everyMs) {
  const tick = async () => {
    await fn();
    setTimeout(tick, everyMs);
  };
  tick();
}

for (const button of document.querySelectorAll('#range button')) {
  button.addEventListener('click', () => {
    state.range = button.dataset.range;
    for (const b of document.querySelectorAll('#range button')) b.setAttribute('aria-pressed', String(b === button));
    void pollDashboard();
  });
}

loop(pollStatus, STATUS_EVERY_MS);
loop(pollDashboard, DASHBOARD_EVERY_MS);
