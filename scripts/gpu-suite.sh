#!/usr/bin/env bash
# On the GPU machine (after `source .gpu-kit/setup.sh` where Node is not installed): builds the addon with its
# CUDA part, runs the GPU suite, the suite's correctness tests under compute-sanitizer (memcheck; API errors are
# not counted: the suite provokes some on purpose, e.g. an out-of-memory cudaMalloc), the CPU-side tests with the
# CUDA build, the demo, and the GPU benchmarks against PyTorch. Logs go to $1 (default ./gpu-logs); prints a
# summary. STAGES picks stages (default: build test sanitizer cpu demo bench serverpeak); BENCH_LAYERS shrinks BERT-large;
# BENCH_MODELS picks benchmark models (default: bert resnet; also: sparse, the 2:4 sparsity benchmark (SPARSE_* below); int8, INT8 vs FP16; bert-packed, variable-length BERT packed vs padded); SANITIZER_TIMEOUT bounds the memcheck run (default 540 s).
set -uo pipefail
logs=${1:-gpu-logs}
stages=" ${STAGES:-build test sanitizer cpu demo bench serverpeak} "
mkdir -p "$logs"
export PATH=$PATH:/usr/local/cuda/bin
# The INT8 tests' Fashion-MNIST images: carry .fashion-gpu (made by scripts/fashion-mnist-subset.mjs) along.
[ -d .fashion-gpu ] && export FASHION_MNIST_DIR=${FASHION_MNIST_DIR:-$PWD/.fashion-gpu}
strip() { sed 's/\x1b\[[0-9;]*m//g'; }
has() { [[ "$stages" == *" $1 "* ]]; }
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$logs/gpu.txt"
if has build; then
  # This GPU's architecture only: a quarter of the compile time of all-major (INFERRT_CUDA_ARCHITECTURES=all-major for the release build).
  export INFERRT_CUDA_ARCHITECTURES=${INFERRT_CUDA_ARCHITECTURES:-$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | tr -d '.')}
  npm run build:native > "$logs/build.log" 2>&1; rc=$?
  echo "build: rc=$rc $(grep -E 'inferrt: (backends|cuDNN|cuSPARSELt)' "$logs/build.log" | tr '\n' ' ')"
  [ $rc -ne 0 ] && { grep -E 'error|Error' "$logs/build.log" | head -40; exit 1; }
fi
# A HuggingFace BertModel with 64-wide heads for the packed-BERT GPU test (test/gpu/cuda-packed-bert.test.ts).
if has test || has sanitizer; then
  if python3 scripts/export_bert.py /tmp/bert-tiny.onnx --size tiny > "$logs/export-bert-tiny.log" 2>&1; then export BERT_TINY_ONNX=/tmp/bert-tiny.onnx
  else echo "export of the tiny BERT failed: $(tail -1 "$logs/export-bert-tiny.log")"; fi
fi
if has test; then
  npm run test:gpu > "$logs/test-gpu.log" 2>&1
  echo "test:gpu: rc=$? $(strip < "$logs/test-gpu.log" | grep -E '^\s+(Tests|Test Files) ' | tr -s ' ' | tr '\n' ' ')"
  strip < "$logs/test-gpu.log" | grep -E 'CUDA conformance|fallback|^\s+[a-z0-9_-]+: worst' | head -20
fi
if has sanitizer; then
  # memcheck on the correctness tests (not the benchmarks): every GPU suite file.
  san() { INFERRT_UNDER_SANITIZER=1 timeout ${SANITIZER_TIMEOUT:-540} compute-sanitizer --tool memcheck --target-processes all --report-api-errors no --error-exitcode 9 "$@"; }
  san npx vitest run --config vitest.gpu.config.ts > "$logs/sanitizer.log" 2>&1
  echo "compute-sanitizer: rc=$? $(grep -E 'ERROR SUMMARY' "$logs/sanitizer.log" | sort | uniq -c | tr -s ' ' | tr '\n' ' ') $(strip < "$logs/sanitizer.log" | grep -E '^\s+Tests ' | tr -s ' ')"
fi
if has cpu; then
  npx vitest run test/api test/native-core.test.ts test/batcher test/fuzz > "$logs/cpu-tests.log" 2>&1
  echo "cpu tests with the CUDA build: rc=$? $(strip < "$logs/cpu-tests.log" | grep -E '^\s+Tests ')"
fi
if has demo; then
  npm run demo > "$logs/demo.log" 2>&1; echo "demo: rc=$? $(tail -1 "$logs/demo.log")"
fi
if has bench; then
  layers=${BENCH_LAYERS:-24}
  models=" ${BENCH_MODELS:-bert resnet} "
  if [[ "$models" == *" bert "* ]]; then
    python3 bench/pytorch/baselines.py bert "$logs/pytorch-bert.json" --layers "$layers" > "$logs/bench-pytorch-bert.log" 2>&1
    echo "pytorch bert: rc=$?"
    npx tsx bench/gpu-bert-large.ts "$logs/pytorch-bert.json" --layers "$layers" > "$logs/bench-bert.log" 2>&1
    echo "inferrt bert: rc=$?"; grep -E "^batch|build:|^profile" "$logs/bench-bert.log" | cut -c1-1500
  fi
  if [[ "$models" == *" resnet "* ]]; then
    python3 bench/pytorch/baselines.py resnet "$logs/pytorch-resnet.json" --onnx /tmp/resnet50.onnx > "$logs/bench-pytorch-resnet.log" 2>&1
    echo "pytorch resnet: rc=$?"
    npx tsx bench/gpu-resnet50.ts /tmp/resnet50.onnx "$logs/pytorch-resnet.json" > "$logs/bench-resnet.log" 2>&1
    echo "inferrt resnet: rc=$?"; grep -E "^batch|build:|^profile" "$logs/bench-resnet.log" | cut -c1-400
  fi
  if [[ "$models" == *" sparse "* ]]; then
    # 2:4 sparsity: PyTorch dense vs semi-structured GEMMs and BERT-large (exporting BERT-large to ONNX first when
    # absent), `inferrt prune` on the export, then our dense vs sparseWeights engines (bench/gpu-sparse.ts).
    # SPARSE_TOKENS: GEMM token counts (default 24576,4096); SPARSE_PRUNING_COST=1 also builds the unpruned export;
    # SPARSE_ARGS: more bench/gpu-sparse.ts flags (e.g. --no-int8); SPARSE_APPROXIMATE_GELU=0 leaves out the
    # approximateGelu builds (about 100 s: the whole sparse stage with the build then fits a 600 s call).
    bert_onnx=/tmp/bert-large.onnx; [ "$layers" = 24 ] || bert_onnx=/tmp/bert-large-${layers}layers.onnx
    pruned_onnx=${bert_onnx%.onnx}-24.onnx
    export_arg=(); [ -f "$bert_onnx" ] || export_arg=(--export-bert "$bert_onnx")
    python3 bench/pytorch/baselines.py sparse "$logs/pytorch-sparse.json" --layers "$layers" ${export_arg[@]+"${export_arg[@]}"} > "$logs/bench-pytorch-sparse.log" 2>&1
    rc=$?; echo "pytorch sparse: rc=$rc"; [ $rc -ne 0 ] && tail -5 "$logs/bench-pytorch-sparse.log"
    grep -E "^(pytorch sparse|exported|export of)" "$logs/bench-pytorch-sparse.log" | cut -c1-600
    if [ ! -f "$pruned_onnx" ] || [ "$bert_onnx" -nt "$pruned_onnx" ]; then
      npx tsx lib/cli/main.ts prune "$bert_onnx" -o "$pruned_onnx" > "$logs/prune-bert.log" 2>&1
      echo "inferrt prune: rc=$? $(tail -3 "$logs/prune-bert.log" | tr '\n' ' ' | cut -c1-600)"
    fi
    npx tsx bench/gpu-sparse.ts "$logs/pytorch-sparse.json" --tokens "${SPARSE_TOKENS:-24576,4096}" --bert-pruned "$pruned_onnx" --bert "$bert_onnx" \
      ${SPARSE_PRUNING_COST:+--pruning-cost} $([ "${SPARSE_APPROXIMATE_GELU:-1}" = 0 ] || echo --approximate-gelu) ${SPARSE_ARGS:-} > "$logs/bench-sparse.log" 2>&1
    rc=$?; echo "inferrt sparse: rc=$rc"; [ $rc -ne 0 ] && tail -5 "$logs/bench-sparse.log"
    grep -E "^(gemm T=[0-9]+ [a-z_]+:|bert batch [0-9]+( approximateGelu)?:|bert (sparsity|dense build|sparseWeights build|approximateGelu|pruning cost)|parsed|!!!|wrote)" "$logs/bench-sparse.log" | cut -c1-900
    grep -E "^  build: .*(sparse|2:4)" "$logs/bench-sparse.log" | tail -2 | cut -c1-600
  fi
  if [[ "$models" == *" int8 "* ]]; then
    # INT8 vs FP16 (BERT-large batch 64, ResNet-50 batch 256) with PyTorch FP16 on the same GPU (bench/gpu-int8.ts).
    [ -f "$logs/pytorch-bert.json" ] || python3 bench/pytorch/baselines.py bert "$logs/pytorch-bert.json" --layers "$layers" > "$logs/bench-pytorch-bert.log" 2>&1
    [ -f "$logs/pytorch-resnet.json" ] || python3 bench/pytorch/baselines.py resnet "$logs/pytorch-resnet.json" --onnx /tmp/resnet50.onnx > "$logs/bench-pytorch-resnet.log" 2>&1
    npx tsx bench/gpu-int8.ts --layers "$layers" --bert-baseline "$logs/pytorch-bert.json" --resnet /tmp/resnet50.onnx \
      --resnet-baseline "$logs/pytorch-resnet.json" > "$logs/bench-int8.log" 2>&1
    rc=$?; echo "inferrt int8: rc=$rc"; [ $rc -ne 0 ] && tail -5 "$logs/bench-int8.log"
    grep -E "^(bert|resnet50) (fp32|fp16|int8):|wrote" "$logs/bench-int8.log" | cut -c1-700
  fi
  if [[ "$models" == *" bert-packed "* ]]; then
    # Variable-length BERT-large (issue 4): the standard mix (lengths uniform in [64, 384], 20 batches of 64) through
    # our packed and padded FP16 engines and PyTorch FP16 SDPA (padded), same batches, same weights (bench/gpu-bert-packed.ts).
    packed_onnx=/tmp/bert-large-packed.onnx; [ "$layers" = 24 ] || packed_onnx=/tmp/bert-large-packed-${layers}layers.onnx
    if [ ! -f "$packed_onnx" ] || [ scripts/export_bert.py -nt "$packed_onnx" ]; then
      python3 scripts/export_bert.py "$packed_onnx" --size large --layers "$layers" > "$logs/export-bert-packed.log" 2>&1
      rc=$?; echo "export bert-packed: rc=$rc $(tail -1 "$logs/export-bert-packed.log")"
    fi
    rm -f "$logs/pytorch-bert-mix.json" "$logs/pytorch-bert-mix-batch0.npy"  # never a stale baseline of an earlier run
    npx tsx bench/bert-mix.ts "$logs/bert-mix.json" > "$logs/bert-mix.log" 2>&1; echo "bert mix: rc=$? $(tail -1 "$logs/bert-mix.log")"
    python3 bench/pytorch/bert_mix.py "$logs/bert-mix.json" "$logs/pytorch-bert-mix.json" --size large --layers "$layers" \
      --outputs "$logs/pytorch-bert-mix-batch0.npy" > "$logs/bench-pytorch-bert-mix.log" 2>&1
    rc=$?; echo "pytorch bert mix: rc=$rc $(grep -E '^pytorch bert mix' "$logs/bench-pytorch-bert-mix.log")"; [ $rc -ne 0 ] && tail -5 "$logs/bench-pytorch-bert-mix.log"
    pt_args=(); [ -f "$logs/pytorch-bert-mix.json" ] && pt_args=(--pytorch "$logs/pytorch-bert-mix.json" --pytorch-outputs "$logs/pytorch-bert-mix-batch0.npy")
    npx tsx bench/gpu-bert-packed.ts "$packed_onnx" ${pt_args[@]+"${pt_args[@]}"} > "$logs/bench-bert-packed.log" 2>&1
    rc=$?; echo "inferrt bert-packed: rc=$rc"; [ $rc -ne 0 ] && tail -5 "$logs/bench-bert-packed.log"
    grep -E "^(bert-packed|!!!|wrote)|^  build: .*(packed|cu_seqlens)" "$logs/bench-bert-packed.log" | cut -c1-1500
  fi
  cp bench/results/gpu-*.json "$logs/" 2>/dev/null
fi
if has serverpeak; then
  # MLPerf Server scenario on the GPU: batcher vs one request per call, FP16, at MLPerf's p99 bounds.
  [ -f /tmp/resnet50.onnx ] || python3 bench/pytorch/baselines.py resnet "$logs/pytorch-resnet.json" --onnx /tmp/resnet50.onnx > "$logs/bench-pytorch-resnet.log" 2>&1
  npx tsx bench/server-peak.ts /tmp/resnet50.onnx --fp16 --bound-ms 15 --batch 32 --contexts 2 --start-qps 400 --max-trials 10 > "$logs/server-peak-resnet50.log" 2>&1
  echo "server peak resnet50: rc=$?"; grep -E 'peak|ratio' "$logs/server-peak-resnet50.log"
  npx tsx bench/server-peak.ts bert-large --fp16 --bound-ms 130 --batch 16 --contexts 2 --start-qps 50 --max-trials 10 > "$logs/server-peak-bert.log" 2>&1
  echo "server peak bert-large: rc=$?"; grep -E 'peak|ratio' "$logs/server-peak-bert.log"
  cp bench/results/server-peak-*.json "$logs/" 2>/dev/null
fi
