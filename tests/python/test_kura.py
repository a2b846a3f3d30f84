"""kura for Python on real committed data: the bytes, labels and counts a
training script reads equal what the command line shows; exclusions and check
errors follow kura train's rules; errors are kura.Error with the CLI's
message; kura.torch.ChatImageDataset feeds a DataLoader with workers and a
small CNN. Run by CTest (python.kura) with PYTHONPATH=build/python and
KURA=build/kura."""
import base64
import io
import json
import os
import resource
import shutil
import subprocess

import pytest

import kura

KURA = os.environ["KURA"]
DATA = os.path.join(os.environ["KURA_SOURCE_DIR"], "tests", "check", "data")
DIGITS = "/usr/share/doc/opencv-doc/examples/data/digits.png"


def run(cwd, *args, ok=True):
    r = subprocess.run([KURA, *args], cwd=cwd, capture_output=True)
    if ok:
        assert r.returncode == 0, r.stderr.decode()
    return r


def image(name):
    with open(os.path.join(DATA, name), "rb") as f:
        return f.read()


def inline_row(data, mime, label, question="What is this?"):
    url = "data:image/%s;base64,%s" % (mime, base64.b64encode(data).decode())
    return json.dumps({"messages": [
        {"role": "user", "content": [{"type": "text", "text": question}, {"type": "image_url", "image_url": {"url": url}}]},
        {"role": "assistant", "content": label}]})


def path_row(path, label):
    return json.dumps({"messages": [
        {"role": "user", "content": [{"type": "text", "text": "What is this?"}, {"type": "image_url", "image_url": {"url": path}}]},
        {"role": "assistant", "content": label}]})


def text_row(i):
    return json.dumps({"messages": [{"role": "user", "content": "Say %d" % i}, {"role": "assistant", "content": str(i)}]})


@pytest.fixture
def repo(tmp_path):
    """Inline JPEG and PNG rows, a row naming an image file, text rows, one excluded line."""
    d = tmp_path / "data"
    d.mkdir()
    (d / "images").mkdir()
    shutil.copy(os.path.join(DATA, "branches.jpg"), d / "images" / "branches.jpg")
    rows = [inline_row(image("video-001.jpg"), "jpeg", "video"),
            inline_row(image("flowers.png"), "png", "flowers"),
            path_row("images/branches.jpg", "branches")]
    rows += [text_row(i) for i in range(10)]
    (d / "train.jsonl").write_text("\n".join(rows) + "\n")
    (d / "notes.txt").write_text("not a table\n")
    (d / "kura-checks.json").write_text(json.dumps({"rules": {"moderation.face": "off"}}))
    run(d, "init")
    run(d, "add", ".")
    run(d, "commit", "-m", "first")
    run(d, "tag", "v1")
    run(d, "exclude", "train.jsonl:5", "--reason", "a test exclusion")
    run(d, "add", ".")
    run(d, "commit", "-m", "exclude line 5")
    return d


def test_every_example_and_image_equals_what_kura_show_gives(repo):
    r = kura.Repo(str(repo))
    shown = run(repo, "show", "HEAD:train.jsonl").stdout
    assert r.read("train.jsonl") == shown
    lines = shown.decode().splitlines()
    examples = list(r.examples("train.jsonl", include_excluded=True))
    assert [e.line for e in examples] == list(range(1, 14))
    for ex in examples:
        row = json.loads(lines[ex.line - 1])
        assert ex.messages[-1] == row["messages"][-1]
        assert ex.label == row["messages"][-1]["content"]
        urls = [p["image_url"]["url"] for m in row["messages"] if isinstance(m["content"], list)
                for p in m["content"] if p.get("type") == "image_url"]
        assert len(ex.images) == len(urls)
        for img, url in zip(ex.images, urls):
            if url.startswith("data:"):
                assert img.bytes() == base64.b64decode(url.split(",", 1)[1])
                assert img.file is None
            else:
                assert img.file == url
                assert img.bytes() == run(repo, "show", "HEAD:" + url).stdout
    first, second, third = examples[:3]
    assert (first.images[0].width, first.images[0].height, first.images[0].format) == (150, 103, "jpeg")
    assert second.images[0].format == "png" and second.images[0].mode == "srgb"
    assert third.images[0].pil().size == (600, 400)


def test_excluded_examples_are_skipped_and_counted(repo):
    r = kura.Repo(str(repo))
    it = r.examples("train.jsonl")
    lines = [e.line for e in it]
    assert 5 not in lines and len(lines) == 12
    assert it.excluded == 1
    # The tagged first version has no exclusion.
    it = r.examples("train.jsonl", rev="v1")
    assert len(list(it)) == 13 and it.excluded == 0
    assert r.check()["summary"]["excluded"] >= 1


def test_history_files_and_changes_match_the_cli(repo):
    r = kura.Repo(str(repo))
    assert r.log() == json.loads(run(repo, "log", "--json").stdout)
    assert r.resolve("v1") == r.log()[1]["id"]
    assert r.files("v1") == json.loads(run(repo, "ls-files", "--json", "v1").stdout)
    assert {"path": "kura-exclusions.jsonl", "change": "added"} in r.changes("v1", "HEAD")


def test_diff_is_kura_diffs_json(repo):
    r = kura.Repo(str(repo))
    with open(repo / "train.jsonl") as f:
        lines = f.read().splitlines()
    lines[7] = text_row(77)  # line 8 changed
    del lines[9]             # line 10 deleted
    (repo / "train.jsonl").write_text("\n".join(lines) + "\n")
    run(repo, "add", ".")
    run(repo, "commit", "-m", "edit rows")
    got = r.diff("HEAD~1", "HEAD")
    assert got == json.loads(run(repo, "diff", "HEAD~1", "HEAD", "--json").stdout)
    table = [f for f in got["files"] if f["path"] == "train.jsonl"][0]
    assert (table["stat"]["old_rows"], table["stat"]["new_rows"]) == (13, 12)
    assert {"kind": "removed", "old_line": 10} in [{"kind": c["kind"], "old_line": c["old_line"]} for c in table["rows"]]
    assert r.diff("v1", "HEAD", paths=["train.jsonl"]) == json.loads(
        run(repo, "diff", "v1", "HEAD", "--json", "--", "train.jsonl").stdout)


def test_clone_then_read_a_partial_clone(repo, tmp_path):
    remote = tmp_path / "remote"
    run(repo, "remote", "add", "origin", str(remote))
    run(repo, "push", "origin", "main")
    run(repo, "push", "origin", "v1")
    c = kura.clone(str(remote), tmp_path / "copy", depth=1)
    assert c.resolve() == kura.Repo(str(repo)).resolve()
    assert c.read("train.jsonl") == kura.Repo(str(repo)).read("train.jsonl")
    # v1's table is not in the partial clone: reading it fetches it from origin.
    assert c.read("train.jsonl", rev="v1") == run(repo, "show", "v1:train.jsonl").stdout
    assert [e.line for e in c.examples("train.jsonl", rev="v1")] == list(range(1, 14))
    with pytest.raises(kura.Error) as e:
        kura.clone(str(remote), tmp_path / "copy")
    assert e.value.code in ("invalid_input", "conflict") and "copy" in str(e.value)


@pytest.mark.parametrize("call, cli", [
    (lambda r: r.log("no-such-rev"), ["log", "no-such-rev"]),
    (lambda r: r.read("missing.jsonl"), ["show", "HEAD:missing.jsonl"]),
])
def test_errors_are_kura_errors_with_the_cli_message(repo, call, cli):
    r = kura.Repo(str(repo))
    with pytest.raises(kura.Error) as e:
        call(r)
    assert e.value.code == "not_found"
    message = run(repo, *cli, ok=False).stderr.decode().strip()
    assert message.startswith("kura: ")
    assert str(e.value) in message


def test_bad_input_raises_named_errors(repo, tmp_path):
    r = kura.Repo(str(repo))
    with pytest.raises(kura.Error) as e:
        list(r.examples("notes.txt"))
    assert e.value.code == "invalid_input" and "notes.txt" in str(e.value) and "not a JSONL table" in str(e.value)
    with pytest.raises(kura.Error) as e:
        kura.Repo(str(tmp_path / "nowhere"))
    assert e.value.code in ("not_a_repository", "not_found", "io")


def test_check_errors_raise_unless_allowed(tmp_path):
    d = tmp_path / "bad"
    d.mkdir()
    rows = [inline_row(image("cmyk.jpg"), "jpeg", "cmyk")] + [text_row(i) for i in range(10)]
    (d / "train.jsonl").write_text("\n".join(rows) + "\n")
    run(d, "init")
    run(d, "add", ".")
    run(d, "commit", "-m", "bad", "--no-verify")
    r = kura.Repo(str(d))
    with pytest.raises(kura.Error) as e:
        r.examples("train.jsonl")
    assert e.value.code == "check_failed" and "image.bad_color_mode" in str(e.value)
    assert len(list(r.examples("train.jsonl", allow_check_errors=True))) == 11


def test_reading_is_safe_beside_a_commit(repo):
    r = kura.Repo(str(repo))
    it = r.examples("train.jsonl")
    next(it)
    with open(repo / "train.jsonl", "a") as f:
        f.write(text_row(99) + "\n")
    run(repo, "add", ".")
    run(repo, "commit", "-m", "one more")  # the Python handle holds no lock
    assert len(list(it)) == 11  # the rest of the commit it started on
    assert len(list(r.examples("train.jsonl"))) == 13


def test_a_20000_row_table_is_read_in_flat_memory(tmp_path):
    d = tmp_path / "big"
    d.mkdir()
    pad = "x" * 3000
    with open(d / "train.jsonl", "w") as f:
        for i in range(20000):
            f.write(json.dumps({"messages": [{"role": "user", "content": "row %d %s" % (i, pad)},
                                             {"role": "assistant", "content": str(i % 7)}]}) + "\n")
    size = os.path.getsize(d / "train.jsonl")
    (d / "kura-checks.json").write_text(json.dumps({"profile": "generic"}))
    run(d, "init")
    run(d, "add", ".")
    run(d, "commit", "-m", "big")
    r = kura.Repo(str(d))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    n = 0
    for ex in r.examples("train.jsonl"):
        assert ex.label == str(n % 7)
        n += 1
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before
    assert n == 20000
    assert size > 60_000_000
    assert grown < size / 4, "peak memory grew by %d bytes reading a %d-byte table" % (grown, size)


@pytest.fixture
def digits(tmp_path):
    """200 real handwritten digits (opencv-doc) as PNG files named by the rows, 160 train, 40 validation."""
    from PIL import Image as PILImage
    d = tmp_path / "digits"
    (d / "img").mkdir(parents=True)
    sheet = PILImage.open(DIGITS).convert("L")
    train, val = [], []
    for label in range(10):
        for k in range(20):
            name = "img/%d-%02d.png" % (label, k)
            sheet.crop((k * 20, label * 100, k * 20 + 20, label * 100 + 20)).convert("RGB").save(d / name)
            (train if k < 16 else val).append(path_row(name, str(label)))
    (d / "train.jsonl").write_text("\n".join(train) + "\n")
    (d / "validation.jsonl").write_text("\n".join(val) + "\n")
    (d / "kura-checks.json").write_text(json.dumps({"profile": "generic"}))
    run(d, "init")
    run(d, "add", ".")
    run(d, "commit", "-m", "digits")
    return d


def test_dataloader_with_two_workers_gives_the_batches_of_none(digits):
    import torch
    from kura.torch import ChatImageDataset
    ds = ChatImageDataset(kura.Repo(str(digits)), file="train.jsonl", size=20)
    assert len(ds) == 160 and ds.labels == [str(i) for i in range(10)] and ds.commit == kura.Repo(str(digits)).resolve()

    def batches(workers):
        g = torch.Generator().manual_seed(7)
        loader = torch.utils.data.DataLoader(ds, batch_size=16, shuffle=True, generator=g, num_workers=workers)
        return [(x.clone(), y.clone()) for x, y in loader]

    plain, parallel = batches(0), batches(2)
    assert len(plain) == 10
    for (x0, y0), (x2, y2) in zip(plain, parallel):
        assert torch.equal(x0, x2) and torch.equal(y0, y2)


def test_a_small_cnn_trains_on_a_commit(digits):
    import torch
    import torch.nn as nn
    from kura.torch import ChatImageDataset
    torch.manual_seed(0)
    repo = kura.Repo(str(digits))
    train = ChatImageDataset(repo, file="train.jsonl", size=20)
    val = ChatImageDataset(repo, file="validation.jsonl", size=20, labels=train.labels)
    net = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 32, 3, padding=1),
                        nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10))
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()

    def mean_loss(ds):
        with torch.no_grad():
            return sum(loss_fn(net(x), y).item() for x, y in torch.utils.data.DataLoader(ds, batch_size=40))

    start = mean_loss(val)
    for _ in range(2):
        for x, y in torch.utils.data.DataLoader(train, batch_size=16, shuffle=True):
            opt.zero_grad()
            loss = loss_fn(net(x), y)
            loss.backward()
            opt.step()
    assert mean_loss(val) < start  # it learnt something from the commit's digits

    from kura.torch import record_run
    record = record_run([train, val], model="small-cnn", weights=net, settings={"lr": 0.01, "epochs": 2, "seed": 0},
                        metrics=[{"epoch": 1, "validation_loss": start}, {"epoch": 2, "validation_loss": mean_loss(val)}])
    listed = json.loads(run(digits, "runs", "--json").stdout)
    assert [r["id"] for r in listed] == [record["id"]]
    assert listed[0]["spec"]["commit"] == train.commit and listed[0]["spec"]["recipe"] == "external"
    assert listed[0]["spec"]["files"] == ["train.jsonl", "validation.jsonl"]
    assert listed[0]["summary"]["labels"] == train.labels and listed[0]["summary"]["epochs_done"] == 2
    assert kura.Repo(str(digits)).runs() == listed
    text = run(digits, "runs").stdout.decode()
    assert "external/small-cnn" in text and "2/2 epochs" in text
    shown = run(digits, "run", "show", record["id"][:8]).stdout.decode()
    assert "trained outside kura" in shown and "validation_loss" in shown
    # The weights are the script's torch.save file, byte for byte.
    saved = run(digits, "show", record["weights"]).stdout
    state = torch.load(io.BytesIO(saved))
    assert all(torch.equal(state[k], v) for k, v in net.state_dict().items())
    refused = run(digits, "reproduce", record["id"][:8], ok=False)
    assert refused.returncode == 2 and "trained outside kura" in refused.stderr.decode()


def test_runs_list_each_runs_evals_as_kura_runs_does(digits):
    trained = json.loads(run(digits, "train", "--json", "--threads", "1", "--set", "epochs=1").stdout)
    repo = kura.Repo(str(digits))
    assert "evals" not in repo.runs()[0]  # none yet: the listing is the run alone, as kura runs --json gives it
    run(digits, "eval", trained["id"], "--threads", "1")
    listed = json.loads(run(digits, "runs", "--json").stdout)
    assert repo.runs() == listed
    evals = listed[0]["evals"]
    assert [(e["commit"], e["split"]) for e in evals] == [(repo.resolve(), "validation")]
    assert evals[0]["counts"]["examples"] == 40 and 0 <= evals[0]["accuracy"] <= 1
    assert evals[0]["key"] == "eval/%s/%s/validation" % (trained["id"], repo.resolve())


def test_record_run_refuses_bad_runs(digits):
    from kura.torch import record_run
    repo = kura.Repo(str(digits))
    with pytest.raises(kura.Error) as e:
        record_run(repo=repo, commit="HEAD", model="m", weights=b"w", files=["nope.jsonl"])
    assert e.value.code == "invalid_input" and "'nope.jsonl', which is not in commit" in str(e.value)
    with pytest.raises(kura.Error) as e:
        record_run(repo=repo, commit="HEAD", model="m", weights=b"w", metrics=[{"epoch": 1, "loss": "low"}])
    assert 'metrics["epochs"][0]["loss"] must be a number' in str(e.value)
    with pytest.raises(kura.Error) as e:
        record_run(repo=repo, commit="no-such-rev", model="m", weights=b"w")
    assert e.value.code == "not_found"
    with pytest.raises(kura.Error) as e:
        record_run(repo=repo, commit="HEAD", model="m", weights=b"")
    assert "weights is empty" in str(e.value)
    assert json.loads(run(digits, "runs", "--json").stdout) == []
    # A NaN loss is recorded as null; the same run recorded again is one run.
    a = record_run(repo=repo, commit="HEAD", model="m", weights=b"w", metrics=[{"epoch": 1, "loss": float("nan")}])
    b = record_run(repo=repo, commit="HEAD", model="m", weights=b"w", metrics=[{"epoch": 1, "loss": float("nan")}])
    assert a["id"] == b["id"] and len(repo.runs()) == 1
    assert a["summary"]["loss"] is None
