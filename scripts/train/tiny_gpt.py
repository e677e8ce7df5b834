#!/usr/bin/python3
"""Trains the tiny GPT-2-layout language model on the ham e-mail corpus, reproducibly.

Input: train/test token ids (int32 .npy, from `brickyard-cli tokenize`). Output directory: one
NAME.npy per tensor, named as llama.cpp's gpt2 architecture names them (PyTorch Linear layout:
[out, in] row-major = ggml ne [in, out]), config.json, and a reference (ref_tokens.npy,
ref_logits.npy) of this model's logits on the first test tokens for the runtime's tests.
Fixed seeds, 2 threads, deterministic algorithms, a fixed number of steps."""
import argparse
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIG = dict(n_vocab=50257, n_ctx=384, n_embd=256, n_head=4, n_layer=6, n_ff=1024, layer_norm_epsilon=1e-5)


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["n_embd"]
        self.n_head = c["n_head"]
        self.ln_1 = nn.LayerNorm(d, eps=c["layer_norm_epsilon"])
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln_2 = nn.LayerNorm(d, eps=c["layer_norm_epsilon"])
        self.up = nn.Linear(d, c["n_ff"])
        self.down = nn.Linear(c["n_ff"], d)

    def forward(self, x):
        B, T, D = x.shape
        H = self.n_head
        q, k, v = self.qkv(self.ln_1(x)).split(D, dim=2)
        q = q.view(B, T, H, D // H).transpose(1, 2)
        k = k.view(B, T, H, D // H).transpose(1, 2)
        v = v.view(B, T, H, D // H).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(D // H))
        mask = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()
        att = att.masked_fill(~mask, float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, D)
        x = x + self.proj(y)
        x = x + self.down(F.gelu(self.up(self.ln_2(x)), approximate="tanh"))
        return x


class TinyGpt(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.wte = nn.Embedding(c["n_vocab"], c["n_embd"])
        self.wpe = nn.Embedding(c["n_ctx"], c["n_embd"])
        self.blocks = nn.ModuleList([Block(c) for _ in range(c["n_layer"])])
        self.ln_f = nn.LayerNorm(c["n_embd"], eps=c["layer_norm_epsilon"])
        self.apply(self._init)

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def forward(self, idx):
        T = idx.shape[1]
        x = self.wte(idx) + self.wpe(torch.arange(T, device=idx.device))
        for b in self.blocks:
            x = b(x)
        return self.ln_f(x) @ self.wte.weight.t()  # tied output matrix, as in GPT-2

    def named_ggml(self):
        """The weights under llama.cpp's gpt2 tensor names."""
        out = {"token_embd.weight": self.wte.weight, "position_embd.weight": self.wpe.weight,
               "output_norm.weight": self.ln_f.weight, "output_norm.bias": self.ln_f.bias,
               "output.weight": self.wte.weight}
        for i, b in enumerate(self.blocks):
            for name, mod in (("attn_norm", b.ln_1), ("attn_qkv", b.qkv), ("attn_output", b.proj),
                              ("ffn_norm", b.ln_2), ("ffn_up", b.up), ("ffn_down", b.down)):
                out[f"blk.{i}.{name}.weight"] = mod.weight
                out[f"blk.{i}.{name}.bias"] = mod.bias
        return out


def load_model(weights_dir):
    """Rebuilds the PyTorch model from a weights directory (used by the benchmark)."""
    with open(os.path.join(weights_dir, "config.json")) as f:
        c = json.load(f)
    m = TinyGpt(c)
    with torch.no_grad():
        for name, p in m.named_ggml().items():
            p.copy_(torch.from_numpy(np.load(os.path.join(weights_dir, name + ".npy"))))
    return m.eval()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=64)
    ap.add_argument("--batch", type=int, default=4)
    args = ap.parse_args()

    torch.manual_seed(1234)
    np.random.seed(1234)
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    c = CONFIG
    train = torch.from_numpy(np.load(args.train).astype(np.int64))
    test = torch.from_numpy(np.load(args.test).astype(np.int64))
    T = c["n_ctx"]
    model = TinyGpt(c)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, betas=(0.9, 0.95), weight_decay=0.05)
    gen = torch.Generator().manual_seed(99)
    t0 = time.time()
    for step in range(args.steps):
        lr = 3e-3 * min(1.0, (step + 1) / 8) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / args.steps)))
        for g in opt.param_groups:
            g["lr"] = lr
        starts = torch.randint(0, len(train) - T - 1, (args.batch,), generator=gen)
        x = torch.stack([train[s:s + T] for s in starts])
        y = torch.stack([train[s + 1:s + T + 1] for s in starts])
        loss = F.cross_entropy(model(x).view(-1, c["n_vocab"]), y.view(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 8 == 0 or step == args.steps - 1:
            print(f"step {step} loss {loss.item():.3f} ({time.time() - t0:.0f}s)", flush=True)
    model.eval()
    with torch.no_grad():
        n = min(len(test) - 1, 8 * T)
        xs = test[:n - n % T].view(-1, T)
        ys = test[1:n - n % T + 1].view(-1, T)
        test_loss = F.cross_entropy(model(xs).view(-1, c["n_vocab"]), ys.reshape(-1)).item()
        print(f"test loss {test_loss:.3f} (ppl {math.exp(test_loss):.1f}) on {xs.numel()} tokens")
        os.makedirs(args.out, exist_ok=True)
        for name, p in model.named_ggml().items():
            np.save(os.path.join(args.out, name + ".npy"), p.detach().numpy().astype(np.float32))
        ref = test[:48].view(1, -1)
        np.save(os.path.join(args.out, "ref_tokens.npy"), ref[0].numpy().astype(np.int32))
        np.save(os.path.join(args.out, "ref_logits.npy"), model(ref)[0].numpy().astype(np.float32))
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(dict(c, steps=args.steps, batch=args.batch, seed=1234, test_loss=test_loss), f, indent=1)
    print(f"trained in {time.time() - t0:.0f}s -> {args.out}")


if __name__ == "__main__":
    main()
