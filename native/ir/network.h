// The network definition: the one IR that the ONNX parser, the builder, plans and both backends share.
// Tensors and layers are addressed by index; a layer's outputs get their dtype and dims as soon as it is
// added (TensorRT-style), so errors surface at the node that causes them.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "ir/attributes.h"
#include "ir/tensor.h"

namespace inferrt {

struct TensorInfo {
  std::string name;
  DType dtype = DType::Float32;
  Dims dims;               // kDynamic where unknown before run time
  TensorPtr value;         // contents when known: weights, or a value folded from constants
  bool isConstant = false; // added with addConstant (weights); folded values are not
  bool isInput = false;
  bool isOutput = false;
  int producer = -1;       // index of the layer that writes it, -1 for inputs and constants
};

// Per-layer precision request (TensorRT's layer precision): Default follows the builder config.
enum class LayerPrecision : int32_t { Default = 0, Float32 = 1, Float16 = 2, Int8 = 3 };

struct Layer {
  std::string kind;          // an OpSchema kind: "ElementWise", "MatMul", ...
  std::string name;          // unique in the network; the ONNX node name when imported
  std::vector<int> inputs;   // tensor indices; -1 marks an absent optional input
  std::vector<int> outputs;  // tensor indices
  Attributes attrs;
  LayerPrecision precision = LayerPrecision::Default;
};

class Network {
 public:
  int addInput(const std::string& name, DType dtype, const Dims& dims);
  int addConstant(const std::string& name, TensorPtr value);
  // Adds a layer, infers its outputs' dtype/dims (and values, for small all-constant inputs) and returns the
  // output tensor indices. Output names default to "<layer name>:<i>". Throws on an invalid layer; the network
  // is left unchanged then.
  std::vector<int> addLayer(const std::string& kind, const std::string& name, const std::vector<int>& inputs,
                            const Attributes& attrs, int numOutputs);
  void markOutput(int tensor);
  void unmarkOutput(int tensor);
  void renameTensor(int tensor, const std::string& name);
  void setLayerPrecision(int layer, LayerPrecision precision);

  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const std::vector<Layer>& layers() const { return layers_; }
  const std::vector<int>& inputs() const { return inputs_; }
  const std::vector<int>& outputs() const { return outputs_; }
  const TensorInfo& tensor(int index) const;
  const Layer& layer(int index) const;
  int findTensor(const std::string& name) const;  // -1 if absent
  std::string uniqueLayerName(const std::string& base) const;

  // For the builder and plan reader: replace the whole graph at once (indices must be consistent).
  void assign(std::vector<TensorInfo> tensors, std::vector<Layer> layers, std::vector<int> inputs,
              std::vector<int> outputs);
  // Checks indices, producers and topological order; throws InvalidModel (or BadPlan via caller) naming the fault.
  void validate() const;

 private:
  int newTensor(TensorInfo info);
  std::vector<TensorInfo> tensors_;
  std::vector<Layer> layers_;
  std::vector<int> inputs_;
  std::vector<int> outputs_;
  std::map<std::string, int> tensorByName_;
  std::map<std::string, int> layerByName_;
};

}  // namespace inferrt
