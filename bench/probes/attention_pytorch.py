#!/usr/bin/env python3
"""Probe: PyTorch's scaled_dot_product_attention at BERT-large's attention shape (B 64, H 16, S 384, D 64, fp16,
scale 1/8), per backend and mask form, timed with CUDA events (mean of 50 runs after 10 warm-up runs)."""
import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

B, H, S, D = 64, 16, 384, 64
FLOPS = 4 * B * H * S * S * D
torch.manual_seed(0)
q, k, v = (torch.rand(B, H, S, D, device="cuda", dtype=torch.float16) * 2 - 1 for _ in range(3))
pad = torch.arange(S, device="cuda")[None, :] >= (S - torch.arange(B, device="cuda")[:, None] % 32)
keys = torch.where(pad, -10000.0, 0.0).to(torch.float16)[:, None, None, :]
masks = {"none": None, "[B,1,1,S] fp16": keys, "[B,1,S,S] fp16": keys.expand(B, 1, S, S).contiguous()}


def time_ms(fn, runs=50):
    for _ in range(10):
        fn()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(runs):
        fn()
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / runs


for backend in (SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.CUDNN_ATTENTION):
    for name, mask in masks.items():
        try:
            with sdpa_kernel(backend):
                ms = time_ms(lambda: F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=0.125))
            print(f"{backend.name:20s} mask {name:16s} {ms:.3f} ms  {FLOPS / ms / 1e9:.0f} TFLOP/s")
        except RuntimeError as e:
            print(f"{backend.name:20s} mask {name:16s} not supported: {str(e).splitlines()[0][:100]}")
