// Repo's private state and the helpers its operations share.
#pragma once

#include <sys/stat.h>

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "kura/repo.hpp"
#include "objects/paths.hpp"
#include "repo/git.hpp"
#include "util/lock.hpp"

namespace kura {

class PendingFile;  // util/fs.hpp

struct TreeFile {
  uint32_t mode = 0;
  git_oid oid{};
};
using TreeFiles = std::map<std::string, TreeFile>;

struct Repo::Impl {
  std::filesystem::path root, kura_dir;
  OpenOptions options;
  std::unique_ptr<RepoLock> lock;
  std::unique_ptr<Store> store;  // declared before git: closed after it
  git::Repository git;
  // Where missing objects come from (src/repo/sources.cpp); shared with the
  // store's missing-object hook.
  std::shared_ptr<struct SourceSlot> source_slot;

  unsigned threads() const;
  // A line for the user about repair work (recovery): OpenOptions::notice,
  // else stderr.
  void notice(const std::string& message) const;
  void progress(const Progress& p) const {
    if (options.progress) options.progress(p);
  }

  // HEAD's commit, nullopt before the first commit.
  std::optional<git_oid> head_oid() const;
  // The ref a commit moves: HEAD's branch ("refs/heads/main", maybe unborn),
  // or "HEAD" when detached.
  std::string head_target_ref() const;
  // The commit ref `name` points at (hex), "" when it does not exist.
  std::string ref_target(const std::string& name) const;
  // Resolves REV to a commit or throws Error(kNotFound) naming it.
  git::Commit commit_of(const std::string& rev) const;
  // Every file of a tree, by path.
  TreeFiles flatten(const git_tree* tree) const;
  TreeFiles flatten_rev(const std::string& rev) const;  // "" or unborn HEAD: empty
  TreeFiles head_files() const;
  // Reads the pointer blob (or link target) of a tree file.
  FileEntry entry_of(const std::string& path, const TreeFile& file) const;
  // The same for many files at once, in order (pointer blobs read in one batch).
  std::vector<FileEntry> entries_of(const std::vector<std::pair<std::string, TreeFile>>& files) const;
  // A file's entry from its pointer blob's bytes.
  FileEntry entry_from(const std::string& path, const TreeFile& file, std::string_view bytes) const;

  // Reads and stores a working file. Returns its entry and the bytes of its
  // git blob (pointer text, or link target); `st` receives the stat that
  // matches the bytes read.
  // `images` counts the inline images cut out of a table.
  FileEntry store_file(const std::string& path, std::string* blob, struct stat* st,
                       uint64_t* images = nullptr) const;
  // SHA-256 of a working file (or of a link's target), without storing it.
  ObjectId hash_file(const std::string& path, const struct stat& st) const;

  // The working folder's files (under `specs`) as stored entries; see check.cpp.
  std::vector<FileEntry> working_entries(const std::vector<std::string>& specs);
  // Fills in the repository's threads, progress, root and user hook.
  CheckOptions check_options(const CheckOptions& given) const;
  // The checks a new commit's files go through (commit, merge): the
  // repository's policy, `threads` workers (0: the default).
  CheckReport check_for_commit(const std::vector<FileEntry>& files, unsigned threads) const;
  // The policy whose tracked part is `tracked` (kura-checks.json's text, or
  // nullopt), named `name` in errors, with .kura/checks.json over it.
  Policy policy_over(const std::optional<std::string>& tracked, const std::string& name) const;
  // The text of tracked file `path` among `files` (the index or a tree), if any.
  std::optional<std::string> text_of(const std::vector<FileEntry>& files, const std::string& path) const;
  // Stores a commit's report, durably, before the commit that names it;
  // returns its id in hex for the kura-checks header.
  std::string store_report(const CheckReport& report) const;
  // The report object named by a commit's kura-checks header, if any.
  std::optional<ObjectId> report_id(const git_commit* commit) const;

  // Writes the tree for the staging index; returns its id. `files` gets the
  // number of files in it.
  git_oid build_tree(size_t* files) const;
};

// One checkout's work (src/repo/checkout.cpp), as checkout() plans it and
// as the journal records it for recovery.
struct CheckoutRun {
  std::string rev;                     // as the user gave it (messages)
  std::vector<std::string> specs;      // repository-relative paths; empty: the whole tree
  std::vector<std::string> given;      // the same as the user typed them (messages)
  bool force = false;
  std::optional<std::string> head;     // where HEAD goes: a branch ref, "" detached; nullopt: stays
  std::string update_ref, update_old;  // a branch moved to the commit first (pull), from update_old
  std::string reflog;
  bool remove_staged_new = false;      // with force (reset --hard): files staged as new that neither commit has go
  bool resume = false;                 // recovery: finish what the journal names
  // Files whose bytes are written already (a merge writes its merged tables
  // while it hashes them), by repository path, with the SHA-256 of those
  // bytes: published instead of rendered when the target's file has that
  // hash. Not in the journal: a resumed checkout renders every file.
  struct Prepared {
    ObjectId file_sha;
    PendingFile* file = nullptr;
  };
  std::map<std::string, Prepared> prepared;
};
CheckoutResult run_checkout(Repo& repo, Repo::Impl& impl, const std::string& commit_hex, const CheckoutRun& run);
// reset --mixed's work, and restore()'s, as recovery runs them again (src/repo/checkout.cpp).
void run_reset_mixed(Repo& repo, Repo::Impl& impl, const std::string& target, const std::string& ref,
                     const std::string& old, const std::string& reflog);
CheckoutResult run_restore(Repo& repo, Repo::Impl& impl, const std::vector<std::string>& specs,
                           const std::vector<std::string>& given, const std::string& source, bool staged,
                           bool worktree);

// Makes libgit2 keep reflogs (core.logAllRefUpdates, off by default in a
// bare repository): HEAD's tells 'kura switch -' where it was.
void enable_reflogs(git_repository* repo);

// Called before each ref or HEAD update through libgit2: the test seam
// (util/fault.hpp) fails it as a failed rename of the ref's lock file would.
void before_ref_write(const std::string& what);

// The commit header that names the check report object.
constexpr const char* kReportHeader = "kura-checks";

// Streams a stored file's bytes as committed, verifying their SHA-256
// (Repo::read_file).
void read_entry(const Store& store, const FileEntry& file, const std::function<void(std::string_view)>& sink);

CommitInfo commit_info(const git_commit* commit);
// The author and committer of a new commit or merge, timed now: `name` and
// `email` when given, else $KURA_AUTHOR_NAME / $KURA_AUTHOR_EMAIL, else the
// git configuration (user.name, user.email), else $USER and USER@HOST.
git::Signature author_signature(git_repository* repo, std::string name = "", std::string email = "");
// Installs the process's ObjectSourceFactory's source on a repository just opened.
void apply_object_source_factory(Repo& repo);

}  // namespace kura
