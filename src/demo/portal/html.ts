/** Server-rendered pages of the demo portal: plain HTML with roles and labels the flows rely on. */
import type { DocumentRecord } from './documents.js';

export function escapeHtml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** Kinds of alert a page can show; flows read `data-kind` to tell business failures from outages. */
export type AlertKind = 'login-failed' | 'not-found' | 'invalid' | 'server-error';

export function alert(kind: AlertKind, message: string): string {
  return `<div role="alert" data-kind="${kind}">${escapeHtml(message)}</div>`;
}

export function layout(title: string, body: string, loggedIn: boolean): string {
  const nav = loggedIn
    ? `<nav aria-label="Menu"><a href="/conferencia">Conferência</a> | <a href="/emissao">Emissão</a>
       <form method="post" action="/logout" style="display:inline"><button type="submit">Sair</button></form></nav>`
    : '';
  return `<!doctype html>
<html lang="pt-BR">
<head><meta charset="utf-8"><title>${escapeHtml(title)} · Portal demo</title>
<style>body{font-family:sans-serif;margin:2rem}table{border-collapse:collapse}td,th{border:1px solid #999;padding:.3rem .6rem}
[role=alert]{color:#a00;margin:1rem 0}[role=status]{color:#555;margin:1rem 0}</style></head>
<body>${nav}<main><h1>${escapeHtml(title)}</h1>
${body}
</main></body></html>`;
}

export function loginPage(next: string, notice: string): string {
  return layout(
    'Entrar',
    `${notice}
<form method="post" action="/login">
  <input type="hidden" name="next" value="${escapeHtml(next)}">
  <p><label for="usuario">Usuário</label> <input id="usuario" name="usuario" autocomplete="username"></p>
  <p><label for="senha">Senha</label> <input id="senha" name="senha" type="password" autocomplete="current-password"></p>
  <p><button type="submit">Entrar</button></p>
</form>`,
    false,
  );
}

export function conferenciaPage(query: string, outcome: string): string {
  return layout(
    'Conferência de documentos',
    `<form method="get" action="/conferencia" role="search">
  <p><label for="documento">Número do documento</label>
     <input id="documento" name="documento" value="${escapeHtml(query)}" inputmode="numeric"></p>
  <p><button type="submit">Consultar</button></p>
</form>
${outcome}`,
    true,
  );
}

export function documentTable(record: DocumentRecord): string {
  return `<table>
  <caption>Resultado da consulta</caption>
  <thead><tr><th scope="col">Documento</th><th scope="col">Situação</th><th scope="col">Última atualização</th></tr></thead>
  <tbody><tr><td>${escapeHtml(record.number)}</td><td>${escapeHtml(record.status)}</td><td>${escapeHtml(record.updatedOn)}</td></tr></tbody>
</table>`;
}

/** Document types the emissão form offers: value → visible label. */
export const EMISSION_TYPES = {
  certidao: 'Certidão negativa',
  'segunda-via': 'Segunda via',
} as const;

export function emissaoPage(outcome: string): string {
  const options = Object.entries(EMISSION_TYPES)
    .map(([value, label]) => `<option value="${value}">${escapeHtml(label)}</option>`)
    .join('');
  return layout(
    'Emissão de documentos',
    `${outcome}
<form method="post" action="/emissao">
  <p><label for="documento">Número do documento</label> <input id="documento" name="documento" inputmode="numeric"></p>
  <p><label for="tipo">Tipo de documento</label> <select id="tipo" name="tipo"><option value="">Selecione</option>${options}</select></p>
  <p><label for="observacoes">Observações</label> <textarea id="observacoes" name="observacoes"></textarea></p>
  <p><button type="submit">Emitir</button></p>
</form>`,
    true,
  );
}

export function emissionDonePage(protocol: string, documentNumber: string, typeLabel: string): string {
  return layout(
    'Emissão concluída',
    `<p role="status">Solicitação registrada.</p>
<dl aria-label="Comprovante">
  <dt>Protocolo</dt><dd aria-label="Número do protocolo">${escapeHtml(protocol)}</dd>
  <dt>Documento</dt><dd>${escapeHtml(documentNumber)}</dd>
  <dt>Tipo</dt><dd>${escapeHtml(typeLabel)}</dd>
</dl>
<p><a href="/emissao/comprovante/${encodeURIComponent(protocol)}" download>Baixar comprovante</a></p>`,
    true,
  );
}

export function serverErrorPage(path: string): string {
  return layout('Erro', alert('server-error', `Erro interno do portal (HTTP 500) em ${path}. Tente novamente.`), false);
}
