import { Writable } from 'node:stream';
import winston from 'winston';
import type { Logger } from '../../src/logging/logger.js';

/** One line a {@link captureLogger} saw. */
export interface CapturedLine {
  readonly level: string;
  readonly message: string;
  readonly meta: Record<string, unknown>;
}

/** A winston logger that keeps its lines in memory, for asserting on them. */
export function captureLogger(): { logger: Logger; lines: CapturedLine[] } {
  const lines: CapturedLine[] = [];
  const stream = new Writable({
    objectMode: true,
    write(info: Record<string, unknown>, _encoding, callback) {
      const { level, message, ...meta } = info;
      lines.push({ level: String(level), message: String(message), meta });
      callback();
    },
  });
  const logger = winston.createLogger({ level: 'silly', transports: [new winston.transports.Stream({ stream })] });
  return { logger, lines };
}
