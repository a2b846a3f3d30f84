// Git's object formats, read and hashed with libgit2 (docs/architecture.md:
// libgit2 is called from the repo layer only).
#include "kura/git_objects.hpp"

#include <git2.h>

#include <cstring>
#include <optional>

#include "kura/error.hpp"
#include "kura/repo.hpp"

namespace kura {

static_assert(kGitCommit == GIT_OBJECT_COMMIT && kGitTree == GIT_OBJECT_TREE && kGitBlob == GIT_OBJECT_BLOB &&
              kGitTag == GIT_OBJECT_TAG);

GitCommitLinks git_commit_links(const GitObject& object) {
  GitCommitLinks links;
  const std::string& data = object.data;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t end = data.find('\n', pos);
    if (end == std::string::npos) end = data.size();
    std::string_view line(data.data() + pos, end - pos);
    if (line.empty()) break;  // the message follows
    auto value = [&](std::string_view key) -> std::optional<std::string> {
      if (line.size() > key.size() + 1 && line.substr(0, key.size()) == key && line[key.size()] == ' ')
        return std::string(line.substr(key.size() + 1));
      return std::nullopt;
    };
    if (auto v = value("tree"))
      links.trees.push_back(*v);
    else if (auto v = value("parent"))
      links.parents.push_back(*v);
    else if (auto v = value("object"))
      links.objects.push_back(*v);
    else if (auto v = value("kura-checks")) {
      if (auto id = ObjectId::from_hex(*v)) links.reports.push_back(*id);
    }
    pos = end + 1;
  }
  return links;
}

// Tree entries: "<octal mode> <name>\0<20-byte id>".
std::vector<GitTreeEntry> git_tree_entries(const GitObject& tree) {
  std::vector<GitTreeEntry> out;
  const std::string& d = tree.data;
  size_t pos = 0;
  while (pos < d.size()) {
    const size_t sp = d.find(' ', pos), nul = d.find('\0', pos);
    if (sp == std::string::npos || nul == std::string::npos || sp > nul || nul + 1 + GIT_OID_RAWSZ > d.size())
      fail(ErrorCode::kCorrupt, "git tree " + tree.id + " is malformed");
    const std::string_view mode(d.data() + pos, sp - pos);
    GitTreeEntry e;
    e.kind = mode == "40000"    ? GitTreeEntry::Kind::kTree
             : mode == "120000" ? GitTreeEntry::Kind::kLink
             : mode == "160000" ? GitTreeEntry::Kind::kSubmodule
                                : GitTreeEntry::Kind::kBlob;
    e.name.assign(d, sp + 1, nul - sp - 1);
    e.id = git_id_hex(std::string_view(d.data() + nul + 1, GIT_OID_RAWSZ));
    out.push_back(std::move(e));
    pos = nul + 1 + GIT_OID_RAWSZ;
  }
  return out;
}

std::string git_id_raw(std::string_view hex) {
  git_oid oid;
  if (hex.size() != GIT_OID_HEXSZ || git_oid_fromstrn(&oid, hex.data(), hex.size()) < 0)
    fail(ErrorCode::kInvalidInput, "bad git id " + std::string(hex));
  return std::string(reinterpret_cast<const char*>(oid.id), GIT_OID_RAWSZ);
}

std::string git_id_hex(std::string_view raw) {
  git_oid oid;
  std::memcpy(oid.id, raw.data(), GIT_OID_RAWSZ);
  char hex[GIT_OID_HEXSZ + 1];
  git_oid_tostr(hex, sizeof hex, &oid);
  return hex;
}

bool git_object_matches(const GitObject& object) {
  git_oid oid, actual;
  if (object.id.size() != GIT_OID_HEXSZ || git_oid_fromstrn(&oid, object.id.data(), object.id.size()) < 0)
    return false;
  if (object.type < GIT_OBJECT_COMMIT || object.type > GIT_OBJECT_TAG) return false;
  return git_odb_hash(&actual, object.data.data(), object.data.size(), git_object_t(object.type)) == 0 &&
         git_oid_equal(&actual, &oid);
}

}  // namespace kura
