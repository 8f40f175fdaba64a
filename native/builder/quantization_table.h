// What the INT8 passes know about scales: per-tensor activation scales (from the network's own Q/DQ pairs or from
// calibration) and per-channel weight scales (from the DequantizeLinear layers of quantized weights). Tensors are
// named, since the fusion passes between the two INT8 passes renumber them.
#pragma once
#include <map>
#include <string>
#include <vector>

namespace inferrt {

struct WeightScales {
  std::vector<float> scales;  // one (per tensor) or one per index along axis
  int64_t axis = 0;           // normalized against the weight's rank
};

struct QuantizationTable {
  std::map<std::string, float> activations;         // tensor name -> scale (symmetric int8: real = scale * q)
  std::map<std::string, WeightScales> weights;       // constant weight tensor name -> its scales
};

}  // namespace inferrt
