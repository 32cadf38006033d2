import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { loadJobConfig, loadZonesFile } from './config-file.js';

const here = dirname(fileURLToPath(import.meta.url));
const readme = readFileSync(join(here, '..', '..', '..', 'README.md'), 'utf8');

describe('README', () => {
  it('the "write your own stage" example runs as printed', async () => {
    const m = /<!-- readme-example[^>]*-->\s*```ts\n([\s\S]*?)```/.exec(readme);
    expect(m, 'README example block').not.toBeNull();
    const code = m![1]!;
    expect(code.split('\n').length).toBeLessThanOrEqual(26);
    // Written next to this package so that `@nv/*` imports resolve like a user's file would.
    const file = join(here, '..', '.readme', 'example.ts');
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, code);
    const lines: unknown[][] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => { lines.push(a); });
    try {
      await import(/* @vite-ignore */ file);
    } finally {
      spy.mockRestore();
    }
    expect(lines).toHaveLength(60);
    expect(lines.map((l) => l[0])).toEqual(Array.from({ length: 60 }, (_, i) => i));
    for (const l of lines) { expect(typeof l[1]).toBe('number'); expect(l[1]).toBeGreaterThanOrEqual(0); expect(l[1]).toBeLessThanOrEqual(255); }
  }, 60_000);

  it('keeps the quick start to exactly the two commands', () => {
    const q = /## Quick start\s*```sh\n([\s\S]*?)```/.exec(readme);
    expect(q![1]!.trim().split('\n')).toEqual(['npm run demo', 'npm test']);
  });

  it('the YAML examples are valid: job configs, and the zones file (a --zones file, also a config file\'s analytics:)', () => {
    const blocks = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(blocks.length).toBeGreaterThanOrEqual(2); // `nv run`'s example and `nv serve`'s
    const dir = join(here, '..', '.readme');
    mkdirSync(dir, { recursive: true });
    for (const [i, yaml] of blocks.entries()) {
      const file = join(dir, `config-${i}.yaml`);
      writeFileSync(file, yaml);
      if (/^zones:/.test(yaml)) {
        expect(loadZonesFile(file).zones.length, yaml).toBeGreaterThan(0);
        // the same section inside a config file
        writeFileSync(file, `analytics:\n${yaml.split('\n').map((l) => `  ${l}`).join('\n')}`);
      }
      expect(() => loadJobConfig(file), yaml).not.toThrow();
    }
    expect(blocks.some((b) => /^zones:/.test(b))).toBe(true);
    const serve = blocks.find((b) => b.includes('serve:'));
    expect(loadJobConfig(join(dir, `config-${blocks.indexOf(serve!)}.yaml`)).serve).toMatchObject({ host: '0.0.0.0', port: 8080 });
  });
});
