#!/usr/bin/env node
'use strict';
// prepack step: builds the shipped binary (no test hooks) into prebuilds/<platform>-<arch>/.
// The workspace's own build (build/Release, with test hooks) is left as it is.
const { spawnSync } = require('node:child_process');
const { copyFileSync, mkdirSync, rmSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const out = join(root, 'build-prebuilt');
const r = spawnSync(process.execPath, [require.resolve('cmake-js/bin/cmake-js'), 'compile', '--log-level', 'warn', '-O', out, '--CDNV_TEST_HOOKS=OFF'], { cwd: root, stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);
const dir = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
rmSync(join(root, 'prebuilds'), { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
copyFileSync(join(out, 'Release', 'nv_native.node'), join(dir, 'nv_native.node'));
spawnSync('strip', ['--strip-unneeded', join(dir, 'nv_native.node')], { stdio: 'ignore' });
