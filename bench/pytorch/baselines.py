"""PyTorch baselines for the GPU benchmarks, measured on the same GPU in the same run as inferrt.

  python3 bench/pytorch/baselines.py bert   OUT.json [--layers 24]
  python3 bench/pytorch/baselines.py resnet OUT.json --onnx resnet50.onnx
  python3 bench/pytorch/baselines.py sparse OUT.json [--export-bert bert-large.onnx] [--layers 24]
  python3 bench/pytorch/baselines.py export-bert bert-large.onnx [--layers 24]

bert:   HuggingFace BertModel (BERT-large: 24 layers, hidden 1024, 16 heads, intermediate 4096), random weights,
        FP16, SDPA attention, sequence 384; eager at batch 1/8/64 and CUDA graphs at batch 1. Times cover the
        GPU work only (inputs already on the device, output left there), as PyTorch users measure it, plus the
        same with the output copied to host memory (what inferrt's infer() includes).
resnet: torchvision ResNet-50, random weights, FP16, channels_last, batch 1/256, eager and CUDA graphs; also
        exports the FP32 model to ONNX (dynamic batch) for inferrt to build from.
sparse: 2:4 structured sparsity (bench/gpu-sparse.ts). BERT-large's encoder GEMMs (FFN in + GELU, FFN out, QKV,
        attention output, all with bias) at 64x384 and 4096 tokens, FP16: F.linear dense vs semi-structured sparse
        (torch.sparse.to_sparse_semi_structured, and each of its CUTLASS / cuSPARSELt backends where present) on
        the same weights pruned 2:4 along the input dim (the two largest |w| of every four kept); median of CUDA-
        event times. Then BERT-large (as `bert`) at batch 64 x 384, eager: dense, and with every encoder Linear
        pruned and made semi-structured sparse; the cosine of pruned vs dense outputs says what pruning without
        fine-tuning costs. --export-bert also writes the FP32 model to ONNX first (as export-bert).
export-bert: BERT-large (as `bert`, random weights, seed 0) to ONNX with the TorchScript exporter, opset 17:
        int64 input_ids / attention_mask / token_type_ids [batch, sequence] -> last_hidden_state.
"""
import argparse
import json
import os
import statistics
import time

import torch


def timed(fn, min_seconds=2.0, warmup=5):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    runs, start = 0, time.perf_counter()
    while True:
        fn()
        runs += 1
        torch.cuda.synchronize()
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds and runs >= 10:
            return elapsed / runs * 1e3  # ms per call


def graphed(fn):
    """Captures fn into a CUDA graph (after a warm-up on a side stream, as the PyTorch docs prescribe)."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            fn()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        fn()
    return graph.replay


def bert_model(layers):
    """HuggingFace BertModel, BERT-large dims (hidden 1024, 16 heads, intermediate 4096), SDPA attention, random
    weights (seed 0), no pooler, eval mode, FP32 on the CPU."""
    from transformers import BertConfig, BertModel

    config = BertConfig(hidden_size=1024, num_hidden_layers=layers, num_attention_heads=16, intermediate_size=4096,
                        attn_implementation="sdpa")
    torch.manual_seed(0)
    return config, BertModel(config, add_pooling_layer=False).eval()


def bert(args):
    config, model = bert_model(args.layers)
    model = model.cuda().half().eval()
    seq, results = 384, {}
    with torch.inference_mode():
        for batch in (1, 8, 64):
            ids = torch.randint(0, config.vocab_size, (batch, seq), device="cuda")
            mask = torch.ones(batch, seq, dtype=torch.int64, device="cuda")
            run = lambda: model(input_ids=ids, attention_mask=mask).last_hidden_state
            eager = timed(run)
            to_host = timed(lambda: run().float().cpu())
            entry = {"eager_ms": eager, "eager_seq_per_s": batch / eager * 1e3, "eager_with_copy_ms": to_host}
            if batch == 1:
                replay = graphed(run)
                entry["cuda_graph_ms"] = timed(replay)
                entry["cuda_graph_seq_per_s"] = batch / entry["cuda_graph_ms"] * 1e3
            results[batch] = entry
            print(f"pytorch bert layers={args.layers} batch {batch}: {entry}", flush=True)
    return {"model": f"BertModel {args.layers}x1024 (random weights), fp16, sdpa", "seq": seq, "torch": torch.__version__,
            "batches": results}


def resnet(args):
    import torchvision

    torch.manual_seed(0)
    model = torchvision.models.resnet50().eval()
    if args.onnx:
        x = torch.randn(1, 3, 224, 224)
        torch.onnx.export(model, (x,), args.onnx, input_names=["input"], output_names=["logits"], opset_version=17,
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, dynamo=False)
    model = model.cuda().half().to(memory_format=torch.channels_last)
    results = {}
    with torch.inference_mode():
        for batch in (1, 256):
            x = torch.randn(batch, 3, 224, 224, device="cuda").half().to(memory_format=torch.channels_last)
            run = lambda: model(x)
            eager = timed(run)
            replay = graphed(run)
            graph_ms = timed(replay)
            entry = {"eager_ms": eager, "eager_img_per_s": batch / eager * 1e3, "cuda_graph_ms": graph_ms,
                     "cuda_graph_img_per_s": batch / graph_ms * 1e3}
            results[batch] = entry
            print(f"pytorch resnet50 batch {batch}: {entry}", flush=True)
    return {"model": "torchvision resnet50 (random weights), fp16, channels_last", "torch": torch.__version__,
            "batches": results}


class LastHiddenState(torch.nn.Module):
    """BertModel with positional inputs and last_hidden_state as its only output, for the ONNX export."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, token_type_ids):
        return self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state


def export_bert(model, path):
    """Writes the (CPU, FP32) model to ONNX: TorchScript exporter, opset 17, dynamic batch and sequence."""
    names = ["input_ids", "attention_mask", "token_type_ids"]
    ids = torch.randint(0, model.config.vocab_size, (2, 16))
    mask = torch.ones(2, 16, dtype=torch.int64)
    mask[1, 12:] = 0  # a padded row, so no all-ones shortcut of the mask code is traced
    types = torch.zeros(2, 16, dtype=torch.int64)
    start = time.perf_counter()
    with torch.no_grad():
        torch.onnx.export(LastHiddenState(model), (ids, mask, types), path, input_names=names,
                          output_names=["last_hidden_state"], opset_version=17, do_constant_folding=True,
                          dynamic_axes={n: {0: "batch", 1: "sequence"} for n in names + ["last_hidden_state"]},
                          dynamo=False)
    seconds = time.perf_counter() - start
    print(f"exported {path} ({os.path.getsize(path) / 2**20:.0f} MiB) in {seconds:.1f} s", flush=True)
    return {"path": path, "bytes": os.path.getsize(path), "seconds": seconds}


def export_bert_only(args):
    _, model = bert_model(args.layers)
    return export_bert(model, args.out)


SPARSE_SHAPES = (  # name, in features (K, the reduction), out features (N), GELU after; as bench/gpu-sparse.ts
    ("ffn_in", 1024, 4096, True),
    ("ffn_out", 4096, 1024, False),
    ("qkv", 1024, 3072, False),
    ("attn_out", 1024, 1024, False),
)
SPARSE_TOKENS = (64 * 384, 4096)


def event_times(fn, reps):
    """GPU milliseconds of each of `reps` calls, each between two CUDA events."""
    times = []
    for _ in range(reps):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return times


def event_timed(fn, iters=30, warmup=10):
    """Median of per-call GPU times (ms), each call between two CUDA events."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    return statistics.median(event_times(fn, iters))


def prune_2_4(weight):
    """A Linear weight [out, in] with the two largest |w| of every four consecutive inputs kept, the rest zeroed."""
    groups = weight.reshape(-1, 4)
    keep = groups.abs().topk(2, dim=1).indices
    mask = torch.zeros_like(groups, dtype=torch.bool).scatter_(1, keep, True)
    return (groups * mask).reshape(weight.shape)


def semi_structured_variants():
    """(label, function making a semi-structured sparse weight): PyTorch's default, then each backend class."""
    import torch.sparse as sp

    variants = [("default", sp.to_sparse_semi_structured)]
    for label, cls in (("cutlass", "SparseSemiStructuredTensorCUTLASS"), ("cusparselt", "SparseSemiStructuredTensorCUSPARSELT")):
        if hasattr(sp, cls):
            variants.append((label, getattr(sp, cls).from_dense))
    return variants


def error_text(e):
    return f"{type(e).__name__}: {e}"[:500]


def sparse_gemms():
    import torch.nn.functional as F

    results = {}
    gen = torch.Generator(device="cuda").manual_seed(0)
    # no_grad, not inference_mode: the sparse weights are tensor subclasses made here, as PyTorch's tutorial makes them.
    with torch.no_grad():
        for tokens in SPARSE_TOKENS:
            results[tokens] = {}
            for name, k, n, gelu in SPARSE_SHAPES:
                x = torch.rand(tokens, k, device="cuda", generator=gen).mul_(2).sub_(1).half()
                w = prune_2_4((torch.rand(n, k, device="cuda", generator=gen) - 0.5) * 0.1).half()
                b = ((torch.rand(n, device="cuda", generator=gen) - 0.5) * 0.1).half()
                op = (lambda weight: F.gelu(F.linear(x, weight, b))) if gelu else (lambda weight: F.linear(x, weight, b))
                reference = op(w)
                entry = {"k": k, "n": n, "gelu": gelu, "dense_ms": event_timed(lambda: op(w))}
                for label, make in semi_structured_variants():
                    key = "sparse" if label == "default" else label
                    try:
                        ws = make(w)
                        out = op(ws)
                        entry[f"{key}_max_abs_diff"] = (out.float() - reference.float()).abs().max().item()
                        entry[f"{key}_ms"] = event_timed(lambda: op(ws))
                        if label == "default":
                            entry["sparse_class"] = type(ws).__name__
                    except Exception as e:  # unsupported GPU / dtype / shape: recorded, not fatal
                        entry[f"{key}_ms"] = None
                        entry[f"{key}_error"] = error_text(e)
                if entry.get("sparse_ms"):
                    entry["sparse_speedup"] = entry["dense_ms"] / entry["sparse_ms"]
                entry["dense_tflops"] = 2 * tokens * k * n / entry["dense_ms"] / 1e9
                results[tokens][name] = entry
                print(f"pytorch sparse gemm T={tokens} {name}: {entry}", flush=True)
                del x, w, b, reference
    return results


def cosine(a, b):
    a, b = a.double().flatten(), b.double().flatten()
    return (a @ b / (a.norm() * b.norm())).item()


def sparse_bert(model, config, batch=64, seq=384):
    """BERT-large eager at batch x seq: dense, then every encoder Linear pruned 2:4 and made semi-structured."""
    model = model.cuda().half().eval()
    ids = torch.randint(0, config.vocab_size, (batch, seq), device="cuda")
    mask = torch.ones(batch, seq, dtype=torch.int64, device="cuda")
    run = lambda: model(input_ids=ids, attention_mask=mask).last_hidden_state
    entry = {"batch": batch, "seq": seq}
    with torch.inference_mode():
        dense_out = run().float()
        entry["dense_ms"] = timed(run)
    linears = [m for m in model.encoder.modules() if isinstance(m, torch.nn.Linear)]
    entry["linears"] = len(linears)
    with torch.no_grad():
        for m in linears:
            m.weight.copy_(prune_2_4(m.weight))
    with torch.inference_mode():
        pruned_out = run().float()
    entry["pruning_cosine"] = cosine(dense_out, pruned_out)
    entry["pruning_max_abs_diff"] = (dense_out - pruned_out).abs().max().item()
    try:
        from torch.sparse import to_sparse_semi_structured

        with torch.no_grad():
            for m in linears:
                m.weight = torch.nn.Parameter(to_sparse_semi_structured(m.weight), requires_grad=False)
        with torch.inference_mode():
            sparse_out = run().float()
            entry["sparse_vs_pruned_max_abs_diff"] = (sparse_out - pruned_out).abs().max().item()
            entry["sparse_vs_pruned_cosine"] = cosine(sparse_out, pruned_out)
            entry["sparse_ms"] = timed(run)
        entry["sparse_speedup"] = entry["dense_ms"] / entry["sparse_ms"]
    except Exception as e:
        entry["sparse_ms"] = None
        entry["sparse_error"] = error_text(e)
    print(f"pytorch sparse bert batch {batch}: {entry}", flush=True)
    return entry


def sparse(args):
    config, model = bert_model(args.layers)
    result = {"model": f"BertModel {args.layers}x1024 (random weights, seed 0), fp16, sdpa", "torch": torch.__version__,
              "pruning": "2:4 along the input (reduction) dim: the two largest |w| of every four kept"}
    if args.export_bert:
        try:
            result["export"] = export_bert(model, args.export_bert)
        except Exception as e:  # the GEMM and BERT timings below still count
            result["export"] = {"path": args.export_bert, "error": error_text(e)}
            if os.path.exists(args.export_bert):
                os.remove(args.export_bert)  # never leave a partial file that a later run would take as the export
            print(f"export of {args.export_bert} FAILED: {result['export']['error']}", flush=True)
    result["gemms"] = sparse_gemms()
    result["bert"] = sparse_bert(model, config)
    return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("workload", choices=["bert", "resnet", "sparse", "export-bert"])
    parser.add_argument("out", help="the result JSON (export-bert: the ONNX file)")
    parser.add_argument("--layers", type=int, default=24)
    parser.add_argument("--onnx")
    parser.add_argument("--export-bert", help="sparse: also write BERT-large to this ONNX file first")
    args = parser.parse_args()
    if args.workload == "export-bert":
        export_bert_only(args)
        return
    result = {"bert": bert, "resnet": resnet, "sparse": sparse}[args.workload](args)
    result["gpu"] = torch.cuda.get_device_name()
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
