// The dashboard's charts (Chart.js): per queue pending jobs and workers, completions and failures
// per minute, job-time percentiles. Loaded before dashboard.js, which owns the state and calls
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

function renderCharts(view, name) {
  if (!view.charts) return;
  const w = chartWindow();
  const history = state.dashboard?.queues?.[name];
  const points = (history?.decisions ?? []).map((d) => ({ x: d.at, pending: d.pending, workers: d.current }));
  if (w.live) for (const p of state.live.get(name) ?? []) if (p.x >= w.since) points.push(p);
  points.sort((a, b) => a.x - b.x);
  const { load, rate, durations } = view.charts;
  load.data.datasets[0].data = points.map((p) => ({ x: p.x, y: p.pending }));
  load.data.datasets[1].data = points.map((p) => ({ x: p.x, y: p.workers }));
  setBounds(load, w);

  // A minute's point sits at its middle; the minute still running, just inside the right edge.
  const lastX = w.until - (w.until - w.since) / 100;
  const minutes = (history?.minutes ?? []).map((m) => ({ ...m, x: Math.min(m.at + 30_000, lastX) }));
  rate.data.datasets[0].data = minutes.map((m) => ({ x: m.x, y: m.completed }));
  rate.data.datasets[1].data = minutes.map((m) => ({ x: m.x, y: m.failed }));
  setBounds(rate, w);
  durations.data.datasets[0].data = minutes.map((m) => ({ x: m.x, y: m.p50Ms / 1000 }));
  durations.data.datasets[1].data = minutes.map((m) => ({ x: m.x, y: m.p90Ms / 1000 }));
  durations.data.datasets[2].data = minutes.map((m) => ({ x: m.x, y: m.p99Ms / 1000 }));
  setBounds(durations, w);
}
