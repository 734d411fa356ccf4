import { describe, expect, it } from 'vitest';
import { credentialsMatch } from '../../../src/http/basic-auth.js';
import { authForListen, isLoopbackHost } from '../../../src/http/listen-guard.js';

const header = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('credentialsMatch', () => {
  const expected = { user: 'op', password: 'a:b' };
  it('accepts exactly the configured pair, passwords with colons included', () => {
    expect(credentialsMatch(header('op', 'a:b'), expected)).toBe(true);
    expect(credentialsMatch(`basic   ${Buffer.from('op:a:b').toString('base64')}`, expected)).toBe(true);
  });
  it('rejects anything else', () => {
    for (const h of [
      undefined,
      '',
      'Bearer x',
      header('op', 'a'),
      header('op', 'a:b '),
      header('OP', 'a:b'),
      'Basic %%%',
    ]) {
      expect(credentialsMatch(h, expected), String(h)).toBe(false);
    }
    expect(credentialsMatch(`Basic ${Buffer.from('opa:b').toString('base64')}`, expected)).toBe(false);
  });
});

describe('listen guard', () => {
  it('knows loopback hosts', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', 'LOCALHOST'])
      expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.5', 'example.com', '128.0.0.1']) expect(isLoopbackHost(h), h).toBe(false);
  });
  it('refuses a public host without auth, and half a credential pair', () => {
    const http = (host: string, user = '', password = '') => ({
      enabled: true,
      host,
      port: 3000,
      auth: { user, password },
    });
    expect(() => authForListen(http('0.0.0.0'))).toThrow(
      'refusing to listen on 0.0.0.0 without BOARD_USER/BOARD_PASSWORD',
    );
    expect(() => authForListen(http('127.0.0.1', '', 'p'))).toThrow(/only BOARD_PASSWORD is set/);
    expect(authForListen(http('127.0.0.1'))).toBeUndefined();
    expect(authForListen(http('0.0.0.0', 'u', 'p'))).toEqual({ user: 'u', password: 'p' });
  });
});
