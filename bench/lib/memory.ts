import fs from 'node:fs';
import { hasEnv, listProcesses } from '../../src/workers/process-tree.js';
import { BROWSER_MARKER_ENV } from '../../src/workers/browser-launch.js';

function pssKb(pid: number, rssKb: number): number {
  try {
    const pss = /^Pss:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1];
    return pss === undefined ? rssKb : Number(pss);
  } catch {
    return rssKb;
  }
}

/**
 * Memory (MB) of the browser processes descending from this Node process (others' Chromiums on the
 * same machine are not counted): summed PSS, so pages Chromium's processes share count once, and
 * summed RSS, which counts them in every process.
 */
export function browserMemoryMb(): { pssMb: number; rssMb: number; processes: number } {
  const all = listProcesses();
  const children = new Map<number, number[]>();
  for (const p of all) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid]);
  const byPid = new Map(all.map((p) => [p.pid, p]));
  const descendants: number[] = [];
  const stack = [...(children.get(process.pid) ?? [])];
  while (stack.length > 0) {
    const pid = stack.pop() as number;
    descendants.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  let pss = 0;
  let rss = 0;
  let processes = 0;
  for (const pid of descendants) {
    const info = byPid.get(pid);
    if (!info || !hasEnv(pid, BROWSER_MARKER_ENV)) continue;
    processes += 1;
    rss += info.rssKb;
    pss += pssKb(pid, info.rssKb);
  }
  return { pssMb: pss / 1024, rssMb: rss / 1024, processes };
}
