#!/usr/bin/env node
// Packs every public workspace package into npm tarballs, the way they would be published:
// `pnpm pack` replaces `workspace:*`/`catalog:` ranges with versions and applies `publishConfig`
// (the workspace-only `@nv/source` export condition is dropped); @nv/native's prepack builds
// the shipped linux-x64 binary (no test hooks) into `prebuilds/`.
//
// usage: node tools/pack/pack.mjs [--out DIR]   (default: .pack/ at the repository root)
// Needs a built workspace (`npm run setup`). Prints one line per tarball: name, file, size.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Public workspace packages: `{ name, version, dir }`, in a stable order. */
export function publicPackages() {
  const dirs = [...readdirSync(join(root, 'packages')).map((d) => join(root, 'packages', d)), join(root, 'native')];
  return dirs
    .filter((d) => { try { return statSync(join(d, 'package.json')).isFile(); } catch { return false; } })
    .map((dir) => ({ dir, ...JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) }))
    .filter((p) => !p.private)
    .map((p) => ({ name: p.name, version: p.version, dir: p.dir }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The tarball file name npm/pnpm give a package. */
export function tarballName(name, version) {
  return `${name.replace(/^@/, '').replace('/', '-')}-${version}.tgz`;
}

/**
 * Packs every public package into `out` (emptied first).
 * @returns {{ name: string, version: string, file: string }[]}
 */
export function packAll(out) {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const result = [];
  for (const p of publicPackages()) {
    execFileSync('pnpm', ['pack', '--pack-destination', out], { cwd: p.dir, stdio: ['ignore', 'ignore', 'inherit'] });
    const file = join(out, tarballName(p.name, p.version));
    statSync(file);
    result.push({ name: p.name, version: p.version, file });
  }
  return result;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--out');
  const out = resolve(i > 0 && process.argv[i + 1] ? process.argv[i + 1] : join(root, '.pack'));
  for (const t of packAll(out)) console.log(`${t.name.padEnd(16)} ${t.file} ${(statSync(t.file).size / 1024).toFixed(0)} KiB`);
}
