#!/usr/bin/env python3
"""Generate real, distinct JPEG files for kura's benchmarks with libvips' CLI.

Every file is a genuine baseline JPEG (Q=90) cut from a larger synthetic picture
(gaussian noise over a colour gradient); no two files have the same bytes.

Starting a `vips` process per output would take ~0.1 s each, so instead a few
large base pictures are made and each is cut into 100 tiles by ONE
`vips dzsave --depth one` call (it writes the tiles as separate JPEG files).

  gen_images.py big   OUT   [--bases 100] [--folders 10]
        OUT/d00 .. OUT/d09, 1,000 files each: 400x400 px, ~100 KB each, ~1 GB total
  gen_images.py small OUT   [--bases 110]
        OUT/s00000.jpg ..: 80..128 px squares, ~4-20 KB each (110 bases -> 11,000 files)

A file OUT.complete (beside OUT) is written last; when it is there and matches the request,
nothing is done (so data is reused between benchmark runs).
Only the Python standard library and `vips` (libvips-tools) are used.
"""
import argparse
import hashlib
import os
import random
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

TILES_PER_SIDE = 10  # 10 x 10 = 100 tiles per base picture
# bump when a kind's output changes, so that old data sets are regenerated
VERSION = {"big": "v3", "small": "v4"}


def vips(*args):
    # a leading space keeps a negative number from being read as an option
    args = [f" {a}" if str(a).startswith("-") and str(a)[1:2].isdigit() else str(a)
            for a in args]
    subprocess.run(["vips", *args], check=True, stdout=subprocess.DEVNULL)


def make_gradients(tmp, side, count):
    """`count` 3-band float gradient pictures, values roughly 20..230."""
    xy = os.path.join(tmp, f"xy{side}.v")
    vips("xyz", xy, side, side)
    x, y = os.path.join(tmp, f"x{side}.v"), os.path.join(tmp, f"y{side}.v")
    vips("extract_band", xy, x, 0)
    vips("extract_band", xy, y, 1)
    scale = 180.0 / side
    gx, gy = os.path.join(tmp, f"gx{side}.v"), os.path.join(tmp, f"gy{side}.v")
    gxr, gyr = os.path.join(tmp, f"gxr{side}.v"), os.path.join(tmp, f"gyr{side}.v")
    vips("linear", x, gx, scale, 30)
    vips("linear", y, gy, scale, 30)
    vips("linear", x, gxr, -scale, 210)
    vips("linear", y, gyr, -scale, 210)
    combos = [(gx, gy, gxr), (gy, gxr, gx), (gxr, gx, gyr), (gyr, gy, gx),
              (gx, gyr, gy), (gy, gx, gyr)]
    out = []
    for k in range(count):
        g = os.path.join(tmp, f"g{side}_{k}.v")
        vips("bandjoin", " ".join(combos[k % len(combos)]), g)
        out.append(g)
    return out


def make_noise(tmp, side, k, sigma):
    n = os.path.join(tmp, f"n{side}_{k}.v")
    vips("gaussnoise", n, side, side, "--sigma", sigma, "--mean", 0,
         "--seed", 1000 + k)
    return n


def make_base(tmp, i, tile, noise, grad, gains, offsets):
    """One base picture cut into 100 JPEG tiles; returns the tiles' folder."""
    a = os.path.join(tmp, f"a{i}.v")
    b = os.path.join(tmp, f"b{i}.v")
    vips("add", noise, grad, a)
    vips("linear", a, b, " " + " ".join(map(str, gains)),
         " " + " ".join(map(str, offsets)), "--uchar")
    os.unlink(a)
    dz = os.path.join(tmp, f"t{i}")
    vips("dzsave", b, dz, "--tile-size", tile, "--overlap", 0, "--depth", "one",
         "--suffix", ".jpg[Q=90]")
    os.unlink(b)
    return os.path.join(tmp, f"t{i}_files", "0")


def generate(out, kind, bases, folders, jobs):
    marker = os.path.abspath(out) + ".complete"  # beside OUT, not in it
    want = f"{kind} bases={bases} folders={folders} {VERSION[kind]}\n"
    if os.path.exists(marker) and open(marker).read() == want:
        print(f"gen_images: reusing {out}")
        return
    if os.path.exists(out):
        shutil.rmtree(out)
    os.makedirs(out)
    tmp = tempfile.mkdtemp(prefix="kura-gen-", dir=os.path.dirname(os.path.abspath(out)))
    rng = random.Random(42 if kind == "big" else 4242)
    try:
        if kind == "big":
            tiles = [400] * bases
        else:
            tiles = [(80, 96, 112, 128)[i % 4] for i in range(bases)]
        # a few noise and gradient pictures per size, combined with a different
        # per-band gain and offset for every base: every tile is distinct.
        sides = sorted({t * TILES_PER_SIDE for t in tiles})
        grads = {side: make_gradients(tmp, side, 6) for side in sides}
        nnoise = 10
        with ThreadPoolExecutor(max_workers=jobs) as ex:
            futs = {(side, k): ex.submit(
                        make_noise, tmp, side, k,
                        round(29 + 6 * k / (nnoise - 1), 2) if kind == "big"
                        else round(36 + 18 * k / (nnoise - 1), 2))
                    for side in sides for k in range(nnoise)}
            noises = {key: f.result() for key, f in futs.items()}
        params = []
        for i in range(bases):
            side = tiles[i] * TILES_PER_SIDE
            gains = [round(rng.uniform(0.75, 1.1), 3) for _ in range(3)]
            offsets = [round(rng.uniform(-20, 20), 1) for _ in range(3)]
            params.append((tmp, i, tiles[i], noises[(side, i % nnoise)],
                           grads[side][(i // nnoise) % 6], gains, offsets))
        with ThreadPoolExecutor(max_workers=jobs) as ex:
            dirs = list(ex.map(lambda p: make_base(*p), params))
        idx = 0
        per_folder = (bases * TILES_PER_SIDE ** 2) // max(folders, 1)
        for i, d in enumerate(dirs):
            for ty in range(TILES_PER_SIDE):
                for tx in range(TILES_PER_SIDE):
                    src = os.path.join(d, f"{tx}_{ty}.jpg")
                    if kind == "big":
                        sub = os.path.join(out, f"d{idx // per_folder:02d}")
                        os.makedirs(sub, exist_ok=True)
                        dst = os.path.join(sub, f"img_{idx:05d}.jpg")
                    else:
                        dst = os.path.join(out, f"s{idx:05d}.jpg")
                    os.rename(src, dst)
                    idx += 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    # verify: count, distinct bytes, JPEG magic
    seen = set()
    total = 0
    for root, _, files in os.walk(out):
        for f in files:
            p = os.path.join(root, f)
            data = open(p, "rb").read()
            if data[:3] != b"\xff\xd8\xff":
                sys.exit(f"gen_images: {p} is not a JPEG")
            seen.add(hashlib.sha256(data).digest())
            total += len(data)
    count = bases * TILES_PER_SIDE ** 2
    if len(seen) != count:
        sys.exit(f"gen_images: expected {count} distinct files, got {len(seen)}")
    with open(marker, "w") as fh:
        fh.write(want)
    print(f"gen_images: {count} distinct JPEGs, {total} bytes "
          f"({total / count / 1024:.1f} KiB average) in {out}")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("kind", choices=["big", "small"])
    ap.add_argument("out")
    ap.add_argument("--bases", type=int)
    ap.add_argument("--folders", type=int, default=10)
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 2)
    a = ap.parse_args()
    bases = a.bases or (100 if a.kind == "big" else 110)
    generate(a.out, a.kind, bases, a.folders if a.kind == "big" else 0, a.jobs)


if __name__ == "__main__":
    main()
