#!/usr/bin/env python3
"""Write N small files with distinct content into ONE folder (stdlib only).

  gen_many.py OUT [--count 100000] [--size 100]

OUT/f000000.txt .. : `size` bytes each, every file different. A file
OUT/../<name>.complete marks a finished set, which is then reused.
"""
import argparse
import hashlib
import os
import shutil


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--count", type=int, default=100000)
    ap.add_argument("--size", type=int, default=100)
    a = ap.parse_args()
    out = os.path.abspath(a.out)
    marker = out + ".complete"
    want = f"count={a.count} size={a.size} v1\n"
    if os.path.exists(marker) and open(marker).read() == want:
        print(f"gen_many: reusing {out}")
        return
    if os.path.exists(marker):
        os.unlink(marker)
    if os.path.exists(out):
        shutil.rmtree(out)
    os.makedirs(out)
    width = len(str(a.count - 1))
    for i in range(a.count):
        head = f"record {i:0{width}d} "
        pad = hashlib.sha256(str(i).encode()).hexdigest() * (a.size // 64 + 1)
        body = (head + pad)[: a.size - 1] + "\n"
        with open(os.path.join(out, f"f{i:0{width}d}.txt"), "w") as fh:
            fh.write(body)
    with open(marker, "w") as fh:
        fh.write(want)
    print(f"gen_many: {a.count} files of {a.size} bytes in {out}")


if __name__ == "__main__":
    main()
