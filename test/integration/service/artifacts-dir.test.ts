/**
 * A screenshots folder the service cannot write (a root-owned bind mount under the image's
 * non-root user, or a path through a file) is said at start-up, loudly, and the service runs on.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { unwritableReason } from '../../../src/lib/writable-dir.js';
import { freePort, uniqueName } from '../../helpers/redis.js';
import { ServiceProcess, tempDir } from '../../helpers/service-process.js';

describe('an artifacts folder the service cannot write', () => {
  const dir = tempDir('artifacts-dir');
  let service: ServiceProcess | undefined;

  afterAll(async () => {
    await service?.stop('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('is found by the check, which passes a writable one', async () => {
    const file = path.join(dir, 'a-file');
    fs.writeFileSync(file, '');
    expect(await unwritableReason(path.join(dir, 'ok', 'conferencia'))).toBeUndefined();
    expect(fs.readdirSync(path.join(dir, 'ok', 'conferencia'))).toEqual([]); // no probe left behind
    expect(await unwritableReason(path.join(file, 'artifacts'))).toMatch(/^ENOTDIR: /);
  });

  it('makes the service log an error at start-up and carry on', { timeout: 120_000 }, async () => {
    const file = path.join(dir, 'not-a-folder');
    fs.writeFileSync(file, '');
    const configFile = path.join(dir, 'config.json');
    fs.writeFileSync(
      configFile,
      JSON.stringify({ queues: { [uniqueName('art')]: { flow: 'echo' } }, artifactsDir: path.join(file, 'artifacts') }),
    );
    const httpPort = await freePort();
    service = new ServiceProcess({
      CONFIG_FILE: configFile,
      REDIS_PORT: String(await freePort()), // nothing there: it waits, and said it first
      HTTP_PORT: String(httpPort),
      LOG_FILE: '',
    });
    const line = await service.waitForLine(/pasta de artefatos .* não é gravável/);
    expect(line).toMatch(
      /error: pasta de artefatos .*not-a-folder\/artifacts não é gravável: screenshots de falhas não serão salvos \(ENOTDIR/,
    );
    await service.waitForLine(/HTTP em http:\/\/127\.0\.0\.1:\d+/);
    expect((await fetch(`http://127.0.0.1:${httpPort}/healthz`)).status).toBe(200);
    expect((await service.stop('SIGTERM')).code).toBe(0);
  });
});
