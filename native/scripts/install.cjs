#!/usr/bin/env node
'use strict';
// Install step of @nv/native (runs as its npm `install` script, and as `npx nv-native-build`).
//
// 1. A prebuilt binary for this platform (prebuilds/<platform>-<arch>/nv_native.node) or an
//    earlier source build (build/Release/nv_native.node) that loads: nothing to do.
// 2. Otherwise build from source with cmake-js, after checking in one pass that the build tools
//    and GStreamer/cairo development files are present; what is missing is named as Debian
//    packages in one error.
// In nv's own source checkout (not under node_modules) the workspace build does this; the
// install step then does nothing unless forced.
const { spawnSync } = require('node:child_process');
const { existsSync, rmSync } = require('node:fs');
const { join, sep } = require('node:path');

const root = join(__dirname, '..');
const req = require(join(root, 'requirements.json'));

/** Paths the loader tries, in its order. */
function candidates() {
  return [join(root, 'build', 'Release', 'nv_native.node'), join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'nv_native.node')];
}

/** Loads the first candidate that works in a child process (a failed dlopen must not poison this one). */
function loadable() {
  for (const path of candidates()) {
    if (!existsSync(path)) continue;
    const r = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(path)}).gstVersion()`], { encoding: 'utf8' });
    if (r.status === 0) return { path };
    return { path, error: (r.stderr || '').split('\n').find((l) => /Error/.test(l)) || `exit ${r.status}` };
  }
  return undefined;
}

function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Debian packages missing for a source build (empty when everything is there). */
function missingForBuild() {
  const missing = new Set();
  for (const [cmd, pkg] of Object.entries(req.buildTools)) if (!has(cmd)) missing.add(pkg);
  if (has('pkg-config')) {
    for (const [mod, pkg] of Object.entries(req.pkgConfig)) {
      if (spawnSync('pkg-config', ['--exists', mod], { stdio: 'ignore' }).status !== 0) missing.add(pkg);
    }
  } else {
    for (const pkg of Object.values(req.pkgConfig)) missing.add(pkg);
  }
  return [...missing];
}

function main({ force = false } = {}) {
  const inCheckout = !root.split(sep).includes('node_modules');
  if (inCheckout && !force) return 0;
  const found = loadable();
  if (found && !found.error && !force) return 0;
  const why = found?.error
    ? `${found.path} does not load here (${found.error})`
    : `no prebuilt binary for ${process.platform}-${process.arch} (prebuilt: ${req.prebuilt.platform}-${req.prebuilt.arch}, ${req.prebuilt.libc}, GStreamer ${req.prebuilt.gstreamer})`;
  const missing = missingForBuild();
  if (missing.length > 0) {
    console.error(
      `@nv/native: ${why}, and it cannot be built from source: missing ${missing.join(', ')}.\n` +
      `  Debian/Ubuntu: apt-get install --no-install-recommends ${missing.join(' ')} ${req.runtime.join(' ')}\n` +
      '  then: npx nv-native-build',
    );
    return 1;
  }
  console.error(`@nv/native: ${why}; building from source with cmake-js`);
  rmSync(join(root, 'build'), { recursive: true, force: true });
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
  const r = spawnSync(process.execPath, [cmakeJs, 'compile', '--log-level', 'warn', '--CDNV_TEST_HOOKS=OFF'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error('@nv/native: the source build failed (output above)');
    return 1;
  }
  const after = loadable();
  if (!after || after.error) {
    console.error(`@nv/native: built, but the binary does not load: ${after?.error ?? 'not found'}`);
    return 1;
  }
  return 0;
}

module.exports = { main, candidates, missingForBuild };
if (require.main === module) process.exitCode = main({ force: process.argv.includes('--force') });
