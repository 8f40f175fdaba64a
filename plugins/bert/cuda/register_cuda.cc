// Registers the CUDA implementations of the BERT plugins (bert_cuda.h) into the CUDA plugin table.
#include "backend/cuda/kernels/cuda_plugin.h"
#include "bert_cuda.h"

namespace inferrt {

void registerCudaBertPlugins() {
  using namespace bert_cuda;
  registerCudaPlugin({"PackedEmbLayerNorm", "1", supportsPackedEmbLayerNorm, runPackedEmbLayerNorm});
  registerCudaPlugin({"PackedAttention", "1", supportsPackedAttention, runPackedAttention});
  registerCudaPlugin({"SkipLayerNorm", "1", supportsSkipLayerNorm, runSkipLayerNorm});
  registerCudaPlugin({"FullyConnected", "1", supportsFullyConnected, runFullyConnected});
}

}  // namespace inferrt
