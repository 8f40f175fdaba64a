/**
 * GPU suite, CUDA conformance: every ONNX backend node test the CPU backend passes (not listed in
 * test/conformance/expected-unsupported.json, and passing on CPU in this run) is built for CUDA and run; its
 * outputs must match (a) the ONNX project's recorded outputs and (b) the CPU backend's outputs on the same inputs,
 * both at the conformance tolerance (rtol 1e-3, atol 1e-7, as test/conformance/runner.ts).
 *
 * CUDA engines here are built with strictFp32: TF32 (TensorRT's default, and ours) rounds MatMul/Gemm/Conv inputs to
 * a 10-bit mantissa (relative error up to ~1e-3 per product), which the rtol of 1e-3 cannot absorb; TF32 accuracy
 * is checked on real models in cuda-fixtures.test.ts. Set CUDA_CONFORMANCE_TF32=1 to run with the default instead.
 *
 * A layer running on the CPU fallback is not a failure (a supported path), but it is reported: the summary says
 * which layer kinds fell back in how many tests, i.e. which CUDA kernels are missing.
 * Skipped, with the reason, where the addon has no CUDA part, no GPU is visible, or the test data is absent.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Tensor } from '../../lib/index.js';
import { compare, listTests, runNodeTest, type Outcome } from '../conformance/runner.js';
import { FallbackTally, cudaSkipReason, describeFallback, fallbackLayers, reportSkipped, type FallbackLayer } from './helpers.js';

const ROOT = process.env.ONNX_TESTDATA ?? '/usr/share/libonnx-testdata/data/node';
const expectedUnsupported: Record<string, string> = JSON.parse(
  fs.readFileSync(path.join(import.meta.dirname, '..', 'conformance', 'expected-unsupported.json'), 'utf8'),
);
const tf32 = process.env.CUDA_CONFORMANCE_TF32 === '1';

const all = listTests(ROOT);
const tests = all.filter((name) => expectedUnsupported[name] === undefined);
const skipReason = cudaSkipReason || (all.length === 0 ? `${ROOT} not found (apt-get install libonnx-testdata, or set ONNX_TESTDATA)` : '');

const counts = { passed: 0, failed: 0, skipped: 0 };
const tally = new FallbackTally();
const failures: string[] = [];

type Outputs = Map<string, Record<string, Tensor>>;

/** Runs one node test on `backend`, collecting each data set's outputs (and, for CUDA, the fallback layers). */
async function run(dir: string, backend: 'cpu' | 'cuda', fallback?: FallbackLayer[]): Promise<{ outcome: Outcome; outputs: Outputs }> {
  const outputs: Outputs = new Map();
  let outcome: Outcome;
  try {
    outcome = await runNodeTest(dir, {
      backend,
      config: backend === 'cuda' && !tf32 ? { strictFp32: true } : {},
      onRun: (r) => {
        outputs.set(r.set, r.outputs);
        for (const l of fallback ? fallbackLayers(r.engine) : []) if (!fallback!.some((f) => f.name === l.name)) fallback!.push(l);
      },
    });
  } catch (e) {
    outcome = { status: 'fail', message: `runner: ${(e as Error).stack ?? String(e)}` };
  }
  return { outcome, outputs };
}

describe.skipIf(skipReason !== '')(`CUDA conformance (${ROOT}${tf32 ? ', TF32 allowed' : ', strict fp32'})`, () => {
  afterAll(() => {
    console.log(`CUDA conformance: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`
      + ` (skipped: failing or unsupported on CPU; ${all.length - tests.length} expected-unsupported tests not run)`);
    console.log(`CUDA conformance, layer kinds on the CPU fallback: ${tally.summary('tests')}`);
    for (const line of tally.reasons()) console.log(line);
    if (failures.length) console.log(`CUDA conformance failures:\n${failures.join('\n')}`);
  });

  it.for(skipReason ? [] : tests)('%s', async (name, ctx) => {  // no 600 skipped entries when skipped
    const dir = path.join(ROOT, name);
    const cpu = await run(dir, 'cpu');
    if (cpu.outcome.status !== 'pass') {
      counts.skipped++;
      const why = cpu.outcome.status === 'fail' ? cpu.outcome.message : `unsupported: ${cpu.outcome.reason}`;
      ctx.skip(`the CPU backend does not pass it (${why.split('\n')[0]})`);
    }
    const fallback: FallbackLayer[] = [];
    const cuda = await run(dir, 'cuda', fallback);
    tally.add(name, fallback);
    let problem: string | null = null;
    if (cuda.outcome.status === 'fail') problem = `vs ONNX reference: ${cuda.outcome.message}`;
    else if (cuda.outcome.status === 'unsupported') problem = `unsupported on CUDA though the CPU runs it (the CPU fallback should): ${cuda.outcome.reason}`;
    else {
      for (const [set, want] of cpu.outputs) {
        const got = cuda.outputs.get(set);
        for (const [out, tensor] of Object.entries(want)) {
          const actual = got?.[out];
          const diff = actual ? compare(tensor, actual) : 'missing';
          if (diff) {
            problem = `vs CPU backend: ${set}: output '${out}': ${diff}`;
            break;
          }
        }
        if (problem) break;
      }
    }
    if (problem) {
      counts.failed++;
      failures.push(`  ${name}: ${problem.split('\n')[0]} [CPU fallback: ${describeFallback(fallback)}]`);
      expect.fail(`${problem}\nlayers on the CPU fallback: ${describeFallback(fallback)}`);
    }
    counts.passed++;
  });
});

if (skipReason !== '') reportSkipped('CUDA conformance', skipReason);
