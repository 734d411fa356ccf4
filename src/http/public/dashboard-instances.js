/* The instances of the pool (CONTRACT.md "Several instances"): one row each, read from /api/status. */
function renderInstances(status) {
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
    );
    return tr;
  });
  tbody.replaceChildren(...rows);
  const summary = document.getElementById('instances-summary');
  if (summary) summary.textContent = `${instances.length} instância(s) viva(s) neste Redis`;
}
