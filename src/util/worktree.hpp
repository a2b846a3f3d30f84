// Walking the working folder: which files exist, with their stat results.
// .kura/ and every .git/ folder are never entered; `.kuraignore` at the root
// lists glob patterns (fnmatch) of paths to leave out, one per line: a
// pattern with a '/' matches the whole path (a leading '/' anchors it to the
// root), one without matches any path component; a trailing '/' matches
// folders only; '#' starts a comment.
#pragma once

#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <vector>

namespace kura {

struct WorkFile {
  std::string path;  // repository-relative
  struct stat st;
};

class IgnoreRules {
 public:
  static IgnoreRules load(const std::filesystem::path& root);
  bool ignored(const std::string& path, bool is_dir) const;

 private:
  struct Rule {
    std::string pattern;
    bool dir_only = false, anchored = false;
  };
  std::vector<Rule> rules_;
};

// Appends the files (regular files and symlinks) at or under `rel` ("" is the
// root) to `out`, sorted by path. Sockets, fifos and devices are not
// versioned: they are named in `skipped` with the reason.
void scan_worktree(const std::filesystem::path& root, const std::string& rel, const IgnoreRules& rules,
                   std::vector<WorkFile>& out, std::vector<std::string>* skipped);

}  // namespace kura
