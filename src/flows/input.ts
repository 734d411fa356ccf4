/** Input validation shared by flows: a missing or malformed field is a permanent error with a clear message. */
import { PermanentJobError } from '../lib/errors.js';
import type { PortalCredentials } from './flow.js';

/** A required text field; numbers are accepted and turned into their decimal text. */
export function requireText(data: Readonly<Record<string, unknown>>, field: string, flow: string): string {
  const value = data[field];
  if (value === undefined || value === null || value === '') {
    throw new PermanentJobError(`${flow}: the payload has no "${field}" field`, { field });
  }
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value !== 'string') {
    throw new PermanentJobError(`${flow}: "${field}" must be a string, got ${typeof value}`, { field });
  }
  const trimmed = value.trim();
  if (!trimmed) throw new PermanentJobError(`${flow}: "${field}" is empty`, { field });
  return trimmed;
}

/** A document number: 4 to 20 digits, as string or non-negative integer. */
export function requireDocumentNumber(data: Readonly<Record<string, unknown>>, field: string, flow: string): string {
  const value = data[field];
  if (typeof value === 'number' && (!Number.isSafeInteger(value) || value < 0)) {
    throw new PermanentJobError(`${flow}: "${field}" must be a whole non-negative number, got ${value}`, { field });
  }
  const text = requireText(data, field, flow);
  if (!/^\d{4,20}$/.test(text)) {
    throw new PermanentJobError(`${flow}: "${field}" must have 4 to 20 digits, got "${text}"`, { field });
  }
  return text;
}

/** One of `allowed`; the message lists them. */
export function requireOneOf<T extends string>(
  data: Readonly<Record<string, unknown>>,
  field: string,
  allowed: readonly T[],
  flow: string,
): T {
  const text = requireText(data, field, flow);
  if (!(allowed as readonly string[]).includes(text)) {
    throw new PermanentJobError(`${flow}: "${field}" must be one of ${allowed.join(', ')}, got "${text}"`, { field });
  }
  return text as T;
}

/** Portal address and credentials must be configured before a flow can log in. */
export function requirePortal(portal: PortalCredentials, flow: string): void {
  if (!portal.url) {
    throw new PermanentJobError(`${flow}: the portal URL is not configured (set PORTAL_URL / portal.url)`);
  }
  if (!portal.user || !portal.password) {
    throw new PermanentJobError(
      `${flow}: portal credentials are not configured (set RPA_USUARIO and RPA_SENHA / portal.user and portal.password)`,
    );
  }
}
