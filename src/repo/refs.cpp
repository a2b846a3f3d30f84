// Revisions, history, branches and tags: thin over libgit2's refs.
#include <sys/stat.h>

#include <filesystem>
#include <set>

#include "kura/error.hpp"
#include "repo/repo_impl.hpp"
#include "util/fs.hpp"

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

void enable_reflogs(git_repository* repo) {
  git_config* raw = nullptr;
  git::check(git_repository_config(&raw, repo), "cannot read the git config");
  git::Config cfg(raw);
  int on = 0;
  if (git_config_get_bool(&on, raw, "core.logAllRefUpdates") == 0 && on) return;
  git::check(git_config_set_bool(raw, "core.logAllRefUpdates", 1), "cannot write config 'core.logAllRefUpdates'");
}

namespace {

// What a commit holds at each of `specs`: the tree entry's id, or none.
// Equal vectors: the same content at every path.
std::vector<std::string> content_at(const git_commit* c, const std::vector<std::string>& specs) {
  git_tree* raw = nullptr;
  git::check(git_commit_tree(&raw, c), "cannot read the tree of " + git::hex(*git_commit_id(c)));
  git::Tree tree(raw);
  std::vector<std::string> out;
  out.reserve(specs.size());
  for (const auto& spec : specs) {
    if (spec.empty()) {
      out.push_back(git::hex(*git_tree_id(raw)));
      continue;
    }
    git_tree_entry* e = nullptr;
    if (git_tree_entry_bypath(&e, raw, spec.c_str()) != 0) {
      out.emplace_back();
      continue;
    }
    git::TreeEntry owner(e);
    out.push_back(git::hex(*git_tree_entry_id(e)) + std::to_string(git_tree_entry_filemode(e)));
  }
  return out;
}

}  // namespace

std::vector<CommitInfo> Repo::log(const LogOptions& options) const {
  Impl& I = *impl_;
  std::vector<CommitInfo> out;
  git_revwalk* raw = nullptr;
  git::check(git_revwalk_new(&raw, I.git.get()), "cannot walk history");
  git::Revwalk walk(raw);
  git_revwalk_sorting(raw, GIT_SORT_TOPOLOGICAL | GIT_SORT_TIME);
  bool any = false;
  auto push = [&](const std::string& rev) {
    git::Commit start = I.commit_of(rev);
    git::check(git_revwalk_push(raw, git_commit_id(start.get())), "cannot walk history");
    any = true;
  };
  for (const auto& rev : options.revs) push(rev);
  if (options.revs.empty() && I.head_oid()) push("HEAD");
  if (options.all)
    for (const auto& [name, target] : refs()) {
      // Tags may name an annotated tag object: peel through the revision parser.
      git_object* obj = nullptr;
      if (git_revparse_single(&obj, I.git.get(), (name + "^{commit}").c_str()) != 0) continue;
      git::Object owner(obj);
      git::check(git_revwalk_push(raw, git_object_id(obj)), "cannot walk history");
      any = true;
    }
  if (!any) return out;  // no commit yet: empty history
  for (const auto& rev : options.hide) {
    git::Commit c = I.commit_of(rev);
    git::check(git_revwalk_hide(raw, git_commit_id(c.get())), "cannot walk history");
  }
  std::vector<std::string> specs;
  const std::filesystem::path cwd = std::filesystem::current_path();
  for (const auto& p : options.paths) {
    std::string spec = relative_to_root(I.root, cwd, p);
    if (spec == ".") spec.clear();
    specs.push_back(spec);
  }
  git_oid oid;
  while ((options.max_count == 0 || out.size() < options.max_count) && git_revwalk_next(&oid, raw) == 0) {
    git_commit* c = nullptr;
    git::check(git_commit_lookup(&c, I.git.get(), &oid), "cannot read commit " + git::hex(oid));
    git::Commit owner(c);
    if (!specs.empty()) {
      const auto mine = content_at(c, specs);
      bool listed;
      const unsigned parents = git_commit_parentcount(c);
      if (parents == 0) {
        listed = false;
        for (const auto& m : mine) listed = listed || !m.empty();
      } else {
        // Listed when it differs from every parent: a merge that took one
        // side's version of the paths is not a change of them.
        listed = true;
        for (unsigned k = 0; k < parents && listed; ++k) {
          git_commit* p = nullptr;
          git::check(git_commit_parent(&p, c, k), "cannot read a parent of " + git::hex(oid));
          git::Commit p_owner(p);
          if (content_at(p, specs) == mine) listed = false;
        }
      }
      if (!listed) continue;
    }
    out.push_back(commit_info(c));
  }
  return out;
}

std::string Repo::merge_base(const std::string& a, const std::string& b) const {
  git::Commit ca = impl_->commit_of(a), cb = impl_->commit_of(b);
  git_oid base;
  const int rc = git_merge_base(&base, impl_->git.get(), git_commit_id(ca.get()), git_commit_id(cb.get()));
  if (rc == GIT_ENOTFOUND) return "";
  git::check(rc, "cannot find the merge base of '" + a + "' and '" + b + "'");
  return git::hex(base);
}

std::string Repo::previous_head() const {
  // git's @{-1}: the newest "checkout: moving from X to Y" of HEAD's reflog,
  // whose X is not where HEAD is now.
  git_reflog* raw = nullptr;
  if (git_reflog_read(&raw, impl_->git.get(), "HEAD") != 0) return "";
  git::Owned<git_reflog, git_reflog_free> log(raw);
  const std::string now = current_branch();
  const std::string now_id = impl_->head_oid() ? git::hex(*impl_->head_oid()) : "";
  for (size_t i = 0; i < git_reflog_entrycount(raw); ++i) {
    const git_reflog_entry* e = git_reflog_entry_byindex(raw, i);  // 0: the newest
    const char* m = git_reflog_entry_message(e);
    if (!m) continue;
    const std::string msg = m;
    const std::string prefix = "checkout: moving from ";
    if (msg.rfind(prefix, 0) != 0) continue;
    const size_t to = msg.find(" to ", prefix.size());
    if (to == std::string::npos) continue;
    std::string from = msg.substr(prefix.size(), to - prefix.size());
    if (from == now || from == now_id) continue;
    return from;
  }
  return "";
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
