/**
 * The operator tool's commands (`npm run items -- <command> ...`, usage in {@link USAGE}). Every
 * command that changes something says what it will do and asks first, unless `--yes`.
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { classifyItem } from '../bridge/item.js';
import type { AppConfig, QueueConfig } from '../config/types.js';
import { createRedis } from '../redis/connection.js';
import { RedisRefusedError } from '../redis/refusal.js';
import { waitForRedis } from '../redis/wait-for-redis.js';
import { createLogger } from '../logging/logger.js';
import { CompletedJobIds } from '../workers/completed-ids.js';
import { escapeControl } from '../lib/control-chars.js';
import { coerceError } from '../lib/errors.js';
import {
  applyEdit,
  dropEntry,
  readInvalidList,
  requeueEntry,
  type InvalidListEntry,
  type ItemEdit,
} from './invalid-list.js';
import { confirmed, OPTIONS, printableIo, UsageError, type Ctx, type ItemsIo, type Values } from './command-context.js';

export type { ItemsIo } from './command-context.js';
import { history, retry } from './job-commands.js';

export const USAGE = `uso: npm run items -- <comando> [opções]

  list <fila> [--reason R] [--limit N]      itens de fila:<fila>:invalid, numerados
  count [<fila>]                            quantos itens inválidos, por motivo
  show <fila> <n>                           o item n por inteiro
  requeue <fila> (<n>... | --all) [--reason R] [--filter CMD | --patch ARQ.json] [--yes]
                                            devolve itens a fila:<fila> (o id do item é mantido),
                                            depois de editá-los por um comando (stdin → stdout,
                                            ex. jq) ou mesclando um objeto JSON (null apaga o campo)
  drop <fila> (<n>... | --all) [--reason R] [--yes]
                                            apaga itens da lista de inválidos
  retry <fila> (<id>... | --all) [--yes]    tenta de novo jobs falhos (id do payload ou do job)
  history <fila> <id>                       tentativas, erros, logs e capturas de tela de um job

Sem --yes, todo comando que altera algo mostra o que fará e pede confirmação.`;

/** Runs one command; resolves with the exit code. */
export async function runItems(argv: readonly string[], ctx: { config: AppConfig; io: ItemsIo }): Promise<number> {
  const { io } = ctx;
  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true }));
  } catch (err) {
    io.err(`${escapeControl(coerceError(err).message)}\n\n${USAGE}`);
    return 2;
  }
  const [command, ...rest] = positionals;
  if (values.help || command === undefined) {
    io.out(USAGE);
    return command === undefined && !values.help ? 2 : 0;
  }
  const logger = createLogger({ level: 'error', file: '', format: 'text' });
  const redis = createRedis(ctx.config.redis, 'command', logger, 'items-cli');
  try {
    // A refused user, password or certificate is a configuration error: its one line, exit 78.
    await waitForRedis(redis, { config: ctx.config.redis, logger, signal: AbortSignal.timeout(10_000) });
    return await dispatch(command, rest, values, { ...ctx, io: printableIo(io), redis });
  } catch (err) {
    if (err instanceof RedisRefusedError) return 78;
    const message = escapeControl(coerceError(err).message);
    io.err(err instanceof UsageError ? `${message}\n\n${USAGE}` : `erro: ${message}`);
    return err instanceof UsageError ? 2 : 1;
  } finally {
    await redis.quit().catch(() => redis.disconnect());
    logger.close();
  }
}

function queueOf(config: AppConfig, name: string | undefined): QueueConfig {
  if (name === undefined) throw new UsageError('falta a fila');
  const queue = config.queues.find((q) => q.name === name);
  if (!queue) throw new UsageError(`fila '${name}' não existe (filas: ${config.queues.map((q) => q.name).join(', ')})`);
  return queue;
}

async function dispatch(command: string, args: string[], values: Values, ctx: Ctx): Promise<number> {
  switch (command) {
    case 'list':
      return list(ctx, queueOf(ctx.config, args[0]), values);
    case 'count':
      return count(ctx, args[0] === undefined ? ctx.config.queues : [queueOf(ctx.config, args[0])]);
    case 'show':
      return show(ctx, queueOf(ctx.config, args[0]), args[1]);
    case 'requeue':
      return requeue(ctx, queueOf(ctx.config, args[0]), args.slice(1), values);
    case 'drop':
      return drop(ctx, queueOf(ctx.config, args[0]), args.slice(1), values);
    case 'retry':
      return withQueue(ctx, queueOf(ctx.config, args[0]), (q) => retry(ctx, q, args.slice(1), values));
    case 'history':
      return withQueue(ctx, queueOf(ctx.config, args[0]), (q) => history(ctx, q, args[1], completedIdsOf(ctx, q.name)));
    default:
      throw new UsageError(`comando desconhecido '${command}'`);
  }
}

function preview(raw: Buffer, max = 120): string {
  const text = raw.toString('utf8').replace(/\s+/g, ' ');
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

function describeEntry(e: InvalidListEntry): string {
  const cut = e.oversized ? `[só o início de ${e.oversized.bytes} bytes] ` : '';
  return `#${e.n} [${e.reason}] ${e.at} ${e.detail ? `(${e.detail}) ` : ''}${cut}${preview(e.raw)}`;
}

/** Where an oversized item's bytes are, and how to get them, for people. */
function whereOversized(e: InvalidListEntry): string {
  const o = e.oversized;
  if (!o) return '';
  if (!o.storedIn) {
    return `o item inteiro (${o.bytes} bytes, sha1 ${o.sha1}) foi descartado: o depósito de itens grandes estava cheio`;
  }
  return (
    `o item inteiro (${o.bytes} bytes, sha1 ${o.sha1}) está em ${o.storedIn.key}, campo ${o.storedIn.field}: ` +
    `redis-cli --raw HGET '${o.storedIn.key}' '${o.storedIn.field}' | head -c ${o.bytes} > item.bin`
  );
}

async function list(ctx: Ctx, queue: QueueConfig, values: Values): Promise<number> {
  const entries = (await readInvalidList(ctx.redis, queue.invalidList)).filter(
    (e) => values.reason === undefined || e.reason === values.reason,
  );
  const limit = values.limit === undefined ? Infinity : Number(values.limit);
  if (!(limit > 0)) throw new UsageError('--limit espera um número > 0');
  for (const e of entries.slice(0, limit)) ctx.io.out(describeEntry(e));
  ctx.io.out(
    `${entries.length} item(ns) em ${queue.invalidList}${values.reason ? ` com motivo ${values.reason}` : ''}`,
  );
  return 0;
}

async function count(ctx: Ctx, queues: readonly QueueConfig[]): Promise<number> {
  for (const queue of queues) {
    const entries = await readInvalidList(ctx.redis, queue.invalidList);
    const byReason = new Map<string, number>();
    for (const e of entries) byReason.set(e.reason, (byReason.get(e.reason) ?? 0) + 1);
    const parts = [...byReason].map(([reason, n]) => `${reason}: ${n}`).join(', ');
    ctx.io.out(`${queue.invalidList}: ${entries.length}${parts ? ` (${parts})` : ''}`);
  }
  return 0;
}

async function show(ctx: Ctx, queue: QueueConfig, n: string | undefined): Promise<number> {
  const entries = await readInvalidList(ctx.redis, queue.invalidList);
  const entry = entries.find((e) => String(e.n) === n);
  if (!entry) throw new UsageError(`não há item #${n ?? '?'} em ${queue.invalidList} (${entries.length} itens)`);
  ctx.io.out(`#${entry.n} motivo: ${entry.reason}${entry.detail ? ` (${entry.detail})` : ''}; em ${entry.at}`);
  if (entry.oversized) {
    ctx.io.out(`${whereOversized(entry)}. Abaixo, só os primeiros ${entry.raw.length} bytes:`);
  }
  ctx.io.out(entry.raw.toString('utf8'));
  return 0;
}

/** The entries named by positions, or all (optionally of one reason). */
async function select(ctx: Ctx, queue: QueueConfig, picks: string[], values: Values): Promise<InvalidListEntry[]> {
  const entries = await readInvalidList(ctx.redis, queue.invalidList);
  if (values.all && picks.length > 0) throw new UsageError('use números de itens ou --all, não os dois');
  if (!values.all && picks.length === 0) throw new UsageError('diga quais itens (números de `list`) ou --all');
  const byReason = entries.filter((e) => values.reason === undefined || e.reason === values.reason);
  if (values.all) return byReason;
  return picks.map((p) => {
    const entry = byReason.find((e) => String(e.n) === p);
    if (!entry) throw new UsageError(`não há item #${p} em ${queue.invalidList}`);
    return entry;
  });
}

function editOf(values: Values): ItemEdit | undefined {
  if (values.filter !== undefined && values.patch !== undefined)
    throw new UsageError('use --filter ou --patch, não os dois');
  if (values.filter !== undefined) return { kind: 'filter', command: values.filter };
  if (values.patch === undefined) return undefined;
  const patch: unknown = JSON.parse(fs.readFileSync(values.patch, 'utf8'));
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
    throw new UsageError(`${values.patch} deve conter um objeto JSON`);
  }
  return { kind: 'patch', patch: patch as Record<string, unknown> };
}

async function requeue(ctx: Ctx, queue: QueueConfig, picks: string[], values: Values): Promise<number> {
  const { io, redis, config } = ctx;
  const edit = editOf(values);
  const plan: { entry: InvalidListEntry; item: Buffer; note: string }[] = [];
  let skipped = 0;
  for (const entry of await select(ctx, queue, picks, values)) {
    if (entry.oversized) {
      io.err(
        `#${entry.n}: item grande demais (${entry.oversized.bytes} bytes > bridge.maxItemBytes ` +
          `${config.bridge.maxItemBytes}): não pode voltar a ${queue.sourceList}, a entrada guarda só o início. ` +
          `Fica onde está; ${whereOversized(entry)}.`,
      );
      skipped++;
      continue;
    }
    let item = entry.raw;
    try {
      if (edit) item = applyEdit(entry.raw, edit);
    } catch (err) {
      io.err(`#${entry.n}: edição falhou, fica onde está: ${coerceError(err).message}`);
      skipped++;
      continue;
    }
    const check = classifyItem(item, '0', config.bridge.maxItemBytes, queue.name);
    if (!check.valid) {
      io.err(`#${entry.n}: continua inválido (${check.reason}: ${check.detail}), fica onde está: ${preview(item)}`);
      skipped++;
      continue;
    }
    let note = 'novo job';
    if (check.fromPayload) {
      // Same id, same job: a job still kept under this id would swallow the item as a duplicate.
      const state = await jobState(ctx, queue, check.jobId);
      if (state !== undefined) {
        io.err(
          `#${entry.n}: o job ${JSON.stringify(check.payload.id)} ainda existe (estado ${state}); o item seria ` +
            `descartado como duplicado. Fica onde está${state === 'failed' ? ' (use `retry` para esse job)' : ''}.`,
        );
        skipped++;
        continue;
      }
      note = `id ${JSON.stringify(check.payload.id)} mantido`;
    }
    plan.push({ entry, item, note: `${note}${edit && !item.equals(entry.raw) ? ', editado' : ''}` });
  }
  if (plan.length === 0) {
    io.out(`nada a recolocar${skipped > 0 ? ` (${skipped} item(ns) ignorado(s))` : ''}`);
    return skipped > 0 ? 1 : 0;
  }
  io.out(`Vou recolocar ${plan.length} item(ns) de ${queue.invalidList} no fim de ${queue.sourceList}:`);
  for (const p of plan) io.out(`  #${p.entry.n} (${p.note}): ${preview(p.item)}`);
  if (!(await confirmed(ctx, values))) return 1;
  let moved = 0;
  for (const p of plan) {
    if (await requeueEntry(redis, queue.invalidList, queue.sourceList, p.entry.text, p.item)) moved++;
    else io.err(`#${p.entry.n}: já não estava em ${queue.invalidList} (outro operador?); não recolocado`);
  }
  io.out(`${moved} item(ns) recolocado(s) em ${queue.sourceList}`);
  return moved === plan.length && skipped === 0 ? 0 : 1;
}

/** The state of the retained job `jobId`, also one completed whose id alone is still kept; undefined when none. */
async function jobState(ctx: Ctx, queue: QueueConfig, jobId: string): Promise<string | undefined> {
  const key = `${ctx.config.redis.prefix}:${queue.name}:${jobId}`;
  if ((await ctx.redis.exists(key)) === 1) {
    return withQueue(ctx, queue, async (q) => (await q.getJobState(jobId)) as string);
  }
  const ids = completedIdsOf(ctx, queue.name);
  return (await ids.completed([jobId])).has(jobId) ? 'completed, só o id guardado' : undefined;
}

function completedIdsOf(ctx: Ctx, queue: string): CompletedJobIds {
  return new CompletedJobIds(ctx.redis, { prefix: ctx.config.redis.prefix, queue, retention: ctx.config.jobs });
}

async function drop(ctx: Ctx, queue: QueueConfig, picks: string[], values: Values): Promise<number> {
  const entries = await select(ctx, queue, picks, values);
  if (entries.length === 0) {
    ctx.io.out('nada a apagar');
    return 0;
  }
  ctx.io.out(`Vou APAGAR ${entries.length} item(ns) de ${queue.invalidList} (não há como desfazer):`);
  for (const e of entries) {
    ctx.io.out(`  ${describeEntry(e)}`);
    if (e.oversized?.storedIn)
      ctx.io.out(`    e o item inteiro em ${e.oversized.storedIn.key} (${e.oversized.bytes} bytes)`);
  }
  if (!(await confirmed(ctx, values))) return 1;
  let dropped = 0;
  for (const e of entries) if (await dropEntry(ctx.redis, queue.invalidList, e)) dropped++;
  ctx.io.out(`${dropped} item(ns) apagado(s)`);
  return 0;
}

async function withQueue<T>(ctx: Ctx, config: QueueConfig, use: (queue: Queue) => Promise<T>): Promise<T> {
  const queue = new Queue(config.name, {
    connection: ctx.redis,
    prefix: ctx.config.redis.prefix,
    skipVersionCheck: true,
  });
  try {
    return await use(queue);
  } finally {
    await queue.close();
  }
}
