// What the remote layer needs from a repository: raw refs, git objects in
// and out, the closure of a set of commits, and git config.
#include <cstring>
#include <unordered_set>

#include "kura/error.hpp"
#include "repo/odb_backend.hpp"
#include "repo/reach.hpp"
#include "repo/repo_impl.hpp"

namespace kura {

namespace {

git_oid parse_oid(const std::string& hex) {
  if (hex.size() != GIT_OID_HEXSZ)
    fail(ErrorCode::kInvalidInput, "'" + hex + "' is not a full git object id");
  return git::oid_from_hex(hex);
}

git::Config config_of(git_repository* repo) {
  git_config* raw = nullptr;
  git::check(git_repository_config(&raw, repo), "cannot read the repository's config");
  return git::Config(raw);
}

}  // namespace

std::map<std::string, std::string> Repo::refs() const {
  std::map<std::string, std::string> out;
  git_reference_iterator* it = nullptr;
  git::check(git_reference_iterator_new(&it, impl_->git.get()), "cannot list refs");
  git::Owned<git_reference_iterator, git_reference_iterator_free> owner(it);
  git_reference* ref = nullptr;
  while (git_reference_next(&ref, it) == 0) {
    git::Reference r(ref);
    if (const git_oid* target = git_reference_target(ref))
      out[git_reference_name(ref)] = git::hex(*target);
  }
  return out;
}

void Repo::set_ref(const std::string& name, const std::string& target,
                   const std::string& log_message) {
  git_oid oid = parse_oid(target);
  git_reference* ref = nullptr;
  int rc = git_reference_create(&ref, impl_->git.get(), name.c_str(), &oid, 1, log_message.c_str());
  if (rc == GIT_EINVALIDSPEC)
    fail(ErrorCode::kInvalidInput, "'" + name + "' is not a valid ref name");
  git::check(rc, "cannot update '" + name + "'");
  git_reference_free(ref);
}

void Repo::delete_ref(const std::string& name) {
  git_reference* ref = nullptr;
  int rc = git_reference_lookup(&ref, impl_->git.get(), name.c_str());
  if (rc == GIT_ENOTFOUND) return;
  git::check(rc, "cannot find '" + name + "'");
  git::Reference owner(ref);
  git::check(git_reference_delete(ref), "cannot delete '" + name + "'");
}

std::string Repo::head_ref() const {
  git_reference* head = nullptr;
  git::check(git_reference_lookup(&head, impl_->git.get(), "HEAD"), "cannot read HEAD");
  git::Reference owner(head);
  if (git_reference_type(head) != GIT_REFERENCE_SYMBOLIC) return "";
  return git_reference_symbolic_target(head);
}

void Repo::set_head_branch(const std::string& name) {
  git::check(git_repository_set_head(impl_->git.get(), ("refs/heads/" + name).c_str()),
             "cannot point HEAD at '" + name + "'");
}

bool Repo::has_git_object(const std::string& id) const {
  git_oid oid = parse_oid(id);
  return impl_->store->get(Table::kGit, git::raw(oid)).has_value();
}

std::optional<GitObject> Repo::read_git_object(const std::string& id) const {
  git_oid oid = parse_oid(id);
  git_odb* raw = nullptr;
  git::check(git_repository_odb(&raw, impl_->git.get()), "cannot open the object database");
  git::Odb odb(raw);
  git_odb_object* obj = nullptr;
  int rc = git_odb_read(&obj, raw, &oid);
  if (rc == GIT_ENOTFOUND) return std::nullopt;
  git::check(rc, "cannot read git object " + id);
  git::OdbObject owner(obj);
  return GitObject{
      id, static_cast<int>(git_odb_object_type(obj)),
      std::string(static_cast<const char*>(git_odb_object_data(obj)), git_odb_object_size(obj))};
}

void Repo::write_git_objects(const std::vector<GitObject>& objects) {
  TableBatch batch;
  for (const auto& o : objects) {
    git_oid oid = parse_oid(o.id), actual;
    if (o.type < GIT_OBJECT_COMMIT || o.type > GIT_OBJECT_TAG ||
        git_odb_hash(&actual, o.data.data(), o.data.size(), git_object_t(o.type)) < 0 ||
        !git_oid_equal(&actual, &oid))
      fail(ErrorCode::kCorrupt, "git object " + o.id + ": content does not match its id");
    batch.put(Table::kGit, git::raw(oid), encode_git_value(git_object_t(o.type), o.data));
  }
  if (batch.size()) impl_->store->write(batch, Sync::kYes);
}

bool Repo::is_ancestor(const std::string& ancestor, const std::string& descendant) const {
  if (ancestor == descendant) return true;
  git_oid a = parse_oid(ancestor), d = parse_oid(descendant);
  int rc = git_graph_descendant_of(impl_->git.get(), &d, &a);
  git::check(rc, "cannot compare " + ancestor.substr(0, 10) + " and " + descendant.substr(0, 10));
  return rc == 1;
}

ObjectClosure Repo::closure(const std::vector<std::string>& want,
                            const std::vector<std::string>& have) const {
  Impl& I = *impl_;
  ObjectClosure out;
  GitOidSet held, seen_git;
  std::unordered_set<ObjectId, ObjectIdHash> seen;

  git_revwalk* raw = nullptr;
  git::check(git_revwalk_new(&raw, I.git.get()), "cannot walk history");
  git::Revwalk walk(raw);
  git_revwalk_sorting(raw, GIT_SORT_TOPOLOGICAL);
  for (const auto& h : have) {
    if (!has_git_object(h)) continue;  // unknown here: nothing to subtract
    git::Commit c = I.commit_of(h);
    git::check(git_revwalk_hide(raw, git_commit_id(c.get())), "cannot walk history");
    git_tree* tree = nullptr;
    git::check(git_commit_tree(&tree, c.get()), "cannot read the tree of " + h);
    git::Tree owner(tree);
    held.insert(*git_tree_id(tree));
    git::check(git_tree_walk(
                   tree, GIT_TREEWALK_PRE,
                   [](const char*, const git_tree_entry* e, void* p) -> int {
                     static_cast<GitOidSet*>(p)->insert(*git_tree_entry_id(e));
                     return 0;
                   },
                   &held),
               "cannot read the tree of " + h);
  }
  for (const auto& w : want) {
    git_oid oid = parse_oid(w);
    git_object* obj = nullptr;
    git::check(git_object_lookup(&obj, I.git.get(), &oid, GIT_OBJECT_ANY), "cannot read " + w);
    git::Object owner(obj);
    while (git_object_type(obj) == GIT_OBJECT_TAG) {  // annotated tags travel too
      if (seen_git.insert(*git_object_id(obj)).second)
        out.git_objects.push_back(git::hex(*git_object_id(obj)));
      git_object* next = nullptr;
      git::check(git_tag_target(&next, reinterpret_cast<git_tag*>(obj)),
                 "cannot read a tag's target");
      owner.reset(next);
      obj = next;
    }
    if (git_object_type(obj) != GIT_OBJECT_COMMIT)
      fail(ErrorCode::kInvalidInput, w + " does not name a commit");
    git::check(git_revwalk_push(raw, git_object_id(obj)), "cannot walk history");
  }

  struct WalkCtx {
    const Impl* I;
    ObjectClosure* out;
    GitOidSet* held;
    GitOidSet* seen_git;
    std::unordered_set<ObjectId, ObjectIdHash>* seen;
  } ctx{&I, &out, &held, &seen_git, &seen};
  git_oid oid;
  int rc;
  while ((rc = git_revwalk_next(&oid, raw)) == 0) {
    out.commits.push_back(git::hex(oid));
    seen_git.insert(oid);
    out.git_objects.push_back(git::hex(oid));
    git::Commit c = I.commit_of(git::hex(oid));
    if (auto report = I.report_id(c.get()))
      if (seen.insert(*report).second) out.objects.push_back(*report);
    git_tree* tree = nullptr;
    git::check(git_commit_tree(&tree, c.get()), "cannot read the tree of " + git::hex(oid));
    git::Tree owner(tree);
    const git_oid* tree_id = git_tree_id(tree);
    if (held.count(*tree_id) || !seen_git.insert(*tree_id).second) continue;
    out.git_objects.push_back(git::hex(*tree_id));
    git::check(git_tree_walk(
                   tree, GIT_TREEWALK_PRE,
                   [](const char* root, const git_tree_entry* e, void* p) -> int {
                     auto& x = *static_cast<WalkCtx*>(p);
                     const git_oid* id = git_tree_entry_id(e);
                     // A subtree or pointer the other side holds comes with everything below it.
                     if (x.held->count(*id) || !x.seen_git->insert(*id).second) return 1;
                     x.out->git_objects.push_back(git::hex(*id));
                     if (git_tree_entry_type(e) != GIT_OBJECT_BLOB) return 0;
                     try {
                       TreeFile f{static_cast<uint32_t>(git_tree_entry_filemode(e)), *id};
                       FileEntry entry =
                           x.I->entry_of(std::string(root) + git_tree_entry_name(e), f);
                       if (entry.pointer.kind == FileKind::kLink) {
                         // A link's target is stored as an object too (checkout reads it).
                         if (x.seen->insert(entry.pointer.object).second) {
                           if (x.I->store->has_object(entry.pointer.object))
                             x.out->objects.push_back(entry.pointer.object);
                           else
                             x.out->missing.push_back(entry.pointer.object);
                         }
                         return 0;
                       }
                       file_objects(
                           *x.I->store, entry,
                           [&](const ObjectId& oid, uint64_t) {
                             if (!x.seen->insert(oid).second) return false;
                             x.out->objects.push_back(oid);
                             return true;
                           },
                           [&](const ObjectId& oid, const char*, const std::string&, uint64_t) {
                             x.out->objects.erase(
                                 std::remove(x.out->objects.begin(), x.out->objects.end(), oid),
                                 x.out->objects.end());
                             x.out->missing.push_back(oid);
                           });
                     } catch (const Error& err) {
                       git_error_set_str(GIT_ERROR_INVALID, err.what());
                       return -1;
                     }
                     return 0;
                   },
                   &ctx),
               "cannot read the tree of " + git::hex(oid));
  }
  if (rc != GIT_ITEROVER) git::check(rc, "cannot walk history");
  return out;
}

std::optional<std::string> Repo::config(const std::string& key) const {
  git::Config cfg = config_of(impl_->git.get());
  git_buf buf = GIT_BUF_INIT;
  int rc = git_config_get_string_buf(&buf, cfg.get(), key.c_str());
  if (rc == GIT_ENOTFOUND) return std::nullopt;
  git::check(rc, "cannot read config '" + key + "'");
  std::string value(buf.ptr, buf.size);
  git_buf_dispose(&buf);
  return value;
}

void Repo::set_config(const std::string& key, const std::string& value) {
  git::Config cfg = config_of(impl_->git.get());
  git::check(git_config_set_string(cfg.get(), key.c_str(), value.c_str()),
             "cannot write config '" + key + "'");
}

void Repo::unset_config(const std::string& key) {
  git::Config cfg = config_of(impl_->git.get());
  int rc = git_config_delete_entry(cfg.get(), key.c_str());
  if (rc != GIT_ENOTFOUND) git::check(rc, "cannot remove config '" + key + "'");
}

std::vector<std::pair<std::string, std::string>> Repo::config_matching(
    const std::string& regex) const {
  git::Config cfg = config_of(impl_->git.get());
  std::vector<std::pair<std::string, std::string>> out;
  git::check(git_config_foreach_match(
                 cfg.get(), regex.c_str(),
                 [](const git_config_entry* e, void* p) -> int {
                   static_cast<std::vector<std::pair<std::string, std::string>>*>(p)->emplace_back(
                       e->name, e->value);
                   return 0;
                 },
                 &out),
             "cannot read the config");
  return out;
}

}  // namespace kura
