// Bringing another line of history into the current branch (kura pull):
// fast-forward when possible, else a merge commit of the two trees. Trees
// hold pointer blobs, so git's tree merge decides per file; a file changed
// on both sides is a conflict kura does not resolve for the user.
#include <unistd.h>

#include <cstdlib>

#include "kura/error.hpp"
#include "repo/repo_impl.hpp"

namespace kura {

MergeResult Repo::merge(const std::string& theirs, const std::string& message, const MergeOptions& options) {
  Impl& I = *impl_;
  MergeResult result;
  const std::string branch_ref = head_ref();
  if (branch_ref.rfind("refs/heads/", 0) != 0)
    fail(ErrorCode::kConflict, "HEAD is detached; switch to a branch before pulling");
  const std::string branch = branch_ref.substr(11);
  git::Commit their_commit = I.commit_of(theirs);
  const std::string their_hex = git::hex(*git_commit_id(their_commit.get()));
  const auto head = I.head_oid();

  auto move_to = [&](const std::string& commit, const char* why) {
    // Files, index, branch, HEAD: one journaled checkout, so a kill at any
    // point is finished by the next command (src/repo/recover.cpp).
    CheckoutOptions options;
    options.update_ref = branch_ref;
    options.reflog = std::string(why) + ": " + commit.substr(0, 10);
    result.checkout = checkout(commit, options);  // refuses to overwrite local changes
    result.commit = commit;
  };
  if (!head) {
    result.fast_forward = true;
    move_to(their_hex, "pull");
    return result;
  }
  const std::string ours = git::hex(*head);
  if (is_ancestor(their_hex, ours)) {
    result.up_to_date = true;
    result.commit = ours;
    return result;
  }
  if (is_ancestor(ours, their_hex)) {
    result.fast_forward = true;
    move_to(their_hex, "pull: fast-forward");
    return result;
  }

  git::Commit our_commit = I.commit_of(ours);
  git_index* raw = nullptr;
  git_merge_options opts = GIT_MERGE_OPTIONS_INIT;
  opts.flags = GIT_MERGE_FIND_RENAMES;
  git::check(git_merge_commits(&raw, I.git.get(), our_commit.get(), their_commit.get(), &opts),
             "cannot merge " + their_hex.substr(0, 10));
  git::Owned<git_index, git_index_free> index(raw);
  if (git_index_has_conflicts(raw)) {
    std::string paths;
    size_t n = 0;
    git_index_conflict_iterator* it = nullptr;
    git::check(git_index_conflict_iterator_new(&it, raw), "cannot list conflicts");
    git::Owned<git_index_conflict_iterator, git_index_conflict_iterator_free> it_owner(it);
    const git_index_entry *anc, *our, *their;
    while (git_index_conflict_next(&anc, &our, &their, it) == 0) {
      const char* p = our ? our->path : their ? their->path : anc->path;
      if (n++ < 10) paths += std::string(n > 1 ? ", " : "") + p;
    }
    if (n > 10) paths += " and " + std::to_string(n - 10) + " more";
    fail(
        ErrorCode::kConflict,
        "cannot merge " + their_hex.substr(0, 10) + " into '" + branch + "': both sides changed " +
            paths +
            "; nothing was changed here: keep one version (kura checkout), commit, and pull again");
  }
  git_oid tree_oid;
  git::check(git_index_write_tree_to(&tree_oid, raw, I.git.get()), "cannot write the merged tree");
  git_tree* tree = nullptr;
  git::check(git_tree_lookup(&tree, I.git.get(), &tree_oid), "cannot read the merged tree");
  git::Tree tree_owner(tree);
  // The merged files are data no commit has checked yet: check them as
  // 'kura commit' does, and store the report with the merge commit.
  std::string report_hex;
  if (options.verify) {
    std::vector<std::pair<std::string, TreeFile>> merged;
    for (auto& [path, file] : I.flatten(tree)) merged.emplace_back(path, file);
    const std::vector<FileEntry> files = I.entries_of(merged);
    CheckReport report = I.check_for_commit(files, options.threads);
    if (options.report_out) *options.report_out = report;
    if (!report.ok())
      fail(ErrorCode::kCheckFailed,
           "merge of " + their_hex.substr(0, 10) + " into '" + branch + "' stopped: the merged data has " +
               std::to_string(report.summary.errors) + (report.summary.errors == 1 ? " error" : " errors") +
               "; nothing was changed here. Fix them on either side, change the rules in .kura/checks.json, "
               "or merge anyway with --no-verify");
    report_hex = I.store_report(report);
    result.checked = true;
    result.report = std::move(report);
  }
  git::Signature sig = author_signature(I.git.get());
  const git_commit* parents[2] = {our_commit.get(), their_commit.get()};
  git_buf text = GIT_BUF_INIT;
  git::check(git_commit_create_buffer(&text, I.git.get(), sig.get(), sig.get(), "UTF-8", (message + "\n").c_str(),
                                      tree, 2, parents),
             "cannot write the merge commit");
  const std::string content(text.ptr, text.size);
  git_buf_dispose(&text);
  // The report id rides in a header of its own, as on any commit.
  git_oid commit_oid;
  git::check(git_commit_create_with_signature(&commit_oid, I.git.get(), content.c_str(),
                                              report_hex.empty() ? nullptr : report_hex.c_str(), kReportHeader),
             "cannot write the merge commit");
  I.store->sync_tables();  // tree and commit durable before the ref names them
  move_to(git::hex(commit_oid), "pull: merge");
  return result;
}

}  // namespace kura
