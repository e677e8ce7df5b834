#!/usr/bin/python3
"""Fits a neural light field (NeLF) to multi-view renders of a real textured mesh.

1. Renders views of MESH with the project's own renderer (`brickyard-cli render`, Vulkan or
   --cpu) from cameras on an orbit around the object: a training set on four rings and held-out
   views at yaws and pitches between them. Pixels are 8-bit sRGB PNGs, as the renderer writes them.
2. Fits an MLP mapping one camera ray to the colour seen along it: input [N,6] = ray origin
   (the ray's point nearest the world origin) and unit direction, in world units; the graph normalises the origin by the
   orbit's centre and radius, adds a sin/cos encoding of a few frequencies, runs a few Linear+ReLU
   layers and ends in a Sigmoid giving RGB in 0..1.
3. Exports it with torch.onnx.export (opset 13) and writes metadata the renderer may use: the
   default camera ("brickyard.light_field.camera") of the first held-out view.

Rays follow the convention of renderers/light_field_mlp.h: pixel (x, y) of a WxH image, row 0
on top, looks along normalize(s*(x+0.5-W/2)/f - u*(y+0.5-H/2)/f + fwd) with f = H/2/tan(fov/2),
fwd = normalize(target-eye), s = normalize(fwd x up), u = s x fwd, from the point
eye - dot(eye, d) d, so that rays along the same line from different cameras are one input.

Writes into OUT_DIR: views/*.png, poses.json (every view: eye, target, up, fov, size, split, file,
and the PSNR of the fitted model on it), and NAME.onnx last, so its presence means a finished run.
Seeds are fixed, deterministic algorithms on, one thread: a rerun gives the same weights.

    /usr/bin/python3 scripts/train/light_field.py --cli build/dev/app/brickyard-cli \
        --mesh /usr/share/assimp/models/Collada/duck.dae --out ~/.cache/brickyard/models/light_field/duck
"""
import argparse
import json
import math
import os
import re
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn as nn
from PIL import Image


def parse_camera_line(text):
    m = re.search(r"camera: eye=([-\d.e+]+),([-\d.e+]+),([-\d.e+]+),target=([-\d.e+]+),([-\d.e+]+),([-\d.e+]+),fov=([-\d.e+]+)",
                  text)
    if not m:
        raise SystemExit("brickyard-cli render printed no camera line:\n" + text)
    v = [float(x) for x in m.groups()]
    return np.array(v[0:3]), np.array(v[3:6]), v[6]


def orbit_eye(target, radius, yaw_deg, pitch_deg):
    # Same parameterisation as Camera::orbit (yaw about +Y from +Z, pitch up from the XZ plane).
    yaw, pitch = math.radians(yaw_deg), math.radians(pitch_deg)
    return target + radius * np.array([math.cos(pitch) * math.sin(yaw), math.sin(pitch), math.cos(pitch) * math.cos(yaw)])


def camera_rays(eye, target, up, fov_deg, w, h):
    fwd = target - eye
    fwd = fwd / np.linalg.norm(fwd)
    s = np.cross(fwd, up)
    s = s / np.linalg.norm(s)
    u = np.cross(s, fwd)
    f = 0.5 * h / math.tan(math.radians(fov_deg) * 0.5)
    xs = (np.arange(w) + 0.5 - w / 2) / f
    ys = (np.arange(h) + 0.5 - h / 2) / f
    gx, gy = np.meshgrid(xs, ys)
    d = gx[..., None] * s - gy[..., None] * u + fwd
    d = d / np.linalg.norm(d, axis=-1, keepdims=True)
    # The origin is the ray's point nearest the world origin, so every ray along one line gives
    # the same input whichever camera it came from.
    o = eye - np.sum(eye * d, axis=-1, keepdims=True) * d
    return np.concatenate([o, d], axis=-1).reshape(-1, 6).astype(np.float32)


class LightField(nn.Module):
    def __init__(self, center, radius, freqs, width, depth):
        super().__init__()
        self.register_buffer("shift", torch.tensor(list(center) + [0.0, 0.0, 0.0], dtype=torch.float32))
        self.register_buffer("scale", torch.tensor([1.0 / radius] * 3 + [1.0] * 3, dtype=torch.float32))
        # Frequencies 2^k * pi/2 per coordinate: one [6, 6*L] matrix, so the encoding is one MatMul.
        b = np.zeros((6, 6 * freqs), dtype=np.float32)
        for k in range(freqs):
            for c in range(6):
                b[c, k * 6 + c] = (2.0 ** k) * math.pi / 2
        self.register_buffer("freq", torch.from_numpy(b))
        layers = []
        n_in = 6 + 12 * freqs
        for _ in range(depth):
            layers += [nn.Linear(n_in, width), nn.ReLU()]
            n_in = width
        layers += [nn.Linear(n_in, 3), nn.Sigmoid()]
        self.mlp = nn.Sequential(*layers)

    def forward(self, rays):
        x = (rays - self.shift) * self.scale
        z = torch.matmul(x, self.freq)
        return self.mlp(torch.cat([x, torch.sin(z), torch.cos(z)], dim=1))


def psnr(a, b):
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * math.log10(255.0 ** 2 / mse)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cli", required=True, help="brickyard-cli executable")
    ap.add_argument("--mesh", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--name", default="light_field")
    ap.add_argument("--size", type=int, default=64, help="views are SIZExSIZE")
    ap.add_argument("--freqs", type=int, default=4)
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--depth", type=int, default=3)
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--batch", type=int, default=2048)
    ap.add_argument("--renderer-flag", default="--cpu", help="'--cpu' (CPU reference) or '' (Vulkan)")
    args = ap.parse_args()

    torch.manual_seed(0)
    np.random.seed(0)
    # One thread: on a shared two-core machine a second one mostly waits, and the run stays
    # reproducible bit for bit.
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    out = os.path.abspath(os.path.expanduser(args.out))
    views_dir = os.path.join(out, "views")
    os.makedirs(views_dir, exist_ok=True)
    flag = [args.renderer_flag] if args.renderer_flag else []
    size = f"{args.size}x{args.size}"

    # The renderer's own framing of the mesh gives the orbit's centre and radius.
    probe = subprocess.run([args.cli, "render", args.mesh, "--size", size, "-o", os.path.join(views_dir, "probe.png")] + flag,
                           check=True, capture_output=True, text=True)
    eye0, target, fov = parse_camera_line(probe.stdout)
    os.remove(os.path.join(views_dir, "probe.png"))
    radius = float(np.linalg.norm(eye0 - target))
    up = np.array([0.0, 1.0, 0.0])

    views = []
    for pitch in (-15.0, 5.0, 20.0, 35.0):
        for k in range(24):
            views.append(("train", 15.0 * k, pitch))
    for k in range(8):
        views.append(("test", 7.5 + 45.0 * k, 0.0 if k % 2 == 0 else 22.5))
    t0 = time.time()
    poses = []
    for i, (split, yaw, pitch) in enumerate(views):
        eye = orbit_eye(target, radius, yaw, pitch)
        fname = f"{split}_{i:03d}.png"
        spec = "eye=%.6g,%.6g,%.6g,target=%.6g,%.6g,%.6g,fov=%.6g" % (*eye, *target, fov)
        subprocess.run([args.cli, "render", args.mesh, "--camera", spec, "--size", size, "-o", os.path.join(views_dir, fname)] + flag,
                       check=True, capture_output=True)
        poses.append({"file": "views/" + fname, "split": split, "yaw": yaw, "pitch": pitch, "eye": [float(x) for x in eye],
                      "target": [float(x) for x in target], "up": [0.0, 1.0, 0.0], "fov": fov, "width": args.size,
                      "height": args.size, "camera": spec})
    print(f"rendered {len(poses)} views of {args.mesh} at {size} in {time.time() - t0:.1f} s", flush=True)

    def load(p):
        img = np.asarray(Image.open(os.path.join(out, p["file"])).convert("RGB"))
        rays = camera_rays(np.array(p["eye"]), target, up, fov, args.size, args.size)
        return rays, img

    train = [load(p) for p in poses if p["split"] == "train"]
    rays = torch.from_numpy(np.concatenate([r for r, _ in train]))
    rgb = torch.from_numpy(np.concatenate([im.reshape(-1, 3) for _, im in train]).astype(np.float32) / 255.0)

    model = LightField(target, radius, args.freqs, args.width, args.depth)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, args.steps, eta_min=1e-4)
    gen = torch.Generator().manual_seed(0)
    t0 = time.time()
    for step in range(args.steps):
        idx = torch.randint(0, rays.shape[0], (args.batch,), generator=gen)
        loss = torch.mean((model(rays[idx]) - rgb[idx]) ** 2)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 500 == 0 or step == args.steps - 1:
            print(f"step {step:5d}  loss {loss.item():.5f}  ({time.time() - t0:.0f} s)", flush=True)

    model.eval()
    with torch.no_grad():
        for p in poses:
            r, img = load(p)
            pred = (model(torch.from_numpy(r)).numpy().reshape(img.shape) * 255.0).round().clip(0, 255).astype(np.uint8)
            p["psnr_db"] = round(psnr(pred, img), 2)
    test = [p["psnr_db"] for p in poses if p["split"] == "test"]
    trainp = [p["psnr_db"] for p in poses if p["split"] == "train"]
    print(f"PSNR train mean {np.mean(trainp):.2f} dB, held-out mean {np.mean(test):.2f} dB (min {min(test):.2f})")

    with open(os.path.join(out, "poses.json"), "w") as f:
        json.dump({"mesh": args.mesh, "target": [float(x) for x in target], "radius": radius, "fov": fov,
                   "freqs": args.freqs, "width": args.width, "depth": args.depth, "steps": args.steps,
                   "views": poses}, f, indent=1)

    onnx_path = os.path.join(out, args.name + ".onnx")
    tmp = onnx_path + ".tmp"
    torch.onnx.export(model, torch.zeros(2, 6), tmp, input_names=["rays"], output_names=["rgb"],
                      dynamic_axes={"rays": {0: "N"}, "rgb": {0: "N"}}, opset_version=13, do_constant_folding=True)
    import onnx
    m = onnx.load(tmp)
    first_test = next(p for p in poses if p["split"] == "test")
    for k, v in (("brickyard.light_field.camera", first_test["camera"]), ("brickyard.light_field.source", os.path.basename(args.mesh))):
        e = m.metadata_props.add()
        e.key, e.value = k, v
    onnx.save(m, tmp)
    os.replace(tmp, onnx_path)
    print(f"wrote {onnx_path}")


if __name__ == "__main__":
    sys.exit(main())
