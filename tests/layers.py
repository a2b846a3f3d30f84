#!/usr/bin/env python3
"""The layer rule of docs/architecture.md, checked on the build.

    tests/layers.py SOURCE_DIR LAYER=ARCHIVE...

LAYER=ARCHIVE pairs come in layer order, lowest first; pairs joined by "|"
("diff=A|remote=B") share a rank (neither may use the other). Two checks:

  symbols   every symbol a layer's object files need (nm --undefined-only)
            that some kura layer defines must be defined by that layer or
            a lower one: a call up the stack fails here, with the file
            that makes it and the symbol;
  includes  no source under src/LAYER/ includes a header of a higher
            layer, private (src/LAYER/...) or public (include/kura/...);
  libgit2   only the repo layer calls libgit2 (git_* symbols, <git2.h>):
            the others read git objects through kura/git_objects.hpp.

Exits 1 naming every violation, 0 when there is none.
"""
import os
import re
import subprocess
import sys

# Public headers by the layer that implements them.
PUBLIC = {
    "error": "util", "object_id": "util", "progress": "util",
    "store": "store",
    "objects": "objects",
    "check": "check", "fix": "check", "image_facts": "check", "user_cache": "check",
    "repo": "repo", "repo_json": "repo", "git_objects": "repo",
    "diff": "diff", "remote": "remote", "train": "runs",
    "export": "export", "serve": "serve",
}
# src/ folders by layer (runs is the torch-free part of src/train).
FOLDER = {"util": "util", "store": "store", "objects": "objects", "check": "check",
          "repo": "repo", "diff": "diff", "remote": "remote", "runs": "train"}


LINE = re.compile(r"^[^:]+:([^:]+):\s*[0-9a-fA-F]*\s+([A-Za-z])\s+(.*)$")


def defined_and_needed(archive):
    """The global symbols a static library defines, and {symbol: members} it needs, by nm."""
    out = subprocess.run(["nm", "-A", "-C", archive], capture_output=True, text=True, check=True).stdout
    defined, undefined = set(), {}
    for line in out.splitlines():
        m = LINE.match(line)
        if not m:
            continue
        member, kind, symbol = m.groups()
        if kind == "U":
            undefined.setdefault(symbol, set()).add(member)
        elif kind in "TDBRVWu":
            defined.add(symbol)
    return defined, undefined


def main():
    source, pairs = sys.argv[1], sys.argv[2:]
    ranks, archives = {}, {}
    for rank, group in enumerate(pairs):
        for pair in group.split("|"):
            name, archive = pair.split("=", 1)
            ranks[name] = rank
            archives[name] = archive
    problems = []

    # Symbols: who defines what.
    defs, needs = {}, {}
    for name, archive in archives.items():
        defs[name], needs[name] = defined_and_needed(archive)
    owner = {}
    for name in sorted(ranks, key=lambda n: ranks[n]):
        for sym in defs[name]:
            owner.setdefault(sym, name)
    libgit2 = re.compile(r"^git_[a-z0-9_]+$")
    for name in archives:
        for sym, members in needs[name].items():
            if name != "repo" and libgit2.match(sym):
                problems.append("libgit2: layer %s (%s) calls %s; only repo calls libgit2"
                                % (name, ", ".join(sorted(members)), sym))
                continue
            if "kura::" not in sym or sym in defs[name]:
                continue
            by = owner.get(sym)
            if by is not None and (ranks[by] > ranks[name] or (ranks[by] == ranks[name] and by != name)):
                problems.append("symbols: layer %s (%s) uses %s, defined in layer %s above it"
                                % (name, ", ".join(sorted(members)), sym, by))

    # Includes.
    folder_rank = {FOLDER[n]: ranks[n] for n in ranks if n in FOLDER}
    folder_layer = {FOLDER[n]: n for n in ranks if n in FOLDER}
    inc = re.compile(r'^\s*#\s*include\s+"([a-z_]+)/([a-z_0-9]+)\.hpp"')
    for name, folder in FOLDER.items():
        if name not in ranks:
            continue
        path = os.path.join(source, "src", folder)
        for file in sorted(os.listdir(path)):
            if not file.endswith((".cpp", ".hpp")):
                continue
            # src/train is two layers: records.cpp (runs) and the libtorch part above it.
            if folder == "train" and file != "records.cpp":
                continue
            with open(os.path.join(path, file), encoding="utf-8") as f:
                for number, line in enumerate(f, 1):
                    if name != "repo" and re.match(r"^\s*#\s*include\s+<git2", line):
                        problems.append("libgit2: src/%s/%s:%d includes <git2.h>; only repo calls libgit2"
                                        % (folder, file, number))
                    m = inc.match(line)
                    if not m:
                        continue
                    top, header = m.groups()
                    target = PUBLIC.get(header) if top == "kura" else folder_layer.get(top)
                    if target is None or target not in ranks:
                        continue
                    if ranks[target] > ranks[name] or (ranks[target] == ranks[name] and target != name):
                        problems.append("includes: src/%s/%s:%d includes %s/%s.hpp of layer %s above %s"
                                        % (folder, file, number, top, header, target, name))
    for p in problems:
        print(p)
    if problems:
        print("%d layering violation(s); docs/architecture.md lists the layers" % len(problems))
        return 1
    print("layers: %d libraries in order, no symbol or include points upward" % len(archives))
    return 0


if __name__ == "__main__":
    sys.exit(main())
