#!/usr/bin/env node
// Prints the C++ sources of the CPU-only addon, one per line, relative to the package root: every .cc under
// native/ and plugins/ except the CUDA backend (native/backend/cuda/), the addon's CUDA classes
// (native/addon/cuda/) and the plugins' CUDA implementations (plugins/<family>/cuda/). binding.gyp takes its
// sources from here; CMakeLists.txt globs the same patterns.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const excluded = [path.join('native', 'backend', 'cuda'), path.join('native', 'addon', 'cuda')];

/** Whether `rel` (a folder relative to the root) holds CUDA-only sources. */
function cudaOnly(rel) {
  const parts = rel.split(path.sep);
  return excluded.includes(rel) || (parts.length === 3 && parts[0] === 'plugins' && parts[2] === 'cuda');
}

function walk(dir, out) {
  for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const rel = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!cudaOnly(rel)) walk(rel, out);
    } else if (entry.name.endsWith('.cc')) {
      out.push(rel.split(path.sep).join('/'));
    }
  }
  return out;
}

const sources = ['native', 'plugins'].filter((d) => fs.existsSync(path.join(root, d))).flatMap((d) => walk(d, []));
process.stdout.write(sources.sort().join('\n') + '\n');
