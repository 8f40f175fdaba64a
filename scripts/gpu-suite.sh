#!/usr/bin/env bash
# On the GPU machine (after `source .gpu-kit/setup.sh` where Node is not installed): builds the addon with its
# CUDA part, runs the GPU suite, the same suite under compute-sanitizer (memcheck; API errors are not counted:
# the suite provokes some on purpose, e.g. an out-of-memory cudaMalloc), the CPU-side tests that need
# no onnxruntime with the CUDA build, and the demo. Logs go to $1 (default ./gpu-logs); prints a summary.
set -uo pipefail
logs=${1:-gpu-logs}
mkdir -p "$logs"
export PATH=$PATH:/usr/local/cuda/bin
strip() { sed 's/\x1b\[[0-9;]*m//g'; }
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$logs/gpu.txt"
npm run build:native > "$logs/build.log" 2>&1; echo "build: rc=$? $(grep 'inferrt: backends' "$logs/build.log")"
npm run test:gpu > "$logs/test-gpu.log" 2>&1; echo "test:gpu: rc=$? $(strip < "$logs/test-gpu.log" | grep -E '^\s+Tests ')"
compute-sanitizer --tool memcheck --target-processes all --report-api-errors no --error-exitcode 9 npx vitest run --config vitest.gpu.config.ts \
  > "$logs/sanitizer.log" 2>&1
echo "compute-sanitizer: rc=$? $(grep -E 'ERROR SUMMARY' "$logs/sanitizer.log" | sort | uniq -c | tr -s ' ')"
npx vitest run test/api test/native-core.test.ts test/batcher test/fuzz > "$logs/cpu-tests.log" 2>&1
echo "cpu tests with the CUDA build: rc=$? $(strip < "$logs/cpu-tests.log" | grep -E '^\s+Tests ')"
npm run demo > "$logs/demo.log" 2>&1; echo "demo: rc=$? $(tail -1 "$logs/demo.log")"
