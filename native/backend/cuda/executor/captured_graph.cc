#include "backend/cuda/executor/captured_graph.h"

#include <exception>

#include "backend/cuda/cuda_check.h"

namespace inferrt {

CapturedGraph::~CapturedGraph() { ignoreCudaError(cudaGraphExecDestroy(exec_)); }

std::unique_ptr<CapturedGraph> CapturedGraph::capture(cudaStream_t stream, const std::function<void()>& enqueue,
                                                      std::vector<const void*> addresses) {
  // Thread-local mode: other threads (the release thread's frees, other contexts) may go on calling CUDA.
  if (cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal) != cudaSuccess) {
    ignoreCudaError(cudaGetLastError());
    return nullptr;
  }
  cudaGraph_t graph = nullptr;
  try {
    enqueue();
  } catch (const std::exception&) {
    // A call that capture forbids, or a genuine error: either way the eager run that follows tells which.
    ignoreCudaError(cudaStreamEndCapture(stream, &graph));
    if (graph) ignoreCudaError(cudaGraphDestroy(graph));
    ignoreCudaError(cudaGetLastError());
    return nullptr;
  }
  const cudaError_t ended = cudaStreamEndCapture(stream, &graph);
  cudaGraphExec_t exec = nullptr;
  const cudaError_t made = ended == cudaSuccess ? cudaGraphInstantiate(&exec, graph, 0) : ended;
  if (graph) ignoreCudaError(cudaGraphDestroy(graph));
  if (made != cudaSuccess) {
    ignoreCudaError(cudaGetLastError());
    return nullptr;
  }
  return std::unique_ptr<CapturedGraph>(new CapturedGraph(exec, std::move(addresses)));
}

void CapturedGraph::launch(cudaStream_t stream) const { INFERRT_CUDA_CHECK(cudaGraphLaunch(exec_, stream)); }

}  // namespace inferrt
