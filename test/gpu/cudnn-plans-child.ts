// Run by cuda-cudnn-plans.test.ts in a fresh process (whose cuDNN plan cache starts empty): loads the plan at
// argv[2], runs it once on the float32 x at argv[3] ([rows, 64]) and prints the engine's cudnnPlans info, the first
// run's milliseconds, the cuDNN plans this process searched and replayed, and y's bytes (base64) as one JSON line.
import { readFileSync } from 'node:fs';
import { addon } from '../../lib/binding.js';
import { Runtime, tensor } from '../../lib/index.js';

const [planPath, xPath] = process.argv.slice(2) as [string, string];
const engine = await Runtime.load(new Uint8Array(readFileSync(planPath)));
const bytes = readFileSync(xPath);
const x = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
const ctx = engine.createContext();
const start = performance.now();
const y = (await ctx.infer({ x: tensor(x, [x.length / 64, 64]) })).y!.data as Float32Array;
const firstMs = performance.now() - start;
ctx.dispose();
const info = engine.info.cudnnPlans ?? null;
engine.dispose();
const counts = addon.cudnnPlanCounts!();
process.stdout.write(JSON.stringify({ info, firstMs, counts, y: Buffer.from(y.buffer, y.byteOffset, y.byteLength).toString('base64') }) + '\n');
