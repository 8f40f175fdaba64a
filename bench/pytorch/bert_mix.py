"""PyTorch baseline of bench/gpu-bert-packed.ts: HuggingFace BertModel FP16 with SDPA attention on the standard
variable-length mix, each batch padded to its longest request, as a PyTorch user would run it.

  npx tsx bench/bert-mix.ts MIX.json [--batches 20] [--batch 64]
  python3 bench/pytorch/bert_mix.py MIX.json OUT.json [--size large] [--layers N] [--outputs BATCH0.npy]

MIX.json holds every batch's requests (token and segment ids) as bench/bert-mix.ts writes them from the seeded
generator of examples/bert/standard-mix.ts, so both sides run the very same inputs. The model is
scripts/export_bert.py's make_bert() (same size, layers and seed 0: the same weights as the ONNX export the inferrt
engines are built from), moved to the GPU in FP16, attn_implementation="sdpa". Each padded batch is put on the GPU
before timing; every batch runs twice untimed, then `--reps` times, each run between two CUDA events (GPU time with
the output left on the device, as bench/gpu-timing.ts's timeEnqueue measures ours); a batch's time is the median.
--outputs writes batch 0's last_hidden_state (float16 [batch, longest, hidden]) for the cross-check of outputs.
"""
import argparse
import json
import os
import statistics
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
from export_bert import SIZES, make_bert  # noqa: E402
from baselines import event_times  # noqa: E402  (this folder is on sys.path when run as a script)


def padded(batch):
    """One batch of requests as [B, longest] int64 input_ids / attention_mask / token_type_ids on the GPU."""
    requests = batch["requests"]
    longest = max(len(r["input_ids"]) for r in requests)
    ids = torch.zeros(len(requests), longest, dtype=torch.int64)
    mask = torch.zeros_like(ids)
    types = torch.zeros_like(ids)
    for row, r in enumerate(requests):
        n = len(r["input_ids"])
        ids[row, :n] = torch.tensor(r["input_ids"], dtype=torch.int64)
        types[row, :n] = torch.tensor(r["segment_ids"], dtype=torch.int64)
        mask[row, :n] = 1
    return {"input_ids": ids.cuda(), "attention_mask": mask.cuda(), "token_type_ids": types.cuda()}


def percentile(values, p):
    """The p-th percentile (nearest rank) of `values`."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(-(-p * len(ordered) // 100)) - 1))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mix", help="the batches (bench/bert-mix.ts)")
    parser.add_argument("out", help="the result JSON")
    parser.add_argument("--size", choices=sorted(SIZES), default="large")
    parser.add_argument("--layers", type=int)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--outputs", help="write batch 0's last_hidden_state here (.npy, float16)")
    args = parser.parse_args()
    with open(args.mix) as f:
        mix = json.load(f)
    model = make_bert(args.size, args.layers, "sdpa").cuda().half().eval()
    layers = model.config.num_hidden_layers
    batches = [padded(b) for b in mix["batches"]]
    per_batch = []
    with torch.inference_mode():
        for i, inputs in enumerate(batches):
            run = lambda: model(**inputs).last_hidden_state
            for _ in range(2):
                run()
            times = event_times(run, args.reps)
            per_batch.append(statistics.median(times))
            shape = list(inputs["input_ids"].shape)
            print(f"pytorch batch {i}: {shape[0]} x {shape[1]} padded, median {per_batch[-1]:.2f} ms of {args.reps}", flush=True)
            if i == 0 and args.outputs:
                import numpy

                numpy.save(args.outputs, run().cpu().numpy())
    sequences = sum(len(b["requests"]) for b in mix["batches"])
    tokens = sum(len(r["input_ids"]) for b in mix["batches"] for r in b["requests"])
    total_ms = sum(per_batch)
    result = {
        "model": f"BertModel {args.size} ({layers} layers, random weights, seed 0), fp16, sdpa, padded to each batch's longest",
        "torch": torch.__version__,
        "gpu": torch.cuda.get_device_name(),
        "mix": {"seed": mix["seed"], "batchSize": mix["batchSize"], "lengths": [[len(r["input_ids"]) for r in b["requests"]] for b in mix["batches"]]},
        "reps": args.reps,
        "batchMs": [round(ms, 3) for ms in per_batch],
        "totalMs": round(total_ms, 3),
        "samplesPerS": round(sequences / total_ms * 1e3, 2),
        "tokensPerS": round(tokens / total_ms * 1e3, 2),
        "latencyMs": {"mean": round(total_ms / len(per_batch), 3), "p50": round(percentile(per_batch, 50), 3),
                      "p99": round(percentile(per_batch, 99), 3)},
    }
    print(f"pytorch bert mix: {result['samplesPerS']} samples/s, {result['latencyMs']}", flush=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
