import fs from 'node:fs/promises';
import { Redis } from 'ioredis';
import { Service } from '../../../src/service/service.js';
import type { AppConfig } from '../../../src/config/types.js';
import type { ItemsIo } from '../../../src/items/commands.js';
import type { ResultEntry } from '../../../src/workers/result-entry.js';
import { memoryLogger } from '../../helpers/memory-logger.js';
import { deleteKeys, sharedRedisConfig, uniqueName } from '../../helpers/redis.js';
import { serviceConfig } from '../../helpers/service-config.js';
import { waitFor } from '../../helpers/wait.js';

/**
 * One test's service on the shared Redis: its own BullMQ prefix and lists (`<u>:fila:...`), both
 * queues on the echo flow.
 */
export class SchedulingWorld {
  readonly u = uniqueName('sched');
  readonly redis = new Redis(sharedRedisConfig());
  readonly log = memoryLogger();
  readonly source = `${this.u}:fila:conferencia`;
  readonly emissaoSource = `${this.u}:fila:emissao`;
  readonly results = `${this.u}:fila:resultado`;
  service: Service | undefined;
  config: AppConfig | undefined;

  configFor(overrides: { conferencia?: object; emissao?: object; [key: string]: unknown } = {}): AppConfig {
    const { conferencia, emissao, ...rest } = overrides;
    this.config = serviceConfig({
      redis: { prefix: this.u },
      artifactsDir: `/tmp/${this.u}-artifacts`,
      queues: {
        conferencia: { flow: 'echo', sourceList: this.source, resultList: this.results, ...conferencia },
        emissao: { flow: 'echo', sourceList: this.emissaoSource, resultList: this.results, ...emissao },
      },
      ...rest,
    });
    return this.config;
  }

  async start(overrides: Parameters<SchedulingWorld['configFor']>[0] = {}): Promise<Service> {
    const config = this.configFor(overrides);
    this.service = new Service({ config, logger: this.log.logger });
    await this.service.start();
    return this.service;
  }

  async push(...items: object[]): Promise<void> {
    await this.redis.rpush(this.source, ...items.map((i) => JSON.stringify(i)));
  }

  async entries(): Promise<ResultEntry[]> {
    return (await this.redis.lrange(this.results, 0, -1)).map((t) => JSON.parse(t) as ResultEntry);
  }

  async waitForEntries(count: number, timeoutMs = 60_000): Promise<ResultEntry[]> {
    return waitFor(
      async () => {
        const entries = await this.entries();
        return entries.length >= count ? entries : undefined;
      },
      { timeoutMs, what: `${count} result entries` },
    );
  }

  alertLines(): string[] {
    return this.log.lines.map((l) => l.message).filter((m) => m.startsWith('[ALERTA]'));
  }

  async close(): Promise<void> {
    await this.service?.stop();
    this.service = undefined;
    await deleteKeys(this.redis, `${this.u}*`);
    await this.redis.quit();
    await fs.rm(`/tmp/${this.u}-artifacts`, { recursive: true, force: true });
  }
}

/** The items CLI's terminal, recorded: what it printed, what it asked, answering every question `answer`. */
export function captureIo(answer = true): { io: ItemsIo; out: string[]; err: string[]; asked: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  const asked: string[] = [];
  return {
    out,
    err,
    asked,
    io: {
      out: (line) => out.push(line),
      err: (line) => err.push(line),
      confirm: (q) => {
        asked.push(q);
        return Promise.resolve(answer);
      },
    },
  };
}
