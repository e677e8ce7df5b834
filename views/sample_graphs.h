#pragma once
// Synthetic model graphs shaped like real exports, for tests, benchmarks and demos of the graph
// view: names with PyTorch-style scopes, shape subgraphs, residual skips, a mask read by every
// block. Weights are real tensors that share one buffer per shape, so 20k-node graphs stay small.
#include "engine/graph.h"

namespace by {

// A decoder-style transformer exported op by op (LayerNormalization, q/k/v projections with
// Shape->Gather->Unsqueeze->Concat reshape chains, attention with mask, GELU spelled out as
// Div/Erf/Add/Mul, residual Adds), about 44 ops per block, repeated until at least
// `targetNodes` ops. Node names look like "/model/layers.3/self_attn/q_proj/MatMul".
Model makeTransformerSample(int targetNodes, int hidden = 64);

// A small ResNet-like conv net (Conv/BatchNorm/Relu, strided downsampling, residual Adds,
// pooling, Gemm head) with names like "/stages.1/blocks.0/conv2/Conv".
Model makeConvNetSample(int stages = 3, int blocksPerStage = 2);

}  // namespace by
