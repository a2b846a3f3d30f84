#!/usr/bin/env python3
"""Write two versions of a large vision JSONL for kura's diff benchmark.

  gen_diff.py IMAGES_DIR OUT_DIR [--rows 200000] [--change 0.01] [--image-every 10]

IMAGES_DIR holds small JPEGs (bench/gen_images.py small). OUT_DIR/v1.jsonl has
`rows` rows in the OpenAI chat format with an id; every `image-every`-th row
carries an inline image (a pool of 2,000 images, each used by several rows),
the others are text only. OUT_DIR/v2.jsonl changes `change` of the rows,
spread uniformly: half of them get a new answer, half (image rows) a fresh
image never used before. Deterministic (fixed seed). OUT_DIR/.complete marks
a finished set; it is reused when it matches the request.
"""
import argparse
import base64
import json
import os
import random
import sys

LABELS = ["blue noise", "violet gradient", "teal texture", "warm gradient",
          "grey static", "green grain", "magenta haze", "amber speckle"]
SYSTEM = "You are an assistant that names the texture of an image in a few words."


def row(i, label, image):
    content = [{"type": "text", "text": f"What texture is shown in example {i}?"}]
    if image is not None:
        content.append({"type": "image_url", "image_url": {
            "url": "data:image/jpeg;base64," + image, "detail": "low"}})
    else:
        content = content[0]["text"] + " (described in words: a fine-grained pattern)"
    return json.dumps({"id": i, "messages": [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": content},
        {"role": "assistant", "content": label}]}, separators=(",", ":"))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("images")
    ap.add_argument("out")
    ap.add_argument("--rows", type=int, default=200000)
    ap.add_argument("--change", type=float, default=0.01)
    ap.add_argument("--image-every", type=int, default=10)
    a = ap.parse_args()
    marker = os.path.join(a.out, ".complete")
    want = f"rows={a.rows} change={a.change} every={a.image_every} v1\n"
    if os.path.exists(marker) and open(marker).read() == want:
        print(f"gen_diff: reusing {a.out}")
        return
    os.makedirs(a.out, exist_ok=True)
    files = sorted(f for f in os.listdir(a.images) if f.endswith(".jpg"))
    nchange = round(a.rows * a.change)
    pool_n = 2000
    if len(files) < pool_n + nchange // 2:
        sys.exit(f"gen_diff: need {pool_n + nchange // 2} images in {a.images}")
    b64 = [base64.b64encode(open(os.path.join(a.images, f), "rb").read()).decode("ascii")
           for f in files[:pool_n + nchange // 2]]
    rng = random.Random(11)
    labels = [rng.choice(LABELS) for _ in range(a.rows)]
    images = [rng.randrange(pool_n) if i % a.image_every == 0 else None for i in range(a.rows)]
    v1 = [row(i, labels[i], None if images[i] is None else b64[images[i]]) for i in range(a.rows)]
    with open(os.path.join(a.out, "v1.jsonl"), "w") as fh:
        fh.write("\n".join(v1) + "\n")
    image_rows = [i for i in range(a.rows) if images[i] is not None]
    text_rows = [i for i in range(a.rows) if images[i] is None]
    swapped = rng.sample(image_rows, nchange // 2)
    relabelled = rng.sample(text_rows, nchange - nchange // 2)
    v2 = list(v1)
    for k, i in enumerate(swapped):
        v2[i] = row(i, labels[i], b64[pool_n + k])
    for i in relabelled:
        v2[i] = row(i, rng.choice(LABELS) + " (reviewed)", None)
    with open(os.path.join(a.out, "v2.jsonl"), "w") as fh:
        fh.write("\n".join(v2) + "\n")
    open(marker, "w").write(want)
    print(f"gen_diff: {a.rows} rows, {nchange} changed, in {a.out}")


if __name__ == "__main__":
    main()
