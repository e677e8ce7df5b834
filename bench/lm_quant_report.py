#!/usr/bin/python3
"""Language-model quantization section of docs/benchmarks.md: `brickyard-cli compress` against
llama.cpp's llama-quantize on the same f32 GGUF (the baseline build must exist).

  1. Exactness: our Q8_0 and Q4_0 files against llama-quantize's, tensor by tensor (type, shape,
     data bytes): "identical tensors: N/N".
  2. Throughput: wall time of the whole command (read, quantize, write) for both tools with the
     same thread count, median of --runs, on the tiny GPT and on a generated ~1 GiB f32 GPT-2
     GGUF (random weights, fixed seed, written to /tmp and deleted afterwards).
  3. Quality: test perplexity of f32, our Q4_0 round-to-nearest, llama-quantize's Q4_0, our
     Q4_0 GPTQ and AWQ (calibrated on the train split), each measured with our perplexity verb
     and with llama-perplexity on the same text.

  lm_quant_report.py BUILD_DIR [--threads 2] [--runs 5] [--skip-big]"""
import argparse
import os
import re
import shlex
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np

# ggml type id -> (name, block elements, block bytes)
GGML_TYPES = {0: ("F32", 1, 4), 1: ("F16", 1, 2), 2: ("Q4_0", 32, 18), 3: ("Q4_1", 32, 20), 8: ("Q8_0", 32, 34),
              14: ("Q6_K", 256, 210)}


def gguf_tensors(path):
    """name -> (type name, shape, data bytes) of a GGUF v2/v3 file."""
    with open(path, "rb") as f:
        buf = f.read()
    pos = 0

    def take(fmt):
        nonlocal pos
        v = struct.unpack_from("<" + fmt, buf, pos)
        pos += struct.calcsize("<" + fmt)
        return v[0]

    def string():
        nonlocal pos
        n = take("Q")
        s = buf[pos:pos + n].decode("utf-8", "replace")
        pos += n
        return s

    scalar = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}

    def value(t):
        if t == 8:
            return string()
        if t == 9:
            et, n = take("I"), take("Q")
            return [value(et) for _ in range(n)]
        return take(scalar[t])

    if buf[:4] != b"GGUF":
        raise SystemExit(f"{path} is not a GGUF file")
    pos = 4
    take("I")
    nt, nkv = take("Q"), take("Q")
    meta = {}
    for _ in range(nkv):
        k = string()
        meta[k] = value(take("I"))
    infos = []
    for _ in range(nt):
        name = string()
        nd = take("I")
        dims = [take("Q") for _ in range(nd)]
        infos.append((name, dims, take("I"), take("Q")))
    align = meta.get("general.alignment", 32)
    start = (pos + align - 1) // align * align
    out = {}
    for name, dims, t, off in infos:
        tname, be, bb = GGML_TYPES.get(t, (f"type{t}", 1, 0))
        n = int(np.prod(dims))
        nbytes = n // be * bb
        out[name] = (tname, tuple(dims), buf[start + off:start + off + nbytes])
    return out


def sh(cmd, log, quiet=False):
    if not quiet:
        log.append("$ " + " ".join(shlex.quote(str(c)) for c in cmd))
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"lm_quant_report: {' '.join(map(str, cmd))} failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    return r.stdout + r.stderr


def timed(cmd, runs):
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        if r.returncode != 0:
            raise SystemExit(f"lm_quant_report: {' '.join(map(str, cmd))} failed:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    return statistics.median(times)


def compare(ours, ref):
    a, b = gguf_tensors(ours), gguf_tensors(ref)
    same = sum(1 for n in b if n in a and a[n] == b[n])
    diff = [n for n in b if n not in a or a[n] != b[n]]
    return same, len(b), diff


def generate_big(cli, cache, tmp, log):
    """A GPT-2-layout f32 GGUF of about 1 GiB with random weights (numpy seed 0)."""
    cfg = dict(n_vocab=50257, n_ctx=128, n_embd=1024, n_head=16, n_layer=14, n_ff=4096, layer_norm_epsilon=1e-5)
    wdir = os.path.join(tmp, "big_weights")
    os.makedirs(wdir)
    rng = np.random.default_rng(0)
    d, ff = cfg["n_embd"], cfg["n_ff"]

    def put(name, shape, scale=0.02, const=None):
        a = np.full(shape, const, np.float32) if const is not None else (rng.standard_normal(shape, dtype=np.float32) * scale)
        np.save(os.path.join(wdir, name + ".npy"), a)

    put("token_embd.weight", (cfg["n_vocab"], d))
    put("position_embd.weight", (cfg["n_ctx"], d), 0.01)
    for l in range(cfg["n_layer"]):
        p = f"blk.{l}."
        for n in ("attn_norm", "ffn_norm"):
            put(p + n + ".weight", (d,), const=1.0)
            put(p + n + ".bias", (d,), const=0.0)
        for n, shape in (("attn_qkv", (3 * d, d)), ("attn_output", (d, d)), ("ffn_up", (ff, d)), ("ffn_down", (d, ff))):
            put(p + n + ".weight", shape)
            put(p + n + ".bias", (shape[0],), const=0.0)
    put("output_norm.weight", (d,), const=1.0)
    put("output_norm.bias", (d,), const=0.0)
    put("output.weight", (cfg["n_vocab"], d))
    import json
    with open(os.path.join(wdir, "config.json"), "w") as f:
        json.dump(cfg, f)
    path = os.path.join(tmp, "big_f32.gguf")
    sh([cli, "lm", "build", wdir, "-o", path, "--tokenizer", f"{cache}/tokenizers/gpt2"], log)
    shutil.rmtree(wdir)
    return path


def throughput(cli, quant, model, qtype, threads, runs, tmp, log, label):
    size = os.path.getsize(model)
    ours_out, ref_out = os.path.join(tmp, "t_ours.gguf"), os.path.join(tmp, "t_ref.gguf")
    ours_cmd = [cli, "compress", model, "--quantize", qtype.lower(), "-o", ours_out, "--threads", threads]
    ref_cmd = [quant, model, ref_out, qtype, threads]
    log.append("$ " + " ".join(map(str, ours_cmd)))
    log.append("$ " + " ".join(map(str, ref_cmd)))
    # Alternate the tools so neither always runs with a warmer page cache.
    to, tr = [], []
    for _ in range(runs):
        to.append(timed(ours_cmd, 1))
        tr.append(timed(ref_cmd, 1))
    mo, mr = statistics.median(to), statistics.median(tr)
    bo, br = min(to), min(tr)
    same, total, _ = compare(ours_out, ref_out)
    for p in (ours_out, ref_out):
        os.remove(p)
    mib = size / 2**20
    return (f"| {label} | {qtype} | {mib:.0f} MiB | {mo:.3f} s ({mib / mo:.0f} MiB/s) | {mr:.3f} s ({mib / mr:.0f} MiB/s) | "
            f"{mr / mo:.2f}x | {br / bo:.2f}x | {same}/{total} |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--ctx", type=int, default=256)
    ap.add_argument("--chunks", type=int, default=40)
    ap.add_argument("--skip-big", action="store_true")
    a = ap.parse_args()
    cache = os.environ.get("BRICKYARD_CACHE", os.path.expanduser("~/.cache/brickyard"))
    llama = os.environ.get("LLAMA_CPP_DIR", "/work/baselines/llama.cpp") + "/build/bin"
    cli = f"{a.build}/app/brickyard-cli"
    quant, lppl = f"{llama}/llama-quantize", f"{llama}/llama-perplexity"
    f32 = f"{cache}/models/tiny_gpt_f32.gguf"
    test, train = f"{cache}/data/lm/test.txt", f"{cache}/data/lm/train.txt"
    for p in (quant, lppl, f32, test, train):
        if not os.path.exists(p):
            print(f"skipped: {p} is missing (scripts/setup.sh fetches the models and text; llama.cpp is the baseline build)")
            return
    T = str(a.threads)
    log = []
    tmp = tempfile.mkdtemp(prefix="by_lmquant_")
    try:
        files = {}
        lines = ["### Exactness against llama-quantize (tiny GPT)", "", "| type | identical tensors | differing |", "|---|---|---|"]
        for qt in ("Q8_0", "Q4_0"):
            ours, ref = os.path.join(tmp, f"ours_{qt}.gguf"), os.path.join(tmp, f"llama_{qt}.gguf")
            sh([cli, "compress", f32, "--quantize", qt.lower(), "-o", ours, "--threads", T], log)
            sh([quant, f32, ref, qt, T], log)
            same, total, diff = compare(ours, ref)
            print(f"{qt}: identical tensors: {same}/{total}", file=sys.stderr)
            lines.append(f"| {qt} | identical tensors: {same}/{total} | {', '.join(diff) if diff else '-'} |")
            files[qt] = (ours, ref)

        lines += ["", f"### Quantization throughput, whole command (read, quantize, write), {a.threads} threads, median of {a.runs}", "",
                  "| model | type | f32 size | brickyard-cli compress | llama-quantize | speed ratio of medians (>= 1: ours faster) | ratio of best runs | identical tensors |",
                  "|---|---|---|---|---|---|---|---|"]
        for qt in ("Q8_0", "Q4_0"):
            lines.append(throughput(cli, quant, f32, qt, T, a.runs, tmp, log, "tiny GPT"))
        if not a.skip_big:
            big = generate_big(cli, cache, tmp, log)
            try:
                for qt in ("Q8_0", "Q4_0"):
                    lines.append(throughput(cli, quant, big, qt, T, max(3, a.runs // 2), tmp, log, "generated GPT-2 (random)"))
            finally:
                os.remove(big)

        variants = [("f32", f32, None), ("Q4_0 round-to-nearest (ours)", files["Q4_0"][0], None),
                    ("Q4_0 llama-quantize", files["Q4_0"][1], None)]
        for alg in ("gptq", "awq"):
            out = os.path.join(tmp, f"ours_q4_0_{alg}.gguf")
            t0 = time.perf_counter()
            sh([cli, "compress", f32, "--quantize", f"q4_0:{alg}", "--calibration", train, "-o", out, "--threads", T], log)
            variants.append((f"Q4_0 {alg.upper()} (ours)", out, time.perf_counter() - t0))
        lines += ["", f"### Test perplexity (ctx {a.ctx}, {a.chunks} chunks of {os.path.basename(test)}; GPTQ/AWQ calibrated on "
                  f"{os.path.basename(train)})", "",
                  "| variant | file | ppl (brickyard perplexity) | increase | KL to f32 / top-1 agreement | ppl (llama-perplexity) | increase | quantize time |",
                  "|---|---|---|---|---|---|---|---|"]
        base_ours = base_llama = None
        for label, path, secs in variants:
            o = sh([cli, "perplexity", path, "--text", test, "--ctx", a.ctx, "--chunks", a.chunks, "--threads", T]
                   + (["--base", f32] if path != f32 else []), log)
            po = float(re.search(r"ppl ([0-9.]+)", o).group(1))
            mk = re.search(r"kl ([0-9.]+) top1 ([0-9.]+)", o)
            kl = f"{float(mk.group(1)):.5f} / {100 * float(mk.group(2)):.1f}%" if mk else "-"
            o = sh([lppl, "-m", path, "-f", test, "-c", a.ctx, "--chunks", a.chunks, "-t", T], log)
            pl = float(re.search(r"Final estimate: PPL = ([0-9.]+)", o).group(1))
            if base_ours is None:
                base_ours, base_llama = po, pl
            inc = lambda p, b: "-" if p == b and label == "f32" else f"{p - b:+.3f} ({100 * (p / b - 1):+.2f}%)"
            lines.append(f"| {label} | {os.path.getsize(path) / 2**20:.1f} MiB | {po:.3f} | {inc(po, base_ours)} | {kl} | {pl:.3f} | "
                         f"{inc(pl, base_llama)} | {'' if secs is None else f'{secs:.1f} s'} |")
        print("Commands:\n\n```")
        print("\n".join(log))
        print("```\n")
        print("\n".join(lines))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
