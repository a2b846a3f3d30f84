#!/usr/bin/env python3
"""Reads a kura export back the way its trainer would, field by field.

  read_export.py FORMAT OUTDIR

json only (PIL is not installed here): each image file is checked by its
magic bytes against its extension and by its SHA-256 against its name.
Prints "ok FORMAT N" (N examples read) or an error, exit 1.
"""
import base64, hashlib, json, os, sys

fmt, out = sys.argv[1], sys.argv[2]
MAGIC = {"jpg": b"\xff\xd8\xff", "png": b"\x89PNG\r\n\x1a\n", "webp": b"RIFF"}
MIME = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


def fail(msg):
    print("error: " + msg)
    sys.exit(1)


def check_bytes(data, ext, where):
    if not data.startswith(MAGIC[ext]) or (ext == "webp" and data[8:12] != b"WEBP"):
        fail(f"{where}: bytes are not {ext}")


def check_file(rel, base=out):
    path = os.path.join(base, rel)
    if not os.path.isfile(path):
        fail(f"{rel} is missing")
    data = open(path, "rb").read()
    stem, ext = os.path.splitext(os.path.basename(rel))
    check_bytes(data, ext[1:], rel)
    if not hashlib.sha256(data).hexdigest().startswith(stem):
        fail(f"{rel}: SHA-256 does not start with its name")
    return data


def jsonl(rel):
    with open(os.path.join(out, rel), encoding="utf-8") as f:
        return [json.loads(line) for line in f]


n = 0
splits = [s for s in ("train", "validation") if os.path.exists(os.path.join(out, s + (".json" if fmt == "llava" else ".jsonl"))) or os.path.isdir(os.path.join(out, s))]
if not splits:
    fail("no split written")
for split in splits:
    if fmt == "openai":
        for ex in jsonl(split + ".jsonl"):
            roles = [m["role"] for m in ex["messages"]]
            if "assistant" not in roles:
                fail("no assistant message")
            for m in ex["messages"]:
                if isinstance(m["content"], list):
                    for p in m["content"]:
                        if p["type"] == "image_url":
                            url = p["image_url"]["url"]
                            if url.startswith("data:"):
                                head, b64 = url.split(",", 1)
                                mime = head[5:].split(";")[0]
                                check_bytes(base64.b64decode(b64, validate=True), MIME[mime], "data URI")
                            else:
                                check_file(url)
            n += 1
    elif fmt == "llava":
        items = json.load(open(os.path.join(out, split + ".json"), encoding="utf-8"))
        for it in items:
            conv = it["conversations"]
            if not it["id"] or [c["from"] for c in conv] != ["human", "gpt"] * (len(conv) // 2):
                fail(f"{it['id']}: turns are not human/gpt pairs")
            if "image" in it:
                check_file(it["image"])
                if sum(c["value"].count("<image>") for c in conv) != 1 or not conv[0]["value"].startswith("<image>\n"):
                    fail(f"{it['id']}: <image> tag")
            n += 1
    elif fmt == "sharegpt":
        info = json.load(open(os.path.join(out, "dataset_info.json")))
        d = info["kura_" + split]
        if d["file_name"] != split + ".jsonl" or d["formatting"] != "sharegpt" or d["columns"]["images"] != "images":
            fail("dataset_info.json")
        for ex in jsonl(split + ".jsonl"):
            tags = sum(t["value"].count("<image>") for t in ex["conversations"])
            if tags != len(ex["images"]):
                fail(f"{tags} <image> tags but {len(ex['images'])} images")
            if [t["from"] for t in ex["conversations"]] != ["human", "gpt"] * (len(ex["conversations"]) // 2):
                fail("turns are not human/gpt pairs")
            if not isinstance(ex["system"], str):
                fail("system is not a string")
            for rel in ex["images"]:
                check_file(rel)
            n += 1
    elif fmt == "axolotl":
        for ex in jsonl(split + ".jsonl"):
            for m in ex["messages"]:
                for p in m["content"]:
                    if p["type"] == "image":
                        if m["role"] != "user":
                            fail("image outside a user message")
                        check_file(p["path"])
                    elif p["type"] != "text" or not isinstance(p["text"], str):
                        fail("bad part " + json.dumps(p))
            n += 1
    elif fmt == "hf-imagefolder":
        for row in jsonl(split + "/metadata.jsonl"):
            if set(row) != {"file_name", "source", "system", "prompt", "text"}:
                fail("metadata columns " + ",".join(sorted(row)))
            check_file(row["file_name"], os.path.join(out, split))
            if not row["text"]:
                fail("empty text")
            n += 1
    elif fmt == "classes":
        for label in sorted(os.listdir(os.path.join(out, split))):
            for name in sorted(os.listdir(os.path.join(out, split, label))):
                check_file(os.path.join(split, label, name))
                n += 1
    else:
        fail("unknown format " + fmt)
print(f"ok {fmt} {n}")
