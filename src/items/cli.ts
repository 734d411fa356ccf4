/**
 * `npm run items -- <command>`: the operator tool for invalid items and failed jobs, configured
 * like the service (config/<NODE_ENV>.json, CONFIG_FILE, environment). Usage in commands.ts.
 */
import readline from 'node:readline/promises';
import { loadConfig } from '../config/load.js';
import { ConfigError } from '../lib/errors.js';
import { runItems, type ItemsIo } from './commands.js';

const io: ItemsIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  async confirm(question) {
    if (!process.stdin.isTTY) {
      process.stderr.write('entrada não é um terminal: confirme com --yes\n');
      return false;
    }
    const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
    try {
      return /^(s|sim|y|yes)$/i.test((await rl.question(question)).trim());
    } finally {
      rl.close();
    }
  },
};

let code: number;
try {
  const config = loadConfig();
  code = await runItems(process.argv.slice(2), { config, io });
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`${err.message}\n`);
  code = 78;
}
process.exitCode = code;
