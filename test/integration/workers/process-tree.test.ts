import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/logging/logger.js';
import { BrowserSession } from '../../../src/workers/browser-session.js';
import { listProcesses, processTree, treeMemory } from '../../../src/workers/process-tree.js';
import { waitFor } from '../../helpers/wait.js';

const session = new BrowserSession({
  browser: {
    executablePath: '',
    headless: true,
    args: [],
    launchTimeoutMs: 30_000,
    recycleAfterJobs: 0,
    maxMemoryMb: 0,
    collectGarbageEveryJobs: 0,
    memoryCheckEveryJobs: 1,
  },
  logger: createLogger({ level: 'error', file: '', format: 'text', colors: false }),
});

describe('process tree of a real Chromium', () => {
  beforeAll(async () => {
    await session.start();
  });

  afterAll(async () => {
    await session.close();
  });

  it('includes the renderer, and its memory rises when the page allocates', async () => {
    const page = await session.page();
    await page.goto('data:text/html,<title>tree</title><p>tree</p>');
    const root = session.browserPid;
    if (root === undefined) throw new Error('no browser pid');

    // Chromium's own list of its processes, renderer included, must all be in the tree we measure.
    const cdp = await page.context().browser()!.newBrowserCDPSession();
    const { processInfo } = (await cdp.send('SystemInfo.getProcessInfo')) as {
      processInfo: { type: string; id: number }[];
    };
    await cdp.detach();
    const renderers = processInfo.filter((p) => p.type === 'renderer').map((p) => p.id);
    expect(renderers.length).toBeGreaterThan(0);
    const tree = processTree(root);
    expect(tree[0]).toBe(root);
    for (const p of processInfo) expect(tree, `${p.type} ${p.id}`).toContain(p.id);
    const byPid = new Map(listProcesses().map((p) => [p.pid, p.cmdline]));
    expect(tree.some((pid) => /--type=renderer/.test(byPid.get(pid) ?? ''))).toBe(true);
    expect(tree.every((pid) => /chrom/i.test(byPid.get(pid) ?? 'gone'))).toBe(true);

    const before = await treeMemory(root);
    expect(before.processes).toBe(tree.filter((pid) => byPid.has(pid)).length);
    expect((await session.memory())?.processes).toBe(before.processes);
    // 200 MB written (so resident) and kept reachable by the page.
    await page.evaluate(() => {
      const block = new Uint8Array(200 * 1024 * 1024).fill(7);
      (globalThis as unknown as { kept: Uint8Array }).kept = block;
    });
    await waitFor(async () => (await treeMemory(root)).pssMb - before.pssMb > 150, {
      timeoutMs: 30_000,
      what: 'the tree PSS to rise by the page allocation',
    });
  });
});
