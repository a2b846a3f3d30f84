// Finishing what a killed kura process left behind, when the next one opens
// the repository. That process holds the repository lock (src/util/lock.cpp),
// so no live kura process owns anything found here.
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "kura/error.hpp"
#include "repo/journal.hpp"
#include "repo/merge_state.hpp"
#include "repo/repo_impl.hpp"
#include "util/fault.hpp"
#include "util/fs.hpp"

namespace kura {

namespace fs = std::filesystem;

namespace {

// libgit2's lock files (HEAD.lock, refs/heads/main.lock, config.lock,
// packed-refs.lock): a ref update writes one, then renames it over the ref.
void remove_stale_git_locks(const fs::path& dir, const fs::path& git_dir, const Repo::Impl& I) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return;  // a folder libgit2 has not made yet
  std::unique_ptr<DIR, int (*)(DIR*)> owner(d, ::closedir);
  while (dirent* ent = ::readdir(d)) {
    const std::string name = ent->d_name;
    if (name == "." || name == "..") continue;
    const fs::path path = dir / name;
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      remove_stale_git_locks(path, git_dir, I);
    } else if (name.size() > 5 && name.compare(name.size() - 5, 5, ".lock") == 0) {
      if (::unlink(path.c_str()) != 0) fail_errno("remove the stale lock file", path.string());
      const std::string ref = path.lexically_relative(git_dir).string();
      I.notice("removed the stale lock file .kura/git/" + ref + ", left by a kura process killed while it updated " +
               ref.substr(0, ref.size() - 5) + " (that update did not happen)");
    }
  }
}

// Temporaries: checkout writes into .kura/tmp/ and renames into place; an
// older kura, or a folder on another file system, wrote them beside the file.
void remove_temporaries(const fs::path& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return;
  std::unique_ptr<DIR, int (*)(DIR*)> owner(d, ::closedir);
  while (dirent* ent = ::readdir(d))
    if (is_temporary_name(ent->d_name)) std::ignore = ::unlinkat(::dirfd(d), ent->d_name, 0);  // garbage
}

void remove_temporaries_under(const fs::path& root, const fs::path& dir) {
  remove_temporaries(dir);
  DIR* d = ::opendir(dir.c_str());
  if (!d) return;
  std::unique_ptr<DIR, int (*)(DIR*)> owner(d, ::closedir);
  while (dirent* ent = ::readdir(d)) {
    const std::string_view name = ent->d_name;
    if (name == "." || name == ".." || name == ".git" || (dir == root && name == ".kura")) continue;
    if (ent->d_type == DT_DIR) remove_temporaries_under(root, dir / ent->d_name);
  }
}

std::string short_id(const std::string& hex) { return hex.substr(0, 10); }

std::string who(const nlohmann::json& j) {
  return "'" + j.value("command", std::string("kura")) + "' (pid " + std::to_string(j.value("pid", 0)) + ")";
}

}  // namespace

void Repo::Impl::notice(const std::string& message) const {
  if (options.notice) options.notice(message);
  else std::fprintf(stderr, "kura: %s\n", message.c_str());
}

void before_ref_write(const std::string& what) {
  if (fault::point(fault::Op::kRename)) fail(ErrorCode::kIo, "cannot " + what + ": Input/output error");
}

void Repo::recover() {
  Impl& I = *impl_;
  remove_stale_git_locks(I.kura_dir / "git", I.kura_dir / "git", I);
  // .kura/tmp/ holds checkout's temporaries; .kura/ itself the journal's
  // (write_journal renames beside the journal).
  remove_temporaries(I.kura_dir / "tmp");
  remove_temporaries(I.kura_dir);
  const auto journal = read_journal(I.kura_dir);
  if (!journal) {
    if (I.options.access == Access::kReadWrite) recover_merge(*this, I);
    return;
  }
  const nlohmann::json& j = *journal;
  const std::string op = j["op"];
  if (I.options.access == Access::kInspect || I.options.access == Access::kRepair) {
    // fsck: the store may be damaged, and finishing the operation would
    // change what fsck is asked to look at.
    I.notice("'" + j.value("command", std::string("kura")) + "' (pid " + std::to_string(j.value("pid", 0)) +
             ") was interrupted; fsck looks at the repository as it left it, and the next other kura command finishes it");
    return;
  }
  if (op == "checkout") {
    CheckoutRun run;
    run.resume = true;
    run.force = j.value("force", false);
    run.specs = j.value("paths", std::vector<std::string>{});
    if (j.contains("head") && j["head"].is_string()) run.head = j["head"].get<std::string>();
    run.update_ref = j.value("update_ref", std::string());
    run.update_old = j.value("update_old", std::string());
    run.reflog = j.value("reflog", std::string());
    run.reflog = "recovery: " + (run.reflog.empty() ? j.value("command", std::string("kura")) : run.reflog);
    run.remove_staged_new = j.value("remove_staged_new", false);
    const std::string target = j.value("target", std::string());
    std::string where = run.head ? (run.head->empty() ? "detached HEAD at " + short_id(target)
                                                      : "'" + run.head->substr(run.head->rfind('/') + 1) + "'")
                                 : run.specs.empty() ? "the files of " + short_id(target) + " (HEAD stays)"
                                 : std::to_string(run.specs.size()) + " path(s) from " + short_id(target);
    I.notice("finishing the checkout of " + where + " that " + who(j) + " did not complete (it was killed or failed)");
    remove_temporaries_under(I.root, I.root);
    const CheckoutResult done = run_checkout(*this, I, target, run);
    I.notice("done: " + std::to_string(done.files_written) + " file(s) written, " +
             std::to_string(done.files_removed) + " removed; the working folder, the index and HEAD agree");
  } else if (op == "commit") {
    const std::string ref = j.value("ref", std::string());
    const std::string old = j.value("old", std::string());
    const std::string now = I.ref_target(ref);
    const std::string branch = ref.rfind("refs/heads/", 0) == 0 ? ref.substr(11) : ref;
    if (now == old)
      I.notice(who(j) + " was interrupted before it moved '" + branch +
               "': nothing was committed, and the staged changes are still staged");
    else
      I.notice(who(j) + " was interrupted after it committed " + short_id(now) + " to '" + branch +
               "': the commit is complete");
    clear_journal(I.kura_dir);
  } else if (op == "reset") {
    const std::string target = j.value("target", std::string());
    const std::string ref = j.value("ref", std::string());
    I.notice("finishing the reset of " + (ref == "HEAD" ? std::string("HEAD") : "'" + ref.substr(ref.rfind('/') + 1) + "'") +
             " to " + short_id(target) + " that " + who(j) + " did not complete (it was killed or failed)");
    run_reset_mixed(*this, I, target, ref, j.value("old", std::string()), "recovery: " + j.value("reflog", std::string("reset")));
    clear_journal(I.kura_dir);
    I.notice("done: the index and HEAD are at " + short_id(target) + "; the working files were not touched");
  } else if (op == "restore") {
    const auto specs = j.value("paths", std::vector<std::string>{});
    I.notice("finishing the restore of " + std::to_string(specs.size()) + " path(s) that " + who(j) +
             " did not complete (it was killed or failed)");
    remove_temporaries_under(I.root, I.root);
    const CheckoutResult done = run_restore(*this, I, specs, specs, j.value("source", std::string()),
                                            j.value("staged", false), j.value("worktree", true));
    clear_journal(I.kura_dir);
    I.notice("done: " + std::to_string(done.files_written) + " file(s) written, " +
             std::to_string(done.files_removed) + " removed");
  } else if (op == "gc") {
    I.notice(who(j) + " was interrupted (it removes only what nothing refers to, so nothing is lost); finishing it");
    GcOptions options;
    options.keep_recent = std::chrono::seconds(j.value("keep_seconds", int64_t(14 * 24 * 3600)));
    gc(options);  // writes and clears its own journal
  } else {
    fail(ErrorCode::kCorrupt, "'" + (I.kura_dir / "journal").string() + "' names an operation '" + op +
                                  "' that this kura does not know (a newer kura wrote it); finish it with that version");
  }
  // A merge stopped at conflicts writes its files through a checkout: the
  // checkout is finished above, the conflict files here.
  if (I.options.access == Access::kReadWrite) recover_merge(*this, I);
}

}  // namespace kura
