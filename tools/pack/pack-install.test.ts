/**
 * The packages as a user gets them: every public package is packed the way it would be
 * published, a fresh npm project outside the workspace installs the tarballs it needs (plus
 * third-party packages from the registry), and the README's "Use nv in your app" example is
 * type-checked (`module: nodenext`, strict), compiled and run on a generated clip. Then the
 * addon's fallback path (no prebuilt binary: the loader's error, the dependency check, the
 * source build) and the remaining packages (their README examples type-check; `nv --version`).
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, normalize, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packAll } from './pack.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');

/** The packages `@nv/runtime` needs, and nothing else from nv. */
const RUNTIME_CLOSURE = ['@nv/core', '@nv/frame', '@nv/view', '@nv/perception', '@nv/temporal', '@nv/pipeline', '@nv/native', '@nv/media', '@nv/runtime'];

interface Packed { readonly name: string; readonly version: string; readonly file: string }

let work: string;
let packed: Packed[];
let app: string;

/** The environment a user's shell has: none of the npm/pnpm variables of the `npm test` that runs us. */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(npm_|pnpm_|PNPM_|INIT_CWD|NODE_OPTIONS|VITEST)/i.test(k)) env[k] = v;
  return { ...env, ...extra };
}

function run(cmd: string, args: readonly string[], opts: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {}): SpawnSyncReturns<string> {
  return spawnSync(cmd, args as string[], { cwd: opts.cwd ?? app, env: userEnv(opts.env), encoding: 'utf8', timeout: opts.timeoutMs ?? 120_000, maxBuffer: 64 << 20 });
}

function ok(r: SpawnSyncReturns<string>, what: string): string {
  expect(r.status, `${what} failed (status ${r.status}, signal ${r.signal}):\n${r.stdout}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

function tarball(name: string): string {
  const p = packed.find((t) => t.name === name);
  if (!p) throw new Error(`no tarball for ${name}`);
  return p.file;
}

/** The fenced block that follows `<!-- use-in-app: NAME -->` in the root README. */
function readmeBlock(name: string): string {
  const m = new RegExp(`<!-- use-in-app: ${name} -->\\s*\`\`\`\\w+\\n([\\s\\S]*?)\`\`\``).exec(readme);
  if (!m) throw new Error(`README has no "use-in-app: ${name}" block`);
  return m[1]!;
}

/** Every string target of an `exports` map (through nested conditions), with its condition path. */
function exportTargets(exp: unknown, path = ''): { path: string; target: string }[] {
  if (typeof exp === 'string') return [{ path, target: exp }];
  if (exp && typeof exp === 'object') return Object.entries(exp).flatMap(([k, v]) => exportTargets(v, `${path}/${k}`));
  return [];
}

function makeClip(path: string, frames: number): void {
  const r = spawnSync('gst-launch-1.0', ['-q', 'videotestsrc', `num-buffers=${frames}`, 'pattern=ball', '!', 'video/x-raw,width=320,height=240,framerate=30/1', '!', 'x264enc', '!', 'mp4mux', '!', 'filesink', `location=${path}`], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
}

function expectBrightnessLines(stdout: string, frames: number): void {
  const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as { seq: number; brightness: number });
  expect(lines.map((l) => l.seq)).toEqual(Array.from({ length: frames }, (_, i) => i));
  for (const l of lines) { expect(l.brightness).toBeGreaterThan(0); expect(l.brightness).toBeLessThan(255); }
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'nv-pack-'));
  packed = packAll(join(work, 'tarballs')) as Packed[];
  app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'my-camera-app', version: '1.0.0', private: true, type: 'module' }, null, 2));
}, 180_000);

afterAll(() => { if (work) rmSync(work, { recursive: true, force: true }); });

describe('packed tarballs', () => {
  it('every public package is packed, and each tarball holds only what a user can use', () => {
    expect(packed.map((p) => p.name)).toEqual(expect.arrayContaining([...RUNTIME_CLOSURE, '@nv/cli', '@nv/test-util', '@nv/inference', '@nv/onnx', '@nv/ocr', '@nv/tracking', '@nv/metrics']));
    for (const p of packed) {
      const dir = join(work, 'unpacked', p.name);
      mkdirSync(dir, { recursive: true });
      ok(run('tar', ['xzf', p.file, '-C', dir, '--strip-components=1'], { cwd: work }), `unpack ${p.name}`);
      const files = new Set(ok(run('tar', ['tzf', p.file], { cwd: work }), 'list').trim().split('\n').map((f) => f.replace(/^package\//, '')));
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
      const where = `${p.name} (${p.file})`;
      for (const f of files) {
        expect(f, `${where}: build state in the tarball`).not.toMatch(/\.tsbuildinfo$/);
        expect(f, `${where}: a test in the tarball`).not.toMatch(/\.test\.[cm]?[jt]s(\.map)?$|test-fixtures/);
      }
      for (const f of ['README.md', 'LICENSE', 'CHANGELOG.md', 'package.json']) expect(files.has(f), `${where}: ${f}`).toBe(true);
      expect(manifest['private'], where).toBeUndefined();
      expect(manifest['license'], where).toBe('MIT');
      expect((manifest['engines'] as Record<string, string>)['node'], where).toBe('>=20.19');
      expect((manifest['repository'] as Record<string, string>)['url'], where).toMatch(/^git\+https:/);
      expect(String(manifest['description']).length, where).toBeGreaterThan(20);
      expect((manifest['keywords'] as string[]).length, where).toBeGreaterThan(2);
      for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
        for (const [dep, range] of Object.entries((manifest[field] ?? {}) as Record<string, string>)) {
          expect(range, `${where}: ${field}.${dep}`).not.toMatch(/^(workspace|catalog):/);
        }
      }
      // Every export target, main and types entry points at a shipped file; no workspace-only condition.
      const targets = exportTargets(manifest['exports']);
      for (const k of ['main', 'types']) if (typeof manifest[k] === 'string') targets.push({ path: k, target: manifest[k] as string });
      for (const t of targets) {
        expect(t.path, `${where}: workspace-only export condition`).not.toContain('@nv/source');
        expect(files.has(normalize(t.target)), `${where}: ${t.path} → ${t.target} is not in the tarball`).toBe(true);
      }
      // Every source map points at sources that ship.
      for (const f of files) {
        if (!f.endsWith('.map')) continue;
        const map = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { sources: string[]; sourceRoot?: string };
        for (const s of map.sources) {
          const src = normalize(join(dirname(f), map.sourceRoot ?? '', s));
          expect(files.has(src), `${where}: ${f} maps to ${src}, which is not shipped`).toBe(true);
        }
      }
    }
    const native = join(work, 'unpacked', '@nv/native');
    if (process.platform === 'linux' && process.arch === 'x64') expect(existsSync(join(native, 'prebuilds', 'linux-x64', 'nv_native.node'))).toBe(true);
    // The shipped binary is the release build: no test hooks.
    const nm = run('nm', ['-D', join(native, 'prebuilds', 'linux-x64', 'nv_native.node')], { cwd: work });
    if (nm.status === 0) expect(nm.stdout).not.toMatch(/TestHook|__test/i);
  });
});

describe("a user's app outside the workspace", () => {
  it('installs @nv/runtime from the tarballs (plus registry packages) and runs the README example on a video file', () => {
    expect(relative(root, app).startsWith('..'), 'the app must live outside the workspace').toBe(true);
    ok(run('npm', ['install', '--no-audit', '--no-fund', ...RUNTIME_CLOSURE.map(tarball), '@types/node@20'], { timeoutMs: 150_000 }), 'npm install');
    const installed = readdirSync(join(app, 'node_modules', '@nv')).map((n) => `@nv/${n}`).sort();
    expect(installed).toEqual([...RUNTIME_CLOSURE].sort());

    // The README's apt line names exactly the runtime packages @nv/native declares, each a real Debian package.
    const apt = readmeBlock('apt').split('\n').find((l) => l.startsWith('apt-get install'))!;
    const aptPackages = apt.replace('apt-get install --no-install-recommends', '').trim().split(/\s+/);
    const requirements = JSON.parse(readFileSync(join(app, 'node_modules', '@nv', 'native', 'requirements.json'), 'utf8')) as { runtime: string[] };
    expect(aptPackages.sort()).toEqual([...requirements.runtime].sort());
    for (const p of aptPackages) expect(run('dpkg-query', ['-W', '-f=${Status}', p]).stdout, `${p} is installed here`).toContain('install ok installed');

    writeFileSync(join(app, 'app.ts'), readmeBlock('example'));
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'ES2022', strict: true, skipLibCheck: false, types: ['node'], outDir: '.' },
      files: ['app.ts'],
    }, null, 2));
    ok(run(process.execPath, [tsc, '-p', '.', '--noEmit']), 'tsc --noEmit (module nodenext)');
    ok(run(process.execPath, [tsc, '-p', '.']), 'tsc');
    makeClip(join(app, 'clip.mp4'), 30);
    expectBrightnessLines(ok(run(process.execPath, ['app.js', 'clip.mp4'], { timeoutMs: 60_000 }), 'node app.js'), 30);
  }, 240_000);

  it('without a prebuilt binary: the loader names the platform and the fix, the build names missing Debian packages, and the source build works', () => {
    const nativeDir = join(app, 'node_modules', '@nv', 'native');
    const prebuilds = join(nativeDir, 'prebuilds');
    const aside = join(work, 'prebuilds-aside');
    renameSync(prebuilds, aside);
    try {
      const failed = run(process.execPath, ['app.js', 'clip.mp4'], { timeoutMs: 60_000 });
      expect(failed.status).toBe(1);
      expect(failed.stderr).toContain(`${process.platform}-${process.arch}`);
      expect(failed.stderr).toContain('npx nv-native-build');
      expect(failed.stderr).not.toContain('pnpm --filter');

      // No GStreamer/cairo development files visible: one error naming the Debian packages.
      const noDev = run('npx', ['nv-native-build'], { env: { PKG_CONFIG_LIBDIR: join(work, 'empty-pkgconfig'), PKG_CONFIG_PATH: '' } });
      expect(noDev.status).toBe(1);
      const errLines = noDev.stderr.split('\n').filter((l) => l.includes('missing'));
      expect(errLines).toHaveLength(1);
      for (const p of ['libgstreamer1.0-dev', 'libgstreamer-plugins-base1.0-dev', 'libcairo2-dev']) expect(errLines[0]).toContain(p);
      expect(existsSync(join(nativeDir, 'build'))).toBe(false);

      ok(run('npx', ['nv-native-build'], { timeoutMs: 180_000 }), 'npx nv-native-build');
      expect(existsSync(join(nativeDir, 'build', 'Release', 'nv_native.node'))).toBe(true);
      expectBrightnessLines(ok(run(process.execPath, ['app.js', 'clip.mp4'], { timeoutMs: 60_000 }), 'node app.js (source build)'), 30);
    } finally {
      rmSync(join(nativeDir, 'build'), { recursive: true, force: true });
      renameSync(aside, prebuilds);
    }
  }, 240_000);

  it('installs the other packages too; their README examples type-check and `nv --version` answers', () => {
    const rest = packed.map((p) => p.name).filter((n) => !RUNTIME_CLOSURE.includes(n));
    ok(run('npm', ['install', '--no-audit', '--no-fund', ...rest.map(tarball)], { env: { ONNXRUNTIME_NODE_INSTALL: 'skip' }, timeoutMs: 200_000 }), 'npm install (all packages)');
    const checked: string[] = [];
    for (const p of packed) {
      const text = readFileSync(join(app, 'node_modules', ...p.name.split('/'), 'README.md'), 'utf8');
      const block = /```ts\n([\s\S]*?)```/.exec(text);
      if (!block) continue;
      const file = `readme-${p.name.split('/')[1]}.ts`;
      writeFileSync(join(app, file), `${block[1]!}\nexport {};\n`);
      checked.push(file);
    }
    expect(checked.length, 'package READMEs with a TypeScript example').toBeGreaterThanOrEqual(10);
    writeFileSync(join(app, 'tsconfig.readmes.json'), JSON.stringify({
      compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'ES2022', strict: true, skipLibCheck: true, types: ['node'], noEmit: true },
      files: checked,
    }, null, 2));
    ok(run(process.execPath, [tsc, '-p', 'tsconfig.readmes.json']), 'tsc on the package READMEs');
    const version = ok(run(join(app, 'node_modules', '.bin', 'nv'), ['--version']), 'nv --version').trim();
    expect(version).toBe(packed.find((p) => p.name === '@nv/cli')!.version);
  }, 240_000);
});
