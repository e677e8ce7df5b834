#!/usr/bin/python3
"""Bakes a MobileNeRF-form neural scene (meshes + feature textures + tiny MLP) of a real mesh.

MobileNeRF learns its polygons and features from photographs with a differentiable renderer. Here
the geometry is known (the Collada duck), so only the appearance is learned, from the same
multi-view renders the duck light field was fitted to (scripts/train/light_field.py, views/ and
poses.json in --views):

1. Reads the duck's triangles from the Collada file (positions scaled by its <unit>; the result is
   checked against the orbit centre in poses.json, i.e. the renderer's own framing of the mesh).
2. Rasterises every view (the renderers' pinhole and pixel centres, renderers/light_field_mlp.h):
   which triangle each pixel sees and where (perspective-correct barycentrics).
3. Fits, with PyTorch, a feature field of 8 channels over the surface (per-vertex features shared
   across triangles plus a per-triangle linear correction, in logit space) and the MobileNeRF MLP
   (8 features + view direction -> 16 -> 16 -> 3, ReLU, sigmoid) to the pixels' colours.
4. Bakes the field into texture patches: two triangles per square cell of an atlas, each owning
   the texels on its side of the diagonal (no texel is shared, so nearest sampling never reads the
   neighbour's features), every texel the field at its centre's barycentrics. Features become
   bytes as MobileNeRF stores them (feature 0 >= 1 so nothing is empty, alpha bytes as a/2 + 128).
5. Fine-tunes the MLP on the features the renderer will actually read (nearest texel, decoded
   bytes), then reports PSNR on the held-out views with that exact rule.

Writes into OUT_DIR, in the layout MobileNeRF exports for its viewer (docs/baked_nerf.md):
shape0.obj, shape0.pngfeat0.png, shape0.pngfeat1.png, report.json and mlp.json last, so its
presence means a finished run. Seeds fixed, one thread, deterministic algorithms.

    /usr/bin/python3 scripts/train/baked_nerf.py --mesh /usr/share/assimp/models/Collada/duck.dae \
        --views ~/.cache/brickyard/models/light_field/duck --out ~/.cache/brickyard/models/baked_nerf/duck
"""
import argparse
import json
import math
import os
import sys
import time
import xml.etree.ElementTree as ET

import numpy as np
import torch
import torch.nn as nn
from PIL import Image

BACKGROUND = np.array([0.1, 0.1, 0.12])  # RenderView's default background, what the views show where nothing is


def read_collada_triangles(path):
    """World-space triangles of a Collada file whose nodes carry no transforms but its <unit>."""
    root = ET.parse(path).getroot()
    ns = root.tag[1:root.tag.index("}")] if root.tag.startswith("{") else ""
    q = (lambda t: "{%s}%s" % (ns, t)) if ns else (lambda t: t)
    unit = root.find(".//" + q("asset") + "/" + q("unit"))
    scale = float(unit.get("meter", "1")) if unit is not None else 1.0
    up = root.find(".//" + q("asset") + "/" + q("up_axis"))
    if up is not None and up.text.strip() != "Y_UP":
        raise SystemExit(f"{path}: only Y_UP Collada files are read here")
    for node in root.iter(q("node")):
        for t in ("matrix", "translate", "scale"):
            for el in node.findall(q(t)):
                vals = [float(x) for x in el.text.split()]
                identity = {"matrix": [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1], "translate": [0, 0, 0], "scale": [1, 1, 1]}[t]
                if node.find(".//" + q("instance_geometry")) is not None and vals != identity:
                    raise SystemExit(f"{path}: node {node.get('id')} has a {t}; only untransformed geometry is read here")
        for el in node.findall(q("rotate")):
            if node.find(".//" + q("instance_geometry")) is not None and abs(float(el.text.split()[3])) > 1e-9:
                raise SystemExit(f"{path}: node {node.get('id')} is rotated; only untransformed geometry is read here")
    positions, tris = [], []
    for mesh in root.iter(q("mesh")):
        sources = {s.get("id"): s for s in mesh.findall(q("source"))}
        verts = mesh.find(q("vertices"))
        pos_src = verts.find(q("input") + "[@semantic='POSITION']").get("source")[1:]
        arr = np.array(sources[pos_src].find(q("float_array")).text.split(), dtype=np.float64).reshape(-1, 3) * scale
        base = sum(len(p) for p in positions)
        positions.append(arr)
        for prim in list(mesh.findall(q("polylist"))) + list(mesh.findall(q("triangles"))):
            inputs = prim.findall(q("input"))
            stride = max(int(i.get("offset")) for i in inputs) + 1
            voff = int(next(i for i in inputs if i.get("semantic") == "VERTEX").get("offset"))
            p = np.array(prim.find(q("p")).text.split(), dtype=np.int64).reshape(-1, stride)[:, voff]
            vc = prim.find(q("vcount"))
            counts = [int(x) for x in vc.text.split()] if vc is not None else [3] * (len(p) // 3)
            at = 0
            for n in counts:
                poly = p[at:at + n]
                at += n
                for k in range(1, n - 1):  # fan, as the importer triangulates convex polygons
                    tris.append((base + poly[0], base + poly[k], base + poly[k + 1]))
    return np.concatenate(positions), np.array(tris, dtype=np.int64)


def camera_rays(eye, target, up, fov_deg, w, h):
    """Unit directions of every pixel (row-major), the renderers' pinhole."""
    fwd = target - eye
    fwd = fwd / np.linalg.norm(fwd)
    s = np.cross(fwd, up)
    s = s / np.linalg.norm(s)
    u = np.cross(s, fwd)
    f = 0.5 * h / math.tan(math.radians(fov_deg) * 0.5)
    gx, gy = np.meshgrid((np.arange(w) + 0.5 - w / 2) / f, (np.arange(h) + 0.5 - h / 2) / f)
    d = gx[..., None] * s - gy[..., None] * u + fwd
    return (d / np.linalg.norm(d, axis=-1, keepdims=True)).reshape(-1, 3)


def rasterise(pos, tris, eye, target, up, fov_deg, w, h):
    """Which triangle each pixel centre sees (-1 for none) and where (perspective-correct
    barycentrics): the renderers' pinhole and pixel centres, nearest surface wins. Vectorised over
    (triangle, pixel-in-its-bounding-box) pairs, which stays small because the views are small."""
    fwd = target - eye
    fwd = fwd / np.linalg.norm(fwd)
    s = np.cross(fwd, up)
    s = s / np.linalg.norm(s)
    u = np.cross(s, fwd)
    f = 0.5 * h / math.tan(math.radians(fov_deg) * 0.5)
    r = pos - eye
    z = r @ fwd
    if (z[np.unique(tris)] <= 1e-6).any():
        raise SystemExit("a view's camera is inside the mesh's extent; only views that see all of it are handled")
    sx = w / 2 + f * (r @ s) / z
    sy = h / 2 - f * (r @ u) / z
    X, Y, Z = sx[tris], sy[tris], z[tris]  # [T,3]
    x0 = np.clip(np.floor(X.min(1) - 0.5), 0, w - 1).astype(np.int64)
    x1 = np.clip(np.ceil(X.max(1) - 0.5), 0, w - 1).astype(np.int64)
    y0 = np.clip(np.floor(Y.min(1) - 0.5), 0, h - 1).astype(np.int64)
    y1 = np.clip(np.ceil(Y.max(1) - 0.5), 0, h - 1).astype(np.int64)
    kx, ky = int((x1 - x0).max()) + 1, int((y1 - y0).max()) + 1
    oy, ox = np.meshgrid(np.arange(ky), np.arange(kx), indexing="ij")
    tid = np.repeat(np.arange(len(tris)), kx * ky)
    px = (x0[:, None] + ox.reshape(1, -1)).reshape(-1)
    py = (y0[:, None] + oy.reshape(1, -1)).reshape(-1)
    keep = (px <= x1[tid]) & (py <= y1[tid])
    tid, px, py = tid[keep], px[keep], py[keep]
    cx, cy = px + 0.5, py + 0.5
    Xt, Yt = X[tid], Y[tid]
    area = (Xt[:, 1] - Xt[:, 0]) * (Yt[:, 2] - Yt[:, 0]) - (Yt[:, 1] - Yt[:, 0]) * (Xt[:, 2] - Xt[:, 0])
    ok = np.abs(area) > 1e-12
    inv = np.where(ok, 1.0 / np.where(ok, area, 1.0), 0.0)
    b0 = ((Xt[:, 1] - cx) * (Yt[:, 2] - cy) - (Yt[:, 1] - cy) * (Xt[:, 2] - cx)) * inv
    b1 = ((Xt[:, 2] - cx) * (Yt[:, 0] - cy) - (Yt[:, 2] - cy) * (Xt[:, 0] - cx)) * inv
    b2 = 1.0 - b0 - b1
    inside = ok & (b0 >= 0) & (b1 >= 0) & (b2 >= 0)
    tid, px, py, b = tid[inside], px[inside], py[inside], np.stack([b0, b1, b2], 1)[inside]
    iz = b / Z[tid]  # screen-space weights over view depth: perspective-correct after normalising
    invdepth = iz.sum(1)
    bary = iz / invdepth[:, None]
    pix = py * w + px
    order = np.lexsort((-invdepth, pix))  # per pixel, the nearest (largest 1/z) first
    pix, tid, bary = pix[order], tid[order], bary[order]
    first = np.ones(len(pix), dtype=bool)
    first[1:] = pix[1:] != pix[:-1]
    tri_id = np.full(w * h, -1, dtype=np.int64)
    out_bary = np.zeros((w * h, 3))
    tri_id[pix[first]] = tid[first]
    out_bary[pix[first]] = bary[first]
    return tri_id, out_bary


def mlp_dirs(d):
    # The meshes are Y-up; MobileNeRF's MLP takes the direction Z-up: (x, -z, y).
    return np.stack([d[:, 0], -d[:, 2], d[:, 1]], -1)


class FeatureField(nn.Module):
    """8 feature logits over the surface: per-vertex values interpolated across each triangle plus
    a per-triangle linear correction (its own value at each corner)."""

    def __init__(self, nverts, ntris, tris):
        super().__init__()
        self.register_buffer("tris", torch.from_numpy(tris))
        self.vert = nn.Parameter(torch.zeros(nverts, 8))
        self.corner = nn.Parameter(torch.zeros(ntris, 3, 8))

    def forward(self, tri, bary):
        v = self.vert[self.tris[tri]] + self.corner[tri]  # [N,3,8]
        return (v * bary[..., None]).sum(1)


def features_from_logits(z):
    """Features in 0..1 as the renderer decodes them; feature 0 kept above 0 (0 means empty)."""
    f = torch.sigmoid(z)
    return torch.cat([f[:, :1] * (254.0 / 255.0) + 1.0 / 255.0, f[:, 1:]], 1)


def make_mlp():
    return nn.Sequential(nn.Linear(11, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 3))


def psnr(a, b):
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * math.log10(255.0 ** 2 / mse)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mesh", required=True)
    ap.add_argument("--views", required=True, help="folder with poses.json and views/ (scripts/train/light_field.py)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--cell", type=int, default=8, help="texels per side of a two-triangle atlas cell")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--finetune-steps", type=int, default=1500)
    ap.add_argument("--batch", type=int, default=4096)
    args = ap.parse_args()

    torch.manual_seed(0)
    np.random.seed(0)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    out = os.path.abspath(os.path.expanduser(args.out))
    views_dir = os.path.abspath(os.path.expanduser(args.views))
    os.makedirs(out, exist_ok=True)
    if not os.path.isfile(os.path.join(views_dir, "poses.json")):
        raise SystemExit(f"{views_dir}/poses.json is missing: the views come from scripts/train/light_field.py "
                         "(scripts/build_models.sh runs it first)")
    with open(os.path.join(views_dir, "poses.json")) as f:
        poses = json.load(f)

    pos, tris = read_collada_triangles(args.mesh)
    used = np.unique(tris)
    lo, hi = pos[used].min(0), pos[used].max(0)
    centre = (lo + hi) / 2
    if np.abs(centre - np.array(poses["target"])).max() > 1e-3 * max(1.0, float(np.abs(hi - lo).max())):
        raise SystemExit(f"the mesh's centre {centre} is not the views' orbit centre {poses['target']}: "
                         "the triangles read here are not the ones the views show")
    print(f"{args.mesh}: {len(tris)} triangles, {len(pos)} vertices", flush=True)

    t0 = time.time()
    data = {"train": [], "test": []}
    for p in poses["views"]:
        img = np.asarray(Image.open(os.path.join(views_dir, p["file"])).convert("RGB"))
        dirs = camera_rays(np.array(p["eye"]), np.array(p["target"]), np.array(p["up"]), p["fov"], p["width"], p["height"])
        tri_id, bary = rasterise(pos, tris, np.array(p["eye"]), np.array(p["target"]), np.array(p["up"]), p["fov"], p["width"],
                                 p["height"])
        data[p["split"]].append({"pose": p, "img": img, "tri": tri_id, "bary": bary, "dirs": mlp_dirs(dirs)})
    print(f"rasterised {len(poses['views'])} views in {time.time() - t0:.1f} s", flush=True)

    def gather(split):
        rows = [(v["tri"], v["bary"], v["dirs"], v["img"].reshape(-1, 3)) for v in data[split]]
        tri = np.concatenate([r[0] for r in rows])
        m = tri >= 0
        return (torch.from_numpy(tri[m]), torch.from_numpy(np.concatenate([r[1] for r in rows])[m]).float(),
                torch.from_numpy(np.concatenate([r[2] for r in rows])[m]).float(),
                torch.from_numpy(np.concatenate([r[3] for r in rows])[m].astype(np.float32) / 255.0))

    tri, bary, dirs, rgb = gather("train")
    print(f"{len(tri)} training pixels on the surface", flush=True)
    field = FeatureField(len(pos), len(tris), tris)
    mlp = make_mlp()
    opt = torch.optim.Adam([{"params": field.parameters(), "lr": 5e-2}, {"params": mlp.parameters(), "lr": 5e-3}])
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, args.steps, eta_min=1e-4)
    gen = torch.Generator().manual_seed(0)
    t0 = time.time()
    for step in range(args.steps):
        idx = torch.randint(0, len(tri), (args.batch,), generator=gen)
        feats = features_from_logits(field(tri[idx], bary[idx]))
        pred = torch.sigmoid(mlp(torch.cat([feats, dirs[idx]], 1)))
        # The per-triangle corrections are decayed so unseen corners stay near the shared field.
        loss = torch.mean((pred - rgb[idx]) ** 2) + 1e-4 * torch.mean(field.corner ** 2)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 500 == 0 or step == args.steps - 1:
            print(f"step {step:5d}  loss {loss.item():.5f}  ({time.time() - t0:.0f} s)", flush=True)

    # Atlas: cell k holds triangles 2k (texels on or below the diagonal, column <= row) and 2k+1
    # (texels above it). UV corners sit on texel centres so a triangle's footprint only covers texels it owns.
    c = args.cell
    ncells = (len(tris) + 1) // 2
    size = 64
    while (size // c) ** 2 < ncells:
        size *= 2
    per_row = size // c
    corners_lo = np.array([[0.5, 0.5], [0.5, c - 0.5], [c - 0.5, c - 0.5]])   # x (column), y (row) in the cell
    corners_hi = np.array([[1.5, 0.5], [c - 0.5, 0.5], [c - 0.5, c - 1.5]])
    uv_px = np.zeros((len(tris), 3, 2))
    for t in range(len(tris)):
        k = t // 2
        origin = np.array([(k % per_row) * c, (k // per_row) * c], dtype=np.float64)
        uv_px[t] = origin + (corners_lo if t % 2 == 0 else corners_hi)
    # Every texel of every cell: its owner and its centre's barycentrics in the owner's UV triangle.
    jj, ii = np.meshgrid(np.arange(c), np.arange(c), indexing="ij")  # jj: row, ii: column in the cell
    owner_hi = (ii > jj).reshape(-1)
    texel_tri, texel_xy, texel_bary = [], [], []
    for k in range(ncells):
        origin = np.array([(k % per_row) * c, (k // per_row) * c])
        for hi_side in (False, True):
            t = 2 * k + (1 if hi_side else 0)
            if t >= len(tris):
                continue
            sel = owner_hi == hi_side
            xy = np.stack([ii.reshape(-1)[sel], jj.reshape(-1)[sel]], -1) + origin
            a, b, cc = uv_px[t]
            m = np.array([[b[0] - a[0], cc[0] - a[0]], [b[1] - a[1], cc[1] - a[1]]])
            l12 = np.linalg.solve(m, (xy + 0.5 - a).T).T
            bc = np.clip(np.concatenate([1 - l12.sum(1, keepdims=True), l12], 1), 0, None)
            texel_tri.append(np.full(len(xy), t))
            texel_xy.append(xy)
            texel_bary.append(bc / bc.sum(1, keepdims=True))
    texel_tri = torch.from_numpy(np.concatenate(texel_tri))
    texel_xy = np.concatenate(texel_xy)
    texel_bary = torch.from_numpy(np.concatenate(texel_bary)).float()
    with torch.no_grad():
        f = features_from_logits(field(texel_tri, texel_bary)).numpy()
    tex = np.zeros((size, size, 8), dtype=np.uint8)
    q = np.clip(np.round(f * 255.0), 0, 255)
    q[:, 0] = np.maximum(q[:, 0], 1)
    # Alpha channels (features 3 and 7) as MobileNeRF's phone export stores them: a/2 + 128, read
    # back as 2*byte/255 - 1; here the byte is chosen so that the decoded value is nearest f.
    for ch in (3, 7):
        q[:, ch] = np.clip(np.round((f[:, ch] + 1.0) * 127.5), 128, 255)
    tex[texel_xy[:, 1], texel_xy[:, 0]] = q.astype(np.uint8)

    def decode(texels):
        d = texels.astype(np.float32) / 255.0
        d[:, 3] = d[:, 3] * 2 - 1
        d[:, 7] = d[:, 7] * 2 - 1
        return d

    def sampled_features(tri_np, bary_np):
        # What the renderer reads: the UV the rasteriser interpolates, the nearest texel, decoded.
        uv = (uv_px[tri_np] * bary_np[..., None]).sum(1) / size  # 0..1, v down
        x = np.clip(np.floor(uv[:, 0] * size), 0, size - 1).astype(np.int64)
        y = np.clip(np.floor(uv[:, 1] * size), 0, size - 1).astype(np.int64)
        return decode(tex[y, x])

    sf = torch.from_numpy(sampled_features(tri.numpy(), bary.numpy().astype(np.float64)))
    opt = torch.optim.Adam(mlp.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(args.finetune_steps, 1), eta_min=1e-4)
    for step in range(args.finetune_steps):
        idx = torch.randint(0, len(tri), (args.batch,), generator=gen)
        loss = torch.mean((torch.sigmoid(mlp(torch.cat([sf[idx], dirs[idx]], 1))) - rgb[idx]) ** 2)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    print(f"fine-tuned the MLP on the baked bytes: loss {loss.item():.5f}", flush=True)

    report = {"mesh": args.mesh, "views": views_dir, "triangles": int(len(tris)), "texture": size, "cell": c, "views_psnr": []}
    bg = np.round(BACKGROUND * 255).astype(np.uint8)
    with torch.no_grad():
        for split in ("train", "test"):
            for v in data[split]:
                img = v["img"]
                pred = np.tile(bg, (img.shape[0] * img.shape[1], 1))
                m = v["tri"] >= 0
                feats = torch.from_numpy(sampled_features(v["tri"][m], v["bary"][m]))
                rgbp = torch.sigmoid(mlp(torch.cat([feats, torch.from_numpy(v["dirs"][m]).float()], 1))).numpy()
                pred[m] = np.clip(np.round(rgbp * 255), 0, 255).astype(np.uint8)
                pred = pred.reshape(img.shape)
                report["views_psnr"].append({"file": v["pose"]["file"], "split": split, "camera": v["pose"]["camera"],
                                             "psnr_db": round(psnr(pred, img), 2),
                                             "surface_psnr_db": round(psnr(pred.reshape(-1, 3)[m], img.reshape(-1, 3)[m]), 2)})
    for split in ("train", "test"):
        s = [r["psnr_db"] for r in report["views_psnr"] if r["split"] == split]
        fs = [r["surface_psnr_db"] for r in report["views_psnr"] if r["split"] == split]
        report[split + "_psnr_mean_db"] = round(float(np.mean(s)), 2)
        report[split + "_surface_psnr_mean_db"] = round(float(np.mean(fs)), 2)
        print(f"PSNR {split}: mean {np.mean(s):.2f} dB (min {min(s):.2f}); surface pixels only {np.mean(fs):.2f} dB")

    # OBJ: Y-up positions as the renderer draws the mesh; vt v up (OBJ convention, 1 - row/size).
    with open(os.path.join(out, "shape0.obj"), "w") as f:
        f.write(f"# baked from {os.path.basename(args.mesh)} by scripts/train/baked_nerf.py\n")
        for t in range(len(tris)):
            for k in range(3):
                p = pos[tris[t, k]]
                f.write("v %.6f %.6f %.6f\n" % (p[0], p[1], p[2]))
            for k in range(3):
                f.write("vt %.6f %.6f\n" % (uv_px[t, k, 0] / size, 1.0 - uv_px[t, k, 1] / size))
        for t in range(len(tris)):
            a = 3 * t + 1
            f.write(f"f {a}/{a} {a + 1}/{a + 1} {a + 2}/{a + 2}\n")
    Image.fromarray(tex[:, :, 0:4], "RGBA").save(os.path.join(out, "shape0.pngfeat0.png"))
    Image.fromarray(tex[:, :, 4:8], "RGBA").save(os.path.join(out, "shape0.pngfeat1.png"))
    with open(os.path.join(out, "report.json"), "w") as f:
        json.dump(report, f, indent=1)
    layers = [mlp[0], mlp[2], mlp[4]]
    params = {}
    for i, l in enumerate(layers):
        # [in][out], as MobileNeRF's export writes its dense kernels.
        params[f"{i}_weights"] = l.weight.detach().numpy().T.astype(float).tolist()
        params[f"{i}_bias"] = l.bias.detach().numpy().astype(float).tolist()
    params["obj_num"] = 1
    tmp = os.path.join(out, "mlp.json.tmp")
    with open(tmp, "w") as f:
        json.dump(params, f)
    os.replace(tmp, os.path.join(out, "mlp.json"))
    print(f"wrote {out}/mlp.json (texture {size}x{size}, {c}x{c} texels per two triangles)")


if __name__ == "__main__":
    sys.exit(main())
