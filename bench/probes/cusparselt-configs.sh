#!/bin/bash
# Builds bench/probes/cusparselt-configs.cu and runs it for each GEMM (0 FFN-in, 1 FFN-out, 2 QKV, 3 attention output)
# and formulation (0: weight as structured A, 1: as structured B), restarting after a configuration that kills the
# CUDA context. On the GPU machine: source .gpu-kit/setup.sh && bash bench/probes/cusparselt-configs.sh > out.txt
# CASES and SBS (space-separated) pick GEMMs and formulations; CUSPARSELT_ROOT picks the library it builds and runs with.
set -u
export LD_LIBRARY_PATH="$CUSPARSELT_ROOT/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
nvcc -std=c++17 -O2 -arch=sm_90 -I "$CUSPARSELT_ROOT/include" "$here/cusparselt-configs.cu" -o /tmp/cusparselt-configs \
  -L "$CUSPARSELT_ROOT/lib" -lcusparseLt -lcublasLt
for c in ${CASES:-0 1 2 3}; do for sb in ${SBS:-0 1}; do
  start=0
  while true; do
    timeout 120 /tmp/cusparselt-configs $c $sb $start > /tmp/one.txt 2>&1; rc=$?
    cat /tmp/one.txt
    if [ $rc -eq 3 ]; then start=$(( $(grep CRASH /tmp/one.txt | sed 's/.*cfg \([0-9]*\):.*/\1/') + 1 )); else break; fi
  done
done; done
