#!/usr/bin/python3
"""Runs an ONNX model's forward pass with PyTorch's CPU kernels, as the baseline for Brickyard's
executor: every node becomes the matching torch call (eager), and the same function traced and
frozen with TorchScript (no Python per op). Prints one line of JSON with median milliseconds.

usage: torch_onnx.py MODEL.onnx --shape 1,3,48,320 [--threads 2] [--runs 20] [--check OUT.npy]
"""
import argparse
import json
import math
import statistics
import sys
import time
import warnings

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper


def attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


DTYPES = {1: torch.float32, 6: torch.int32, 7: torch.int64, 9: torch.bool, 11: torch.float64}


def pads_for(a, rank):
    p = list(a.get("pads", [0] * (2 * rank)))
    begin, end = p[:rank], p[rank:]
    if begin != end:
        raise ValueError("asymmetric padding is not handled by this baseline")
    return begin


def conv(x, w, b=None, a=None):
    rank = w.dim() - 2
    pad = pads_for(a, rank)
    fn = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[rank]
    return fn(x, w, b, stride=a.get("strides", [1] * rank), padding=pad,
              dilation=a.get("dilations", [1] * rank), groups=a.get("group", 1))


def slice_op(x, a, starts=None, ends=None, axes=None, steps=None):
    starts = a.get("starts", starts)
    ends = a.get("ends", ends)
    axes = a.get("axes", axes if axes is not None else list(range(len(starts))))
    steps = steps if steps is not None else [1] * len(starts)
    idx = [slice(None)] * x.dim()
    for s, e, ax, st in zip(starts, ends, axes, steps):
        n = x.shape[ax]
        s = max(min(s + n if s < 0 else s, n), 0)
        e = max(min(e + n if e < 0 else e, n), 0)
        idx[ax] = slice(s, e, st)
    return x[tuple(idx)]


def as_list(t):
    return [int(v) for v in (t.tolist() if torch.is_tensor(t) else t)]


def run_node(op, ins, a):
    if op in ("Add", "Sub", "Mul", "Div", "Pow"):
        x, y = ins
        return [{"Add": torch.add, "Sub": torch.sub, "Mul": torch.mul, "Div": torch.div, "Pow": torch.pow}[op](x, y)]
    if op == "Conv":
        return [conv(ins[0], ins[1], ins[2] if len(ins) > 2 else None, a)]
    if op == "MatMul":
        return [torch.matmul(ins[0], ins[1])]
    if op == "Gemm":
        A, B = ins[0], ins[1]
        if a.get("transA", 0): A = A.t()
        if a.get("transB", 0): B = B.t()
        y = a.get("alpha", 1.0) * (A @ B)
        if len(ins) > 2: y = y + a.get("beta", 1.0) * ins[2]
        return [y]
    if op == "Relu": return [torch.relu(ins[0])]
    if op == "Sigmoid": return [torch.sigmoid(ins[0])]
    if op == "Tanh": return [torch.tanh(ins[0])]
    if op == "Sqrt": return [torch.sqrt(ins[0])]
    if op == "Erf": return [torch.erf(ins[0])]
    if op == "Exp": return [torch.exp(ins[0])]
    if op == "HardSigmoid":
        return [torch.clamp(ins[0] * a.get("alpha", 0.2) + a.get("beta", 0.5), 0, 1)]
    if op == "HardSwish": return [F.hardswish(ins[0])]
    if op == "Clip":
        lo = a.get("min", ins[1] if len(ins) > 1 else None)
        hi = a.get("max", ins[2] if len(ins) > 2 else None)
        return [torch.clamp(ins[0], float(lo) if lo is not None else None, float(hi) if hi is not None else None)]
    if op == "Cast": return [ins[0].to(DTYPES[a["to"]])]
    if op == "Concat": return [torch.cat(ins, a["axis"])]
    if op == "Transpose": return [ins[0].permute(*a["perm"])]
    if op == "Reshape":
        shape = as_list(ins[1])
        shape = [ins[0].shape[i] if s == 0 else s for i, s in enumerate(shape)]
        return [ins[0].reshape(shape)]
    if op == "Flatten":
        ax = a.get("axis", 1)
        return [ins[0].reshape(int(np.prod(ins[0].shape[:ax])), -1)]
    if op == "Squeeze": return [ins[0].squeeze(a["axes"][0]) if len(a.get("axes", [])) == 1 else ins[0].squeeze()]
    if op == "Unsqueeze":
        y = ins[0]
        for ax in sorted(a.get("axes", as_list(ins[1]) if len(ins) > 1 else [])):
            y = y.unsqueeze(ax)
        return [y]
    if op == "Shape": return [torch.tensor(ins[0].shape, dtype=torch.int64)]
    if op == "Gather": return [torch.index_select(ins[0], a.get("axis", 0), ins[1].reshape(-1)).reshape(
        list(ins[0].shape[:a.get("axis", 0)]) + list(ins[1].shape) + list(ins[0].shape[a.get("axis", 0) + 1:]))]
    if op == "Slice":
        extra = [as_list(t) for t in ins[1:]]
        return [slice_op(ins[0], a, *extra)]
    if op == "ReduceMean":
        return [ins[0].mean(dim=a["axes"], keepdim=bool(a.get("keepdims", 1)))]
    if op == "Softmax":
        return [torch.softmax(ins[0], a.get("axis", -1))]
    if op == "BatchNormalization":
        x, s, b, m, v = ins
        return [F.batch_norm(x, m, v, s, b, False, 0.0, a.get("epsilon", 1e-5))]
    if op == "LayerNormalization":
        x, s = ins[0], ins[1]
        b = ins[2] if len(ins) > 2 else None
        ax = a.get("axis", -1)
        shape = x.shape[ax:]
        return [F.layer_norm(x, shape, s, b, a.get("epsilon", 1e-5))]
    if op == "GlobalAveragePool":
        return [ins[0].mean(dim=tuple(range(2, ins[0].dim())), keepdim=True)]
    if op in ("AveragePool", "MaxPool"):
        k = a["kernel_shape"]
        pad = pads_for(a, len(k))
        if op == "MaxPool":
            return [F.max_pool2d(ins[0], k, a.get("strides", k), pad)]
        return [F.avg_pool2d(ins[0], k, a.get("strides", k), pad, count_include_pad=bool(a.get("count_include_pad", 0)))]
    raise NotImplementedError(op)


def build(model):
    g = model.graph
    consts = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in g.initializer}
    nodes = []
    for n in g.node:
        a = attrs(n)
        if n.op_type == "Constant":
            consts[n.output[0]] = torch.from_numpy(numpy_helper.to_array(a["value"]).copy())
            continue
        nodes.append((n.op_type, list(n.input), list(n.output), a))
    inputs = [i.name for i in g.input if i.name not in consts]
    outputs = [o.name for o in g.output]

    def forward(*xs):
        env = dict(consts)
        env.update(zip(inputs, xs))
        for op, ins, outs, a in nodes:
            vals = [env[i] if i else None for i in ins]
            while vals and vals[-1] is None:
                vals.pop()
            for name, v in zip(outs, run_node(op, vals, a)):
                env[name] = v
        return tuple(env[o] for o in outputs)

    return forward, inputs


def median_ms(fn, x, runs):
    """Median wall time and median process CPU time (all threads) of one call, in ms."""
    with torch.no_grad():
        fn(x)
        times, cpu = [], []
        for _ in range(runs):
            t0, c0 = time.perf_counter(), time.process_time()
            fn(x)
            times.append((time.perf_counter() - t0) * 1e3)
            cpu.append((time.process_time() - c0) * 1e3)
    return statistics.median(times), statistics.median(cpu)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--shape", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--check", help="write the output for a comparison (.npy)")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")  # tracer notes about shapes frozen into the trace
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    shape = [int(s) for s in args.shape.split(",")]
    x = torch.rand(*shape)
    forward, _ = build(onnx.load(args.model))
    eager, eager_cpu = median_ms(forward, x, args.runs)
    with torch.no_grad():
        try:
            traced = torch.jit.trace(forward, (x,), check_trace=False)
            traced = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.script(traced).eval())) \
                if isinstance(traced, torch.nn.Module) else traced
        except Exception as e:  # a trace that fails is reported, never hidden
            print(json.dumps({"error": "trace failed: %s" % e}), file=sys.stderr)
            traced = None
    jit, jit_cpu = median_ms(traced, x, args.runs) if traced is not None else (math.nan, math.nan)
    if args.check:
        with torch.no_grad():
            np.save(args.check, x.numpy())
            np.save(args.check.replace(".npy", "_out.npy"), forward(x)[0].numpy())
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "shape": shape,
                      "eager_ms": eager, "jit_ms": jit, "eager_cpu_ms": eager_cpu, "jit_cpu_ms": jit_cpu}))


if __name__ == "__main__":
    main()
