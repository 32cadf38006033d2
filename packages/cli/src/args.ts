/**
 * Parsers of command-line option values, shared by every `nv` command: a bad value is
 * commander's one-line usage error.
 */
import { InvalidArgumentError as CommanderArgError } from 'commander';

/** @returns `v` as a positive integer @throws commander's InvalidArgumentError */
export function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new CommanderArgError(`expected a positive integer, got '${v}'`);
  return n;
}

/** @returns `v` as a TCP port (0 picks a free one) @throws commander's InvalidArgumentError */
export function portNumber(v: string): number {
  const n = Number(v);
  if (!/^[0-9]+$/.test(v) || !Number.isInteger(n) || n > 65535) throw new CommanderArgError(`expected a port number (0-65535), got '${v}'`);
  return n;
}
