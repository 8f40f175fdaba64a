// What the probes share: CK (stop on a failed CUDA / library call, naming it) and timeMs (median of CUDA-event times).
#pragma once
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#define CK(x)                                                                   \
  do {                                                                          \
    auto s_ = (x);                                                              \
    if ((int)s_ != 0) {                                                         \
      std::printf("FAIL %s:%d %s -> %d\n", __FILE__, __LINE__, #x, (int)s_); \
      std::exit(1);                                                             \
    }                                                                           \
  } while (0)

// Median milliseconds of `runs` calls of f on the default stream, after 3 untimed ones.
template <typename F>
float timeMs(F f, int runs = 20) {
  for (int i = 0; i < 3; ++i) f();
  cudaEvent_t a, b;
  cudaEventCreate(&a);
  cudaEventCreate(&b);
  std::vector<float> t;
  for (int r = 0; r < runs; ++r) {
    cudaEventRecord(a);
    f();
    cudaEventRecord(b);
    cudaEventSynchronize(b);
    float ms;
    cudaEventElapsedTime(&ms, a, b);
    t.push_back(ms);
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}
