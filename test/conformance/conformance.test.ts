/**
 * The ONNX operator conformance suite (Debian's libonnx-testdata: the ONNX project's backend node tests).
 * Every test runs; a test may be unsupported only if it is listed in expected-unsupported.json with a reason
 * that is an op type outside what the parser supports, a dtype inferrt documents as unsupported, or a
 * random op whose recorded output came from numpy's generator (no implementation can reproduce it). A newly
 * unsupported test, a failing test, or a listed test that now passes all fail the suite.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OnnxParser } from '../../lib/onnx/index.js';
import { listTests, RANDOM_OPS, runNodeTest, UNSUPPORTED_DTYPES, type Outcome } from './runner.js';

const ROOT = process.env.ONNX_TESTDATA ?? '/usr/share/libonnx-testdata/data/node';
const expectedFile = path.join(import.meta.dirname, 'expected-unsupported.json');
const expectedUnsupported: Record<string, string> = JSON.parse(fs.readFileSync(expectedFile, 'utf8'));

const tests = listTests(ROOT);
const counts = { passed: 0, failed: 0, unsupported: 0 };
const newlyUnsupported: string[] = [];

describe.skipIf(tests.length === 0)(`ONNX conformance (${ROOT})`, () => {
  afterAll(() => {
    console.log(`ONNX conformance: ${counts.passed} passed, ${counts.failed} failed, ${counts.unsupported} unsupported`);
    if (newlyUnsupported.length && process.env.UPDATE_EXPECTED_UNSUPPORTED) {
      console.log(`newly unsupported:\n${newlyUnsupported.join('\n')}`);
    }
  });

  it.each(tests)('%s', async (name) => {
    let outcome: Outcome;
    try {
      outcome = await runNodeTest(path.join(ROOT, name));
    } catch (e) {
      outcome = { status: 'fail', message: `runner: ${(e as Error).stack ?? e}` };
    }
    const listed = expectedUnsupported[name];
    if (outcome.status === 'unsupported') {
      counts.unsupported++;
      if (listed === undefined) newlyUnsupported.push(`  "${name}": "${outcome.reason}",`);
      expect(listed, `${name} is unsupported (${outcome.reason}) but not in expected-unsupported.json`).toBeDefined();
      return;
    }
    if (outcome.status === 'fail') {
      counts.failed++;
      expect.fail(outcome.message);
    }
    counts.passed++;
    expect(listed, `${name} passes now: remove it from expected-unsupported.json`).toBeUndefined();
  });
});

describe('expected-unsupported.json', () => {
  const supported = new Set(OnnxParser.supportedOps().map((o) => o.opType));
  it.each(Object.entries(expectedUnsupported))('%s has an allowed reason', (_name, reason) => {
    const random = /^random: op (\S+)$/.exec(reason);
    if (random) {
      expect(RANDOM_OPS, `only ops whose expected outputs come from a random generator may be 'random'`).toContain(random[1]);
      return;
    }
    const dtype = /^dtype (\S+)$/.exec(reason);
    if (dtype) {
      expect(UNSUPPORTED_DTYPES).toContain(dtype[1]);
      return;
    }
    const ops = reason.split(', ').map((part) => /^op (\S+)$/.exec(part)?.[1]);
    for (const op of ops) {
      expect(op, `reason '${reason}' must be 'dtype X' or 'op A, op B'`).toBeDefined();
      expect(supported.has(op!), `op ${op} is supported by the parser, so its tests must pass`).toBe(false);
    }
  });
});

if (tests.length === 0) {
  describe('ONNX conformance', () => {
    it.skip(`skipped: ${ROOT} not found (apt-get install libonnx-testdata)`, () => {});
  });
}
