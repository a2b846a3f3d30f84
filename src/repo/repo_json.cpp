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

RefNames ref_names(const Repo& repo) {
  RefNames out;
  const std::string head_ref = repo.head_ref();
  std::string head;
  if (head_ref.empty()) head = repo.resolve("HEAD").id;  // detached: HEAD names a commit
  std::map<std::string, std::string> tag_target;
  for (const auto& t : repo.tags()) tag_target["refs/tags/" + t.name] = t.target;
  if (!head.empty()) out[head].push_back("HEAD");
  for (const auto& [name, target] : repo.refs()) {
    if (name.rfind("refs/heads/", 0) == 0) {
      const std::string branch = name.substr(11);
      if (name == head_ref) out[target].insert(out[target].begin(), "HEAD -> " + branch);
      else out[target].push_back(branch);
    } else if (name.rfind("refs/remotes/", 0) == 0) {
      out[target].push_back(name.substr(13));
    } else if (name.rfind("refs/tags/", 0) == 0) {
      auto it = tag_target.find(name);
      out[it == tag_target.end() ? target : it->second].push_back("tag: " + name.substr(10));
    }
  }
  return out;
}

nlohmann::json commit_json(const CommitInfo& c, const RefNames& names) {
  nlohmann::json j = commit_json(c);
  auto it = names.find(c.id);
  j["refs"] = it == names.end() ? std::vector<std::string>{} : it->second;
  return j;
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
