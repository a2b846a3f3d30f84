// Reading commits' trees and writing the index as a tree.
#include <openssl/evp.h>

#include <cstdio>

#include "kura/error.hpp"
#include "repo/odb_backend.hpp"
#include "util/fanout.hpp"
#include "repo/index.hpp"
#include "repo/repo_impl.hpp"
#include "util/fs.hpp"

namespace kura {

std::optional<git_oid> Repo::Impl::head_oid() const {
  git_oid oid;
  int rc = git_reference_name_to_id(&oid, git.get(), "HEAD");
  if (rc == GIT_ENOTFOUND || rc == GIT_EUNBORNBRANCH) return std::nullopt;
  git::check(rc, "cannot read HEAD");
  return oid;
}

std::string Repo::Impl::head_target_ref() const {
  git_reference* head = nullptr;
  git::check(git_reference_lookup(&head, git.get(), "HEAD"), "cannot read HEAD");
  git::Reference owner(head);
  return git_reference_type(head) == GIT_REFERENCE_SYMBOLIC ? git_reference_symbolic_target(head) : "HEAD";
}

std::string Repo::Impl::ref_target(const std::string& name) const {
  git_oid oid;
  int rc = git_reference_name_to_id(&oid, git.get(), name.c_str());
  if (rc == GIT_ENOTFOUND || rc == GIT_EUNBORNBRANCH) return "";
  git::check(rc, "cannot read '" + name + "'");
  return git::hex(oid);
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

namespace {

// Adds the files of `tree` under `prefix` ("" or "dir/"); bucket trees of a
// large folder (fanout.hpp) add their entries to the folder itself.
void flatten_into(git_repository* repo, const git_tree* tree, const std::string& prefix, TreeFiles& out) {
  const size_t n = git_tree_entrycount(tree);
  for (size_t i = 0; i < n; ++i) {
    const git_tree_entry* entry = git_tree_entry_byindex(tree, i);
    const char* name = git_tree_entry_name(entry);
    const git_object_t type = git_tree_entry_type(entry);
    if (type == GIT_OBJECT_TREE) {
      git_tree* sub = nullptr;
      git::check(git_tree_lookup(&sub, repo, git_tree_entry_id(entry)),
                 "cannot read the tree of '" + prefix + name + "'");
      git::Tree owner(sub);
      flatten_into(repo, sub, is_fanout_name(name) ? prefix : prefix + name + "/", out);
    } else if (type == GIT_OBJECT_BLOB) {
      TreeFile f;
      f.mode = git_tree_entry_filemode(entry);
      f.oid = *git_tree_entry_id(entry);
      out.emplace_hint(out.end(), prefix + name, f);
    }
  }
}

}  // namespace

TreeFiles Repo::Impl::flatten(const git_tree* tree) const {
  TreeFiles out;
  flatten_into(git.get(), tree, "", out);
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
  return entry_from(path, file, bytes);
}

std::vector<FileEntry> Repo::Impl::entries_of(const std::vector<std::pair<std::string, TreeFile>>& files) const {
  // One batched read of the pointer blobs from the store (RocksDB MultiGet)
  // instead of a libgit2 look-up each: for 10,000 files a third of the time
  // of 'kura check --rev'. A blob the table lacks goes through libgit2.
  std::vector<std::string> keys;
  keys.reserve(files.size());
  for (const auto& [path, file] : files) keys.emplace_back(git::raw(file.oid));
  const auto values = store->get_many(Table::kGit, keys);
  std::vector<FileEntry> out;
  out.reserve(files.size());
  for (size_t i = 0; i < files.size(); ++i) {
    const auto& [path, file] = files[i];
    git_object_t type;
    int64_t time;
    std::string_view data;
    if (values[i] && decode_git_value(*values[i], &type, &time, &data) && type == GIT_OBJECT_BLOB)
      out.push_back(entry_from(path, file, data));
    else
      out.push_back(entry_of(path, file));
  }
  return out;
}

FileEntry Repo::Impl::entry_from(const std::string& path, const TreeFile& file, std::string_view bytes) const {
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

// Writes the trees straight into the store's `git` table: the index is in
// path order, which is git's tree order too (a folder "a" sorts as "a/", and
// every path under it starts with "a/"), so each tree is serialized in one
// pass and hashed with OpenSSL's SHA-1. libgit2's tree builder sorted and
// re-hashed (with its slower collision-detecting SHA-1) on every commit,
// which cost about 8 s of CPU per million files.
class TreeWriter {
 public:
  explicit TreeWriter(Store& store) : store_(store) {}

  git_oid build(const std::vector<TreeItem>& entries, size_t b, size_t e, size_t prefix) {
    std::vector<Child> children;
    size_t i = b;
    while (i < e) {
      const std::string& path = entries[i].path;
      size_t slash = path.find('/', prefix);
      if (slash == std::string::npos) {
        children.push_back({std::string_view(path).substr(prefix), entries[i].mode, entries[i].oid});
        ++i;
        continue;
      }
      const size_t len = slash + 1;  // "dir/" including the slash
      size_t j = i;
      while (j < e && entries[j].path.size() > len && entries[j].path.compare(0, len, path, 0, len) == 0) ++j;
      git_oid sub = build(entries, i, j, len);
      children.push_back({std::string_view(path).substr(prefix, slash - prefix), GIT_FILEMODE_TREE, sub});
      i = j;
    }
    if (children.size() <= kFanoutThreshold) return write(children);
    // A large folder: buckets by name hash (fanout.hpp). A subsequence of a
    // sorted list is sorted, so each bucket keeps git's order.
    std::vector<std::vector<Child>> buckets(256);
    for (const Child& c : children) buckets[fanout_bucket(c.name)].push_back(c);
    std::vector<std::string> names;
    names.reserve(256);
    std::vector<Child> top;
    for (unsigned k = 0; k < 256; ++k) {
      if (buckets[k].empty()) continue;
      names.push_back(fanout_bucket_name(k));
      top.push_back({names.back(), GIT_FILEMODE_TREE, write(buckets[k])});
    }
    return write(top);
  }

  void flush() {
    if (batch_.size() > 0) store_.write(batch_, Sync::kNo);
    batch_ = TableBatch();
  }

 private:
  static void append(std::string& out, uint32_t mode, std::string_view name, const git_oid& oid) {
    if (name.empty() || name.find('\0') != std::string_view::npos)
      fail(ErrorCode::kInvalidInput, "cannot put a file named '" + std::string(name) + "' in a tree");
    switch (mode) {
      case GIT_FILEMODE_BLOB: out.append("100644 ", 7); break;
      case GIT_FILEMODE_BLOB_EXECUTABLE: out.append("100755 ", 7); break;
      case GIT_FILEMODE_LINK: out.append("120000 ", 7); break;
      case GIT_FILEMODE_TREE: out.append("40000 ", 6); break;
      default: {
        char octal[16];
        int n = std::snprintf(octal, sizeof octal, "%o ", mode);
        out.append(octal, static_cast<size_t>(n));
      }
    }
    out.append(name);
    out.push_back('\0');
    out.append(reinterpret_cast<const char*>(oid.id), GIT_OID_RAWSZ);
  }

  struct Child {
    std::string_view name;
    uint32_t mode;
    git_oid oid;
  };

  git_oid write(const std::vector<Child>& children) {
    std::string content;
    for (const Child& c : children) append(content, c.mode, c.name, c.oid);
    const std::string header = "tree " + std::to_string(content.size());
    git_oid oid;
    EVP_DigestInit_ex(ctx_.get(), EVP_sha1(), nullptr);
    EVP_DigestUpdate(ctx_.get(), header.data(), header.size() + 1);  // with the terminating NUL
    EVP_DigestUpdate(ctx_.get(), content.data(), content.size());
    EVP_DigestFinal_ex(ctx_.get(), oid.id, nullptr);
    const std::string_view key(reinterpret_cast<const char*>(oid.id), GIT_OID_RAWSZ);
    // Most trees of a commit are those of its parent: write only new ones,
    // so a small change to a large repository writes a few kilobytes.
    if (!store_.get(Table::kGit, key)) {
      batch_.put(Table::kGit, key, encode_git_value(GIT_OBJECT_TREE, content));
      if (batch_.size() >= 1024) flush();
    }
    return oid;
  }

  Store& store_;
  TableBatch batch_;
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx_{EVP_MD_CTX_new(), EVP_MD_CTX_free};
};

}  // namespace

git_oid Repo::Impl::build_tree(size_t* files) const {
  std::vector<TreeItem> items = load_tree_items(*store);
  if (files) *files = items.size();
  TreeWriter writer(*store);
  git_oid oid = writer.build(items, 0, items.size(), 0);
  writer.flush();
  return oid;
}

std::vector<FileEntry> Repo::ls_files(const std::string& rev, const std::vector<std::string>& paths) const {
  std::vector<FileEntry> out;
  if (rev.empty()) {
    for (auto& [path, entry] : load_index(*impl_->store))
      if (path_under_any(path, paths)) out.push_back(entry);
    return out;
  }
  std::vector<std::pair<std::string, TreeFile>> wanted;
  for (auto& [path, file] : impl_->flatten_rev(rev))
    if (path_under_any(path, paths)) wanted.emplace_back(path, file);
  return impl_->entries_of(wanted);
}

std::optional<FileEntry> Repo::file_at(const std::string& rev, const std::string& path) const {
  git::Commit commit = impl_->commit_of(rev);
  git_tree* root = nullptr;
  git::check(git_commit_tree(&root, commit.get()), "cannot read the tree of " + rev);
  git::Tree tree(root);
  // One component at a time: a large folder's entry is in the bucket its
  // name hashes to (fanout.hpp).
  size_t start = 0;
  while (true) {
    const size_t slash = path.find('/', start);
    const std::string name = path.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (name.empty()) return std::nullopt;
    const git_tree_entry* entry = git_tree_entry_byname(tree.get(), name.c_str());
    if (!entry) {
      const std::string bucket = fanout_bucket_name(fanout_bucket(name));
      const git_tree_entry* b = git_tree_entry_byname(tree.get(), bucket.c_str());
      if (!b || git_tree_entry_type(b) != GIT_OBJECT_TREE) return std::nullopt;
      git_tree* sub = nullptr;
      git::check(git_tree_lookup(&sub, impl_->git.get(), git_tree_entry_id(b)), "cannot look up '" + path + "'");
      tree.reset(sub);
      entry = git_tree_entry_byname(tree.get(), name.c_str());
      if (!entry) return std::nullopt;
    }
    const git_object_t type = git_tree_entry_type(entry);
    if (slash == std::string::npos) {
      if (type != GIT_OBJECT_BLOB) return std::nullopt;
      return impl_->entry_of(path, {git_tree_entry_filemode(entry), *git_tree_entry_id(entry)});
    }
    if (type != GIT_OBJECT_TREE) return std::nullopt;
    git_tree* sub = nullptr;
    git::check(git_tree_lookup(&sub, impl_->git.get(), git_tree_entry_id(entry)), "cannot look up '" + path + "'");
    tree.reset(sub);
    start = slash + 1;
  }
}

void Repo::read_file(const FileEntry& file, const std::function<void(std::string_view)>& sink) const {
  read_entry(*impl_->store, file, sink);
}

void read_entry(const Store& store, const FileEntry& file, const std::function<void(std::string_view)>& sink) {
  const Pointer& p = file.pointer;
  if (p.kind != FileKind::kTable) {
    // RocksDB's blob checksum (software CRC32C, a tenth of a checkout) is
    // skipped: the SHA-256 below checks every byte.
    auto got = store.get_objects({p.object}, ObjectCheck::kByCaller);
    if (!got[0]) fail(ErrorCode::kNotFound, "object " + p.object.hex() + " of '" + file.path +
                                               "' not found in the store; run 'kura fsck'");
    const std::string& bytes = *got[0];
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
