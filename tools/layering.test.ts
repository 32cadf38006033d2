import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
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

  it('fails when @nv/pipeline imports @nv/runtime (the frame step sits below the runtime and the harness)', () => {
    const probe = join(root, 'packages/pipeline/src/zz-layering-probe.ts');
    writeFileSync(probe, "export { Runtime } from '../../runtime/src/index.js';\n");
    try {
      const r = cruise();
      expect(r.ok).toBe(false);
      expect(r.out).toContain('layering-pipeline');
    } finally {
      rmSync(probe, { force: true });
    }
  }, 60_000);

  it('fails when @nv/inference imports @nv/frame (inference knows tensors, not frames: core and onnxruntime-node only)', () => {
    const deps = JSON.parse(readFileSync(join(root, 'packages/inference/package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(Object.keys(deps.dependencies).sort()).toEqual(['@nv/core', 'onnxruntime-node']);
    const probe = join(root, 'packages/inference/src/zz-layering-probe.ts');
    writeFileSync(probe, "export { OwnedFrame } from '../../frame/src/index.js';\n");
    try {
      const r = cruise();
      expect(r.ok).toBe(false);
      expect(r.out).toContain('layering-inference');
    } finally {
      rmSync(probe, { force: true });
    }
  }, 60_000);

  it('a user who writes and tests stages never installs the addon: @nv/perception and @nv/test-util need neither @nv/media nor @nv/native', () => {
    const deps = (name: string): string[] => {
      const pkg = JSON.parse(readFileSync(join(root, 'packages', name.replace('@nv/', ''), 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
      return Object.keys(pkg.dependencies ?? {}).filter((d) => d.startsWith('@nv/'));
    };
    for (const top of ['@nv/perception', '@nv/test-util']) {
      const seen = new Set<string>();
      const walk = (n: string): void => { if (seen.has(n)) return; seen.add(n); for (const d of deps(n)) walk(d); };
      walk(top);
      expect([...seen].sort(), top).not.toContain('@nv/media');
      expect([...seen], top).not.toContain('@nv/native');
      if (top === '@nv/test-util') expect([...seen]).toContain('@nv/pipeline');
    }
  });
});
