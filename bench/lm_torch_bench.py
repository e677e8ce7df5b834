#!/usr/bin/python3
"""PyTorch baseline for bench/lm_bench: the same tiny GPT weights, the same forward passes and
thread count. Prompt: P tokens from an empty cache, logits of the last token only. Generation:
one token at a time through a key/value cache after the prompt, greedy. Prints the best of the
runs (as lm_bench does) in the
same key=value form as lm_bench.

  lm_torch_bench.py WEIGHTS_DIR TEST_IDS.npy [--threads T] [--runs R] [--prompt P] [--gen G]"""
import argparse
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts", "train"))
from tiny_gpt import load_model  # noqa: E402


def forward(model, idx, cache, pos):
    """Runs tokens idx [1, T] at positions pos..pos+T-1, appending keys/values to `cache`;
    returns the last token's logits."""
    T = idx.shape[1]
    x = model.wte(idx) + model.wpe(torch.arange(pos, pos + T))
    for li, b in enumerate(model.blocks):
        D = x.shape[2]
        H = b.n_head
        q, k, v = b.qkv(b.ln_1(x)).split(D, dim=2)
        q = q.view(1, T, H, D // H).transpose(1, 2)
        k = k.view(1, T, H, D // H).transpose(1, 2)
        v = v.view(1, T, H, D // H).transpose(1, 2)
        if li < len(cache):
            k = torch.cat([cache[li][0], k], dim=2)
            v = torch.cat([cache[li][1], v], dim=2)
            cache[li] = (k, v)
        else:
            cache.append((k, v))
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(D // H))
        if T > 1:
            S = k.shape[2]
            mask = torch.ones(T, S, dtype=torch.bool).tril(diagonal=S - T)
            att = att.masked_fill(~mask, float("-inf"))
        y = (att.softmax(dim=-1) @ v).transpose(1, 2).reshape(1, T, D)
        x = x + b.proj(y)
        x = x + b.down(F.gelu(b.up(b.ln_2(x)), approximate="tanh"))
    return F.linear(model.ln_f(x[:, -1]), model.wte.weight)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("weights")
    ap.add_argument("ids")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--prompt", type=int, default=256)
    ap.add_argument("--gen", type=int, default=64)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    model = load_model(a.weights)
    ids = torch.from_numpy(np.load(a.ids)[:a.prompt].astype(np.int64)).view(1, -1)
    pp, tg = [], []
    with torch.inference_mode():
        for r in range(a.runs + 1):
            cache = []
            t0 = time.perf_counter()
            logits = forward(model, ids, cache, 0)
            t1 = time.perf_counter()
            for k in range(a.gen):
                nxt = logits.argmax(dim=-1).view(1, 1)
                logits = forward(model, nxt, cache, a.prompt + k)
            t2 = time.perf_counter()
            if r:
                pp.append((t1 - t0) * 1e3)
                tg.append((t2 - t1) * 1e3 / a.gen)
    blas = [p.split("=", 1)[1] for p in torch.__config__.show().replace(",", " ").split() if p.startswith("BLAS_INFO=")]
    print(f"# torch {torch.__version__} threads={a.threads} runs={a.runs} blas={blas[0] if blas else 'unknown'}")
    print(f"model=pytorch type=f32 prompt_ms={min(pp):.2f} gen_ms_per_token={min(tg):.3f}")


if __name__ == "__main__":
    main()
