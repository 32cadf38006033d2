/**
 * Option checks shared by the sinks: each failure is a `ConfigError` naming the field.
 *
 * @packageDocumentation
 */
import { ConfigError } from '@nv/core';

/**
 * Reads a positive integer option. @internal
 * @throws {ConfigError} naming `field` when it is not one
 */
export function positiveInt(value: number | undefined, fallback: number, field: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) {
    throw ConfigError.invalidConfig('sink options', [{ field, message: `must be a positive integer (got ${String(value)})` }]);
  }
  return value;
}

/**
 * Reads a non-negative number option (`Infinity` allowed when `allowInfinity`). @internal
 * @throws {ConfigError} naming `field` when it is not one
 */
export function nonNegative(value: number | undefined, fallback: number, field: string, allowInfinity = false): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0 || (!allowInfinity && !Number.isFinite(value))) {
    throw ConfigError.invalidConfig('sink options', [{ field, message: `must be a non-negative ${allowInfinity ? 'number' : 'finite number'} (got ${String(value)})` }]);
  }
  return value;
}
