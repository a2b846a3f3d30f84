#!/usr/bin/env python3
"""Cuts opencv-doc's digits.png (5,000 handwritten digits, 20x20 each, 500 per
class, five rows of 100 per digit) into a labelled data set for bench/train.sh:

  OUT/digits/<label>/<n>.png     one grayscale PNG per digit
  OUT/train.jsonl                OpenAI vision chat rows naming the images by path
  OUT/validation.jsonl           (columns 0-79 of each row train, 80-99 validate)
  OUT/digits.npz-like raw files  train_x.u8 / train_y.u8 / val_x.u8 / val_y.u8 for
                                 the Python side (N x 20 x 20 bytes, N labels)

  bench/digits.py RAW OUT [PER_CLASS_TRAIN PER_CLASS_VAL]

RAW is digits.png as raw bytes (`vips rawsave digits.png RAW`): 2000 x 1000, one band.
"""
import json
import os
import struct
import sys
import zlib

W, H, S = 2000, 1000, 20


def png(tile):
    raw = b"".join(b"\x00" + tile[y * S:(y + 1) * S] for y in range(S))

    def chunk(kind, data):
        c = kind + data
        return struct.pack(">I", len(data)) + c + struct.pack(">I", zlib.crc32(c) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", S, S, 8, 0, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def main():
    raw_path, out = sys.argv[1], sys.argv[2]
    per_train = int(sys.argv[3]) if len(sys.argv) > 3 else 400
    per_val = int(sys.argv[4]) if len(sys.argv) > 4 else 100
    data = open(raw_path, "rb").read()
    assert len(data) == W * H, "expected 2000x1000 one-band raw bytes"
    splits = {"train": ([], [], []), "validation": ([], [], [])}
    for label in range(10):
        os.makedirs(os.path.join(out, "digits", str(label)), exist_ok=True)
        for k in range(500):
            row, col = label * 5 + k // 100, k % 100
            tile = b"".join(data[(row * S + y) * W + col * S:(row * S + y) * W + col * S + S] for y in range(S))
            which = "train" if col < 80 else "validation"
            limit = per_train if which == "train" else per_val
            used = len([1 for l in splits[which][1] if l == label])
            if used >= limit:
                continue
            name = "digits/%d/%04d.png" % (label, k)
            with open(os.path.join(out, name), "wb") as f:
                f.write(png(tile))
            splits[which][0].append(tile)
            splits[which][1].append(label)
            splits[which][2].append(name)
    for which, (tiles, labels, names) in splits.items():
        with open(os.path.join(out, which + ".jsonl"), "w") as f:
            for name, label in zip(names, labels):
                f.write(json.dumps({"messages": [
                    {"role": "user", "content": [{"type": "text", "text": "Which digit is this?"},
                                                 {"type": "image_url", "image_url": {"url": name}}]},
                    {"role": "assistant", "content": str(label)}]}) + "\n")
        short = "val" if which == "validation" else "train"
        with open(os.path.join(out, "..", short + "_x.u8"), "wb") as f:
            f.write(b"".join(tiles))
        with open(os.path.join(out, "..", short + "_y.u8"), "wb") as f:
            f.write(bytes(labels))


if __name__ == "__main__":
    main()
