// Convolution epilogue fusion: Convolution -> relu becomes one Convolution with activation relu, and
// Convolution -> Add(residual) [-> relu] one Convolution with a residual input 3 (ResNet's shortcut add, MobileNet's
// inverted-residual add). cuDNN runs these as one fused call (cudnnConvolutionBiasActivationForward), saving a
// full read and write of the activation per fused layer. relu is the Activation relu or Clip(0, +inf), which
// compute the same values (NaN and -0 included); ReLU6 (Clip 0..6) has no fused form and stays a layer.
//
// Soundness: the conv output and the add output must feed only the next step of the chain and not be network
// outputs; the residual must have exactly the conv output's dtype and dims (no broadcast; a dynamic dim must be
// dynamic on both sides, and the shape rule checks the concrete dims again at run time); tensors must be float32.
// The fused layer takes the place of the chain's last layer (FusionRewriter::replace), after the add, so a
// residual computed after the conv in layer order (ResNet's downsample branch) still precedes its reader.
#include <cmath>
#include <vector>

#include "builder/fusion_rewriter.h"
#include "builder/passes.h"

namespace inferrt {

namespace {

// Whether layer `l` computes relu: Activation relu, or Activation clip with min 0 and no max.
bool isRelu(const FusionRewriter& g, int l) {
  if (l < 0 || g.layer(l).kind != "Activation") return false;
  const Attributes& a = g.layer(l).attrs;
  const std::string op = a.getString("op", "");
  if (op == "relu") return true;
  return op == "clip" && a.getFloat("alpha", -INFINITY) == 0.0 && a.getFloat("beta", INFINITY) == INFINITY;
}

bool isAdd(const FusionRewriter& g, int l) {
  return l >= 0 && g.layer(l).kind == "ElementWise" && g.layer(l).attrs.getString("op", "") == "add" &&
         g.layer(l).inputs.size() == 2;
}

enum class Fused { None, Relu, Add, AddRelu };

// Fuses the chain starting at Convolution layer `conv`; returns what was fused.
Fused fuseAt(FusionRewriter& g, int conv) {
  const Layer& c = g.layer(conv);
  if (c.inputs.size() < 2 || c.inputs.size() > 3 || c.attrs.getString("activation", "none") != "none")
    return Fused::None;
  const int y = c.outputs[0];
  if (g.tensor(y).dtype != DType::Float32) return Fused::None;
  const int next = g.soleReader(y);
  std::vector<int> chain = {conv};
  int residual = -1;
  bool relu = false;
  if (isRelu(g, next)) {
    chain.push_back(next);
    relu = true;
  } else if (isAdd(g, next)) {
    const Layer& add = g.layer(next);
    residual = add.inputs[0] == y ? add.inputs[1] : add.inputs[0];
    const TensorInfo &r = g.tensor(residual), &out = g.tensor(y);
    if (residual == y || r.dtype != out.dtype || r.dims != out.dims || g.tensor(add.outputs[0]).dims != out.dims)
      return Fused::None;
    chain.push_back(next);
    const int after = g.soleReader(add.outputs[0]);
    if (isRelu(g, after)) {
      chain.push_back(after);
      relu = true;
    }
  } else {
    return Fused::None;
  }
  if (!g.canFuse(chain)) return Fused::None;
  Layer fused;
  fused.kind = "Convolution";
  fused.attrs = c.attrs;
  if (relu) fused.attrs.set("activation", std::string("relu"));
  fused.inputs = c.inputs;
  if (residual >= 0) {
    fused.inputs.resize(3, -1);  // no bias: input 2 absent
    fused.inputs.push_back(residual);
  }
  if (!g.replace(chain, std::move(fused))) return Fused::None;
  if (residual < 0) return Fused::Relu;
  return relu ? Fused::AddRelu : Fused::Add;
}

}  // namespace

ConvFusions fuseConvolutions(Network& network) {
  FusionRewriter g(network);
  ConvFusions fused;
  for (size_t l = 0; l < g.numLayers(); ++l) {
    if (g.layer(l).kind != "Convolution") continue;
    switch (fuseAt(g, static_cast<int>(l))) {
      case Fused::Relu: ++fused.relu; break;
      case Fused::Add: ++fused.add; break;
      case Fused::AddRelu: ++fused.addRelu; break;
      case Fused::None: break;
    }
  }
  if (fused.relu + fused.add + fused.addRelu) g.apply(network);
  return fused;
}

}  // namespace inferrt
