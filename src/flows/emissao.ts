import fs from 'node:fs/promises';
import path from 'node:path';
import { safeFileName } from '../lib/file-name.js';
import type { Flow, FlowContext } from './flow.js';
import { requireDocumentNumber, requireOneOf, requirePortal } from './input.js';
import { expectOutcome, openLoggedIn } from './portal-pages.js';

/** Document types the portal issues: payload value → option label on the form. */
export const EMISSAO_TYPES = { certidao: 'Certidão negativa', 'segunda-via': 'Segunda via' } as const;
export type EmissaoType = keyof typeof EMISSAO_TYPES;

export interface EmissaoResult {
  readonly documento: string;
  readonly tipo: EmissaoType;
  readonly protocolo: string;
  /** Path of the downloaded receipt. */
  readonly comprovante: string;
}

/** Payload: `{ documento: string | number, tipo: 'certidao' | 'segunda-via', observacoes?: string }`. */
export const emissaoFlow: Flow = {
  name: 'emissao',
  needsBrowser: true,
  async run(ctx: FlowContext): Promise<EmissaoResult> {
    const documento = requireDocumentNumber(ctx.data, 'documento', 'emissao');
    const tipo = requireOneOf(ctx.data, 'tipo', Object.keys(EMISSAO_TYPES) as EmissaoType[], 'emissao');
    const observacoes = typeof ctx.data.observacoes === 'string' ? ctx.data.observacoes : '';
    requirePortal(ctx.portal, 'emissao');
    const page = ctx.page;
    if (!page) throw new Error('emissao: needs a browser page but the worker gave none');

    const { loggedIn } = await openLoggedIn(
      page,
      ctx.portal,
      '/emissao',
      page.getByRole('heading', { name: 'Emissão de documentos' }),
    );
    if (loggedIn) ctx.logger.info('Login feito no portal');
    ctx.signal.throwIfAborted();

    await page.getByLabel('Número do documento').fill(documento);
    await page.getByLabel('Tipo de documento').selectOption({ label: EMISSAO_TYPES[tipo] });
    if (observacoes) await page.getByLabel('Observações').fill(observacoes);
    await page.getByRole('button', { name: 'Emitir' }).click();
    const protocolField = page.getByLabel('Número do protocolo');
    await expectOutcome(page, protocolField, `emissão for document ${documento}`);
    const protocolo = ((await protocolField.textContent()) ?? '').trim();
    if (!protocolo) throw new Error(`emissão: the confirmation for ${documento} shows no protocol number`);
    ctx.signal.throwIfAborted();

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Baixar comprovante' }).click(),
    ]);
    await fs.mkdir(ctx.artifactsDir, { recursive: true });
    // The protocol number is page text: a hostile page must not choose where the file goes.
    const comprovante = path.join(ctx.artifactsDir, safeFileName(`${ctx.jobId}-comprovante-${protocolo}.txt`));
    await download.saveAs(comprovante);
    return { documento, tipo, protocolo, comprovante };
  },
};
