// The KPI table's classification (the seed's thresholds, plus the machine's capacity). Loaded
// before dashboard.js, which calls these; both are classic scripts sharing the page's global scope.
'use strict';

// KPI classification (seed's table; N = the divisor in effect: the queue's jobsPerWorker from
// /api/status, or the learned T/S).
function divisorOf(q) {
  return q.scaling?.divisor || q.jobsPerWorker;
}

function kpiJobsPerWorker(q) {
  const n = divisorOf(q);
  if (q.pending === 0) return { text: '0', level: 'idle', label: 'ocioso' };
  if (q.workers === 0) return { text: `${q.pending} / 0 workers`, level: 'crit', label: 'crítico' };
  const r = q.pending / q.workers;
  const text = r.toFixed(1);
  if (r <= n) return { text, level: 'ok', label: 'ótimo' };
  if (r <= 2 * n) return { text, level: 'acceptable', label: 'aceitável' };
  if (r <= 4 * n) return { text, level: 'warn', label: 'atenção' };
  return { text, level: 'crit', label: 'crítico' };
}

// Rated only while the queue has work (pending or running jobs): an idle queue completes nothing
// and that is fine, so it is "ocioso", never "crítico".
function kpiCompletions(q, completed) {
  const text = String(completed);
  if (q.pending + q.active === 0) return { text, level: 'idle', label: 'ocioso' };
  if (completed > 30) return { text, level: 'ok', label: 'ótimo' };
  if (completed > 20) return { text, level: 'acceptable', label: 'aceitável' };
  if (completed >= 10) return { text, level: 'warn', label: 'atenção' };
  return { text, level: 'crit', label: 'crítico' };
}

function kpiWorkers(q) {
  const n = divisorOf(q);
  const rule = q.pending <= 0 ? 0 : Math.ceil(q.pending / n);
  const capped = Math.min(rule, q.maxWorkers);
  const learned =
    q.scaling?.divisorSource === 'learned' ? `, N=${Math.round(n)} aprendido, S=${q.scaling.jobSeconds}s` : '';
  const text = `${q.workers} (ceil ${rule}, desejado ${q.desired}, teto ${q.maxWorkers}${learned})`;
  if (q.workers > q.maxWorkers) return { text, level: 'crit', label: 'crítico' };
  if (q.workers === capped || q.workers === q.desired) return { text, level: 'ok', label: 'ótimo' };
  return { text, level: 'acceptable', label: 'aceitável' };
}

function kpiTotal(status) {
  const text = `${status.totalWorkers} de ${status.maxTotalWorkers}`;
  if (status.totalWorkers > status.maxTotalWorkers) return { text, level: 'crit', label: 'crítico' };
  return { text, level: 'ok', label: 'ótimo' };
}

// The machine's capacity (/api/status `capacity`): units, the bounding signal and the gate.
function kpiCapacity(status) {
  const c = status.capacity;
  if (!c || c.reason === null) return { text: 'sem medidas ainda', level: 'idle', label: 'ocioso' };
  const parts = [`${c.units === null ? 'sem limite de' : c.units} worker(s): ${c.reason}`];
  // Measured CPU per busy unit, per queue ("—": not measured yet, the rule and the gate decide;
  // "do pool": the pool's figure from Redis, until this instance's units measure their own).
  const perUnit = Object.entries(c.cpuPerUnit ?? {});
  const fromPool = (q) => (c.unitCpu?.[q]?.from === 'pool' ? ' (do pool)' : '');
  if (perUnit.length > 0)
    parts.push(`CPU por worker: ${perUnit.map(([q, v]) => `${q} ${v === null ? '—' : v}${fromPool(q)}`).join(', ')}`);
  if (c.freeCores !== null && c.freeCores !== undefined) parts.push(`livres ${c.freeCores} de ${c.cores} núcleo(s)`);
  // The portal's knee, where one holds a queue: more units stopped raising its completions.
  for (const q of status.queues) {
    const knee = q.scaling?.knee;
    if (knee) parts.push(`portal saturado em ${q.name}: ${knee.workers} worker(s)${knee.probing ? ' (testando)' : ''}`);
  }
  // Browsers launch in turns: the units still waiting for theirs.
  if (c.launches && c.launches.waiting > 0)
    parts.push(
      `abrindo navegadores: ${c.launches.launching} de ${c.launches.limit} por vez, ${c.launches.waiting} na fila` +
        (c.launches.paused ? ' (em pausa: sem CPU livre)' : ''),
    );
  if (c.otherCores !== null) parts.push(`nossos ${c.ourCores} núcleo(s)`);
  if (c.browserMb !== null && c.browsers > 0) parts.push(`navegadores ${c.browserMb} MB (${c.browsers})`);
  if (c.memoryUsedMb !== null) parts.push(`memória ${c.memoryUsedMb} de ${c.memoryLimitMb} MB`);
  if (c.eventLoopDelayMs !== null) parts.push(`event loop ${c.eventLoopDelayMs} ms`);
  if (!c.enabled) parts.push('capacity.enabled: false (só informativo)');
  const text = parts.join(' · ');
  if (c.overloaded) return { text: `${text} · sobrecarga: ${c.overloadReason}`, level: 'crit', label: 'crítico' };
  const limiting = status.queues.some((q) => q.scaling?.bound === 'capacity' || q.scaling?.bound === 'knee');
  if (limiting) return { text, level: 'warn', label: 'atenção' };
  return { text, level: 'ok', label: 'ótimo' };
}

function paintKpi(td, kpi) {
  td.className = `kpi-${kpi.level}`;
  td.dataset.level = kpi.level;
  td.textContent = `${kpi.text} · ${kpi.label}`;
}
