#!/usr/bin/env bash
# Builds and runs cudnn-int8-matmul.cc against the library's cuDNN INT8 graph code (no addon needed). GPU machine only.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${TMPDIR:-/tmp}/cudnn-int8-matmul
mkdir -p "$out"
sources=(bench/probes/cudnn-int8-matmul.cc native/ir/error.cc native/backend/cuda/cuda_check.cc
  native/backend/cuda/device_memory.cc native/backend/cuda/deferred_release.cc native/backend/cuda/scoped_device.cc
  native/backend/cuda/kernels/cudnn_status.cc native/backend/cuda/kernels/cudnn_int8_convolution.cc)
objects=()
for src in "${sources[@]}"; do
  obj="$out/$(basename "$src").o"
  g++ -std=c++17 -O2 -c -DINFERRT_WITH_CUDA -DINFERRT_WITH_CUDNN -I "$root/native" -I "$root/bench/probes" \
    -I /usr/local/cuda/include -I /usr/include/x86_64-linux-gnu "$root/$src" -o "$obj"
  objects+=("$obj")
done
g++ "${objects[@]}" -o "$out/probe" -L /usr/local/cuda/lib64 -L /usr/lib/x86_64-linux-gnu -lcudnn -lcudart -lpthread
"$out/probe"
