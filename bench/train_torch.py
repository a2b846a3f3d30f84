#!/usr/bin/python3
"""The classify recipe's reference network in Python (Debian's python3-torch),
trained on the same digits as kura's run in bench/train.sh, for comparison.

  bench/train_torch.py DATA_DIR EPOCHS THREADS SEED [--decode once|per-epoch|raw]

How the images reach the network (--decode):
  once       (default) each PNG that train.jsonl / validation.jsonl name
             (DATA_DIR/repo/) is decoded once with Pillow and resized to 32x32
             with Image.resize(BILINEAR), kept as a uint8 tensor: the same
             work kura does, and the same pixels (kura resamples as Pillow does)
  per-epoch  the training images are decoded again in every epoch, as a
             torch Dataset without a cache does (num_workers=0); validation
             images once
  raw        no PNG: the digits' pixels from DATA_DIR/train_x.u8 etc.
             (bench/digits.py), upscaled with F.interpolate: the baseline the
             earlier figures used, which skips decoding altogether
Prints one JSON line: images_per_second (training loops only), validation
accuracy after the last epoch, peak RSS in bytes, and seconds (whole run,
decode_seconds of which decoding).
"""
import json
import os
import resource
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image


class SmallNet(nn.Module):
    def __init__(self, classes):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(3, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32)
        self.conv2, self.bn2 = nn.Conv2d(32, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64)
        self.conv3, self.bn3 = nn.Conv2d(64, 128, 3, padding=1, bias=False), nn.BatchNorm2d(128)
        self.fc = nn.Linear(128, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        x = F.relu(self.bn3(self.conv3(x)))
        return self.fc(x.mean((2, 3)))


def load_raw(data, name):
    x = torch.frombuffer(bytearray(open(os.path.join(data, name + "_x.u8"), "rb").read()), dtype=torch.uint8)
    y = torch.frombuffer(bytearray(open(os.path.join(data, name + "_y.u8"), "rb").read()), dtype=torch.uint8)
    x = x.view(-1, 1, 20, 20).float()
    # 20x20 grayscale to 32x32 RGB, scaled to [-1, 1] as kura does.
    x = F.interpolate(x, size=(32, 32), mode="bilinear", align_corners=False).clamp(0, 255).round()
    return x.expand(-1, 3, -1, -1).contiguous().div(127.5).sub(1.0), y.long()


def rows(data, name):
    """(image path, label) of each line of a JSONL file, as kura reads it."""
    out = []
    with open(os.path.join(data, "repo", name)) as f:
        for line in f:
            messages = json.loads(line)["messages"]
            url = next(p["image_url"]["url"] for m in messages if m["role"] == "user"
                       for p in m["content"] if p.get("type") == "image_url")
            label = next(m["content"] for m in reversed(messages) if m["role"] == "assistant").strip()
            out.append((os.path.join(data, "repo", url), label))
    return out


def decode(paths):
    """uint8 N x 3 x 32 x 32, as kura decodes (Pillow's bilinear resize)."""
    out = np.empty((len(paths), 3, 32, 32), dtype=np.uint8)
    for i, p in enumerate(paths):
        with Image.open(p) as im:
            if im.mode not in ("L", "RGB"):
                im = im.convert("RGB")
            a = np.asarray(im.resize((32, 32), Image.BILINEAR))
        out[i] = a if a.ndim == 3 and a.shape[0] == 3 else (a.transpose(2, 0, 1) if a.ndim == 3 else a[None])
    return torch.from_numpy(out)


def to_float(u8):
    return u8.float().div_(127.5).sub_(1.0)


def main():
    args = sys.argv[1:]
    mode = "once"
    if "--decode" in args:
        i = args.index("--decode")
        mode = args[i + 1]
        del args[i:i + 2]
    if mode not in ("once", "per-epoch", "raw") or len(args) != 4:
        sys.exit("usage: train_torch.py DATA_DIR EPOCHS THREADS SEED [--decode once|per-epoch|raw]")
    data, epochs, threads, seed = args[0], int(args[1]), int(args[2]), int(args[3])
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    start = time.monotonic()
    decode_seconds = 0.0
    if mode == "raw":
        train_x, train_y = load_raw(data, "train")
        val_x, val_y = load_raw(data, "val")
    else:
        t = time.monotonic()
        train_rows, val_rows = rows(data, "train.jsonl"), rows(data, "validation.jsonl")
        labels = sorted({label for _, label in train_rows})
        index = {label: i for i, label in enumerate(labels)}
        train_paths = [p for p, _ in train_rows]
        train_y = torch.tensor([index[label] for _, label in train_rows])
        val_y = torch.tensor([index[label] for _, label in val_rows])
        val_x = to_float(decode([p for p, _ in val_rows]))
        train_x = to_float(decode(train_paths)) if mode == "once" else None
        decode_seconds += time.monotonic() - t
    model = SmallNet(10)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(seed)
    train_seconds, images, accuracy = 0.0, 0, 0.0
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(train_y), generator=g)
        t = time.monotonic()
        for at in range(0, len(order), 32):
            idx = order[at:at + 32]
            if len(idx) < 2:
                break
            if train_x is None:
                d = time.monotonic()
                x = to_float(decode([train_paths[i] for i in idx.tolist()]))
                decode_seconds += time.monotonic() - d
            else:
                x = train_x[idx]
            y = train_y[idx]
            opt.zero_grad()
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            loss.backward()
            opt.step()
            # kura reads the loss and the number right each batch for its progress line.
            loss.item(), logits.argmax(1).eq(y).sum().item()
            images += len(idx)
        train_seconds += time.monotonic() - t
        model.eval()
        with torch.no_grad():
            correct = 0
            for at in range(0, len(val_y), 256):
                correct += model(val_x[at:at + 256]).argmax(1).eq(val_y[at:at + 256]).sum().item()
        accuracy = correct / len(val_y)
    print(json.dumps({"images_per_second": images / train_seconds, "validation_accuracy": accuracy,
                      "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                      "seconds": time.monotonic() - start, "decode_seconds": decode_seconds, "decode": mode}))


if __name__ == "__main__":
    main()
