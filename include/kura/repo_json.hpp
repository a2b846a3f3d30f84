// The JSON forms of a commit and of a file entry: what `kura log --json` and
// `kura ls-files --json` print and what the Python package returns, so that
// both are made in one place (docs/cli.md lists the fields).
#pragma once

#include <nlohmann/json.hpp>

#include "kura/repo.hpp"

namespace kura {

// {id, parents, author_name, author_email, time, message, tree}
nlohmann::json commit_json(const CommitInfo& commit);
// {path, mode ("100644", "100755", "120000"), kind, object, size, sha256[, rows]}
nlohmann::json file_json(const FileEntry& file);

}  // namespace kura
