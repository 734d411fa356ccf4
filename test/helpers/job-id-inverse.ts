/** The inverse of src/bridge/job-id.ts, to check that its mapping is injective by round-tripping. */
import type { ItemIdentity } from '../../src/bridge/job-id.js';

/** What a generated id looks like once escaped: `<queue>-<6 or more digits>`. */
const GENERATED_SHAPE = /^(.*)-(\d{6,})$/;

function unescapeString(value: string): string {
  return value.replace(/%3A/g, ':').replace(/%25/g, '%');
}

/** The identity a job id was made from (inverse of `jobIdFor`). */
export function identityOfJobId(jobId: string): ItemIdentity {
  if (jobId.startsWith('%n')) return { kind: 'number', value: Number(jobId.slice(2)) };
  if (jobId.startsWith('%s')) return { kind: 'string', value: unescapeString(jobId.slice(2)) };
  const generated = GENERATED_SHAPE.exec(jobId);
  if (generated) {
    return {
      kind: 'generated',
      queue: unescapeString(generated[1] ?? ''),
      seq: BigInt(generated[2] ?? '0').toString(),
    };
  }
  return { kind: 'string', value: unescapeString(jobId) };
}
