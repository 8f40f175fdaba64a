/**
 * Probe: the fused Attention layer at BERT-large's shape (B 64, H 16, S 384, D 64, fp16, alpha 1/8) with each mask
 * form and storage layout the builder hands it: no mask, a key-padding mask [B, 1, 1, S], a full mask [B, 1, S, S]
 * (what the eager BERT export makes) given in fp16 and fp32 (an fp16 engine converts an fp32 mask to fp16 in a layer
 * of its own, so both time the same kernel), and q / k / v / out stored [B, S, H, D] (layout 1, as the attention
 * fusion reads BERT's projections). Prints each variant's Attention layer time (CUDA events, 5 runs) and TFLOP/s.
 *
 *   npx tsx bench/probes/attention-variants.ts            # timing
 *   PROBE_ONCE=1 ncu -k regex:flashAttention ... npx tsx bench/probes/attention-variants.ts   # one run each
 */
import { Builder, Runtime, tensor, toFloat16Bits, type Tensor } from '../../lib/index.js';
import { halfValues, layerProfile } from '../gpu-timing.js';

const B = 64, H = 16, S = 384, D = 64, ALPHA = 0.125;
const FLOPS = 4 * B * H * S * S * D;
const once = process.env.PROBE_ONCE === '1';

interface Variant { name: string; mask: 'none' | 'keys' | 'full'; maskType: 'float16' | 'float32'; layout: 0 | 1 }
const variants: Variant[] = [
  { name: 'no mask', mask: 'none', maskType: 'float16', layout: 0 },
  { name: 'mask [B,1,1,S] fp16', mask: 'keys', maskType: 'float16', layout: 0 },
  { name: 'mask [B,1,S,S] fp16', mask: 'full', maskType: 'float16', layout: 0 },
  { name: 'mask [B,1,S,S] fp32', mask: 'full', maskType: 'float32', layout: 0 },
  { name: 'layout 1, mask [B,1,S,S] fp32', mask: 'full', maskType: 'float32', layout: 1 },
  { name: 'layout 1, mask [B,1,S,S] fp16', mask: 'full', maskType: 'float16', layout: 1 },
];

/** Batch entry b masks its last (b % 32) keys. */
function maskValues(v: Variant): Float32Array {
  const rows = v.mask === 'full' ? S : 1;
  return Float32Array.from({ length: B * rows * S }, (_, i) => {
    const b = Math.floor(i / (rows * S)), key = i % S;
    return key >= S - (b % 32) ? -10000 : 0;
  });
}

async function run(v: Variant): Promise<void> {
  const builder = new Builder({ backend: 'cuda' });
  using net = builder.createNetwork();
  const qkv = v.layout === 1 ? [B, S, H, D] : [B, H, S, D];
  const q = net.addInput('q', 'float16', qkv), k = net.addInput('k', 'float16', qkv), vv = net.addInput('v', 'float16', qkv);
  const maskShape = v.mask === 'full' ? [B, 1, S, S] : [B, 1, 1, S];
  const mask = v.mask === 'none' ? undefined : net.addInput('mask', v.maskType, maskShape);
  const l = v.layout;
  net.markOutput(net.addAttention(q, k, vv, { alpha: ALPHA, mask, layout: [l, l, l, l] }).output(), 'out');
  const plan = await builder.build(net, builder.createConfig({ precision: ['fp16'] }));
  using engine = await Runtime.load(plan.bytes);
  const feeds: Record<string, Tensor> = {
    q: tensor(halfValues(B * H * S * D, 1), qkv, 'float16'),
    k: tensor(halfValues(B * H * S * D, 2), qkv, 'float16'),
    v: tensor(halfValues(B * H * S * D, 3), qkv, 'float16'),
  };
  if (v.mask !== 'none') {
    const m = maskValues(v);
    feeds.mask = v.maskType === 'float16' ? tensor(toFloat16Bits(m), maskShape, 'float16') : tensor(m, maskShape, 'float32');
  }
  if (once) {
    using ctx = engine.createContext();
    await ctx.infer(feeds);
    console.log(`${v.name}: ran once`);
    return;
  }
  const ms = (await layerProfile(engine, feeds)).byKind.Attention?.msPerRun ?? NaN;
  console.log(`${v.name.padEnd(32)} ${ms.toFixed(3)} ms  ${(FLOPS / ms / 1e9).toFixed(0)} TFLOP/s`);
}

for (const v of variants) await run(v);
