#pragma once
// A neural light field (NeLF): an MLP mapping one camera ray to the colour seen along it, read out
// of an engine Model so the Vulkan renderer can evaluate it per pixel without the executor.
//
// The model takes one input [N,6] (rows: ray origin xyz, unit direction xyz, world units) and gives
// one output [N,3] (RGB) or [N,4] (RGBA) in 0..1. Its graph must have the general shape of a
// positional-encoded MLP:
//   encoding: values that are affine in the ray (Add/Sub/Mul/Div by constants, MatMul/Gemm by a
//             constant matrix), optionally through Sin or Cos, joined by Concat on the last axis;
//   layers:   MatMul (+ Add bias) or Gemm by constants, each optionally followed by Relu or Sigmoid,
//             one after another.
// extractLightField() folds the encoding into per-feature (weights, offset, function) triples and
// the layers into row-major matrices; anything else (another op, a branch, a non-constant weight,
// a wrong input width) is refused with one sentence naming the node.
//
// Rays: pixel (x, y) of a WxH view (row 0 on top) looks from the camera's eye along
// normalize(s*(x+0.5-W/2)/f - u*(y+0.5-H/2)/f + fwd), f = Camera::focalPixels(H),
// fwd = normalize(target-eye), s = normalize(fwd x up), u = s x fwd: the mesh renderer's pinhole.
// The origin given to the model is the ray's point nearest the world origin, eye - dot(eye, d) d,
// not the eye: all rays along one line are then one input whichever camera they came from, which
// is what lets a light field trained on some views answer for the views between them.
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/graph.h"
#include "renderers/render_types.h"

namespace by {

enum class LightFieldActivation { None, Relu, Sigmoid };
enum class LightFieldFeatureFn { Linear, Sin, Cos };

struct LightFieldLayer {
    int in = 0, out = 0;
    std::vector<float> weights;  // [out][in], row-major
    std::vector<float> bias;     // [out]
    LightFieldActivation activation = LightFieldActivation::None;
};

struct LightFieldMlp {
    static constexpr int kRayWidth = 6;
    static constexpr int kMaxWidth = 256;  // widest feature vector or layer the shader holds
    static constexpr int kMaxLayers = 64;

    // Encoding: feature k = fn[k](dot(featureWeights[k*6 .. k*6+5], ray) + featureOffsets[k]).
    std::vector<float> featureWeights;
    std::vector<float> featureOffsets;
    std::vector<LightFieldFeatureFn> featureFns;
    std::vector<LightFieldLayer> layers;
    std::string defaultCamera;  // "eye=...,target=...,fov=..." from the model's metadata, if any

    int featureCount() const { return static_cast<int>(featureFns.size()); }
    int outputChannels() const { return layers.empty() ? 0 : layers.back().out; }
    int64_t parameterCount() const;
    // Multiply-adds per ray (encoding and layers).
    int64_t macsPerRay() const;
};

// Reads the MLP out of `model`; fails with one sentence naming the node or value that does not fit.
Result<LightFieldMlp> extractLightField(const Model& model);

// Whether the model's single input is a [N,6] float tensor and its single output [N,3|4] (or of a
// width the file does not record): the cheap test the CLI uses to route a model to the light-field renderer before extracting it.
bool looksLikeLightField(const Model& model);

// The rays of every pixel of `view`, row-major, 6 floats each (origin, direction).
std::vector<float> lightFieldRays(const RenderView& view);

// Runs the MLP on the host in plain float loops, in the shader's order of operations: the twin the
// shader is checked against without the executor (for small images; one thread).
Image evaluateLightFieldMlp(const LightFieldMlp& mlp, const RenderView& view);

}  // namespace by
