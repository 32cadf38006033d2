#!/usr/bin/env node
/**
 * The `nv` executable. Ctrl-C drains (outputs flushed, video finalized) and exits 0; a second
 * Ctrl-C exits at once with 130.
 */
import { runCli } from './cli.js';

const ac = new AbortController();
let interrupts = 0;
process.on('SIGINT', () => {
  interrupts++;
  if (interrupts === 1) { process.stderr.write('\nnv: stopping (draining outputs; Ctrl-C again to quit at once)\n'); ac.abort(); return; }
  process.exit(130);
});
process.on('SIGTERM', () => ac.abort());

const code = await runCli(process.argv.slice(2), { signal: ac.signal });
process.exitCode = code;
