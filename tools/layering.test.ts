import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// Proves the layering check (dependency-cruiser, .dependency-cruiser.cjs) actually rejects
// an import that the layering table (ARCHITECTURE.md §1) forbids, rather than passing vacuously.
const root = join(import.meta.dirname, '..');

function cruise(): { ok: boolean; out: string } {
  try {
    const out = execFileSync(join(root, 'node_modules/.bin/depcruise'), ['packages', '--config', '.dependency-cruiser.cjs'], {
      cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
    });
    return { ok: true, out };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    return { ok: false, out: `${err.stdout ?? ''}${err.stderr ?? ''}` };
  }
}

describe('layering check', () => {
  it('passes on the workspace as it is', () => {
    const r = cruise();
    expect(r.out).toContain('no dependency violations');
    expect(r.ok).toBe(true);
  }, 60_000);

  it('fails when @nv/view imports @nv/perception (view sits below perception)', () => {
    const probe = join(root, 'packages/view/src/zz-layering-probe.ts');
    writeFileSync(probe, "export { PerceptionArtifacts } from '../../perception/src/index.js';\n");
    try {
      const r = cruise();
      expect(r.ok).toBe(false);
      expect(r.out).toContain('layering-view');
      expect(r.out).toContain('no-cross-package-relative-import');
    } finally {
      rmSync(probe, { force: true });
    }
  }, 60_000);
});
