import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InferrtError } from '../../lib/errors.js';
import { NetworkDefinition } from '../../lib/network.js';
import { OnnxParser } from '../../lib/onnx/index.js';
import { model, modelProto, node, onnx, T, tensor, valueInfo } from './helpers.js';
import type { onnx as pb } from 'onnx-proto';
import { thrown } from '../inferrt-errors.js';

const x = (dims: Array<number | string> = [2, 3]) => valueInfo('x', T.FLOAT, dims);
const y = (dims: Array<number | string> | null = null) => valueInfo('y', T.FLOAT, dims);

function parse(bytes: Uint8Array, options?: Parameters<typeof OnnxParser.parse>[2]) {
  const network = new NetworkDefinition();
  const result = OnnxParser.parse(network, bytes, options);
  return { network, result };
}

function layers(network: NetworkDefinition) {
  return Array.from({ length: network.numLayers }, (_, i) => network.getLayer(i));
}

/** A small deterministic PRNG so failures reproduce. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const relu = model({ nodes: [node('Relu', ['x'], ['y'], {}, 'relu_1')], inputs: [x()], outputs: [y()] });

describe('OnnxParser: malformed models', () => {
  it('truncated files are INVALID_MODEL with the reason', () => {
    for (let cut = 1; cut < relu.length; cut += 3) {
      const e = thrown(() => parse(relu.subarray(0, cut), { name: 'model.onnx' }));
      expect(e.code).toBe('INVALID_MODEL');
      expect(e.message).toMatch(/^model\.onnx is not a valid ONNX model: /);
    }
  });

  it('random bytes and empty input are INVALID_MODEL, never a crash', () => {
    const rand = rng(7);
    for (let i = 0; i < 200; i++) {
      const bytes = Uint8Array.from({ length: 1 + Math.floor(rand() * 300) }, () => Math.floor(rand() * 256));
      let e: unknown;
      try {
        parse(bytes);
      } catch (err) {
        e = err;
      }
      // Random bytes can happen to decode to a tiny valid model; anything thrown must be typed.
      if (e !== undefined) expect((e as InferrtError).code, String(e)).toMatch(/^(INVALID_MODEL|UNSUPPORTED_OP)$/);
    }
    expect(thrown(() => parse(new Uint8Array(0))).message).toMatch(/is empty/);
    expect(thrown(() => parse(new TextEncoder().encode('not a model at all'))).code).toBe('INVALID_MODEL');
  });

  it('a model without a graph is INVALID_MODEL', () => {
    const bytes = onnx.ModelProto.encode({ irVersion: 8, opsetImport: [{ domain: '', version: 13 }] } as pb.ModelProto).finish();
    expect(thrown(() => parse(bytes)).message).toMatch(/has no graph/);
  });

  it('names the missing tensor and the node that reads it', () => {
    const bytes = model({ nodes: [node('Add', ['x', 'x.7'], ['y'], {}, 'Add_3')], inputs: [x()], outputs: [y()] });
    const e = thrown(() => parse(bytes));
    expect(e.code).toBe('INVALID_MODEL');
    expect(e.message).toBe("node 'Add_3' (Add) input 'x.7' is not produced by any node, input or initializer");
  });

  it('a graph output nobody produces, and duplicate producers, are INVALID_MODEL', () => {
    const missing = model({ nodes: [node('Relu', ['x'], ['r'])], inputs: [x()], outputs: [y()] });
    expect(thrown(() => parse(missing)).message).toMatch(/graph output 'y' is not produced/);
    const twice = model({ nodes: [node('Relu', ['x'], ['y'], {}, 'a'), node('Relu', ['x'], ['y'], {}, 'b')], inputs: [x()], outputs: [y()] });
    expect(thrown(() => parse(twice)).message).toMatch(/tensor 'y' is produced by node 'b' \(Relu\) but is already defined/);
  });

  it('parseFile reports unreadable files and names the file in decode errors', async () => {
    await expect(OnnxParser.parseFile(new NetworkDefinition(), '/nonexistent/model.onnx')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'inferrt-parse-'));
    try {
      fs.writeFileSync(path.join(dir, 'broken.onnx'), relu.subarray(0, 10));
      await expect(OnnxParser.parseFile(new NetworkDefinition(), path.join(dir, 'broken.onnx'))).rejects.toMatchObject({
        code: 'INVALID_MODEL',
        message: expect.stringMatching(/^broken\.onnx is not a valid ONNX model/),
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('OnnxParser: unsupported ops and opsets', () => {
  it('lists every unsupported node at once, before building anything', () => {
    const bytes = model({
      opset: 17,
      extraOpsets: [{ domain: 'com.microsoft', version: 1 }],
      nodes: [
        node('NonZero', ['x'], ['nz'], {}, 'nz_1'),
        node('Relu', ['x'], ['r']),
        node('Loop', ['x'], ['l'], {}, 'loop'),
        node('FusedGemm', ['x', 'x'], ['g'], {}, 'fg', 'com.microsoft'),
        node('Add', ['r', 'r'], ['y']),
      ],
      inputs: [x()],
      outputs: [y()],
    });
    const network = new NetworkDefinition();
    const e = thrown(() => OnnxParser.parse(network, bytes));
    expect(e.code).toBe('UNSUPPORTED_OP');
    expect(e.message).toBe("3 unsupported nodes: NonZero 'nz_1', Loop 'loop', FusedGemm 'fg' (domain com.microsoft)");
    expect(e.details).toEqual([
      expect.objectContaining({ opType: 'NonZero', name: 'nz_1', domain: '' }),
      expect.objectContaining({ opType: 'Loop', name: 'loop', domain: '' }),
      expect.objectContaining({ opType: 'FusedGemm', name: 'fg', domain: 'com.microsoft' }),
    ]);
    expect(network.numLayers).toBe(0);
    expect(OnnxParser.unsupportedNodes(bytes).map((u) => u.opType)).toEqual(['NonZero', 'Loop', 'FusedGemm']);
  });

  it('an op below its minimum opset is listed with the opset', () => {
    const bytes = model({ opset: 13, nodes: [node('LayerNormalization', ['x', 's'], ['y'], {}, 'ln')], inputs: [x(), valueInfo('s', T.FLOAT, [3])], outputs: [y()] });
    expect(thrown(() => parse(bytes)).message).toBe("1 unsupported node: LayerNormalization 'ln' (opset 13; needs opset ≥ 17)");
  });

  it('accepts default-domain opsets up to 18; below 7 only ops whose meaning has not changed', () => {
    for (const opset of [1, 6, 7, 13, 18]) expect(() => parse(model({ opset, nodes: [node('Relu', ['x'], ['y'])], inputs: [x()], outputs: [y()] }))).not.toThrow();
    const e = thrown(() => parse(model({ opset: 19, nodes: [node('Relu', ['x'], ['y'])], inputs: [x()], outputs: [y()] })));
    expect(e.code).toBe('UNSUPPORTED_OP');
    expect(e.message).toMatch(/opset 19 of the default ONNX domain; inferrt supports opsets 1–18/);
    const add6 = thrown(() => parse(model({ opset: 6, nodes: [node('Add', ['x', 'x'], ['y'], {}, 'add')], inputs: [x()], outputs: [y()] })));
    expect(add6.message).toBe("1 unsupported node: Add 'add' (opset 6; needs opset ≥ 7)");
  });

  it('unsupported dtypes name the tensor', () => {
    const dbl = model({ nodes: [node('Relu', ['x'], ['y'])], inputs: [valueInfo('x', T.DOUBLE, [2])], outputs: [y()] });
    expect(thrown(() => parse(dbl))).toMatchObject({ code: 'UNSUPPORTED_OP', message: expect.stringContaining("graph input 'x' has dtype double") });
    const cast = model({ nodes: [node('Cast', ['x'], ['y'], { to: T.UINT16 }, 'c')], inputs: [x()], outputs: [y()] });
    expect(thrown(() => parse(cast))).toMatchObject({ code: 'UNSUPPORTED_OP', message: expect.stringMatching(/node 'c' \(Cast\) target type .* has dtype uint16/) });
    const init = model({
      nodes: [node('Add', ['x', 'w'], ['y'])],
      inputs: [x()],
      outputs: [y()],
      initializers: [tensor('w', T.DOUBLE, [3], [1, 2, 3])],
    });
    expect(thrown(() => parse(init)).message).toMatch(/initializer 'w' has dtype double/);
  });
});

describe('OnnxParser: graph structure', () => {
  it('keeps ONNX names for inputs and outputs, with -1 for symbolic dims', () => {
    const { network, result } = parse(
      model({ nodes: [node('Relu', ['input_ids'], ['logits'], {}, 'relu')], inputs: [valueInfo('input_ids', T.FLOAT, ['batch', 8, 0])], outputs: [valueInfo('logits', T.FLOAT, null)] }),
    );
    expect(result.inputs).toEqual(['input_ids']);
    expect(result.outputs).toEqual(['logits']);
    expect(network.inputs.map((t) => [t.name, t.dtype, t.dims])).toEqual([['input_ids', 'float32', [-1, 8, 0]]]);
    expect(network.outputs.map((t) => t.name)).toEqual(['logits']);
    expect(layers(network).map((l) => [l.kind, l.name])).toEqual([['Activation', 'relu']]);
    expect(network.getTensor('logits')?.isOutput).toBe(true);
  });

  it('adds initializers as named constants, skips unused ones, and treats initializers listed as inputs as constants', () => {
    const { network, result } = parse(
      model({
        irVersion: 3,
        nodes: [node('Add', ['x', 'bias'], ['y'])],
        inputs: [x(), valueInfo('bias', T.FLOAT, [3])],
        outputs: [y()],
        initializers: [tensor('bias', T.FLOAT, [3], [1, 2, 3]), tensor('unused', T.FLOAT, [2], [0, 0])],
      }),
    );
    expect(result.inputs).toEqual(['x']);
    const bias = network.getTensor('bias')!;
    expect(bias.isConstant).toBe(true);
    expect(Array.from(bias.value() as Float32Array)).toEqual([1, 2, 3]);
    expect(network.getTensor('unused')).toBeUndefined();
  });

  it('sorts nodes that come before their producers', () => {
    const { network } = parse(
      model({ nodes: [node('Relu', ['a'], ['y'], {}, 'second'), node('Neg', ['x'], ['a'], {}, 'first')], inputs: [x()], outputs: [y()] }),
    );
    expect(layers(network).map((l) => l.name)).toEqual(['first', 'second']);
    const cyclic = model({ nodes: [node('Relu', ['b'], ['a'], {}, 'p'), node('Neg', ['a'], ['b'], {}, 'q'), node('Relu', ['x'], ['y'])], inputs: [x()], outputs: [y()] });
    expect(thrown(() => parse(cyclic)).message).toMatch(/cycle/);
  });

  it('gives unnamed nodes <OpType>_<index> names and keeps layer names unique', () => {
    const { network } = parse(
      model({ nodes: [node('Neg', ['x'], ['a'], {}, ''), node('Relu', ['a'], ['b'], {}, 'dup'), node('Relu', ['b'], ['y'], {}, 'dup')], inputs: [x()], outputs: [y()] }),
    );
    expect(layers(network).map((l) => l.name)).toEqual(['Neg_0', 'dup', 'dup_1']);
  });

  it('copies pass-through outputs instead of renaming graph inputs', () => {
    const { network } = parse(model({ nodes: [node('Sum', ['x'], ['y'], {}, 'sum')], inputs: [x()], outputs: [y()] }));
    expect(network.getTensor('x')?.isInput).toBe(true);
    expect(network.getTensor('y')?.isOutput).toBe(true);
  });

  it('outputs that are constants get an Identity copy', () => {
    const { network } = parse(
      model({ nodes: [node('Constant', [], ['y'], { value: tensor('', T.FLOAT, [2], [5, 6]) }, 'c')], inputs: [], outputs: [y()] }),
    );
    const out = network.getTensor('y')!;
    expect(out.isOutput).toBe(true);
    expect(out.isConstant).toBe(false);
  });

  it('inlines model-local functions', () => {
    const fn: pb.IFunctionProto = {
      name: 'ScaledRelu',
      domain: 'custom',
      input: ['a'],
      output: ['b'],
      attribute: ['alpha'],
      opsetImport: [{ domain: '', version: 13 }],
      node: [
        node('Relu', ['a'], ['t'], {}, 'r'),
        { ...node('LeakyRelu', ['t'], ['b'], {}, 'l'), attribute: [{ name: 'alpha', refAttrName: 'alpha', type: onnx.AttributeProto.AttributeType.FLOAT }] },
      ],
    };
    const { network } = parse(
      model({
        extraOpsets: [{ domain: 'custom', version: 1 }],
        functions: [fn],
        nodes: [node('ScaledRelu', ['x'], ['y'], { alpha: 0.5 }, 'call', 'custom')],
        inputs: [x()],
        outputs: [y()],
      }),
    );
    const ls = layers(network);
    expect(ls.map((l) => [l.kind, l.name])).toEqual([['Activation', 'call/r'], ['Activation', 'call/l']]);
    expect(ls[1]!.attributes.alpha).toBeCloseTo(0.5);
    expect(network.getTensor('y')?.isOutput).toBe(true);
  });

  it('reads external data next to the model with parseFile', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'inferrt-extmodel-'));
    try {
      fs.writeFileSync(path.join(dir, 'w.bin'), new Uint8Array(Float32Array.of(1, 2, 3).buffer));
      const w: pb.ITensorProto = { name: 'w', dataType: T.FLOAT, dims: [3], dataLocation: 1, externalData: [{ key: 'location', value: 'w.bin' }] };
      const bytes = model({ nodes: [node('Add', ['x', 'w'], ['y'])], inputs: [x()], outputs: [y()], initializers: [w] });
      fs.writeFileSync(path.join(dir, 'm.onnx'), bytes);
      const network = new NetworkDefinition();
      await OnnxParser.parseFile(network, path.join(dir, 'm.onnx'));
      expect(Array.from(network.getTensor('w')!.value() as Float32Array)).toEqual([1, 2, 3]);
      expect(() => OnnxParser.parse(new NetworkDefinition(), bytes)).toThrow(/without options\.modelDir/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports progress per node and warnings', () => {
    const seen: number[] = [];
    const { result } = parse(
      model({
        extraOpsets: [{ domain: 'ai.onnx.ml', version: 3 }],
        nodes: [node('Neg', ['x'], ['a']), node('Relu', ['a'], ['y'])],
        inputs: [x()],
        outputs: [y()],
      }),
      { onProgress: (p) => seen.push(p.done / p.total) },
    );
    expect(seen).toEqual([0.5, 1]);
    expect(result.warnings.join('\n')).toMatch(/ai\.onnx\.ml' is unused/);
    expect(result.opset).toBe(13);
    expect(result.numNodes).toBe(2);
  });

  it('lists what it supports', () => {
    const ops = OnnxParser.supportedOps().map((o) => o.opType);
    for (const op of ['Add', 'Gemm', 'Conv', 'Softmax', 'LayerNormalization', 'Unsqueeze', 'ConstantOfShape', 'Range', 'Where', 'Trilu']) expect(ops).toContain(op);
  });

  it('modelProto helper round-trips', () => {
    expect(onnx.ModelProto.decode(relu).graph?.node?.[0]?.opType).toBe('Relu');
    expect(modelProto({ nodes: [], inputs: [], outputs: [] }).irVersion).toBe(8);
  });
});
