// The cuDNN execution plans a CUDA INT8 build chose for its cuDNN-graph layers (the optional 'CDNN' section,
// sections.h): the build runs the engine once at the first profile's opt shapes, which searches each distinct
// cuDNN problem's engine configurations, and records what each search kept (problems where none ran are left out:
// they are searched again at run time). A loaded engine hands them to the plan cache, so its first run replays them
// instead of searching (TensorRT also picks every kernel at build time).
// Plain data: the plan code compiles without cuDNN headers.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace inferrt {

struct CudnnChoice {
  // The problem as the plan cache keys it (cudnnint8, without the device), its first word the key's layout version.
  std::vector<int64_t> problem;
  uint64_t configIndex = 0;  // the chosen one's place in the heuristic's list
  uint64_t configCount = 0;  // the list's length
  std::string json;          // the execution plan as cuDNN serializes it; "" where it does not
};

// Engines replay the choices only with the cuDNN version and on the GPU model they were made with, and only from
// plans this inferrt version built (the JSON holds the whole graph as this version builds it).
struct CudnnChoices {
  uint64_t cudnnVersion = 0;  // cudnnGetVersion() where chosen
  std::string device;         // the GPU's name where chosen
  std::vector<CudnnChoice> entries;
};

}  // namespace inferrt
