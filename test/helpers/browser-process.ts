/** Finding a test's browser from the outside, through /proc (Linux). */
import { listProcesses, type ProcessInfo } from '../../src/workers/process-tree.js';

/**
 * The browser's main process: it carries `arg` on its command line and is not a Chromium
 * helper (`--type=...`) nor the `/bin/sh` wrapper some distributions install.
 */
export function findBrowserPid(arg: string, processes: readonly ProcessInfo[] = listProcesses()): number | undefined {
  return processes.find(
    (p) => p.cmdline.includes(arg) && !p.cmdline.includes('--type=') && !/^\/bin\/(ba|da)?sh /.test(p.cmdline),
  )?.pid;
}
