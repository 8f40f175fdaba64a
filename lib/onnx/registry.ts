/**
 * The one table of ONNX op importers (default domain), merged from the family tables. The parser asks it
 * both "is this node supported?" (before importing anything) and "import this node" — no second switch.
 */
import type { ImporterTable, OpImporter } from './importer.js';
import { activationImporters } from './importers/activation.js';
import { elementwiseImporters } from './importers/elementwise.js';
import { generatorImporters } from './importers/generator.js';
import { indexingImporters } from './importers/indexing.js';
import { mathImporters } from './importers/math.js';
import { nnImporters } from './importers/nn.js';
import { quantizationImporters } from './importers/quantization.js';
import { reduceImporters } from './importers/reduce.js';
import { shapeImporters } from './importers/shape.js';

/** Merges family tables; an op claimed by two families is a programming error. */
export function mergeTables(tables: Readonly<Record<string, ImporterTable>>): ImporterTable {
  const merged: Record<string, OpImporter> = {};
  const owner: Record<string, string> = {};
  for (const [family, table] of Object.entries(tables)) {
    for (const [op, importer] of Object.entries(table)) {
      if (owner[op]) throw new Error(`ONNX importer for ${op} is defined by both '${owner[op]}' and '${family}'`);
      owner[op] = family;
      merged[op] = importer;
    }
  }
  return Object.freeze(merged);
}

/** Every default-domain op importer by op type. */
export const importers: ImporterTable = mergeTables({
  elementwise: elementwiseImporters,
  activation: activationImporters,
  math: mathImporters,
  reduce: reduceImporters,
  nn: nnImporters,
  shape: shapeImporters,
  indexing: indexingImporters,
  generator: generatorImporters,
  quantization: quantizationImporters,
});

/** The importer for a default-domain op, or undefined. */
export function findImporter(opType: string): OpImporter | undefined {
  return Object.prototype.hasOwnProperty.call(importers, opType) ? importers[opType] : undefined;
}

/** Whether `opType` is supported at `opset`; if not, why (for the unsupported-nodes report). */
export function supportAt(opType: string, opset: number): { supported: true } | { supported: false; reason: string } {
  const importer = findImporter(opType);
  if (!importer) return { supported: false, reason: 'no importer' };
  if (opset < (importer.minOpset ?? 1)) return { supported: false, reason: `needs opset ≥ ${importer.minOpset}` };
  if (importer.maxOpset !== undefined && opset > importer.maxOpset) return { supported: false, reason: `needs opset ≤ ${importer.maxOpset}` };
  return { supported: true };
}
