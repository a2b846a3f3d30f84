#include "util/worktree.hpp"


#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <unistd.h>

#include <algorithm>
#include <string_view>
#include <fstream>
#include <numeric>

#include "kura/error.hpp"
#include "util/fanout.hpp"
#include "util/fs.hpp"

namespace kura {

namespace fs = std::filesystem;

IgnoreRules IgnoreRules::load(const fs::path& root) {
  IgnoreRules r;
  std::ifstream in(root / ".kuraignore");
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    Rule rule;
    if (line.back() == '/') {
      rule.dir_only = true;
      line.pop_back();
    }
    if (line.find('/') != std::string::npos) {
      rule.anchored = true;
      if (line[0] == '/') line.erase(0, 1);
    }
    rule.pattern = line;
    if (!rule.pattern.empty()) r.rules_.push_back(std::move(rule));
  }
  return r;
}

bool IgnoreRules::ignored(const std::string& path, bool is_dir) const {
  for (const auto& rule : rules_) {
    if (rule.dir_only && !is_dir) continue;
    if (rule.anchored) {
      if (fnmatch(rule.pattern.c_str(), path.c_str(), FNM_PATHNAME) == 0) return true;
    } else {
      size_t slash = path.rfind('/');
      std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
      if (fnmatch(rule.pattern.c_str(), base.c_str(), 0) == 0) return true;
    }
  }
  return false;
}

namespace {

void walk(const fs::path& root, const std::string& rel, const IgnoreRules& rules,
          std::vector<WorkFile>& out, std::vector<std::string>* skipped) {
  const fs::path dir = rel.empty() ? root : root / rel;
  DIR* d = ::opendir(dir.c_str());
  if (!d) fail_errno("read folder", dir.string());
  std::unique_ptr<DIR, int (*)(DIR*)> owner(d, ::closedir);
  while (dirent* ent = ::readdir(d)) {
    std::string_view name = ent->d_name;
    if (name == "." || name == "..") continue;
    if (rel.empty() && name == ".kura") continue;
    if (name == ".git") continue;
    std::string path = rel.empty() ? std::string(name) : rel + "/" + std::string(name);
    if (is_temporary_name(name)) {
      if (skipped) skipped->push_back(path + ": a temporary file of an interrupted kura checkout; not versioned (the next checkout or recovery removes it)");
      continue;
    }
    // `.GIT`, `git~1`, `.Kura.`: another machine's file system takes them
    // for .git or .kura, so a checkout there could not write them.
    if (std::string why = reserved_name_reason(name, rel.empty()); !why.empty()) {
      if (skipped) skipped->push_back(path + ": " + why + "; not versioned");
      continue;
    }
    if (is_fanout_name(name)) {
      if (skipped) skipped->push_back(path + ": names starting with '.kura-fanout.' are kura's own (large folders); not versioned");
      continue;
    }
    struct stat st;
    if (::fstatat(::dirfd(d), ent->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;  // vanished while we walked
      fail_errno("stat", (root / path).string());
    }
    const bool is_dir = S_ISDIR(st.st_mode);
    if (rules.ignored(path, is_dir)) continue;
    if (is_dir) {
      walk(root, path, rules, out, skipped);
    } else if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) {
      out.push_back({std::move(path), st});
    } else if (skipped) {
      skipped->push_back(path + ": not a regular file or symlink (socket, fifo or device); not versioned");
    }
  }
}

}  // namespace

void scan_worktree(const fs::path& root, const std::string& rel, const IgnoreRules& rules,
                   std::vector<WorkFile>& out, std::vector<std::string>* skipped) {
  const size_t first = out.size();
  // A path given by name (`kura add .GIT/x`) is refused like a walked one.
  for (size_t start = 0, end = 0; start < rel.size(); start = end + 1) {
    end = std::min(rel.find('/', start), rel.size());
    const std::string_view part(rel.data() + start, end - start);
    if (std::string why = reserved_name_reason(part, start == 0); !why.empty()) {
      if (skipped) skipped->push_back(rel.substr(0, end) + ": " + why + "; not versioned");
      return;
    }
  }
  struct stat st;
  const fs::path top = rel.empty() ? root : root / rel;
  if (::lstat(top.c_str(), &st) != 0) fail_errno("stat", top.string());
  if (S_ISDIR(st.st_mode)) {
    walk(root, rel, rules, out, skipped);
  } else if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) {
    out.push_back({rel, st});
  } else if (skipped) {
    skipped->push_back(rel + ": not a regular file or symlink; not versioned");
  }
  // Sorted by path: sort an order, then move each entry once (a WorkFile
  // holds a whole struct stat; swapping those dominated the sort).
  const size_t n = out.size() - first;
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(),
            [&](uint32_t a, uint32_t b) { return out[first + a].path < out[first + b].path; });
  std::vector<WorkFile> sorted;
  sorted.reserve(n);
  for (uint32_t i : order) sorted.push_back(std::move(out[first + i]));
  std::move(sorted.begin(), sorted.end(), out.begin() + static_cast<long>(first));
}

}  // namespace kura
