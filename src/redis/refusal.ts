/**
 * Redis errors that retrying cannot fix: the server refused our user or password, our TLS
 * settings refused its certificate (or it refused ours), or the ACL refused a command. Each gets
 * one line naming the cause and the settings to check, instead of a retry line per connection.
 */
import type { RedisConfig } from '../config/types.js';
import { ConfigError } from '../lib/errors.js';

/** What was refused. */
export type RefusalKind = 'user' | 'sentinel-user' | 'certificate' | 'tls' | 'permission';

export interface Refusal {
  readonly kind: RefusalKind;
  /** The operator's line (Portuguese, names the cause and the settings to check). */
  readonly line: string;
}

/** Node's codes for a server certificate that does not verify. */
const CERTIFICATE_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_REVOKED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function where(config: RedisConfig): string {
  const sentinels = config.sentinels ?? [];
  return sentinels.length > 0 ? `no master '${config.sentinelName ?? ''}'` : `em ${config.host}:${config.port}`;
}

/** The refusal `err` is, or undefined for anything retrying may fix (an outage, a timeout). */
export function refusalOf(err: Error, config: RedisConfig): Refusal | undefined {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const message = err.message.trim();
  const user = config.username ? config.username : 'default';
  const viaSentinels = /^All sentinels are unreachable/.test(message);
  if (/WRONGPASS|NOAUTH|invalid password|invalid username-password/i.test(message)) {
    const reason = /(WRONGPASS|NOAUTH)[^.]*/.exec(message)?.[0] ?? message;
    if (viaSentinels) {
      return {
        kind: 'sentinel-user',
        line: `as sentinelas recusaram a senha (${reason}): confira REDIS_SENTINEL_PASSWORD`,
      };
    }
    return {
      kind: 'user',
      line: `Redis recusou o usuário '${user}' ${where(config)} (${reason}): confira REDIS_USERNAME / REDIS_PASSWORD ou o usuário e a senha de REDIS_URL`,
    };
  }
  if (CERTIFICATE_CODES.has(code)) {
    return {
      kind: 'certificate',
      line: `certificado do Redis recusado ${where(config)} (${code}: ${message}): confira REDIS_TLS_CA_FILE e REDIS_TLS_SERVERNAME`,
    };
  }
  if (code.startsWith('ERR_SSL_') || (code === 'EPROTO' && /SSL|TLS/i.test(message))) {
    return {
      kind: 'tls',
      line: `conexão TLS com o Redis recusada ${where(config)} (${code}: ${message}): confira se a porta fala TLS e REDIS_TLS_CERT_FILE / REDIS_TLS_KEY_FILE`,
    };
  }
  if (/^NOPERM|user executing the script can't run this command/.test(message)) {
    return {
      kind: 'permission',
      line: `Redis recusou um comando ao usuário '${user}' (${message}): a ACL dele precisa da linha do README, "Redis in production"`,
    };
  }
  return undefined;
}

/** Refusals that are configuration errors when met at start-up (exit 78): nothing will change by waiting. */
export function isStartupFatal(refusal: Refusal): boolean {
  return refusal.kind !== 'permission';
}

/** A refusal met at start-up: a configuration error whose message is the refusal's line. */
export class RedisRefusedError extends ConfigError {
  constructor(readonly refusal: Refusal) {
    super(refusal.line, 'redis');
  }
}
