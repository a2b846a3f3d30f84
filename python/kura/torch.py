"""kura.torch: a PyTorch Dataset pinned to one commit of a kura data set.

    from kura.torch import ChatImageDataset
    ds = ChatImageDataset(repo, rev="v1", file="train.jsonl", size=64)
    ds.commit, ds.labels, len(ds)
    x, y = ds[0]          # a float tensor 3 x 64 x 64 in [0, 1], the label's index
    ...                   # train with it
    run = record_run(ds, model="my-cnn", weights=net, settings={"lr": 0.01},
                     metrics=[{"epoch": 1, "train_loss": 0.41}])
    run["id"]             # `kura runs` lists it, against ds.commit

The commit id is resolved once, when the data set is made: every item is
read from that commit, whatever the branch does later, and `ds.commit`
travels with the model. Items are read lazily, each image's bytes from the
store by its SHA-256 (a DataLoader batch in one read, through
__getitems__); a DataLoader worker opens its own read-only handle.
"""
import io
import json
import math
import os
import time

import numpy as np
import torch
import torch.utils.data

from . import Error, _kura

__all__ = ["ChatImageDataset", "record_run"]


class ChatImageDataset(torch.utils.data.Dataset):
    """The examples of `file` at commit `rev` that have an image, as (image, label index).

    `image` picks which image of an example (0: the first). `labels` fixes the
    class list (an example whose label is not in it is skipped and counted in
    `unknown`); None takes the sorted distinct labels. `transform` gets a
    PIL image (RGB) and returns what the item holds; without one, the image
    is resized to `size` x `size` (when given) and made a float tensor C x H x W.
    Excluded examples are skipped (`excluded` counts them) and check errors
    raise kura.Error, as in `kura train`, unless include_excluded /
    allow_check_errors say otherwise.
    """

    def __init__(self, repo, rev="HEAD", file="train.jsonl", transform=None, labels=None, size=None, image=0,
                 include_excluded=False, allow_check_errors=False):
        self.repo = repo
        self.commit = repo.resolve(rev)
        self.file = file
        self.transform = transform
        self.size = size
        # Only each example's line, image id and label cross into Python: the
        # images are read when their items are asked for, not here.
        examples = _kura.Examples(repo._handle, file, self.commit, include_excluded, allow_check_errors,
                                  read_images=False)
        got = examples.image_items(image)
        self.without_image = got["without_image"]
        if got["labels"] and got["labels"][-1] is None:
            raise Error("%s line %d: the example has no assistant message to take its label from" % (file, got["lines"][-1]))
        self.excluded = examples.excluded
        self.labels = sorted(set(got["labels"])) if labels is None else list(labels)
        index = {label: i for i, label in enumerate(self.labels)}
        keep = [k for k, label in enumerate(got["labels"]) if label in index]
        self.unknown = len(got["labels"]) - len(keep)
        self.lines = [got["lines"][k] for k in keep]
        self._ids = [got["ids"][k] for k in keep]
        self._targets = [index[got["labels"][k]] for k in keep]

    def __len__(self):
        return len(self._ids)

    def __getitem__(self, i):
        return self._item(i, self.repo._handle.object(self._ids[i]))

    def __getitems__(self, indices):
        """A DataLoader's batch (torch calls this when it is there): the
        images' bytes in one store read, SHA-256-checked, then each decoded
        as __getitem__ does."""
        indices = list(indices)
        data = self.repo._handle.objects([self._ids[i] for i in indices])
        return [self._item(i, d) for i, d in zip(indices, data)]

    def _item(self, i, data):
        from PIL import Image as PILImage
        try:
            picture = PILImage.open(io.BytesIO(data))
            picture = picture.convert("RGB")
        except Exception as e:  # Pillow's own errors: name the example
            raise Error("%s line %d: the image %s does not decode: %s" % (self.file, self.lines[i], self._ids[i][:12], e),
                        "invalid_input") from None
        if self.transform is not None:
            return self.transform(picture), self._targets[i]
        if self.size is not None:
            picture = picture.resize((self.size, self.size), PILImage.BILINEAR)
        x = torch.from_numpy(np.asarray(picture, dtype=np.uint8).copy()).permute(2, 0, 1).float().div_(255)
        return x, self._targets[i]


def _weights_bytes(weights):
    if isinstance(weights, (bytes, bytearray, memoryview)):
        return bytes(weights)
    if isinstance(weights, (str, os.PathLike)):
        with open(weights, "rb") as f:
            return f.read()
    if isinstance(weights, torch.nn.Module):
        weights = weights.state_dict()
    if isinstance(weights, dict):
        buffer = io.BytesIO()
        torch.save(weights, buffer)
        return buffer.getvalue()
    raise Error("record_run: weights must be bytes, a file path, a torch.nn.Module or a state_dict, not %s"
                % type(weights).__name__, "invalid_input")


def _finite(value):  # JSON has no NaN: a diverged loss is recorded as null
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 1) == 0:
        return _finite(value.item())  # a 0-d tensor or numpy scalar
    return value


def record_run(dataset=None, *, model, weights, repo=None, commit=None, files=None, settings=None, metrics=None,
               log="", status="complete", started=None, finished=None):
    """Store a run this script trained as a kura run against the commit it read, for `kura runs` to list.

    `dataset` (a ChatImageDataset, or a list of them: training and
    validation) gives the repository, the commit, the files read and the
    labels; without one, give `repo` and `commit` (and `files`). `weights` is
    what the script saved: bytes, a file path, a torch.nn.Module or a
    state_dict (saved with torch.save). `metrics` is a dict ({"epochs":
    [...], ...}) or a list of per-epoch dicts of numbers; `settings` the
    hyper-parameters, a dict of JSON values. `started` and `finished` are
    unix times (default: now). Returns the run record as `kura runs --json`
    gives it; its "id" names the run in `kura run show`.

    The run's id is the SHA-256 of its spec (commit, files, settings, model)
    and its weights' hash: recording the same run again replaces the record.
    kura cannot re-train it: `kura reproduce` refuses an external run.
    """
    datasets = [] if dataset is None else (list(dataset) if isinstance(dataset, (list, tuple)) else [dataset])
    if datasets:
        repo = repo or datasets[0].repo
        commits = {d.commit for d in datasets}
        if len(commits) > 1:
            raise Error("record_run: the data sets come from different commits (%s)" % ", ".join(sorted(c[:12] for c in commits)),
                        "invalid_input")
        commit = commit or datasets[0].commit
        files = list(files or []) + [d.file for d in datasets]
    if repo is None:
        raise Error("record_run: give the data set the run trained on, or repo= and commit=", "invalid_input")
    if isinstance(metrics, (list, tuple)):
        metrics = {"epochs": list(metrics)}
    metrics = dict(metrics or {})
    if datasets:
        metrics.setdefault("labels", list(datasets[0].labels))
        metrics.setdefault("counts", {d.file: len(d) for d in datasets})
        metrics["counts"] = dict(metrics["counts"])
        metrics["counts"].setdefault("excluded", sum(d.excluded for d in datasets))
    now = int(time.time())
    try:
        settings_text = json.dumps(_finite(settings or {}), sort_keys=True, allow_nan=False)
        metrics_text = json.dumps(_finite(metrics), allow_nan=False)
    except (TypeError, ValueError) as e:
        raise Error("record_run: settings and metrics must be JSON values: %s" % e, "invalid_input") from None
    return repo._handle.record_run(commit or "HEAD", str(model), settings_text, [str(f) for f in (files or [])],
                                   _weights_bytes(weights), metrics_text, str(log), str(status),
                                   int(started or now), int(finished or now))
