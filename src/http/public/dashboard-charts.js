// The dashboard's charts (Chart.js): per queue pending jobs and workers, completions and failures
// per minute, job-time percentiles, from /api/dashboard (the pool's history in Redis). Loaded before dashboard.js, which owns the state and calls
// makeCharts / renderCharts; both are classic scripts sharing the page's global scope.
'use strict';

const COLORS = { pending: '#3461c1', workers: '#d9480f', ok: '#2b8a3e', failed: '#c92a2a' };

/** Shared options: a linear time axis whose bounds renderCharts sets to the window shown. */
function chartOptions(yAxes) {
  return {
    animation: false,
    maintainAspectRatio: false,
    parsing: false,
    interaction: { mode: 'nearest', axis: 'x', intersect: false },
    scales: { x: { type: 'linear', ticks: { callback: (v) => tick(v), maxTicksLimit: 8 } }, ...yAxes },
    plugins: { tooltip: { callbacks: { title: (items) => (items[0] ? time(items[0].parsed.x) : '') } } },
  };
}

function line(label, color, extra = {}) {
  return { label, data: [], borderColor: color, backgroundColor: color, pointRadius: 0, tension: 0, ...extra };
}

function makeCharts(root) {
  if (!window.Chart) return null;
  const load = new window.Chart(root.querySelector('canvas.chart-load'), {
    type: 'line',
    data: {
      datasets: [
        line('pendentes', COLORS.pending, { yAxisID: 'y' }),
        line('workers', COLORS.workers, { yAxisID: 'y1', stepped: true }),
      ],
    },
    options: chartOptions({
      y: { beginAtZero: true, position: 'left', title: { display: true, text: 'pendentes' } },
      y1: {
        beginAtZero: true,
        position: 'right',
        grid: { drawOnChartArea: false },
        ticks: { precision: 0 },
        title: { display: true, text: 'workers' },
      },
    }),
  });
  const rate = new window.Chart(root.querySelector('canvas.chart-rate'), {
    type: 'line',
    data: {
      datasets: [
        line('concluídos/min', COLORS.ok, { pointRadius: 3 }),
        line('falhas/min', COLORS.failed, { pointRadius: 3 }),
      ],
    },
    options: chartOptions({ y: { beginAtZero: true, ticks: { precision: 0 } } }),
  });
  const durations = new window.Chart(root.querySelector('canvas.chart-time'), {
    type: 'line',
    data: {
      datasets: [
        line('p50', '#1c7ed6', { pointRadius: 3 }),
        line('p90', '#f08c00', { pointRadius: 3 }),
        line('p99', '#c92a2a', { pointRadius: 3 }),
      ],
    },
    options: chartOptions({ y: { beginAtZero: true, title: { display: true, text: 's' } } }),
  });
  return { load, rate, durations };
}

/** The window the charts show: the server's, moved to now while it ends at now. */
function chartWindow() {
  const d = state.dashboard;
  if (!d) return { since: Date.now() - HOUR_MS, until: Date.now() };
  const live = d.untilMs >= d.now - 1000;
  const shift = live ? Date.now() - d.now : 0;
  return { since: d.sinceMs + shift, until: d.untilMs + shift, live };
}

function setBounds(chart, w) {
  chart.options.scales.x.min = w.since;
  chart.options.scales.x.max = w.until;
  chart.update('none');
}

/** What one point of the history stands for, for the captions: "por minuto", "média de 10 min". */
function stepText(stepMs) {
  if (stepMs <= 60_000) return '';
  return stepMs >= HOUR_MS ? ' (média por hora)' : ` (média de ${Math.round(stepMs / 60_000)} min)`;
}

/**
 * A bucket series with the empty buckets put back as zeros: the history writes no bucket when
 * nothing happened (no job, nothing pending, no worker), so a gap is a stretch of zeros, not a
 * line straight across it.
 */
function withZeros(buckets, stepMs, pick) {
  const out = [];
  buckets.forEach((m, i) => {
    const prev = buckets[i - 1];
    if (prev && m.at - prev.at > stepMs) {
      out.push({ x: prev.x + stepMs, y: 0 });
      if (m.at - prev.at > 2 * stepMs) out.push({ x: m.x - stepMs, y: 0 });
    }
    out.push({ x: m.x, y: pick(m) });
  });
  return out;
}

function renderCharts(view, name) {
  if (!view.charts) return;
  const w = chartWindow();
  const history = state.dashboard?.queues?.[name];
  const stepMs = state.dashboard?.stepMs ?? 60_000;
  // A bucket's point sits at its middle; the bucket still running, just inside the right edge.
  const lastX = w.until - (w.until - w.since) / 100;
  const buckets = (history?.points ?? []).map((m) => ({ ...m, x: Math.min(m.at + stepMs / 2, lastX) }));
  // Up to a day: the scaler's decisions (and the live samples); beyond: each bucket's peaks.
  const fromDecisions = (history?.decisions ?? []).length > 0 || stepMs < HOUR_MS;
  const { load, rate, durations } = view.charts;
  if (fromDecisions) {
    const points = (history?.decisions ?? []).map((d) => ({ x: d.at, pending: d.pending, workers: d.current }));
    if (w.live) for (const p of state.live.get(name) ?? []) if (p.x >= w.since) points.push(p);
    points.sort((a, b) => a.x - b.x);
    load.data.datasets[0].data = points.map((p) => ({ x: p.x, y: p.pending }));
    load.data.datasets[1].data = points.map((p) => ({ x: p.x, y: p.workers }));
  } else {
    load.data.datasets[0].data = withZeros(buckets, stepMs, (m) => m.pendingMax);
    load.data.datasets[1].data = withZeros(buckets, stepMs, (m) => m.workersMax);
  }
  // Hourly peaks are few and far apart: dots, so a lone busy hour shows.
  for (const d of load.data.datasets) d.pointRadius = fromDecisions ? 0 : 3;
  setBounds(load, w);
  view.root.querySelector('.load-caption').textContent = fromDecisions
    ? 'Pendentes e workers'
    : 'Pendentes e workers (pico de cada hora)';

  // Per minute whatever the bucket: a 10-min or an hour bucket shows its mean per minute.
  const perMinute = 60_000 / stepMs;
  const round = (n) => Math.round(n * 10) / 10;
  rate.data.datasets[0].data = withZeros(buckets, stepMs, (m) => round(m.completed * perMinute));
  rate.data.datasets[1].data = withZeros(buckets, stepMs, (m) => round(m.failed * perMinute));
  setBounds(rate, w);
  view.root.querySelector('.rate-caption').textContent = `Concluídos e falhas por minuto${stepText(stepMs)}`;
  // Job times only where jobs ran; a stretch without any is a gap, not a time of 0.
  const timed = [];
  let last;
  for (const m of buckets.filter((b) => b.completed + b.failed > 0)) {
    if (last && m.at - last.at > stepMs) timed.push({ x: last.x + stepMs, gap: true });
    timed.push(m);
    last = m;
  }
  const times = (key) => timed.map((m) => ({ x: m.x, y: m.gap ? null : m[key] / 1000 }));
  durations.data.datasets[0].data = times('p50Ms');
  durations.data.datasets[1].data = times('p90Ms');
  durations.data.datasets[2].data = times('p99Ms');
  setBounds(durations, w);
  const per = stepMs <= 60_000 ? 'minuto' : stepMs >= HOUR_MS ? 'hora' : `${Math.round(stepMs / 60_000)} min`;
  view.root.querySelector('.time-caption').textContent = `Tempo de job por ${per} (percentis, s)`;
}
