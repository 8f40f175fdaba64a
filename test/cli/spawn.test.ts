/** One real process per case: the executable, its exit codes, and that failures print no stack trace. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeNpyFile } from '../../lib/npy.js';
import { randomFloats, repoRoot, tinyModel, useTempDir } from './helpers.js';

function inferrt(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'lib/cli/main.ts'), ...args], { encoding: 'utf8', cwd: repoRoot, env: { ...process.env, INFERRT_DEBUG: '' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const at = useTempDir();

describe('the inferrt executable', () => {
  it('starts with a node shebang (package.json bin points at its compiled form)', () => {
    expect(readFileSync(path.join(repoRoot, 'lib/cli/main.ts'), 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
    const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(pkg.bin.inferrt).toBe('./dist/cli/main.js');
  });

  it('exits 0 with help and 1 with a one-line usage error', () => {
    const help = inferrt('--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: inferrt <command>/);
    const bad = inferrt('build', 'm.onnx', '-o', 'm.plan', '--fp61');
    expect(bad.status).toBe(1);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toBe("inferrt build: error INVALID_ARGUMENT: unknown option '--fp61' (did you mean '--fp16'?) (see 'inferrt build --help')\n");
  });

  it('builds, inspects and runs a model; a corrupted plan is BAD_PLAN with exit code 1', async () => {
    const model = at('tiny.onnx');
    const plan = at('tiny.plan');
    await writeFile(model, tinyModel());
    await writeNpyFile(at('x.npy'), { dtype: 'float32', shape: [1, 4], data: randomFloats(4, 3) });
    await writeNpyFile(at('mask.npy'), { dtype: 'int64', shape: [1, 3], data: new BigInt64Array(3) });
    const b = inferrt('build', model, '-o', plan, '--shapes', 'x:min=1x4,max=4x4;mask:min=1x3,max=4x3');
    expect(b.status, b.stderr).toBe(0);
    expect(b.stdout).toMatch(/^built /);
    const i = inferrt('inspect', plan);
    expect(i.status, i.stderr).toBe(0);
    expect(i.stdout).toMatch(/inputs \(2\):/);
    const r = inferrt('run', plan, '--input', `x=${at('x.npy')}`, '--input', `mask=${at('mask.npy')}`, '--save-outputs', at('out'));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^probs: float32 \[1, 3\]$/m);

    const bytes = readFileSync(plan);
    bytes[bytes.length >> 1]! ^= 0xff;
    const broken = at('broken.plan');
    await writeFile(broken, bytes);
    const c = inferrt('inspect', broken);
    expect(c.status).toBe(1);
    expect(c.stdout).toBe('');
    expect(c.stderr).toMatch(/^inferrt inspect: error BAD_PLAN: [^\n]+\n$/);
  });
});
