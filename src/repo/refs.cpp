// Revisions, history, branches and tags: thin over libgit2's refs.
#include "kura/error.hpp"
#include "repo/repo_impl.hpp"

namespace kura {

CommitInfo commit_info(const git_commit* c) {
  CommitInfo info;
  info.id = git::hex(*git_commit_id(c));
  for (unsigned i = 0; i < git_commit_parentcount(c); ++i)
    info.parents.push_back(git::hex(*git_commit_parent_id(c, i)));
  const git_signature* author = git_commit_author(c);
  info.author_name = author->name ? author->name : "";
  info.author_email = author->email ? author->email : "";
  info.time = author->when.time;
  info.offset_minutes = author->when.offset;
  info.message = git_commit_message(c) ? git_commit_message(c) : "";
  info.tree = git::hex(*git_commit_tree_id(c));
  return info;
}

CommitInfo Repo::resolve(const std::string& rev) const { return commit_info(impl_->commit_of(rev).get()); }

std::vector<CommitInfo> Repo::log(const std::string& rev, size_t max_count) const {
  std::vector<CommitInfo> out;
  if (rev == "HEAD" && !impl_->head_oid()) return out;  // no commit yet: empty history
  git::Commit start = impl_->commit_of(rev);
  git_revwalk* raw = nullptr;
  git::check(git_revwalk_new(&raw, impl_->git.get()), "cannot walk history");
  git::Revwalk walk(raw);
  git_revwalk_sorting(raw, GIT_SORT_TOPOLOGICAL | GIT_SORT_TIME);
  git::check(git_revwalk_push(raw, git_commit_id(start.get())), "cannot walk history");
  git_oid oid;
  while ((max_count == 0 || out.size() < max_count) && git_revwalk_next(&oid, raw) == 0) {
    git_commit* c = nullptr;
    git::check(git_commit_lookup(&c, impl_->git.get(), &oid), "cannot read commit " + git::hex(oid));
    git::Commit owner(c);
    out.push_back(commit_info(c));
  }
  return out;
}

std::string Repo::current_branch() const {
  git_reference* head = nullptr;
  git::check(git_reference_lookup(&head, impl_->git.get(), "HEAD"), "cannot read HEAD");
  git::Reference owner(head);
  if (git_reference_type(head) != GIT_REFERENCE_SYMBOLIC) return "";
  std::string target = git_reference_symbolic_target(head);
  const std::string prefix = "refs/heads/";
  return target.rfind(prefix, 0) == 0 ? target.substr(prefix.size()) : target;
}

std::vector<RefInfo> Repo::branches() const {
  std::vector<RefInfo> out;
  const std::string current = current_branch();
  git_branch_iterator* raw = nullptr;
  git::check(git_branch_iterator_new(&raw, impl_->git.get(), GIT_BRANCH_LOCAL), "cannot list branches");
  git::BranchIterator it(raw);
  git_reference* ref = nullptr;
  git_branch_t type;
  while (git_branch_next(&ref, &type, raw) == 0) {
    git::Reference owner(ref);
    const char* name = nullptr;
    git::check(git_branch_name(&name, ref), "cannot read a branch name");
    RefInfo info;
    info.name = name;
    if (const git_oid* target = git_reference_target(ref)) info.target = git::hex(*target);
    info.current = info.name == current;
    out.push_back(std::move(info));
  }
  return out;
}

void Repo::create_branch(const std::string& name, const std::string& start, bool force) {
  git::Commit commit = impl_->commit_of(start.empty() ? "HEAD" : start);
  git_reference* ref = nullptr;
  int rc = git_branch_create(&ref, impl_->git.get(), name.c_str(), commit.get(), force ? 1 : 0);
  if (rc == GIT_EEXISTS) fail(ErrorCode::kConflict, "branch '" + name + "' already exists");
  if (rc == GIT_EINVALIDSPEC) fail(ErrorCode::kInvalidInput, "'" + name + "' is not a valid branch name");
  git::check(rc, "cannot create branch '" + name + "'");
  git::Reference owner(ref);
}

void Repo::delete_branch(const std::string& name) {
  if (name == current_branch())
    fail(ErrorCode::kConflict, "cannot delete branch '" + name + "': it is checked out; switch first");
  git_reference* ref = nullptr;
  int rc = git_branch_lookup(&ref, impl_->git.get(), name.c_str(), GIT_BRANCH_LOCAL);
  if (rc == GIT_ENOTFOUND) fail(ErrorCode::kNotFound, "no branch named '" + name + "'");
  git::check(rc, "cannot find branch '" + name + "'");
  git::Reference owner(ref);
  git::check(git_branch_delete(ref), "cannot delete branch '" + name + "'");
}

std::vector<RefInfo> Repo::tags() const {
  std::vector<RefInfo> out;
  git_strarray names{};
  git::check(git_tag_list(&names, impl_->git.get()), "cannot list tags");
  for (size_t i = 0; i < names.count; ++i) {
    RefInfo info;
    info.name = names.strings[i];
    git_object* obj = nullptr;
    if (git_revparse_single(&obj, impl_->git.get(), ("refs/tags/" + info.name).c_str()) == 0) {
      git::Object owner(obj);
      if (git_object_type(obj) == GIT_OBJECT_TAG) {
        const char* msg = git_tag_message(reinterpret_cast<git_tag*>(obj));
        info.message = msg ? msg : "";
        if (const git_signature* t = git_tag_tagger(reinterpret_cast<git_tag*>(obj)))
          info.tagger = std::string(t->name ? t->name : "") + " <" + (t->email ? t->email : "") + ">";
      }
      git_object* peeled = nullptr;
      if (git_object_peel(&peeled, obj, GIT_OBJECT_COMMIT) == 0) {
        info.target = git::hex(*git_object_id(peeled));
        git_object_free(peeled);
      }
    }
    out.push_back(std::move(info));
  }
  git_strarray_dispose(&names);
  return out;
}

void Repo::create_tag(const std::string& name, const std::string& rev, const std::string& message) {
  git::Commit commit = impl_->commit_of(rev.empty() ? "HEAD" : rev);
  const git_object* target = reinterpret_cast<const git_object*>(commit.get());
  git_oid oid;
  int rc;
  if (message.empty()) {
    rc = git_tag_create_lightweight(&oid, impl_->git.get(), name.c_str(), target, 0);
  } else {
    // The tagger by the rule of commit and merge (author_signature).
    const git::Signature tagger = author_signature(impl_->git.get());
    // Object first, made durable, then the ref that names it.
    rc = git_tag_annotation_create(&oid, impl_->git.get(), name.c_str(), target, tagger.get(), message.c_str());
    git::check(rc, "cannot create tag '" + name + "'");
    impl_->store->sync_tables();
    git_reference* ref = nullptr;
    rc = git_reference_create(&ref, impl_->git.get(), ("refs/tags/" + name).c_str(), &oid, 0,
                              ("tag: " + name).c_str());
    if (rc == 0) git_reference_free(ref);
  }
  if (rc == GIT_EEXISTS) fail(ErrorCode::kConflict, "tag '" + name + "' already exists");
  if (rc == GIT_EINVALIDSPEC) fail(ErrorCode::kInvalidInput, "'" + name + "' is not a valid tag name");
  git::check(rc, "cannot create tag '" + name + "'");
}

void Repo::delete_tag(const std::string& name) {
  int rc = git_tag_delete(impl_->git.get(), name.c_str());
  if (rc == GIT_ENOTFOUND) fail(ErrorCode::kNotFound, "no tag named '" + name + "'");
  git::check(rc, "cannot delete tag '" + name + "'");
}

}  // namespace kura
