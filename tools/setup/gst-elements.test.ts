import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  byName, checkOrigins, dependencyClosure, formatTable, launchElements, launchTokens, parseAptPackages, parseDepends,
  nodePrerequisites, parseDpkgQuery, parseNpmGlobals, parseFactoryLog, readDpkgDb, resolveCommands, resolveElements, scanCommands, scanPythonImports, scanSources,
  traceRuntimeElements, type Closure, type DpkgPackage, type ElementOrigin, type Use,
} from './gst-elements.js';

// Everything nv needs from the system (GStreamer elements, programs, Python modules) must come
// from a Debian package that tools/setup/bootstrap.sh installs, directly or as a dependency —
// otherwise a fresh machine fails where the team's machines (with extra packages) pass.
const root = join(import.meta.dirname, '..', '..');
const bootstrap = readFileSync(join(root, 'tools/setup/bootstrap.sh'), 'utf8');
const dpkg = spawnSync('dpkg-query', ['--version'], { stdio: 'ignore' });
const noDpkg = dpkg.error !== undefined || dpkg.status !== 0 ? 'dpkg-query is not available (not a Debian system)' : undefined;

const namesOf = (uses: readonly Use[], kind?: Use['kind']): Set<string> => new Set(uses.filter((u) => !kind || u.kind === kind).map((u) => u.name));
const whereOf = (uses: readonly Use[], name: string): string[] => uses.filter((u) => u.name === name).map((u) => u.where);

describe('launch descriptions', () => {
  it('yields the elements, not caps, properties, pad references, options or expressions', () => {
    expect(launchElements(launchTokens('( videotestsrc is-live=true pattern=ball ! video/x-raw,format=I420,width=320 '
      + '! x264enc tune=zerolatency ! rtph264pay name=pay0 pt=96 )'))).toEqual(['videotestsrc', 'x264enc', 'rtph264pay']);
    expect(launchElements(launchTokens('videotestsrc ! tee name=t t. ! queue ! fakesink t. ! queue ! autovideosink'))).toEqual(
      ['videotestsrc', 'tee', 'queue', 'fakesink', 'queue', 'autovideosink']);
    expect(launchElements(launchTokens('filesrc location="a b.mp4"!decodebin ! video/x-raw,format=(string){I420,NV12} ! fakesink'))).toEqual(
      ['filesrc', 'decodebin', 'fakesink']);
    expect(launchElements(['-q', 'filesrc', 'location=\u0000', '!', '\u0000', '!', 'fakesink', 'sync=false'])).toEqual(['filesrc', 'fakesink']);
  });

  it('reads element names from a GST_ELEMENT_FACTORY log', () => {
    const log = '0:00:00.0 1 0x1 INFO GST_ELEMENT_FACTORY gstelementfactory.c:489:gst_element_factory_create_with_properties: creating element "qtdemux"\n'
      + '0:00:00.1 1 0x2 INFO GST_ELEMENT_FACTORY gstelementfactory.c:489:x: creating element "h264parse" named "h264parse0"\nunrelated "line"\n';
    expect(parseFactoryLog(log)).toEqual(['qtdemux', 'h264parse']);
  });
});

describe('source scan', () => {
  const uses = scanSources(root);
  it('finds the elements nv creates in C++, TypeScript, Python, tests and benchmarks', () => {
    const names = namesOf(uses);
    console.log(`[gst-elements] source scan: ${names.size} elements in ${new Set(uses.map((u) => u.where)).size} files`);
    for (const e of ['appsink', 'appsrc', 'cairooverlay', 'decodebin', 'rtspsrc', 'videoconvertscale', 'textoverlay', 'compositor', 'x264enc', 'mp4mux', 'rtph264pay', 'fakesink']) {
      expect(names, `element '${e}' not found by the scanner`).toContain(e);
    }
    // Each kind of source is read (so a broken pattern fails here, not silently).
    expect(whereOf(uses, 'appsink')).toContainEqual(expect.stringMatching(/^native\/src\/.*\.cc$/)); // gst_element_factory_make
    expect(whereOf(uses, 'cairooverlay')).toContainEqual(expect.stringMatching(/^native\/src\/.*\.cc$/)); // the Make() wrapper
    expect(whereOf(uses, 'rtspsrc')).toContain('packages/media/src/pipeline.ts'); // { factory: 'rtspsrc' }
    expect(whereOf(uses, 'textoverlay')).toContain('packages/test-util/src/text-clip.py'); // make('textoverlay') wrapper
    expect(whereOf(uses, 'rtph264pay')).toContain('packages/test-util/src/rtsp-server.py'); // set_launch(LAUNCH)
    expect(whereOf(uses, 'x264enc')).toContainEqual(expect.stringMatching(/\.test\.ts$/)); // gst-launch-1.0 argv in a test
    expect(whereOf(uses, 'fakesink')).toContainEqual(expect.stringMatching(/^tools\/bench\//)); // ... and in a benchmark
    expect(uses.filter((u) => u.kind === 'probe').map((u) => u.name)).toContain('cudaupload'); // ['cudaupload', …].filter(hasElement)
    expect(uses.some((u) => u.where.startsWith('tools/setup/gst-elements'))).toBe(false);
  });
});

describe('Debian dependency closure', () => {
  const status = [
    'app\tii \t\tlibfoo (>= 1.2), gst-x | gst-y:any, editor\tbase-pre\tno',
    'libfoo\tii \t\tlibc6 (>= 2.34) [amd64]\t',
    'libfoo\tii \t\tlibbar:any\t', // a second architecture's instance
    'gst-x\tun \t\t\t',
    'gst-y\tii \t\tlibc6\t',
    'gst-z\tii \t\tnever-followed\t',
    'vim\tii \teditor\tlibc6\t',
    'libc6\tii \t\t\t',
    'libbar\tii \t\t\t',
    'base-pre\tii \t\t\t',
    'recommended\tii \t\t\t',
    'coreutils\tii \t\tlibacl1\t\tyes',
    'libacl1\tii \t\t\t',
    'gone-essential\trc \t\t\t\tyes',
    'never-followed\tii \t\t\t',
  ].join('\n');
  const db = parseDpkgQuery(status);

  it('parses alternatives, versions, architecture qualifiers and restrictions', () => {
    expect(parseDepends('a (>= 1:2.3~) | b:any, c [amd64] <!nocheck>, d:native (<< 4)')).toEqual([['a', 'b'], ['c'], ['d']]);
    expect(db.get('libfoo')?.depends).toEqual([['libc6'], ['libbar']]);
    expect(db.get('gst-x')?.installed).toBe(false);
  });

  it('follows Depends and Pre-Depends, the installed alternative, virtual providers and Essential packages; nothing else', () => {
    const c = dependencyClosure(['app', 'missing'], db);
    expect([...c.packages].sort()).toEqual(['app', 'base-pre', 'coreutils', 'gst-y', 'libacl1', 'libbar', 'libc6', 'libfoo', 'missing', 'vim']);
    expect(c.notInstalled).toEqual(['missing']);
  });

  it('reads APT_PACKAGES from bootstrap.sh, continuation lines included', () => {
    const pkgs = parseAptPackages(bootstrap);
    expect(pkgs).toContain('pkg-config');
    expect(pkgs).toContain('gstreamer1.0-x');
    expect(pkgs).toContain('fonts-dejavu-core');
    expect(pkgs.every((p) => /^[a-z0-9][a-z0-9+.-]+$/.test(p))).toBe(true);
    expect(() => parseAptPackages('echo no list here')).toThrow(/APT_PACKAGES/);
  });
});

if (noDpkg) {
  describe('system packages installed by tools/setup/bootstrap.sh', () => {
    it.skip(`skipped: ${noDpkg}`, () => {});
  });
} else {
  describe('system packages installed by tools/setup/bootstrap.sh', () => {
    let uses: Use[] = [];
    let origins = new Map<string, ElementOrigin>();
    let db = new Map<string, DpkgPackage>();
    let apt: string[] = [];
    let closure: Closure;
    const without = (pkg: string): Closure => dependencyClosure(apt.filter((p) => p !== pkg), db);

    beforeAll(async () => {
      const t0 = performance.now();
      uses = [...scanSources(root), ...await traceRuntimeElements({ root })];
      origins = await resolveElements(uses.map((u) => u.name));
      db = readDpkgDb();
      apt = parseAptPackages(bootstrap);
      closure = dependencyClosure(apt, db);
      console.log(`[gst-elements] ${byName(uses).size} GStreamer elements (source scan + run-time traces), `
        + `${closure.packages.size} packages in the bootstrap closure, ${((performance.now() - t0) / 1000).toFixed(1)} s\n${formatTable(uses, origins)}`);
    }, 120_000);

    it('every package in APT_PACKAGES is installed here (else its dependencies are unknown: run tools/setup/bootstrap.sh)', () => {
      expect(closure.notInstalled).toEqual([]);
    });

    it('run-time traces see what decodebin, rtspsrc and the discoverer plug in', () => {
      const rt = namesOf(uses, 'runtime');
      for (const e of ['qtdemux', 'h264parse', 'multiqueue', 'uridecodebin', 'rtpbin', 'rtpjitterbuffer', 'rtph264depay', 'udpsrc', 'rtph264pay']) {
        expect(rt, `run-time trace did not create '${e}'`).toContain(e);
      }
      expect([...rt].some((e) => /h264.*dec|dec.*h264/.test(e)), 'no H.264 decoder in the decode trace').toBe(true);
      // Nothing from the traces is in the code, so they do add coverage.
      expect(namesOf(uses, 'factory').has('qtdemux') || namesOf(uses, 'launch').has('qtdemux')).toBe(false);
    });

    it('every element nv uses comes from a package the bootstrap installs (or one it depends on)', () => {
      expect(origins.get('appsink')?.packages).toContain('gstreamer1.0-plugins-base');
      const problems = checkOrigins(uses, origins, closure.packages);
      expect(problems.map((p) => p.message), `elements a fresh machine would lack:\n${problems.map((p) => p.message).join('\n')}`).toEqual([]);
    });

    it('negative control: without gstreamer1.0-x the check reports textoverlay', () => {
      expect(apt).toContain('gstreamer1.0-x');
      const p = checkOrigins(uses, origins, without('gstreamer1.0-x').packages).find((x) => x.name === 'textoverlay');
      expect(p, 'textoverlay not reported missing without gstreamer1.0-x').toBeDefined();
      expect(p!.reason).toBe('not-bootstrapped');
      expect(p!.packages).toContain('gstreamer1.0-x');
      expect(p!.message).toMatch(/^textoverlay → \/usr\/lib\/.*libgstpango\.so → gstreamer1\.0-x: .*text-clip\.py:\d+/);
    });

    it('negative control: without gstreamer1.0-plugins-ugly the check reports x264enc', () => {
      expect(apt).toContain('gstreamer1.0-plugins-ugly');
      const problems = checkOrigins(uses, origins, without('gstreamer1.0-plugins-ugly').packages);
      const p = problems.find((x) => x.name === 'x264enc');
      expect(p, 'x264enc not reported missing without gstreamer1.0-plugins-ugly').toBeDefined();
      expect(p!.packages).toContain('gstreamer1.0-plugins-ugly');
      expect(p!.file).toMatch(/libgstx264\.so$/);
      expect(problems.every((x) => x.packages.includes('gstreamer1.0-plugins-ugly'))).toBe(true);
    });

    it('every program nv spawns and every module its Python helpers import comes from a bootstrap package', () => {
      const cmdUses = scanCommands(root);
      expect(namesOf(cmdUses)).toContain('gst-launch-1.0');
      expect(namesOf(cmdUses)).toContain('/usr/bin/python3');
      expect(namesOf(cmdUses)).toContain('/usr/bin/prometheus');
      expect(namesOf(cmdUses)).toContain('ffmpeg'); // spawn('ffmpeg') and the spawnSyncOk('ffmpeg') wrapper
      const py = scanPythonImports(root);
      expect(namesOf(py.uses)).toContain('python:gi');
      expect(namesOf(py.uses)).toContain('typelib:GstRtspServer-1.0');
      const all = [...cmdUses, ...py.uses];
      const found = new Map([...resolveCommands(namesOf(cmdUses)), ...py.origins]);
      console.log(`[gst-elements] programs and Python modules:\n${formatTable(all, found)}`);
      // Programs from npm (pnpm) count when the bootstrap installs them with `npm install -g`;
      // Node.js and its npm are the bootstrap's prerequisites.
      expect(parseNpmGlobals(bootstrap)).toContain('npm:pnpm');
      const given = [...parseNpmGlobals(bootstrap), ...nodePrerequisites()];
      const problems = checkOrigins(all, found, new Set([...closure.packages, ...given]));
      expect(problems.map((p) => p.message), `a fresh machine would lack:\n${problems.map((p) => p.message).join('\n')}`).toEqual([]);
      // Negative control: without ffmpeg in APT_PACKAGES, the ffmpeg that benchmarks and tests
      // spawn is reported (the message lists the first few places, in path order).
      const p = checkOrigins(all, found, new Set([...without('ffmpeg').packages, ...given])).find((x) => x.name === 'ffmpeg');
      expect(p?.message).toMatch(/^ffmpeg → \/usr\/bin\/ffmpeg → ffmpeg: not installed by .*; used at \S+\.(mjs|ts):\d+ \(spawn\)/);
    });
  });
}
