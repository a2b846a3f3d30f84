#include "repo/journal.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "kura/error.hpp"
#include "util/fs.hpp"

namespace kura {

namespace fs = std::filesystem;

void write_journal(const fs::path& kura_dir, nlohmann::json entry) {
  entry["pid"] = ::getpid();
  write_file_atomic(kura_dir / "journal", entry.dump() + "\n");
  sync_dir(kura_dir);
}

std::optional<nlohmann::json> read_journal(const fs::path& kura_dir) {
  const fs::path path = kura_dir / "journal";
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return std::nullopt;
    fail_errno("read", path.string());
  }
  MappedFile file(path);
  auto j = nlohmann::json::parse(file.bytes(), nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("op") || !j["op"].is_string())
    fail(ErrorCode::kCorrupt, "'" + path.string() +
                                  "' (the journal of an interrupted operation) is damaged; look at it, remove "
                                  "it, and run 'kura status' and 'kura fsck'");
  return j;
}

void clear_journal(const fs::path& kura_dir) {
  const fs::path path = kura_dir / "journal";
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) fail_errno("remove", path.string());
  sync_dir(kura_dir);
}

}  // namespace kura
