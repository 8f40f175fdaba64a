#!/usr/bin/env node
// `npm run prebuild`: a prebuilt CPU-only binary in prebuilds/<platform>-<arch>/ (prebuildify + node-gyp,
// from binding.gyp), which node-gyp-build loads where no local build exists.
// node-gyp builds into build/ and wipes it first, so it runs in a staging copy of the sources and the cmake-js
// build in build/ survives. When the running Node ships its own headers (official builds and distro packages
// do), node-gyp uses them instead of downloading them.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'inferrt-prebuild-'));

try {
  for (const entry of ['package.json', 'binding.gyp', 'native', 'plugins', 'scripts']) {
    fs.cpSync(path.join(root, entry), path.join(stage, entry), { recursive: true });
  }
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(stage, 'node_modules'), 'dir');

  const env = { ...process.env };
  const nodeDir = path.resolve(path.dirname(process.execPath), '..');
  if (!env.npm_config_nodedir && fs.existsSync(path.join(nodeDir, 'include', 'node', 'common.gypi'))) {
    env.npm_config_nodedir = nodeDir;
  }
  // Outside `npm run`, npm's bundled node-gyp is not on PATH: point prebuildify at it.
  const bundledGyp = path.join(nodeDir, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  if (!env.PREBUILD_NODE_GYP && !env.npm_lifecycle_event && fs.existsSync(bundledGyp)) {
    env.PREBUILD_NODE_GYP = `"${process.execPath}" "${bundledGyp}"`;
  }
  env.JOBS ??= String(os.availableParallelism?.() ?? os.cpus().length);  // node-gyp's make -j
  const prebuildify = require.resolve('prebuildify/bin.js');
  const args = [prebuildify, '--napi', '--strip', '--out', root];
  console.log(`inferrt: prebuildify ${args.slice(1).join(' ')} (staged in ${stage}${env.npm_config_nodedir ? `, headers from ${env.npm_config_nodedir}` : ''})`);
  const run = spawnSync(process.execPath, args, { cwd: stage, env, stdio: 'inherit' });
  if (run.status !== 0) {
    console.error(`inferrt: prebuild failed (prebuildify exited with ${run.status ?? run.error?.message})`);
    process.exit(1);
  }
  const dir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  for (const f of fs.readdirSync(dir)) console.log(`inferrt: prebuilt ${path.relative(root, path.join(dir, f))}`);
} finally {
  fs.rmSync(stage, { recursive: true, force: true });
}
