// kura commit: the index becomes a tree, the tree a commit, and the branch
// moves to it last, by compare-and-swap against the commit it was built on.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <tuple>

#include "kura/error.hpp"
#include "repo/index.hpp"
#include "repo/journal.hpp"
#include "repo/merge_state.hpp"
#include "repo/repo_impl.hpp"

namespace kura {

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

}  // namespace

git::Signature author_signature(git_repository* repo, std::string name, std::string email) {
  if (name.empty()) name = env("KURA_AUTHOR_NAME");
  if (email.empty()) email = env("KURA_AUTHOR_EMAIL");
  git_signature* sig = nullptr;
  if (name.empty() || email.empty()) {
    if (git_signature_default(&sig, repo) == 0) {
      git::Signature from_config(sig);
      if (name.empty()) name = from_config->name;
      if (email.empty()) email = from_config->email;
    }
  }
  if (name.empty()) name = env("USER").empty() ? "kura user" : env("USER");
  if (email.empty()) {
    char host[256] = "localhost";
    std::ignore = ::gethostname(host, sizeof host - 1);  // a fallback address only
    email = name + "@" + host;
  }
  git::check(git_signature_now(&sig, name.c_str(), email.c_str()),
             "cannot use author '" + name + " <" + email + ">'");
  return git::Signature(sig);
}

namespace {

std::string format_signature(const git_signature* sig) {
  const int offset = sig->when.offset;
  const int abs_offset = offset < 0 ? -offset : offset;
  char tail[64];
  std::snprintf(tail, sizeof tail, " %lld %c%02d%02d", static_cast<long long>(sig->when.time),
                offset < 0 || sig->when.sign == '-' ? '-' : '+', abs_offset / 60, abs_offset % 60);
  return std::string(sig->name) + " <" + sig->email + ">" + tail;
}

}  // namespace

CommitInfo Repo::commit(const CommitOptions& options, CheckReport* report_out) {
  Impl& I = *impl_;
  // During a merge (or revert), this is its commit: once every conflicting
  // path is resolved and staged; a merge's second parent is theirs.
  const auto merging = read_merge_state(I.kura_dir);
  const bool merge_parent = merging && merging->state.kind != "revert";
  const auto head = I.head_oid();
  git::Commit parent;
  if (head) {
    git_commit* c = nullptr;
    git::check(git_commit_lookup(&c, I.git.get(), &*head), "cannot read HEAD's commit");
    parent.reset(c);
  }
  if (options.amend) {
    if (!head) fail(ErrorCode::kNotFound, "there is no commit to amend yet (HEAD is unborn)");
    if (merging)
      fail(ErrorCode::kConflict, std::string("cannot amend during a ") + (merge_parent ? "merge" : "revert") +
                                     "; finish it with 'kura " + (merge_parent ? "merge" : "revert") + " --continue' first");
  }
  std::string message = options.message;
  if (message.empty() && options.amend) message = git_commit_message(parent.get());
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  if (message.empty()) fail(ErrorCode::kInvalidInput, "empty commit message; give one with -m");
  message += "\n";

  if (merging) check_merge_resolved(*this, I, *merging);
  size_t files_in_index = 0;
  const git_oid tree_oid = I.build_tree(&files_in_index);
  if (merging && (!head || git::hex(*head) != merging->state.orig_head))
    fail(ErrorCode::kConflict, "HEAD moved since the " + std::string(merge_parent ? "merge" : "revert") + " of " +
                                   merging->state.theirs.substr(0, 10) + " began; end it with 'kura " +
                                   (merge_parent ? "merge" : "revert") + " --abort'");
  if (!options.allow_empty && !merging && !options.amend) {
    const bool same = head ? git_oid_equal(git_commit_tree_id(parent.get()), &tree_oid)
                           : files_in_index == 0;
    if (same)
      fail(ErrorCode::kNothingToDo,
           "nothing to commit: the index matches HEAD; stage changes with 'kura add' (see 'kura status')");
  }

  // Checks, on the whole index: cached by object, so unchanged data costs look-ups.
  std::string report_hex;
  if (options.verify) {
    std::vector<FileEntry> files;
    files.reserve(files_in_index);
    for (auto& [path, entry] : load_index(*I.store)) files.push_back(std::move(entry));
    CheckReport report = I.check_for_commit(files, options.threads);
    if (report_out) *report_out = report;
    if (!report.ok())
      fail(ErrorCode::kCheckFailed,
           "commit stopped: the checks found " + std::to_string(report.summary.errors) +
               (report.summary.errors == 1 ? " error" : " errors") +
               "; fix them (see 'kura check'), leave examples out with 'kura exclude PATH:LINE --reason ...', change the "
               "rules in kura-checks.json, or commit with --no-verify");
    report_hex = I.store_report(report);
  }

  git::Signature sig = author_signature(I.git.get(), options.author_name, options.author_email);
  // The commit text as git_commit_create_buffer writes it, without making
  // libgit2 load and parse the (possibly large) new tree first.
  std::string content = "tree " + git::hex(tree_oid) + "\n";
  if (options.amend) {
    // The amended commit's place: its parents, not itself.
    for (unsigned k = 0; k < git_commit_parentcount(parent.get()); ++k)
      content += "parent " + git::hex(*git_commit_parent_id(parent.get(), k)) + "\n";
  } else if (head) {
    content += "parent " + git::hex(*head) + "\n";
  }
  if (merge_parent) content += "parent " + merging->state.theirs + "\n";
  const std::string who = format_signature(sig.get());
  content += "author " + who + "\ncommitter " + who + "\nencoding UTF-8\n\n" + message;
  // The report id rides in a header of its own, so it is part of the commit id.
  // The journal lets the next command say whether a killed commit landed.
  const std::string target_ref = I.head_target_ref();
  write_journal(I.kura_dir, {{"op", "commit"}, {"command", I.options.command}, {"ref", target_ref},
                             {"old", head ? git::hex(*head) : ""}});
  git_oid oid;
  git::check(git_commit_create_with_signature(&oid, I.git.get(), content.c_str(),
                                              report_hex.empty() ? nullptr : report_hex.c_str(), kReportHeader),
             "cannot write the commit");
  I.store->sync_tables();  // tree and commit durable before the ref names them

  const std::string log_message =
      std::string(options.amend ? "commit (amend): " : "commit: ") + message.substr(0, message.find('\n'));
  const std::string& target = target_ref;
  before_ref_write("move '" + target + "' to the new commit");
  git_reference* updated = nullptr;
  int rc = head ? git_reference_create_matching(&updated, I.git.get(), target.c_str(), &oid, 1, &*head,
                                                log_message.c_str())
                : git_reference_create(&updated, I.git.get(), target.c_str(), &oid, 0, log_message.c_str());
  if (rc == GIT_EMODIFIED || rc == GIT_EEXISTS)
    fail(ErrorCode::kConflict, "'" + target + "' moved while committing; nothing was lost, run the commit again");
  git::check(rc, "cannot move '" + target + "' to the new commit");
  git_reference_free(updated);
  if (merging) clear_merge_state(I.kura_dir);  // a kill before this: recovery sees HEAD moved on
  clear_journal(I.kura_dir);

  git_commit* made = nullptr;
  git::check(git_commit_lookup(&made, I.git.get(), &oid), "cannot read the new commit");
  git::Commit made_owner(made);
  return commit_info(made);
}

}  // namespace kura
