#include "kura/repo_json.hpp"

namespace kura {

nlohmann::json commit_json(const CommitInfo& c) {
  return {{"id", c.id},
          {"parents", c.parents},
          {"author_name", c.author_name},
          {"author_email", c.author_email},
          {"time", c.time},
          {"message", c.message},
          {"tree", c.tree}};
}

nlohmann::json file_json(const FileEntry& f) {
  nlohmann::json j = {{"path", f.path},
                      {"mode", f.mode == 0120000 ? "120000" : f.mode == 0100755 ? "100755" : "100644"},
                      {"kind", kind_name(f.pointer.kind)},
                      {"object", f.pointer.object.hex()},
                      {"size", f.pointer.size},
                      {"sha256", f.pointer.file_sha.hex()}};
  if (f.pointer.kind == FileKind::kTable) j["rows"] = f.pointer.rows;
  return j;
}

}  // namespace kura
