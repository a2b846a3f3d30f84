// Reading commits' trees and writing the index as a tree.
#include "kura/error.hpp"
#include "repo/index.hpp"
#include "repo/repo_impl.hpp"

namespace kura {

std::optional<git_oid> Repo::Impl::head_oid() const {
  git_oid oid;
  int rc = git_reference_name_to_id(&oid, git.get(), "HEAD");
  if (rc == GIT_ENOTFOUND || rc == GIT_EUNBORNBRANCH) return std::nullopt;
  git::check(rc, "cannot read HEAD");
  return oid;
}

git::Commit Repo::Impl::commit_of(const std::string& rev) const {
  if (rev.empty()) fail(ErrorCode::kInvalidInput, "empty revision");
  git_object* obj = nullptr;
  int rc = git_revparse_single(&obj, git.get(), rev.c_str());
  if (rc == GIT_ENOTFOUND || rc == GIT_EINVALIDSPEC || rc == GIT_EUNBORNBRANCH) {
    if (rev == "HEAD" && !head_oid()) fail(ErrorCode::kNotFound, "there is no commit yet (HEAD is unborn)");
    fail(ErrorCode::kNotFound, "unknown revision '" + rev + "'; see 'kura log' and 'kura branch'");
  }
  git::check(rc, "cannot resolve '" + rev + "'");
  git::Object owner(obj);
  git_object* peeled = nullptr;
  if (git_object_peel(&peeled, obj, GIT_OBJECT_COMMIT) < 0)
    fail(ErrorCode::kInvalidInput, "'" + rev + "' does not name a commit");
  return git::Commit(reinterpret_cast<git_commit*>(peeled));
}

TreeFiles Repo::Impl::flatten(const git_tree* tree) const {
  TreeFiles out;
  struct Ctx {
    TreeFiles* out;
  } ctx{&out};
  git::check(git_tree_walk(
                 tree, GIT_TREEWALK_PRE,
                 [](const char* root, const git_tree_entry* entry, void* payload) -> int {
                   auto* c = static_cast<Ctx*>(payload);
                   if (git_tree_entry_type(entry) != GIT_OBJECT_BLOB) return 0;
                   TreeFile f;
                   f.mode = git_tree_entry_filemode(entry);
                   f.oid = *git_tree_entry_id(entry);
                   c->out->emplace(std::string(root) + git_tree_entry_name(entry), f);
                   return 0;
                 },
                 &ctx),
             "cannot read a tree");
  return out;
}

TreeFiles Repo::Impl::flatten_rev(const std::string& rev) const {
  if (rev.empty()) return {};
  git::Commit commit = commit_of(rev);
  git_tree* tree = nullptr;
  git::check(git_commit_tree(&tree, commit.get()), "cannot read the tree of " + rev);
  git::Tree owner(tree);
  return flatten(tree);
}

TreeFiles Repo::Impl::head_files() const {
  auto head = head_oid();
  return head ? flatten_rev(git::hex(*head)) : TreeFiles{};
}

FileEntry Repo::Impl::entry_of(const std::string& path, const TreeFile& file) const {
  git_blob* blob = nullptr;
  git::check(git_blob_lookup(&blob, git.get(), &file.oid), "cannot read the pointer of '" + path + "'");
  git::Owned<git_blob, git_blob_free> owner(blob);
  std::string_view bytes(static_cast<const char*>(git_blob_rawcontent(blob)),
                         static_cast<size_t>(git_blob_rawsize(blob)));
  FileEntry e;
  e.path = path;
  e.mode = file.mode;
  e.pointer_oid = git::hex(file.oid);
  if (file.mode == GIT_FILEMODE_LINK) {
    e.pointer.kind = FileKind::kLink;
    e.pointer.object = sha256(bytes);
    e.pointer.file_sha = e.pointer.object;
    e.pointer.size = bytes.size();
  } else {
    e.pointer = Pointer::decode(bytes, "'" + path + "' (pointer " + e.pointer_oid + ")");
  }
  return e;
}

namespace {

bool under(const std::string& path, const std::vector<std::string>& specs) {
  if (specs.empty()) return true;
  for (const auto& s : specs) {
    if (s.empty() || path == s || (path.size() > s.size() && path.compare(0, s.size(), s) == 0 &&
                                   path[s.size()] == '/'))
      return true;
  }
  return false;
}

git_oid build(git_repository* repo, const std::vector<const FileEntry*>& entries, size_t b, size_t e,
              size_t prefix) {
  git_treebuilder* raw = nullptr;
  git::check(git_treebuilder_new(&raw, repo, nullptr), "cannot build a tree");
  git::TreeBuilder tb(raw);
  size_t i = b;
  while (i < e) {
    const std::string& path = entries[i]->path;
    size_t slash = path.find('/', prefix);
    if (slash == std::string::npos) {
      git_oid oid = git::oid_from_hex(entries[i]->pointer_oid);
      git::check(git_treebuilder_insert(nullptr, tb.get(), path.c_str() + prefix, &oid,
                                        static_cast<git_filemode_t>(entries[i]->mode)),
                 "cannot add '" + path + "' to a tree");
      ++i;
      continue;
    }
    const size_t len = slash + 1;  // "dir/" including the slash
    size_t j = i;
    while (j < e && entries[j]->path.size() > len && entries[j]->path.compare(0, len, path, 0, len) == 0) ++j;
    git_oid sub = build(repo, entries, i, j, len);
    std::string name = path.substr(prefix, slash - prefix);
    git::check(git_treebuilder_insert(nullptr, tb.get(), name.c_str(), &sub, GIT_FILEMODE_TREE),
               "cannot add folder '" + path.substr(0, slash) + "' to a tree");
    i = j;
  }
  git_oid oid;
  git::check(git_treebuilder_write(&oid, tb.get()), "cannot write a tree");
  return oid;
}

}  // namespace

git_oid Repo::Impl::build_tree(const std::map<std::string, FileEntry>& index) const {
  std::vector<const FileEntry*> entries;
  entries.reserve(index.size());
  for (const auto& [path, entry] : index) entries.push_back(&entry);
  return build(git.get(), entries, 0, entries.size(), 0);
}

std::vector<FileEntry> Repo::ls_files(const std::string& rev, const std::vector<std::string>& paths) const {
  std::vector<FileEntry> out;
  if (rev.empty()) {
    for (auto& [path, entry] : load_index(*impl_->store))
      if (under(path, paths)) out.push_back(entry);
    return out;
  }
  for (const auto& [path, file] : impl_->flatten_rev(rev))
    if (under(path, paths)) out.push_back(impl_->entry_of(path, file));
  return out;
}

std::optional<FileEntry> Repo::file_at(const std::string& rev, const std::string& path) const {
  git::Commit commit = impl_->commit_of(rev);
  git_tree* tree = nullptr;
  git::check(git_commit_tree(&tree, commit.get()), "cannot read the tree of " + rev);
  git::Tree owner(tree);
  git_tree_entry* entry = nullptr;
  int rc = git_tree_entry_bypath(&entry, tree, path.c_str());
  if (rc == GIT_ENOTFOUND) return std::nullopt;
  git::check(rc, "cannot look up '" + path + "'");
  git::TreeEntry entry_owner(entry);
  if (git_tree_entry_type(entry) != GIT_OBJECT_BLOB) return std::nullopt;
  return impl_->entry_of(path, {git_tree_entry_filemode(entry), *git_tree_entry_id(entry)});
}

void Repo::read_file(const FileEntry& file, const std::function<void(std::string_view)>& sink) const {
  const Store& store = *impl_->store;
  const Pointer& p = file.pointer;
  if (p.kind != FileKind::kTable) {
    std::string bytes = store.read_object(p.object);
    if (sha256(bytes) != p.file_sha)
      fail(ErrorCode::kCorrupt, "object " + p.object.hex() + " of '" + file.path +
                                    "' does not match its hash; run 'kura fsck'");
    sink(bytes);
    return;
  }
  Sha256 hash;
  uint64_t size = 0;
  read_table(store, p.object, [&](std::string_view piece) {
    hash.update(piece);
    size += piece.size();
    sink(piece);
  });
  if (hash.finish() != p.file_sha || size != p.size)
    fail(ErrorCode::kCorrupt, "'" + file.path + "' rebuilt from its rows does not match the SHA-256 "
                              "recorded at commit; run 'kura fsck'");
}

std::vector<StatusEntry> Repo::changes(const std::string& rev_a, const std::string& rev_b) const {
  TreeFiles a = impl_->flatten_rev(rev_a), b = impl_->flatten_rev(rev_b);
  std::vector<StatusEntry> out;
  auto ia = a.begin(), ib = b.begin();
  while (ia != a.end() || ib != b.end()) {
    if (ib == b.end() || (ia != a.end() && ia->first < ib->first)) {
      out.push_back({ia->first, Change::kDeleted});
      ++ia;
    } else if (ia == a.end() || ib->first < ia->first) {
      out.push_back({ib->first, Change::kAdded});
      ++ib;
    } else {
      bool link_a = ia->second.mode == GIT_FILEMODE_LINK, link_b = ib->second.mode == GIT_FILEMODE_LINK;
      if (link_a != link_b) out.push_back({ia->first, Change::kTypeChanged});
      else if (git_oid_cmp(&ia->second.oid, &ib->second.oid) != 0 || ia->second.mode != ib->second.mode)
        out.push_back({ia->first, Change::kModified});
      ++ia;
      ++ib;
    }
  }
  return out;
}

}  // namespace kura
