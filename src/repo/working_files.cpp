// The working folder's files as stored entries, for comparisons (kura diff).
#include <sys/stat.h>

#include <algorithm>

#include "repo/repo_impl.hpp"

namespace kura {

std::vector<FileEntry> Repo::working_files(const std::vector<std::string>& paths) {
  std::vector<std::string> present;
  for (const auto& p : paths) {
    struct stat st;
    if (!p.empty() && ::lstat((impl_->root / p).c_str(), &st) == 0 && (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)))
      present.push_back(p);
  }
  if (present.empty()) return {};
  std::sort(present.begin(), present.end());
  present.erase(std::unique(present.begin(), present.end()), present.end());
  auto entries = impl_->working_entries(present);
  std::sort(entries.begin(), entries.end(), [](const FileEntry& a, const FileEntry& b) { return a.path < b.path; });
  return entries;
}

}  // namespace kura
