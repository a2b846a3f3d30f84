// The JSON forms of a commit and of a file entry: what `kura log --json` and
// `kura ls-files --json` print and what the Python package returns, so that
// both are made in one place (docs/cli.md lists the fields).
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

#include "kura/repo.hpp"

namespace kura {

// {id, parents, author_name, author_email, time, message, tree}
nlohmann::json commit_json(const CommitInfo& commit);
// {path, mode ("100644", "100755", "120000"), kind, object, size, sha256[, rows]}
nlohmann::json file_json(const FileEntry& file);

// Commit id -> the names pointing at it, as git log decorates them:
// "HEAD -> main" (or "HEAD" when detached), branches, remote-tracking
// branches ("origin/main"), "tag: v1" (annotated tags peeled).
using RefNames = std::map<std::string, std::vector<std::string>>;
RefNames ref_names(const Repo& repo);
// commit_json() plus "refs": the commit's names from `names`.
nlohmann::json commit_json(const CommitInfo& commit, const RefNames& names);

}  // namespace kura
