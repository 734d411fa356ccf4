import fs from 'node:fs';
import path from 'node:path';
import winston from 'winston';

export type Logger = winston.Logger;

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  /** winston level. @defaultValue 'info' */
  level: string;
  /** File that receives every line as well as the console; folder created. Empty: console only. */
  file: string;
  /** `text` for people, `json` for log shippers (one object per line). */
  format: 'text' | 'json';
  /** Colours on the console. @defaultValue process.stdout.isTTY */
  colors?: boolean;
  /** Also write to the console. @defaultValue true */
  console?: boolean;
}

const SENSITIVE_KEYS = /pass(word)?|senha|secret|token|authorization/i;

/** Masks values of sensitive-looking fields in log metadata, so a stray object cannot leak them. */
const redact = winston.format((info) => {
  for (const key of Object.keys(info)) {
    if (SENSITIVE_KEYS.test(key) && info[key] !== undefined && info[key] !== '') info[key] = '***';
  }
  return info;
});

const HIDDEN_FIELDS = new Set(['timestamp', 'level', 'message', 'stack', 'splat']);

function textLine(colors: boolean): winston.Logform.Format {
  const parts = [
    redact(),
    winston.format.errors({ stack: false }),
    winston.format.timestamp({ format: 'YYYY-MM-DD HH:mm:ss' }),
  ];
  if (colors) parts.push(winston.format.colorize({ level: true }));
  parts.push(
    winston.format.printf((info) => {
      const { timestamp, level, message } = info as Record<string, unknown>;
      // The message leads (operators grep the seed's tags); context fields trail it.
      const extras = Object.entries(info)
        .filter(([k]) => !HIDDEN_FIELDS.has(k))
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
      const tail = extras.length > 0 ? `  (${extras.join(' ')})` : '';
      return `[${String(timestamp)}] ${String(level)}: ${String(message)}${tail}`;
    }),
  );
  return winston.format.combine(...parts);
}

function jsonLine(): winston.Logform.Format {
  return winston.format.combine(
    redact(),
    winston.format.errors({ stack: false }),
    winston.format.timestamp(),
    winston.format.json(),
  );
}

/** The process's root logger; components get children with `logger.child({ component })`. */
export function createLogger(options: LoggerOptions): Logger {
  const colors = options.colors ?? Boolean(process.stdout.isTTY);
  const transports: winston.transport[] = [];
  if (options.console ?? true) {
    transports.push(
      new winston.transports.Console({
        format: options.format === 'json' ? jsonLine() : textLine(colors),
        stderrLevels: [],
      }),
    );
  }
  if (options.file) {
    fs.mkdirSync(path.dirname(path.resolve(options.file)), { recursive: true });
    transports.push(
      new winston.transports.File({
        filename: options.file,
        format: options.format === 'json' ? jsonLine() : textLine(false),
      }),
    );
  }
  return winston.createLogger({
    level: options.level,
    transports,
    exitOnError: false,
    silent: transports.length === 0,
  });
}

/** Waits until every transport has written what it was given (used right before exit). */
export async function flushLogger(logger: Logger): Promise<void> {
  // A late line (a socket closing after its owner stopped) must not crash the exit with
  // "write after end": it is dropped.
  logger.on('error', () => undefined);
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 2000);
    logger.on('finish', () => {
      clearTimeout(timer);
      resolve();
    });
    logger.end();
  });
}
