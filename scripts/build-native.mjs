#!/usr/bin/env node
// Builds the native addon with cmake-js (package.json's install script, and `npm run build:native`).
// CMakeLists.txt decides CPU-only vs CPU + CUDA and says so; afterwards this loads the result in a child
// process and prints what was built. On failure it says why, and falls back to a prebuilt binary when the
// package ships one for this platform.
//   INFERRT_SKIP_BUILD=1   skip the build (e.g. when INFERRT_ADDON_PATH points at a binary built elsewhere)
//   INFERRT_BUILD_JOBS=N   parallel compile jobs (default: all cores)
//   INFERRT_BUILD_TYPE=T   CMake build type (default Release)
//   INFERRT_CUDA_ARCHITECTURES=L  CUDA architectures to compile for, e.g. 90 or "80;90" (default: every major
//                          architecture the toolkit supports, so one binary serves all GPUs; one is faster to build)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const say = (line) => console.log(`inferrt: ${line}`);

if (process.env.INFERRT_SKIP_BUILD === '1') {
  say('INFERRT_SKIP_BUILD=1: not building the native addon');
  process.exit(0);
}

function fail(reason, hint) {
  const prebuilt = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  const hasPrebuilt = fs.existsSync(prebuilt) && fs.readdirSync(prebuilt).some((f) => f.endsWith('.node'));
  console.error(`inferrt: the native build failed: ${reason}`);
  if (hint) console.error(`inferrt: ${hint}`);
  if (hasPrebuilt) {
    console.error(`inferrt: using the prebuilt CPU-only binary in ${path.relative(root, prebuilt)} instead`);
    process.exit(0);
  }
  process.exit(1);
}

const cmake = spawnSync('cmake', ['--version'], { encoding: 'utf8' });
if (cmake.error || cmake.status !== 0) {
  fail('cmake was not found on PATH', 'install CMake >= 3.19 (apt-get install cmake, brew install cmake, or pip install cmake) and a C++17 compiler, then run `npm run build:native`');
}

let cmakeJs;
try {
  cmakeJs = require.resolve('cmake-js/bin/cmake-js');
} catch {
  fail('the cmake-js package is missing', 'run `npm install` in the package root first');
}

const jobs = Number(process.env.INFERRT_BUILD_JOBS) || (os.availableParallelism?.() ?? os.cpus().length);
const buildType = process.env.INFERRT_BUILD_TYPE || 'Release';
say(`building the native addon with cmake-js (${buildType}, ${jobs} job${jobs === 1 ? '' : 's'})`);
const started = Date.now();
const cudaArchs = process.env.INFERRT_CUDA_ARCHITECTURES ? [`--CDCMAKE_CUDA_ARCHITECTURES=${process.env.INFERRT_CUDA_ARCHITECTURES}`] : [];
const build = spawnSync(process.execPath, [cmakeJs, 'compile', '--directory', root, `--CDCMAKE_BUILD_TYPE=${buildType}`, ...cudaArchs, '--parallel', String(jobs)], {
  cwd: root,
  stdio: 'inherit',
});
if (build.error) fail(`could not run cmake-js: ${build.error.message}`);
if (build.status !== 0) {
  fail(`cmake-js exited with status ${build.status}`, 'the compiler output above says what went wrong; a C++17 compiler (g++ >= 9 or clang >= 10) is required');
}

const binary = path.join(root, 'build', 'Release', 'inferrt.node');
if (!fs.existsSync(binary)) fail(`the build finished but ${path.relative(root, binary)} is missing`);

// Load it in a child process: a binary that builds but cannot load (missing CUDA libraries, ...) fails here.
const probe = spawnSync(
  process.execPath,
  ['-e', `const a = require(${JSON.stringify(binary)}); console.log(JSON.stringify({ version: a.version(), backends: a.backends(), cuda: a.cudaCompiled(), devices: a.cudaDevices().map((d) => d.name + ' ' + d.arch) }))`],
  { encoding: 'utf8' },
);
if (probe.status !== 0) fail(`${path.relative(root, binary)} was built but does not load:\n${probe.stderr.trim()}`);
const info = JSON.parse(probe.stdout.trim());
const seconds = ((Date.now() - started) / 1000).toFixed(1);
say(`built ${path.relative(root, binary)} (inferrt ${info.version}) in ${seconds} s`);
if (info.cuda) {
  const gpus = info.devices.length ? info.devices.join(', ') : 'none visible now';
  say(`backends: ${info.backends.join(', ')} (CUDA backend compiled in; GPUs: ${gpus})`);
} else {
  say(`backends: ${info.backends.join(', ')} (CPU only: no CUDA toolkit with cuBLASLt was found at build time)`);
}
