import { Writable } from 'node:stream';
import winston from 'winston';

export interface LoggedLine {
  readonly level: string;
  readonly message: string;
}

/** A winston logger that keeps every message (and level) in memory, for assertions. */
export function memoryLogger(level = 'debug'): { logger: winston.Logger; lines: LoggedLine[] } {
  const lines: LoggedLine[] = [];
  const stream = new Writable({
    objectMode: true,
    write(info: { level: string; message: unknown }, _encoding, done) {
      lines.push({ level: info.level, message: String(info.message) });
      done();
    },
  });
  const logger = winston.createLogger({ level, transports: [new winston.transports.Stream({ stream })] });
  return { logger, lines };
}
