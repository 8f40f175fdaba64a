#!/usr/bin/env python3
"""Exports a HuggingFace BertModel with random weights to ONNX, for the variable-length BERT example and benchmark.

  python3 scripts/export_bert.py OUT.onnx [--size large|base|tiny] [--layers N] [--seed 0]

The model is built from a BertConfig (no download; the GPU machine has no network), its weights initialised by
transformers from torch.manual_seed(seed), so the same size, layers and seed always give the same weights
(bench/pytorch/bert_mix.py builds its PyTorch baseline with make_bert() from this file for that reason).
Sizes: large = bert-large-uncased (24 layers, hidden 1024, 16 heads, intermediate 4096), base = bert-base (12, 768,
12, 3072), tiny = 2 layers, hidden 128, 2 heads, intermediate 512 (for CPU runs); all with vocab 30522, 512
positions and 2 token types. --layers overrides the layer count.

Export: PyTorch's TorchScript exporter (dynamo=False), opset 17, eager attention (the plain MatMul / Softmax graph),
int64 inputs input_ids / attention_mask / token_type_ids [batch, sequence], outputs last_hidden_state
[batch, sequence, hidden] and pooler_output [batch, hidden], batch and sequence dynamic.
Needs torch and transformers (onnx is not needed).
"""
import argparse
import inspect
import os
import sys
import time

SIZES = {  # layers, hidden, heads, intermediate
    "large": (24, 1024, 16, 4096),
    "base": (12, 768, 12, 3072),
    "tiny": (2, 128, 2, 512),
}
VOCAB, MAX_POSITIONS, TYPE_VOCAB = 30522, 512, 2


def make_bert(size="large", layers=None, attn="eager", seed=0):
    """BertModel (with its pooler) of `size`, random weights from `seed`, eval mode, FP32 on the CPU."""
    import torch
    from transformers import BertConfig, BertModel

    default_layers, hidden, heads, intermediate = SIZES[size]
    config = BertConfig(vocab_size=VOCAB, hidden_size=hidden, num_hidden_layers=layers or default_layers,
                        num_attention_heads=heads, intermediate_size=intermediate,
                        max_position_embeddings=MAX_POSITIONS, type_vocab_size=TYPE_VOCAB,
                        attn_implementation=attn)
    torch.manual_seed(seed)
    return BertModel(config, add_pooling_layer=True).eval()


def export(model, path):
    """Writes `model` to ONNX (see the module doc); returns the seconds it took."""
    import torch

    class Outputs(torch.nn.Module):
        """BertModel with positional inputs and a tuple of its two outputs, for the exporter."""

        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            out = self.inner(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            return out.last_hidden_state, out.pooler_output

    names = ["input_ids", "attention_mask", "token_type_ids"]
    ids = torch.randint(1000, 30000, (2, 16))
    mask = torch.ones(2, 16, dtype=torch.int64)
    mask[1, 12:] = 0  # a padded row, so the traced mask code is the general one, not an all-ones shortcut
    types = torch.zeros(2, 16, dtype=torch.int64)
    types[:, 8:] = 1
    dynamic = {n: {0: "batch", 1: "sequence"} for n in names + ["last_hidden_state"]}
    dynamic["pooler_output"] = {0: "batch"}
    # The TorchScript exporter: torch >= 2.9 defaults to the dynamo one; torch < 2.5 has no `dynamo` argument.
    exporter = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
    start = time.perf_counter()
    with torch.no_grad():
        torch.onnx.export(Outputs(model), (ids, mask, types), path, input_names=names,
                          output_names=["last_hidden_state", "pooler_output"], opset_version=17,
                          do_constant_folding=True, dynamic_axes=dynamic, **exporter)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", help="the ONNX file to write")
    parser.add_argument("--size", choices=sorted(SIZES), default="large")
    parser.add_argument("--layers", type=int, help="number of encoder layers (default: the size's)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.layers is not None and args.layers < 1:
        parser.error(f"--layers must be >= 1, got {args.layers}")
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as e:
        sys.exit(f"export_bert.py needs torch and transformers ({e}); install them or pass an existing ONNX file")
    layers = args.layers or SIZES[args.size][0]
    print(f"exporting BertModel {args.size} ({layers} layers, random weights, seed {args.seed}) to {args.out}", flush=True)
    model = make_bert(args.size, args.layers, "eager", args.seed)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    partial = f"{args.out}.partial"
    seconds = export(model, partial)
    os.replace(partial, args.out)  # never leave a half-written file under the final name
    print(f"exported {args.out} ({os.path.getsize(args.out) / 2**20:.0f} MiB) in {seconds:.1f} s", flush=True)


if __name__ == "__main__":
    main()
