"""PyTorch baselines for the GPU benchmarks, measured on the same GPU in the same run as inferrt.

  python3 bench/pytorch/baselines.py bert   OUT.json [--layers 24]
  python3 bench/pytorch/baselines.py resnet OUT.json --onnx resnet50.onnx

bert:   HuggingFace BertModel (BERT-large: 24 layers, hidden 1024, 16 heads, intermediate 4096), random weights,
        FP16, SDPA attention, sequence 384; eager at batch 1/8/64 and CUDA graphs at batch 1. Times cover the
        GPU work only (inputs already on the device, output left there), as PyTorch users measure it, plus the
        same with the output copied to host memory (what inferrt's infer() includes).
resnet: torchvision ResNet-50, random weights, FP16, channels_last, batch 1/256, eager and CUDA graphs; also
        exports the FP32 model to ONNX (dynamic batch) for inferrt to build from.
"""
import argparse
import json
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


def bert(args):
    from transformers import BertConfig, BertModel

    config = BertConfig(hidden_size=1024, num_hidden_layers=args.layers, num_attention_heads=16, intermediate_size=4096,
                        attn_implementation="sdpa")
    torch.manual_seed(0)
    model = BertModel(config, add_pooling_layer=False).cuda().half().eval()
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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("workload", choices=["bert", "resnet"])
    parser.add_argument("out")
    parser.add_argument("--layers", type=int, default=24)
    parser.add_argument("--onnx")
    args = parser.parse_args()
    result = bert(args) if args.workload == "bert" else resnet(args)
    result["gpu"] = torch.cuda.get_device_name()
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
