"""kura.torch: a PyTorch Dataset pinned to one commit of a kura data set.

    from kura.torch import ChatImageDataset
    ds = ChatImageDataset(repo, rev="v1", file="train.jsonl", size=64)
    ds.commit, ds.labels, len(ds)
    x, y = ds[0]          # a float tensor 3 x 64 x 64 in [0, 1], the label's index

The commit id is resolved once, when the data set is made: every item is
read from that commit, whatever the branch does later, and `ds.commit`
travels with the model. Items are read lazily, each image's bytes from the
store by its SHA-256; a DataLoader worker opens its own read-only handle.
"""
import io

import numpy as np
import torch
import torch.utils.data

from . import Error

__all__ = ["ChatImageDataset"]


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
        items = []
        examples = repo.examples(file, rev=self.commit, include_excluded=include_excluded,
                                 allow_check_errors=allow_check_errors)
        self.without_image = 0
        for ex in examples:
            if len(ex.images) <= image or ex.images[image].id is None:
                self.without_image += 1
                continue
            if ex.label is None:
                raise Error("%s line %d: the example has no assistant message to take its label from" % (file, ex.line))
            items.append((ex.line, ex.images[image].id, ex.label))
        self.excluded = examples.excluded
        self.labels = sorted({label for _, _, label in items}) if labels is None else list(labels)
        index = {label: i for i, label in enumerate(self.labels)}
        self.unknown = sum(1 for _, _, label in items if label not in index)
        self.lines = [line for line, _, label in items if label in index]
        self._ids = [i for _, i, label in items if label in index]
        self._targets = [index[label] for _, _, label in items if label in index]

    def __len__(self):
        return len(self._ids)

    def __getitem__(self, i):
        from PIL import Image as PILImage
        data = self.repo._handle.object(self._ids[i])
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
