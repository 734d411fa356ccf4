import type { Flow, FlowContext } from './flow.js';
import { requireDocumentNumber, requirePortal } from './input.js';
import { expectOutcome, openLoggedIn } from './portal-pages.js';

/** What the conferência page showed for one document. */
export interface ConferenciaResult {
  readonly documento: string;
  readonly situacao: string;
  readonly atualizadoEm: string;
}

/** Payload: `{ documento: string | number }` (4 to 20 digits). */
export const conferenciaFlow: Flow = {
  name: 'conferencia',
  needsBrowser: true,
  async run(ctx: FlowContext): Promise<ConferenciaResult> {
    const documento = requireDocumentNumber(ctx.data, 'documento', 'conferencia');
    requirePortal(ctx.portal, 'conferencia');
    const page = ctx.page;
    if (!page) throw new Error('conferencia: needs a browser page but the worker gave none');

    const { loggedIn } = await openLoggedIn(
      page,
      ctx.portal,
      '/conferencia',
      page.getByRole('heading', { name: 'Conferência de documentos' }),
    );
    if (loggedIn) ctx.logger.info('Logged in to the portal');
    ctx.signal.throwIfAborted();

    await page.getByLabel('Número do documento').fill(documento);
    await page.getByRole('button', { name: 'Consultar' }).click();
    const table = page.getByRole('table', { name: 'Resultado da consulta' });
    await expectOutcome(page, table, `conferência of document ${documento}`);

    const cells = await table.getByRole('row').nth(1).getByRole('cell').allTextContents();
    const [shown, situacao, atualizadoEm] = cells.map((c) => c.trim());
    if (shown !== documento || !situacao || !atualizadoEm) {
      throw new Error(`conferência: unexpected result row for ${documento}: ${JSON.stringify(cells)}`);
    }
    return { documento, situacao, atualizadoEm };
  },
};
