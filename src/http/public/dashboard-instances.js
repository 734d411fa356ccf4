/*
 * The instances of the pool (CONTRACT.md "Several instances"): one row each, read from /api/status,
 * with what each did in the charts' window (/api/dashboard `instances`, from the pool history).
 */
function shareText(share) {
  if (!share) return '—';
  return `${share.completed} concluído(s), ${share.failed} falha(s)`;
}

function renderInstances(status, dashboard) {
  const shares = (dashboard && dashboard.instances) || {};
  const tbody = document.querySelector('#instances-table tbody');
  if (!tbody) return;
  const instances = status.instances || [];
  const cell = (text, field) => {
    const td = document.createElement('td');
    td.textContent = text;
    if (field) td.dataset.field = field;
    return td;
  };
  const rows = instances.map((i) => {
    const tr = document.createElement('tr');
    tr.dataset.instance = i.id;
    const th = document.createElement('th');
    th.textContent = i.self ? `${i.id} (esta)` : i.id;
    const units = Object.entries(i.units)
      .filter(([, n]) => n > 0)
      .map(([q, n]) => `${q}: ${n}`)
      .join(', ');
    const age = Math.round(i.heartbeatAgeMs / 100) / 10;
    const ageTd = cell(`há ${age.toLocaleString('pt-BR')} s`, 'heartbeat');
    ageTd.className = i.heartbeatAgeMs > 4000 ? 'kpi-warn' : 'kpi-ok';
    tr.append(
      th,
      cell(i.host, 'host'),
      cell(`${i.workers} de ${i.capacity}`, 'workers'),
      cell(units || '—', 'units'),
      ageTd,
      cell(shareText(shares[i.id]), 'window'),
    );
    return tr;
  });
  tbody.replaceChildren(...rows);
  const summary = document.getElementById('instances-summary');
  if (summary) summary.textContent = `${instances.length} instância(s) viva(s) neste Redis`;
  // Instances that worked in the window and are gone (restarted, scaled in): their share stays.
  const live = new Set(instances.map((i) => i.id));
  const gone = Object.entries(shares)
    .filter(([id]) => !live.has(id))
    .map(([id, share]) => `${id}: ${shareText(share)}`);
  const goneP = document.getElementById('instances-gone');
  if (goneP) goneP.textContent = gone.length > 0 ? `Sem heartbeat, com trabalho no período: ${gone.join('; ')}` : '';
}
