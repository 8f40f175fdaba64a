/**
 * Import coverage of the real PyTorch exports in test/fixtures/models (manifest.json lists each file's ops):
 * every op they use has an importer, and every file imports with its ONNX input/output names and dtypes.
 * (Numeric agreement with onnxruntime is checked by the fixture suite that builds and runs them.)
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { NetworkDefinition } from '../../lib/network.js';
import { OnnxParser } from '../../lib/onnx/index.js';
import { loadManifest, modelsDir } from '../fixtures/manifest.js';

const dir = modelsDir;
const manifest = loadManifest();
const dtypes: Record<string, string> = { FLOAT: 'float32', FLOAT16: 'float16', INT64: 'int64', INT32: 'int32', BOOL: 'bool', INT8: 'int8', UINT8: 'uint8' };

describe.skipIf(!manifest)('PyTorch export fixtures', () => {
  it('every op in the manifest has an importer at the file\'s opset', () => {
    const supported = new Map(OnnxParser.supportedOps().map((o) => [o.opType, o.minOpset]));
    const missing = manifest!.files.flatMap((f) => Object.keys(f.ops).filter((op) => (supported.get(op) ?? Infinity) > f.opset).map((op) => `${f.name}: ${op}`));
    expect(missing).toEqual([]);
  });

  for (const file of manifest?.files ?? []) {
    it(`imports ${file.name}`, async () => {
      using network = new NetworkDefinition();
      const result = await OnnxParser.parseFile(network, path.join(dir, file.name));
      expect(result.inputs).toEqual(file.inputs.map((i) => i.name));
      expect(result.outputs).toEqual(file.outputs.map((o) => o.name));
      for (const io of [...file.inputs, ...file.outputs]) {
        const t = network.getTensor(io.name)!;
        expect(t.dtype, io.name).toBe(dtypes[io.dtype]);
        expect(t.dims.length, io.name).toBe(io.shape.length);
      }
      // Symbolic input dims become -1 (dynamic), static ones stay.
      for (const io of file.inputs) expect(network.getTensor(io.name)!.dims, io.name).toEqual(io.shape.map((d) => (typeof d === 'number' ? d : -1)));
    });
  }
});
