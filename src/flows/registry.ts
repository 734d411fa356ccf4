import { ConfigError } from '../lib/errors.js';
import { conferenciaFlow } from './conferencia.js';
import { echoFlow } from './echo.js';
import { emissaoFlow } from './emissao.js';
import type { Flow } from './flow.js';

/** The built-in flows by name (config `queues.<name>.flow`). */
export const BUILTIN_FLOWS: ReadonlyMap<string, Flow> = new Map(
  [conferenciaFlow, emissaoFlow, echoFlow].map((flow) => [flow.name, flow]),
);

/** The flow a queue runs; an unknown name is a configuration error naming the queue. */
export function flowForQueue(queue: { readonly name: string; readonly flow: string }, flows = BUILTIN_FLOWS): Flow {
  const flow = flows.get(queue.flow);
  if (!flow) {
    throw new ConfigError(
      `queues.${queue.name}.flow: unknown flow "${queue.flow}" (known: ${[...flows.keys()].join(', ')})`,
      `queues.${queue.name}.flow`,
    );
  }
  return flow;
}
