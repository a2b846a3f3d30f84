// Repo::object_uses: where a commit uses an object (kura show --info ID).
#include <nlohmann/json.hpp>

#include <algorithm>

#include "check/row_check.hpp"
#include "kura/error.hpp"
#include "kura/repo.hpp"
#include "repo/repo_impl.hpp"

namespace kura {

namespace {

constexpr size_t kRowBatch = 4096;
constexpr int kMaxDepth = 64;  // image paths sit a few levels deep; a hostile line may nest 100,000

// Whether any string of `j` names `target` from folder `dir`.
bool names_path(const nlohmann::json& j, const std::string& dir, const std::string& target, int depth = 0) {
  if (j.is_string()) {
    auto resolved = check::resolve_path(dir, j.get_ref<const std::string&>());
    return resolved && *resolved == target;
  }
  if (j.is_structured() && depth < kMaxDepth)
    for (const auto& v : j)
      if (names_path(v, dir, target, depth + 1)) return true;
  return false;
}

}  // namespace

std::vector<ObjectUse> Repo::object_uses(const std::string& rev, const ObjectId& id, size_t limit) const {
  const std::vector<FileEntry> files = ls_files(rev);
  std::vector<ObjectUse> out;
  std::vector<std::string> named;  // paths of the files that are the object
  for (const auto& f : files)
    if (f.pointer.kind == FileKind::kMedia && f.pointer.object == id) named.push_back(f.path);
  const Store& store = *impl_->store;
  for (const auto& f : files) {
    if (out.size() >= limit) break;
    if (f.pointer.kind == FileKind::kMedia && f.pointer.object == id) out.push_back({f.path, 0, "file"});
    if (f.pointer.kind != FileKind::kTable) continue;
    const std::string dir = f.path.find('/') == std::string::npos ? "" : f.path.substr(0, f.path.rfind('/'));
    const std::vector<RowRef> rows = read_manifest(store, f.pointer.object);
    for (size_t start = 0; start < rows.size() && out.size() < limit; start += kRowBatch) {
      std::vector<ObjectId> ids;
      for (size_t i = start; i < std::min(rows.size(), start + kRowBatch); ++i) ids.push_back(rows[i].row);
      const std::vector<std::string> bytes = read_objects(store, ids, ObjectCheck::kSha256, impl_->threads());
      for (size_t k = 0; k < ids.size() && out.size() < limit; ++k) {
        const uint64_t line = start + k + 1;
        const Row row = decode_row(bytes[k], ids[k]);
        if (std::any_of(row.images.begin(), row.images.end(), [&](const RowImage& im) { return im.media == id; })) {
          out.push_back({f.path, line, "inline"});
          continue;
        }
        for (const auto& target : named) {
          // Only a line that holds the file's name can name it.
          if (row.body.find(target.substr(target.rfind('/') + 1)) == std::string::npos) continue;
          auto j = nlohmann::json::parse(row.body, nullptr, false);
          if (!j.is_discarded() && names_path(j, dir, target)) {
            out.push_back({f.path, line, "path"});
            break;
          }
        }
      }
    }
  }
  return out;
}

}  // namespace kura
