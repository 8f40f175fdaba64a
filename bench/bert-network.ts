/**
 * A BERT encoder built with the network API and seeded random weights (HuggingFace BertModel's architecture:
 * post-layernorm, GELU, additive attention mask), shared by the benchmarks: the 2-layer model of the CPU
 * benchmark and BERT-large of the GPU one.
 */
import { seededUniform } from '../examples/seeded-random.js';
import type { NetworkDefinition, NetworkTensor } from '../lib/index.js';

export interface BertDims {
  layers: number;
  hidden: number;
  heads: number;
  intermediate: number;
  vocab: number;
  maxPositions: number;
}

export const BERT_TINY: BertDims = { layers: 2, hidden: 128, heads: 2, intermediate: 512, vocab: 1000, maxPositions: 512 };
export const BERT_LARGE: BertDims = { layers: 24, hidden: 1024, heads: 16, intermediate: 4096, vocab: 30522, maxPositions: 512 };

/** Useful FLOPs of one sequence of length `seq` (the four projections, the FFN and the two attention GEMMs). */
export function bertFlopsPerSequence(d: BertDims, seq: number): number {
  return d.layers * (seq * (2 * 4 * d.hidden * d.hidden + 2 * 2 * d.hidden * d.intermediate) + 2 * 2 * seq * seq * d.hidden);
}

/** Deterministic weights in [-0.05, 0.05) (mulberry32). */
export function random(seed: number): () => number {
  const next = seededUniform(seed);
  return () => (next() - 0.5) * 0.1;
}

/** The BERT encoder, layer by layer, on a network: HuggingFace BertModel's last_hidden_state. */
export function defineBert(net: NetworkDefinition, dims: BertDims = BERT_TINY): void {
  const { layers: LAYERS, hidden: HIDDEN, heads: HEADS, intermediate: INTERMEDIATE, vocab: VOCAB, maxPositions: MAX_POSITIONS } = dims;
  const HEAD_SIZE = HIDDEN / HEADS;
  const next = random(2024);
  const weight = (dims: number[], name: string, fill?: number): NetworkTensor =>
    net.addConstant(dims, Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => fill ?? next()), { name });
  const linear = (x: NetworkTensor, inF: number, outF: number, name: string): NetworkTensor => {
    const y = net.addMatrixMultiply(x, weight([inF, outF], `${name}.weight`), { name: `${name}.matmul` }).output();
    return net.addElementWise(y, weight([outF], `${name}.bias`), 'add', { name: `${name}.bias_add` }).output();
  };
  const layerNorm = (x: NetworkTensor, name: string): NetworkTensor =>
    net.addLayerNormalization(x, weight([HIDDEN], `${name}.gamma`, 1), weight([HIDDEN], `${name}.beta`, 0), { epsilon: 1e-12, name }).output();

  const ids = net.addInput('input_ids', 'int64', [-1, -1]);
  const mask = net.addInput('attention_mask', 'int64', [-1, -1]);

  // Embeddings: word + position (0..S-1, sliced from a table) + token type 0, then layernorm.
  const words = net.addGather(weight([VOCAB, HIDDEN], 'word_embeddings'), ids, 0, { name: 'word_lookup' }).output();
  const seqLen = net.addShape(ids, { start: 1, end: 2, name: 'seq_len' }).output();
  const positions = net.addSlice(weight([MAX_POSITIONS, HIDDEN], 'position_embeddings'), [0], seqLen, [0], null, { name: 'positions' }).output();
  const tokenType = net.addSlice(weight([2, HIDDEN], 'token_type_embeddings'), [0], [1], [0], null, { name: 'token_type_0' }).output();
  let x = net.addElementWise(words, positions, 'add', { name: 'add_positions' }).output();
  x = net.addElementWise(x, tokenType, 'add', { name: 'add_token_type' }).output();
  x = layerNorm(x, 'embeddings.layernorm');

  // Additive mask [B, 1, 1, S]: 0 where attended, -10000 where padded.
  const maskF = net.addCast(net.addUnsqueeze(mask, [1, 2], { name: 'mask_4d' }).output(), 'float32', { name: 'mask_float' }).output();
  const one = weight([1], 'one', 1);
  const inverted = net.addElementWise(one, maskF, 'sub', { name: 'mask_invert' }).output();
  const additiveMask = net.addElementWise(inverted, weight([1], 'mask_scale', -10000), 'mul', { name: 'mask_scale' }).output();
  const scale = weight([1], 'attention_scale', 1 / Math.sqrt(HEAD_SIZE));

  for (let l = 0; l < LAYERS; l++) {
    const p = `layer${l}`;
    // [B, S, H] -> [B, heads, S, head] for q, k, v.
    const heads = (t: NetworkTensor, name: string): NetworkTensor => {
      const r = net.addReshape(t, [0, 0, HEADS, HEAD_SIZE], { name: `${name}.split_heads` }).output();
      return net.addTranspose(r, [0, 2, 1, 3], { name: `${name}.heads_first` }).output();
    };
    const q = heads(linear(x, HIDDEN, HIDDEN, `${p}.query`), `${p}.query`);
    const k = heads(linear(x, HIDDEN, HIDDEN, `${p}.key`), `${p}.key`);
    const v = heads(linear(x, HIDDEN, HIDDEN, `${p}.value`), `${p}.value`);
    let scores = net.addMatrixMultiply(q, k, { transposeB: true, name: `${p}.qk` }).output();
    scores = net.addElementWise(scores, scale, 'mul', { name: `${p}.scale` }).output();
    scores = net.addElementWise(scores, additiveMask, 'add', { name: `${p}.mask` }).output();
    const probs = net.addSoftmax(scores, { axis: -1, name: `${p}.softmax` }).output();
    let context = net.addMatrixMultiply(probs, v, { name: `${p}.av` }).output();
    context = net.addTranspose(context, [0, 2, 1, 3], { name: `${p}.heads_last` }).output();
    context = net.addReshape(context, [0, 0, HIDDEN], { name: `${p}.merge_heads` }).output();
    const attended = linear(context, HIDDEN, HIDDEN, `${p}.attention_output`);
    x = layerNorm(net.addElementWise(attended, x, 'add', { name: `${p}.attention_residual` }).output(), `${p}.attention_layernorm`);
    const inner = net.addActivation(linear(x, HIDDEN, INTERMEDIATE, `${p}.intermediate`), 'gelu', { name: `${p}.gelu` }).output();
    const ffn = linear(inner, INTERMEDIATE, HIDDEN, `${p}.output`);
    x = layerNorm(net.addElementWise(ffn, x, 'add', { name: `${p}.ffn_residual` }).output(), `${p}.output_layernorm`);
  }
  net.markOutput(x, 'last_hidden_state');
}

