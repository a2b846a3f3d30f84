"""kura.torch.ChatImageDataset against the examples iterator on real
committed data: the same examples, lines, image ids and labels (labels of
every content form), the exact committed bytes whether an item is read alone
or in a DataLoader batch (__getitems__: one store read a batch), in any
order, with repeats and negative indices."""
import base64
import json
import shutil

import pytest

import kura
from test_kura import DATA, image, inline_row, path_row, run, text_row

torch = pytest.importorskip("torch")
from kura.torch import ChatImageDataset  # noqa: E402


def row(messages):
    return json.dumps({"messages": messages})


def user(*parts, question="What is this?"):
    return {"role": "user", "content": [{"type": "text", "text": question}] + list(parts)}


def numbered(i, path, label):  # a distinct example for each i
    return row([user(picture(path), question="Picture %d: what is it?" % i), {"role": "assistant", "content": label}])


def picture(url):
    return {"type": "image_url", "image_url": {"url": url}}


@pytest.fixture
def mixed(tmp_path):
    """Inline and file images, one image file used by three rows (two of them the same example), labels as a string, as text parts (an empty
    first one), from the last of two answers; a row with two images, text rows, an excluded image row."""
    d = tmp_path / "mixed"
    (d / "images").mkdir(parents=True)
    for name in ("branches.jpg", "fruits.jpg", "home.jpg"):
        shutil.copy(f"{DATA}/{name}", d / "images" / name)
    rows = [
        inline_row(image("video-001.jpg"), "jpeg", "video"),                                             # 1
        row([user(picture("images/branches.jpg")),
             {"role": "assistant", "content": [{"type": "text", "text": ""}, {"type": "text", "text": "two"}]}]),  # 2
        text_row(0),                                                                                     # 3
        row([user(picture("images/fruits.jpg")), {"role": "assistant", "content": "first"},
             {"role": "user", "content": "Sure?"}, {"role": "assistant", "content": "fruits"}]),             # 4
        path_row("images/branches.jpg", "branches"),                                                     # 5
        row([user(picture("images/home.jpg"), picture("images/fruits.jpg")),
             {"role": "assistant", "content": "home"}]),                                                 # 6
        path_row("images/fruits.jpg", "excluded"),                                                       # 7
        inline_row(image("flowers.png"), "png", "flowers"),                                              # 8
        path_row("images/branches.jpg", "branches"),                                                     # 9
        text_row(1), text_row(2),                                                                        # 10, 11
    ]
    (d / "train.jsonl").write_text("\n".join(rows) + "\n")
    (d / "kura-checks.json").write_text(json.dumps({"rules": {"moderation.face": "off"}}))
    run(d, "init")
    run(d, "add", ".")
    run(d, "commit", "-m", "mixed")
    run(d, "exclude", "train.jsonl:7", "--reason", "a test exclusion")
    run(d, "add", ".")
    run(d, "commit", "-m", "exclude line 7")
    return d


def expected(repo, image_index=0):
    it = repo.examples("train.jsonl")
    items = [(ex.line, ex.images[image_index].id, ex.label, ex.images[image_index].bytes())
             for ex in it if len(ex.images) > image_index]
    return items, it.excluded


def test_dataset_holds_the_examples_of_the_iterator_with_their_labels(mixed):
    repo = kura.Repo(str(mixed))
    items, excluded = expected(repo)
    ds = ChatImageDataset(repo, file="train.jsonl", size=16)
    assert [line for line, _, _, _ in items] == [1, 2, 4, 5, 6, 8, 9]
    assert ds.lines == [line for line, _, _, _ in items]
    assert ds._ids == [i for _, i, _, _ in items]
    assert [ds.labels[t] for t in ds._targets] == [label for _, _, label, _ in items]
    assert ds.labels == sorted(["video", "\ntwo", "fruits", "branches", "home", "flowers"])
    assert (ds.excluded, excluded, ds.without_image, len(ds)) == (1, 1, 3, 7)
    # image=1: only line 6 has a second image.
    second = ChatImageDataset(repo, file="train.jsonl", image=1, labels=["home"])
    assert (second.lines, second.without_image, second.unknown) == ([6], 9, 0)
    assert second._ids == [expected(repo, 1)[0][0][1]]
    fixed = ChatImageDataset(repo, file="train.jsonl", labels=["branches", "video"])
    assert (fixed.lines, fixed._targets, fixed.unknown) == ([1, 5, 9], [1, 0, 0], 4)


def test_items_alone_and_in_batches_are_the_exact_committed_bytes_in_any_order(mixed):
    repo = kura.Repo(str(mixed))
    items, _ = expected(repo)
    raw = ChatImageDataset(repo, file="train.jsonl", transform=lambda p: p)
    ds = ChatImageDataset(repo, file="train.jsonl", size=16)
    order = [6, 0, 4, 4, 1, -1, 3, 2, 5, 0]  # repeats (line 5 and 9 share one image file) and a negative index
    ids = [raw._ids[i] for i in order]
    assert repo._handle.objects(ids) == [items[i][3] for i in order]
    assert repo._handle.objects(ids) == [run(mixed, "show", i).stdout for i in ids]
    assert [repo._handle.object(i) for i in ids] == [items[i][3] for i in order]
    # A batch decodes the same pictures as the items one by one.
    alone = [raw[i] for i in order]
    batch = raw.__getitems__(order)
    assert [(p.tobytes(), p.size, y) for p, y in batch] == [(p.tobytes(), p.size, y) for p, y in alone]
    assert [y for _, y in batch] == [raw._targets[i] for i in order]
    # Through a DataLoader (which calls __getitems__), in a shuffled order and across batch boundaries.
    perm = torch.randperm(len(ds), generator=torch.Generator().manual_seed(3)).tolist()
    assert perm != sorted(perm)
    loaded = list(torch.utils.data.DataLoader(ds, batch_size=3, sampler=perm))
    assert [len(y) for _, y in loaded] == [3, 3, 1]
    x = torch.cat([b for b, _ in loaded])
    y = torch.cat([t for _, t in loaded])
    assert torch.equal(x, torch.stack([ds[i][0] for i in perm]))
    assert y.tolist() == [ds._targets[i] for i in perm]


def test_a_batch_naming_an_absent_object_raises_not_found(mixed):
    repo = kura.Repo(str(mixed))
    ds = ChatImageDataset(repo, file="train.jsonl")
    with pytest.raises(kura.Error) as e:
        repo._handle.objects([ds._ids[0], "ab" * 32])
    assert e.value.code == "not_found" and "ab" * 32 in str(e.value)
    with pytest.raises(kura.Error) as e:
        repo._handle.objects(["not-an-id"])
    assert e.value.code == "invalid_input"


def test_an_image_example_without_an_answer_raises_naming_its_line(tmp_path):
    d = tmp_path / "unlabelled"
    d.mkdir()
    flowers = "data:image/png;base64," + base64.b64encode(image("flowers.png")).decode()
    rows = [inline_row(image("video-001.jpg"), "jpeg", "video"), row([user(picture(flowers))]), "not json"]
    (d / "train.jsonl").write_text("\n".join(rows) + "\n")
    run(d, "init")
    run(d, "add", ".")
    run(d, "commit", "-m", "unlabelled", "--no-verify")
    with pytest.raises(kura.Error) as e:
        ChatImageDataset(kura.Repo(str(d)), file="train.jsonl", allow_check_errors=True)
    assert "train.jsonl line 2: the example has no assistant message" in str(e.value)


def big_table(d, rows, verify=True):
    (d / "images").mkdir(parents=True)
    for name in ("branches.jpg", "fruits.jpg", "home.jpg"):
        shutil.copy(f"{DATA}/{name}", d / "images" / name)
    (d / "train.jsonl").write_text("\n".join(rows) + "\n")
    (d / "kura-checks.json").write_text(json.dumps({"rules": {"moderation.face": "off"}}))
    run(d, "init")
    run(d, "add", ".")
    run(d, "commit", "-m", "big", *([] if verify else ["--no-verify"]))
    return kura.Repo(str(d))


def test_a_table_of_many_chunks_read_in_two_halves_gives_every_item_in_order(tmp_path):
    # 3,000 rows: about a dozen chunks (a chunk ends after 1 row in 256), so
    # the data set reads the second half on a second handle at the same time.
    names = ("branches", "fruits", "home")
    rows = [text_row(i) if i % 7 == 3 else numbered(i, "images/%s.jpg" % names[i % 3], "%s %d" % (names[i % 3], i % 5))
            for i in range(3000)]
    d = tmp_path / "big"
    repo = big_table(d, rows)
    for line in (10, 1500, 2990):  # excluded in both halves
        run(d, "exclude", "train.jsonl:%d" % line, "--reason", "a test exclusion")
    run(d, "add", ".")
    run(d, "commit", "-m", "exclusions")
    it = repo.examples("train.jsonl")
    want = [(ex.line, ex.images[0].id, ex.label) for ex in it if ex.images]
    ds = ChatImageDataset(repo, file="train.jsonl")
    assert len(want) > 2500 and (ds.lines, ds._ids) == ([w[0] for w in want], [w[1] for w in want])
    assert [ds.labels[t] for t in ds._targets] == [w[2] for w in want]
    assert (ds.excluded, it.excluded) == (3, 3) and ds.without_image == 3000 - 3 - len(want)
    assert {10, 1500, 2990} & set(ds.lines) == set() and ds.lines[-1] == 2999  # line 3000 is a text row


@pytest.mark.parametrize("bad, unlabelled, message", [
    (2500, 40, "train.jsonl line 40: the example has no assistant message"),
    (40, 2500, "train.jsonl line 40: not valid JSON"),
])
def test_the_first_problem_in_line_order_is_raised_from_either_half(tmp_path, bad, unlabelled, message):
    rows = [numbered(i, "images/fruits.jpg", str(i % 4)) for i in range(3000)]
    rows[bad - 1] = "{not json"
    rows[unlabelled - 1] = row([user(picture("images/home.jpg"))])
    repo = big_table(tmp_path / "d", rows, verify=False)
    with pytest.raises(kura.Error) as e:
        ChatImageDataset(repo, file="train.jsonl", allow_check_errors=True)
    assert message in str(e.value)
