import type { Page } from 'playwright';
import type { Flow, FlowContext, PortalCredentials } from './flow.js';
import { requireDocumentNumber, requirePortal } from './input.js';
import {
  expectOutcome,
  logIn,
  onLoginPage,
  openLoggedIn,
  portalPageUrl,
  PortalUnavailableError,
  submitAndWaitForNavigation,
} from './portal-pages.js';

/** What the conferência page showed for one document. */
export interface ConferenciaResult {
  readonly documento: string;
  readonly situacao: string;
  readonly atualizadoEm: string;
}

const SEARCH_PATH = '/conferencia';

/** Fills the search form and submits it; returns once the result page's navigation committed. */
async function search(page: Page, documento: string): Promise<void> {
  await page.getByLabel('Número do documento').fill(documento);
  await submitAndWaitForNavigation(page, page.getByRole('button', { name: 'Consultar' }));
}

/** True when the page is the portal's answer to a search for `documento` (the form's GET URL). */
function showsSearchFor(page: Page, portal: PortalCredentials, documento: string): boolean {
  return portalPageUrl(page, portal, SEARCH_PATH)?.searchParams.get('documento') === documento;
}

/**
 * Payload: `{ documento: string | number }` (4 to 20 digits).
 *
 * The portal's result page shows the search form again, so a job whose page is still there (the
 * unit kept it from its last job) searches from it: one navigation per job instead of two.
 * Otherwise (first job, another page, an error page without the form) it opens the form first.
 */
export const conferenciaFlow: Flow = {
  name: 'conferencia',
  needsBrowser: true,
  async run(ctx: FlowContext): Promise<ConferenciaResult> {
    const documento = requireDocumentNumber(ctx.data, 'documento', 'conferencia');
    requirePortal(ctx.portal, 'conferencia');
    const page = ctx.page;
    if (!page) throw new Error('conferencia: needs a browser page but the worker gave none');

    const heading = page.getByRole('heading', { name: 'Conferência de documentos' });
    let loggedIn = false;
    const onSearchForm =
      portalPageUrl(page, ctx.portal, SEARCH_PATH) !== undefined &&
      (await page.getByLabel('Número do documento').isVisible());
    if (!onSearchForm) ({ loggedIn } = await openLoggedIn(page, ctx.portal, SEARCH_PATH, heading));
    ctx.signal.throwIfAborted();

    await search(page, documento);
    if (await onLoginPage(page)) {
      // The session expired since the form was shown: the portal sends the search to its login.
      await logIn(page, ctx.portal, heading, `logging in to search document ${documento}`);
      loggedIn = true;
      // The demo portal comes back to the search it interrupted; a portal that forgets it gets it again.
      if (!showsSearchFor(page, ctx.portal, documento)) await search(page, documento);
    }
    if (loggedIn) ctx.logger.info('Login feito no portal');
    if (!showsSearchFor(page, ctx.portal, documento)) {
      throw new PortalUnavailableError(`conferência of document ${documento}: the portal answered with ${page.url()}`);
    }

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
