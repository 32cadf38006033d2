#!/usr/bin/env node
/**
 * The `nv` executable. Ctrl-C drains (outputs flushed, video finalized) and exits 0; a second
 * Ctrl-C exits at once with 130.
 */
import { runCli } from './cli.js';
import { terminalIo } from './terminal.js';

const io = terminalIo(process.stdout, process.stderr);
const ac = new AbortController();
let interrupts = 0;
process.on('SIGINT', () => {
  interrupts++;
  if (interrupts === 1) { io.err('nv: stopping (draining outputs; Ctrl-C again to quit at once)'); ac.abort(); return; }
  io.status?.([]);
  process.exit(130);
});
process.on('SIGTERM', () => ac.abort());

const code = await runCli(process.argv.slice(2), { io, signal: ac.signal });
process.exitCode = code;
