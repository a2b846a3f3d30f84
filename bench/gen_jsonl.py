#!/usr/bin/env python3
"""Write the JSONL versions for kura's table benchmark (Python stdlib only).

  gen_jsonl.py IMAGES_DIR OUT_DIR [--rows 20000] [--versions 10] [--change 0.01]

IMAGES_DIR holds small JPEGs (bench/gen_images.py small): the first rows/2 are
the pool, each used by exactly two rows (row i and row i + rows/2); the rest
are fresh images that later versions swap in.

OUT_DIR/v00.jsonl is the first version: rows in the OpenAI chat fine-tuning
format for vision, each with one inline `data:image/jpeg;base64,...` image.
OUT_DIR/v01.jsonl .. v10.jsonl: each is the previous one with `change` of the
rows altered (1% = 200 rows): half get a new answer text, half get a fresh
image (never used before). Deterministic (fixed seeds). A file OUT_DIR/.complete
is written last and the work is skipped when it matches the request.
"""
import argparse
import base64
import json
import os
import random
import sys

LABELS = ["blue noise", "violet gradient", "teal texture", "warm gradient",
          "grey static", "green grain", "magenta haze", "amber speckle"]
PROMPTS = ["What texture is shown in this image?",
           "Describe the dominant colour and pattern.",
           "Name the kind of surface in the picture.",
           "Which pattern does this photo show?"]
SYSTEM = "You are an assistant that names the texture of an image in a few words."


def row(i, img_b64, label, prompt, edit):
    text = prompt if not edit else f"{prompt} (reviewed {edit})"
    return json.dumps({"messages": [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": [
            {"type": "text", "text": f"{text} Example {i}."},
            {"type": "image_url", "image_url": {
                "url": "data:image/jpeg;base64," + img_b64, "detail": "low"}}]},
        {"role": "assistant", "content": label}]}, separators=(", ", ": "))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("images")
    ap.add_argument("out")
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--versions", type=int, default=10)
    ap.add_argument("--change", type=float, default=0.01)
    a = ap.parse_args()

    marker = os.path.join(a.out, ".complete")
    images_marker = os.path.abspath(a.images) + ".complete"
    images_id = open(images_marker).read().strip() if os.path.exists(images_marker) else "?"
    want = (f"rows={a.rows} versions={a.versions} change={a.change} v1 "
            f"images=[{images_id}]\n")
    if os.path.exists(marker) and open(marker).read() == want:
        print(f"gen_jsonl: reusing {a.out}")
        return
    os.makedirs(a.out, exist_ok=True)
    if os.path.exists(marker):
        os.unlink(marker)

    files = sorted(f for f in os.listdir(a.images) if f.endswith(".jpg"))
    pool_n = a.rows // 2
    nchange = max(1, round(a.rows * a.change))
    nswap = nchange // 2
    need = pool_n + nswap * a.versions
    if len(files) < need:
        sys.exit(f"gen_jsonl: need {need} images in {a.images}, found {len(files)}")
    b64, raw = [], []
    for f in files[:need]:
        with open(os.path.join(a.images, f), "rb") as fh:
            data = fh.read()
        raw.append(len(data))
        b64.append(base64.b64encode(data).decode("ascii"))

    rng = random.Random(7)
    # state of each row: [image index, label, prompt, edit marker]
    state = [[i % pool_n, LABELS[rng.randrange(len(LABELS))],
              PROMPTS[rng.randrange(len(PROMPTS))], ""] for i in range(a.rows)]
    fresh = pool_n
    sizes = []
    for v in range(a.versions + 1):
        if v > 0:
            vr = random.Random(1000 + v)
            rows = vr.sample(range(a.rows), nchange)
            for j, r in enumerate(rows):
                if j < nchange - nswap:      # text change
                    state[r][1] = LABELS[(LABELS.index(state[r][1]) + 1) % len(LABELS)]
                    state[r][3] = f"v{v}"
                else:                        # swap in a never-used image
                    state[r][0] = fresh
                    fresh += 1
        path = os.path.join(a.out, f"v{v:02d}.jsonl")
        with open(path + ".tmp", "w") as fh:
            fh.write("\n".join(row(i, b64[s[0]], s[1], s[2], s[3])
                               for i, s in enumerate(state)))
            fh.write("\n")
        os.replace(path + ".tmp", path)
        sizes.append(os.path.getsize(path))
    with open(os.path.join(a.out, "stats.txt"), "w") as fh:
        fh.write(f"images {fresh}\nimage_bytes {sum(raw[:fresh])}\n"
                 f"versions {a.versions + 1}\nrows {a.rows}\n"
                 + "".join(f"v{v:02d}.jsonl {n}\n" for v, n in enumerate(sizes)))
    with open(marker, "w") as fh:
        fh.write(want)
    print(f"gen_jsonl: {a.versions + 1} versions of {a.rows} rows in {a.out}, "
          f"{sizes[0]} bytes each (about), {fresh} distinct images used")


if __name__ == "__main__":
    main()
