"""kura for Python: read any commit of a kura data set from a training script.

    import kura
    repo = kura.Repo("path/to/dataset")     # or kura.clone(url, dir, depth=1)
    commit = repo.resolve("v1")
    for ex in repo.examples("train.jsonl", rev=commit):
        ex.line, ex.messages, ex.label, ex.images[0].bytes()

Reads go through kura's C++ library (the native module kura._kura) on a
read-only handle that holds no lock, so they run beside the command line.
Each process opens its own handle (a DataLoader worker included). What is
excluded by the checks (the policy's "exclude" rules and kura exclude) is
skipped and counted; a commit with check errors raises kura.Error unless
allow_check_errors=True: the rules of `kura train` and `kura export`.
See docs/python.md.
"""
import json as _json
import os as _os

from .errors import Error
from . import _kura

__all__ = ["Repo", "Example", "Image", "Examples", "Error", "clone"]

_orphans = []  # handles inherited across fork(): never closed in the child


class Image:
    """An image of an example: `id` is the SHA-256 of its bytes."""

    def __init__(self, repo, id, file, url, pointer, message, data=None):
        self._repo = repo
        self._bytes = data       # read with its chunk of rows, when the store had it
        self.id = id or None     # None for a remote URL
        self.file = file or None  # the commit's file it names, None when inline
        self.url = url or None    # an http(s) URL kept as such
        self.pointer = pointer   # JSON pointer of its image_url part in the row
        self.message = message   # index of the message it is in
        self._info = None

    def bytes(self):
        """The exact committed bytes (SHA-256-checked)."""
        if self.id is None:
            raise Error("the image at %s is the remote URL %s, not in the commit" % (self.pointer, self.url), "not_found")
        if self._bytes is not None:
            return self._bytes
        return self._repo._handle.object(self.id)

    @property
    def info(self):
        """width, height, format, mode (libvips' interpretation), bands, has_alpha, orientation, decodes."""
        if self._info is None:
            if self.id is None:
                raise Error("the image at %s is the remote URL %s, not in the commit" % (self.pointer, self.url), "not_found")
            self._info = self._repo._handle.image_info(self.id)
        return self._info

    width = property(lambda self: self.info["width"])
    height = property(lambda self: self.info["height"])
    format = property(lambda self: self.info["format"])
    mode = property(lambda self: self.info["mode"])

    def pil(self):
        """The image as a PIL.Image (needs Pillow: python3-pil)."""
        import io
        from PIL import Image as PILImage
        return PILImage.open(io.BytesIO(self.bytes()))

    def __repr__(self):
        return "kura.Image(%s)" % (self.id[:12] if self.id else self.url)


def _text(content):
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


class Example:
    """One JSONL row of a commit read as a chat example."""

    def __init__(self, repo, path, line, row, images):
        self.path = path
        self.line = line  # 1-based line of the file
        self.json = _json.loads(row)  # the row; images cut out by the store have an empty URL
        self.images = [Image(repo, *i) for i in images]

    @property
    def messages(self):
        return self.json.get("messages", [])

    @property
    def label(self):
        """The text of the last assistant message, or None."""
        for m in reversed(self.messages):
            if m.get("role") == "assistant":
                return _text(m.get("content"))
        return None

    def __repr__(self):
        return "kura.Example(%s:%d)" % (self.path, self.line)


class Examples:
    """Iterates a table's examples; `excluded` counts what was skipped so far."""

    def __init__(self, repo, native):
        self._repo = repo
        self._native = native
        self.commit = native.commit
        self.path = None

    @property
    def excluded(self):
        return self._native.excluded

    def __iter__(self):
        return self

    def __next__(self):
        line, row, images = next(self._native)
        return Example(self._repo, self.path, line, row, images)


class Repo:
    """A kura repository, read-only. `path` is its folder (or one inside it)."""

    def __init__(self, path="."):
        self.path = _os.path.abspath(path)
        self._pid = None
        self._native = None
        self.root = self._handle.root

    @property
    def _handle(self):
        if self._native is None or self._pid != _os.getpid():
            if self._native is not None:
                _orphans.append(self._native)  # another process's: closing it here would touch its threads
            self._native = _kura.Handle(self.path)
            self._pid = _os.getpid()
        return self._native

    def __getstate__(self):  # pickled for spawned DataLoader workers: the path only
        return {"path": self.path, "root": self.root}

    def __setstate__(self, state):
        self.path, self.root = state["path"], state["root"]
        self._pid = None
        self._native = None

    def resolve(self, rev="HEAD"):
        """The full commit id of a revision (branch, tag, id, HEAD~1...)."""
        return self._handle.resolve(rev)

    def read(self, path, rev="HEAD"):
        """The exact bytes of a file as committed."""
        return self._handle.read(path, rev)

    def files(self, rev="HEAD"):
        """The commit's files, as `kura ls-files --json` lists them."""
        return self._handle.files(rev)

    def log(self, rev="HEAD", max_count=0):
        """The history from `rev`, newest first, as `kura log --json` gives it."""
        return self._handle.log(rev, max_count)

    def changes(self, rev_a, rev_b):
        """The files that differ between two revisions: [{"path", "change"}]."""
        return self._handle.changes(rev_a, rev_b)

    def diff(self, rev_a, rev_b, paths=None, key=None, labels=False):
        """What changed from rev_a to rev_b, files and JSONL rows, as `kura diff A B --json` reports it.

        `key` pairs rows by a JSON pointer ("/id") instead of by content;
        `labels` adds each table's label counts on both sides; `paths` limits
        it to those files and folders (relative to the top of the data set).
        """
        # Paths name files of the data set, as in read(): relative to its top, not to the current folder.
        paths = [_os.path.join(self.root, _os.fspath(p)) for p in (paths or [])]
        return self._handle.diff(rev_a, rev_b, paths, key or "", bool(labels))

    def runs(self):
        """The training runs, newest first, as `kura runs --json` lists them (kura's and record_run's)."""
        return self._handle.runs()

    def check(self, rev="HEAD"):
        """The commit's check report, in the JSON form of `kura check --json` (docs/checks.md)."""
        return self._handle.check(rev)

    def examples(self, file="train.jsonl", rev="HEAD", include_excluded=False, allow_check_errors=False):
        """The examples of a JSONL table of commit `rev`, in file order, a chunk at a time."""
        it = Examples(self, _kura.Examples(self._handle, file, rev, include_excluded, allow_check_errors))
        it.path = file
        return it

    def __repr__(self):
        return "kura.Repo(%r)" % self.root


def clone(url, dir, depth=0, branch=None):
    """Clone a kura remote (a folder, or s3://bucket/prefix) into `dir`, as `kura clone` does; a Repo of it.

    depth=1 makes a partial clone: every commit, but only the checked-out
    commit's files; what else a read needs is fetched from the remote then.
    """
    _kura.clone(str(url), _os.fspath(dir), int(depth), branch or "")
    return Repo(dir)
