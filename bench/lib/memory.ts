import { listProcesses, treeMemory } from '../../src/workers/process-tree.js';

/**
 * Memory (MB) of the Chromiums this Node process started, each with its whole process tree
 * (browser, zygotes, renderers, GPU, utility): summed PSS, so pages Chromium's processes share
 * count once, and summed RSS, which counts them in every process. Others' Chromiums on the same
 * machine are not counted.
 */
export async function browserMemoryMb(): Promise<{ pssMb: number; rssMb: number; processes: number }> {
  let pssMb = 0;
  let rssMb = 0;
  let processes = 0;
  for (const child of listProcesses().filter((p) => p.ppid === process.pid && /chrom/i.test(p.cmdline))) {
    const m = await treeMemory(child.pid);
    pssMb += m.pssMb;
    rssMb += m.rssMb;
    processes += m.processes;
  }
  return { pssMb, rssMb, processes };
}

/** PSS (MB) of each Chromium this Node process started, whole process tree each: one per worker unit. */
export async function browserTreesPssMb(): Promise<number[]> {
  const roots = listProcesses().filter((p) => p.ppid === process.pid && /chrom/i.test(p.cmdline));
  const trees = await Promise.all(roots.map((p) => treeMemory(p.pid)));
  return trees.filter((m) => m.processes > 0).map((m) => m.pssMb);
}
