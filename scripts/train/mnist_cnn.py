#!/usr/bin/python3
"""Trains the small image CNN shipped in the demo project, on MNIST or Fashion-MNIST.

Offline and reproducible: the IDX files come from the asset cache (MNIST, fetched by
scripts/setup.sh) or Debian's dataset-fashion-mnist; seeds are fixed, deterministic algorithms are
on and the thread count is pinned, so a rerun on the same machine gives the same weights.

Writes one .npy per parameter (PyTorch layouts: conv weight [out,in,kh,kw], linear weight
[out,in]) and config.json (architecture, input scaling, the test accuracy measured here) into
OUT_DIR. brickyard-cli build-model turns that folder into ONNX / safetensors with the project's
own writers.

    /usr/bin/python3 scripts/train/mnist_cnn.py --dataset mnist --out DIR
"""
import argparse
import gzip
import hashlib
import json
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

CLASS_NAMES = {
    "mnist": [str(i) for i in range(10)],
    "fashion-mnist": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                      "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
}
DEFAULT_DIRS = {
    "mnist": os.path.join(os.environ.get("BRICKYARD_CACHE", os.path.expanduser("~/.cache/brickyard")),
                          "data", "mnist"),
    "fashion-mnist": "/usr/share/datasets/fashion-mnist",
}
# Epochs chosen so each run takes a few minutes on two cores.
DEFAULT_EPOCHS = {"mnist": 3, "fashion-mnist": 5}


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        raise SystemExit(f"{path}: not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    return arr.reshape(dims)


def find_idx(directory, stem):
    for name in (stem, stem + ".gz"):
        p = os.path.join(directory, name)
        if os.path.exists(p):
            return p
    raise SystemExit(f"{directory}: no {stem}[.gz]; run scripts/setup.sh")


def load_split(directory, split):
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(find_idx(directory, f"{prefix}-images-idx3-ubyte"))
    labels = read_idx(find_idx(directory, f"{prefix}-labels-idx1-ubyte"))
    assert images.shape[0] == labels.shape[0]
    # Model input: pixels scaled to [0, 1], NCHW with one channel.
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    y = torch.from_numpy(labels.astype(np.int64))
    return x, y


class SmallCnn(nn.Module):
    """conv3x3(16)-relu-maxpool2, conv3x3(32)-relu-maxpool2, fc(128)-relu, fc(10)."""

    def __init__(self, c1=16, c2=32, hidden=128, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, c1, 3, padding=1)
        self.conv2 = nn.Conv2d(c1, c2, 3, padding=1)
        self.fc1 = nn.Linear(c2 * 7 * 7, hidden)
        self.fc2 = nn.Linear(hidden, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc2(F.relu(self.fc1(x)))


def evaluate(model, x, y, batch=1000):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, x.shape[0], batch):
            correct += (model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    return correct / x.shape[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dataset", choices=sorted(CLASS_NAMES), default="mnist")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--out", required=True)
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(args.threads)
    epochs = args.epochs or DEFAULT_EPOCHS[args.dataset]
    data_dir = args.data_dir or DEFAULT_DIRS[args.dataset]

    x_train, y_train = load_split(data_dir, "train")
    x_test, y_test = load_split(data_dir, "test")

    model = SmallCnn()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(args.seed)
    batch = 64
    start = time.time()
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(x_train.shape[0], generator=gen)
        total = 0.0
        for i in range(0, x_train.shape[0], batch):
            idx = order[i:i + batch]
            opt.zero_grad()
            loss = F.cross_entropy(model(x_train[idx]), y_train[idx])
            loss.backward()
            opt.step()
            total += loss.item() * idx.shape[0]
        acc = evaluate(model, x_test, y_test)
        print(f"{args.dataset} epoch {epoch + 1}/{epochs}: loss {total / x_train.shape[0]:.4f}, "
              f"test accuracy {acc * 100:.2f}% ({time.time() - start:.0f} s)", flush=True)

    test_acc = evaluate(model, x_test, y_test)
    os.makedirs(args.out, exist_ok=True)
    digest = hashlib.sha256()
    params = {}
    for name, p in model.state_dict().items():
        arr = p.detach().numpy().astype(np.float32)
        np.save(os.path.join(args.out, name + ".npy"), arr)
        digest.update(name.encode() + arr.tobytes())
        params[name] = list(arr.shape)
    config = {
        "architecture": "small_cnn",
        "dataset": args.dataset,
        "layers": [
            {"op": "conv", "weight": "conv1.weight", "bias": "conv1.bias", "pad": 1},
            {"op": "relu"}, {"op": "maxpool", "kernel": 2, "stride": 2},
            {"op": "conv", "weight": "conv2.weight", "bias": "conv2.bias", "pad": 1},
            {"op": "relu"}, {"op": "maxpool", "kernel": 2, "stride": 2},
            {"op": "flatten"},
            {"op": "linear", "weight": "fc1.weight", "bias": "fc1.bias"},
            {"op": "relu"},
            {"op": "linear", "weight": "fc2.weight", "bias": "fc2.bias"},
        ],
        "parameters": params,
        "input": {"name": "image", "shape": [1, 28, 28], "scale": 1.0 / 255.0, "mean": 0.0, "std": 1.0},
        "output": {"name": "logits", "classes": 10},
        "class_names": CLASS_NAMES[args.dataset],
        "training": {"epochs": epochs, "batch": batch, "optimizer": "adam", "lr": 1e-3,
                     "seed": args.seed, "threads": args.threads, "torch": torch.__version__,
                     "seconds": round(time.time() - start, 1)},
        "test_accuracy": test_acc,
        "test_samples": int(x_test.shape[0]),
        "weights_sha256": digest.hexdigest(),
    }
    # config.json last: its presence marks a complete training run (setup.sh checks it).
    tmp = os.path.join(args.out, "config.json.tmp")
    with open(tmp, "w") as f:
        json.dump(config, f, indent=2)
    os.replace(tmp, os.path.join(args.out, "config.json"))
    print(f"{args.dataset}: test accuracy {test_acc * 100:.2f}%, weights in {args.out}")


if __name__ == "__main__":
    sys.exit(main())
