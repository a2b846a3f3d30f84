#!/usr/bin/env python3
"""Write the three versions of a large vision JSONL for kura's merge benchmark.

  gen_merge.py OUT_DIR [--rows 200000] [--change 0.01] [--image-every 10]

OUT_DIR/base.jsonl has `rows` rows in the OpenAI chat format with an id; every
`image-every`-th row carries an inline image (the JPEGs of tests/data, each
used by many rows). ours.jsonl relabels `change` of the rows and theirs.jsonl
another `change` (disjoint, spread uniformly; a fifth of each side's changes
are deletions and a fifth insertions instead). expected.jsonl is the
row-level merge of the two (docs/merge.md). Deterministic (fixed seed).
"""
import argparse
import base64
import json
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
IMAGES = [os.path.join(HERE, "..", "tests", "data", n) for n in ("fish.jpg", "linux.jpg", "windows.jpg")]


def row(i, label, image):
    content = [{"type": "text", "text": f"What is shown in example {i}?"}]
    if image is not None:
        content.append({"type": "image_url", "image_url": {"url": "data:image/jpeg;base64," + image}})
    return json.dumps({"id": i, "messages": [
        {"role": "user", "content": content},
        {"role": "assistant", "content": label}]}, separators=(",", ":"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--rows", type=int, default=200000)
    ap.add_argument("--change", type=float, default=0.01)
    ap.add_argument("--image-every", type=int, default=10)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    images = [base64.b64encode(open(p, "rb").read()).decode() for p in IMAGES]
    rnd = random.Random(15)
    base = [row(i, f"label {i % 17}", images[i % len(images)] if i % a.image_every == 0 else None)
            for i in range(a.rows)]
    n = int(a.rows * a.change)
    picked = rnd.sample(range(1, a.rows - 1), 2 * n)
    # Changed rows two apart at least, so no two changes of different sides touch.
    picked = sorted(set(p - p % 4 + 1 for p in picked))
    rnd.shuffle(picked)
    ours_rows, theirs_rows = set(picked[:n]), set(picked[n:2 * n])

    def side(mine, name):
        out, edits = [], {}
        for k, i in enumerate(sorted(mine)):
            edits[i] = ("delete", "insert", "relabel", "relabel", "relabel")[k % 5]
        for i, r in enumerate(base):
            e = edits.get(i)
            if e == "delete":
                continue
            if e == "insert":
                out.append(row(f"{name}-{i}", f"new from {name}", None))
            out.append(r if e != "relabel" else row(i, f"relabelled by {name}", images[i % len(images)] if i % a.image_every == 0 else None))
        return out, edits

    ours, oe = side(ours_rows, "ours")
    theirs, te = side(theirs_rows, "theirs")
    expected = []
    for i, r in enumerate(base):
        e, name = (oe[i], "ours") if i in oe else (te[i], "theirs") if i in te else (None, None)
        if e == "delete":
            continue
        if e == "insert":
            expected.append(row(f"{name}-{i}", f"new from {name}", None))
        expected.append(r if e != "relabel" else row(i, f"relabelled by {name}", images[i % len(images)] if i % a.image_every == 0 else None))
    for name, rows in (("base", base), ("ours", ours), ("theirs", theirs), ("expected", expected)):
        with open(os.path.join(a.out, name + ".jsonl"), "w") as f:
            f.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
