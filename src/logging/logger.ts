import fs from 'node:fs';
import path from 'node:path';
import winston from 'winston';
import { escapeControl, escapeJsonControl } from '../lib/control-chars.js';

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
  /**
   * The file is rotated when it reaches this size in MiB (fractions allowed): it is renamed
   * `<name>1<ext>`, the older ones move one number up, and a new file is started. 0: never
   * rotated. @defaultValue 0
   */
  maxSizeMb?: number;
  /** Files kept by the rotation, the current one included (the oldest is deleted). @defaultValue 5 */
  maxFiles?: number;
  /** Where a failure to write the log file is reported. @defaultValue process.stderr */
  errorStream?: NodeJS.WritableStream;
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
      // Messages and fields carry text from items and pages: escaped, so no one can forge a line.
      const extras = Object.entries(info)
        .filter(([k]) => !HIDDEN_FIELDS.has(k))
        .map(([k, v]) => escapeControl(`${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`));
      const tail = extras.length > 0 ? `  (${extras.join(' ')})` : '';
      return `[${String(timestamp)}] ${String(level)}: ${escapeControl(String(message))}${tail}`;
    }),
  );
  return winston.format.combine(...parts);
}

const MESSAGE = Symbol.for('message');

/** JSON already escapes controls below 0x20; this escapes the ones it leaves raw (C1, separators, bidi). */
const safeJson = winston.format((info) => {
  const line = (info as Record<symbol, unknown>)[MESSAGE];
  if (typeof line === 'string') (info as Record<symbol, unknown>)[MESSAGE] = escapeJsonControl(line);
  return info;
});

function jsonLine(): winston.Logform.Format {
  return winston.format.combine(
    redact(),
    winston.format.errors({ stack: false }),
    winston.format.timestamp(),
    winston.format.json(),
    safeJson(),
  );
}

/** While the log file cannot be written, one stderr line at most this often. */
const FILE_ERROR_EVERY_MS = 60_000;

/** What winston's File transport does not declare: it opens each file (again after a rotation) here. */
interface FileInternals {
  _createStream?: (source: NodeJS.ReadableStream) => NodeJS.WritableStream;
}

/**
 * Failures to write the log file go to stderr, at most once a minute: winston's File transport
 * drops the errors of the file it writes to (it only logs them to its debug output), so a full
 * disk or a file made unwritable would silence the log without a word. The hook wraps the
 * transport's (undeclared) `_createStream` of winston 3.19, pinned in package.json.
 */
function reportFileErrors(
  transport: winston.transports.FileTransportInstance,
  file: string,
  out: NodeJS.WritableStream,
): void {
  let lastAt = -Infinity;
  let suppressed = 0;
  const report = (err: unknown): void => {
    const now = Date.now();
    if (now - lastAt < FILE_ERROR_EVERY_MS) {
      suppressed += 1;
      return;
    }
    lastAt = now;
    const message = escapeControl(err instanceof Error ? err.message : String(err));
    const more = suppressed > 0 ? ` (${suppressed} falha(s) omitida(s) no último minuto)` : '';
    suppressed = 0;
    out.write(`[LOG] não foi possível escrever no arquivo de log ${file}: ${message}${more}\n`);
  };
  transport.on('error', report);
  const internals = transport as unknown as FileInternals;
  const createStream = internals._createStream;
  if (typeof createStream === 'function') {
    internals._createStream = (source) => createStream.call(transport, source).on('error', report);
  }
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
    const maxSizeBytes = Math.round((options.maxSizeMb ?? 0) * 1024 * 1024);
    const file = new winston.transports.File({
      filename: options.file,
      format: options.format === 'json' ? jsonLine() : textLine(false),
      // winston's own rotation; tailable: the newest lines are always in `filename`.
      ...(maxSizeBytes > 0 ? { maxsize: maxSizeBytes, maxFiles: options.maxFiles ?? 5, tailable: true } : {}),
    });
    reportFileErrors(file, options.file, options.errorStream ?? process.stderr);
    transports.push(file);
  }
  const logger = winston.createLogger({
    level: options.level,
    transports,
    exitOnError: false,
    silent: transports.length === 0,
  });
  // winston re-emits a transport's errors on the logger; they are reported above, never fatal.
  logger.on('error', () => undefined);
  return logger;
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
