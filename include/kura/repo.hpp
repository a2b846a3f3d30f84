// Repo is a kura repository: a working folder and the .kura/ folder inside it,
//
//   .kura/store/   the RocksDB store (objects, staging index, stat cache, git objects)
//   .kura/git/     a bare git repository (libgit2) holding HEAD, refs and reflogs;
//                  its object database is the store's `git` table
//   .kura/lock     the repository lock (flock)
//   .kura/tmp/     scratch files (the file-system clock probe)
// Settings (user.name, user.email) are git config: .kura/git/config, then the
// user's global git config, then KURA_AUTHOR_NAME / KURA_AUTHOR_EMAIL.
//
// A commit is a git commit whose tree mirrors the working folder; each file is
// a pointer blob (see objects.hpp). Staging works like git's: add records the
// file in the index, commit turns the index into a tree.
//
// A Repo holds the repository lock for its whole life, so one Repo per process
// writes at a time; a second process waits for the lock (up to
// OpenOptions::lock_timeout) and then fails with Error(kLocked) naming the
// lock file and its holder. Methods are not thread-safe on one Repo; they use
// worker threads internally.
//
// Write order, everywhere: objects, then the index, then the ref, each step
// atomic; a process killed at any moment leaves the last good commit intact
// and fsck clean. Multi-step operations (commit, checkout, switch, merge, gc)
// are named in .kura/journal while they run, and open() finishes one that a
// killed process left, telling OpenOptions::notice (docs/architecture.md).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kura/check.hpp"
#include "kura/objects.hpp"
#include "kura/progress.hpp"
#include "kura/store.hpp"

namespace kura {

struct OpenOptions {
  std::chrono::milliseconds lock_timeout{30000};
  ProgressFn progress;         // may be empty
  unsigned threads = 0;        // 0: one per core
  std::string command = "kura";  // recorded in the lock file for other processes' messages
  // Read-only commands (log, show, ls-files, fsck) open the store without
  // writing to it; every write method then fails with Error(kIo).
  Access access = Access::kReadWrite;
  // false (with kReadOnly only): take no repository lock and finish no
  // interrupted operation, so the handle may live beside other processes'
  // commits (the Python module's readers). It reads the store as it was when
  // opened: commits made later are seen by a new handle.
  bool lock = true;
  // Told what open() repaired after a process that was killed (a stale lock
  // file removed, an interrupted checkout finished); empty: printed on
  // stderr as "kura: <message>".
  std::function<void(const std::string&)> notice;
};

struct AddResult {
  uint64_t files_added = 0;    // new or changed files staged
  uint64_t files_unchanged = 0;
  uint64_t files_removed = 0;  // deletions staged
  uint64_t files_hashed = 0;   // read and hashed (not answered by the stat cache)
  uint64_t bytes_hashed = 0;
  uint64_t objects_written = 0;
  uint64_t bytes_written = 0;
  uint64_t rows = 0;    // rows of the tables staged
  uint64_t images = 0;  // inline images cut out of the tables read (before dedup)
  std::vector<std::string> skipped;  // special files (sockets, fifos), with why
};

enum class Change { kAdded, kModified, kDeleted, kTypeChanged };
const char* change_name(Change change);

struct StatusEntry {
  std::string path;
  Change change;
};

// A branch's upstream: git's branch.NAME.remote and branch.NAME.merge
// name a remote's branch ("origin/main"), and how the two have diverged.
struct UpstreamInfo {
  std::string name;        // "origin/main"
  bool gone = false;       // configured, but no such remote-tracking branch here
  uint64_t ahead = 0;      // commits the branch has that the upstream lacks
  uint64_t behind = 0;     // and the other way round
};

struct StatusReport {
  std::string branch;           // empty when HEAD is detached
  std::string head;             // hex commit id, empty before the first commit
  std::vector<StatusEntry> staged;    // index against HEAD
  std::vector<StatusEntry> unstaged;  // working folder against the index
  std::vector<std::string> untracked;
  uint64_t files_hashed = 0;
  bool merging = false;                   // a merge is in progress (merge_state())
  std::string merge_kind;                 // "merge" or "revert" while one is in progress
  std::vector<std::string> merge_conflicts;  // its conflicting paths
  // The branch's upstream ("origin/main": config branch.NAME.remote and
  // .merge, when that remote-tracking branch exists here), and how many
  // commits HEAD has that it lacks (ahead) and it has that HEAD lacks.
  std::string upstream;
  uint64_t ahead = 0, behind = 0;
  bool clean() const { return staged.empty() && unstaged.empty() && untracked.empty(); }
};

struct CommitInfo {
  std::string id;               // hex
  std::vector<std::string> parents;
  std::string author_name, author_email;
  int64_t time = 0;             // unix seconds
  int offset_minutes = 0;
  std::string message;
  std::string tree;
};

struct CommitOptions {
  std::string message;
  bool allow_empty = false;
  std::string author_name, author_email;  // empty: config, then environment
  // Run the checks (the staged kura-checks.json and kura-exclusions.jsonl,
  // .kura/checks.json over the policy, hook .kura/hooks/pre-commit)
  // and refuse the commit when they find an error; false is git's --no-verify.
  bool verify = true;
  unsigned threads = 0;
  // Replace HEAD's commit (git's --amend): the new commit takes HEAD's
  // parents, and HEAD's message when `message` is empty. The branch moves
  // from HEAD to the new commit by compare-and-swap, as any commit does.
  bool amend = false;
};

enum class CheckScope {
  kWorkingFolder,  // the files as they are now (stored on the fly, index untouched)
  kIndex,          // what the next commit would hold
  kRevision,       // a commit
};

struct CheckoutOptions {
  bool force = false;                // overwrite local changes
  std::vector<std::string> paths;    // empty: the whole tree, moving HEAD
  // Whole-tree checkouts only: this branch ("refs/heads/main") is moved to
  // the commit, by compare-and-swap, after the files and the index and
  // before HEAD, which then points at it (pull's fast-forward and merge).
  std::string update_ref;
  std::string reflog;  // the branch's reflog message for update_ref
};

// git reset's modes: what besides HEAD's branch moves to the commit.
enum class ResetMode {
  kSoft,   // only the branch: the index and the files stay (the difference shows as staged)
  kMixed,  // and the index: the files stay (the difference shows as unstaged)
  kHard,   // and the files: local changes to tracked files are discarded
};

// git restore: which versions of the paths come back, and where to.
struct RestoreOptions {
  std::string source;    // a revision; empty: the index (for the files) or HEAD (for the index)
  bool staged = false;   // restore the index entries
  bool worktree = true;  // restore the working files
};

// Which commits Repo::log() lists.
struct LogOptions {
  std::vector<std::string> revs;   // where to start; empty: HEAD
  bool all = false;                // also every branch, remote-tracking branch and tag
  std::vector<std::string> hide;   // leave out what these reach (git's A..B: hide A, start at B)
  // Only commits that change a file at or under one of these paths
  // (relative to the current folder, or absolute): a commit is listed when
  // the paths' content differs from each of its parents' (git's default
  // history simplification); a root commit, when it has any such file.
  std::vector<std::string> paths;
  size_t max_count = 0;            // 0: all
};

struct CheckoutResult {
  std::string commit;
  uint64_t files_written = 0, files_removed = 0, bytes_written = 0;
  bool detached = false;
};

struct RefInfo {
  std::string name;     // short name: "main", "v1"
  std::string target;   // hex commit id
  bool current = false; // HEAD points here
  std::string message;  // annotated tags only
  std::string tagger;   // annotated tags only: "Name <email>", chosen as a commit's author is
};

// One finding of fsck: a key of one table that cannot be read or is wrong.
struct FsckProblem {
  std::string object;   // the key: hex id (kura or git object), a path (index, statcache), a run
                        // id, "file:NAME" for damage whose keys are unknown, or "refs"
  std::string kind;     // "corrupt" (cannot be read, or bytes do not match the id), "missing",
                        // "mismatch" (disagrees with what it describes: a pointer's size), "undecodable"
  std::string message;
  std::vector<std::string> used_by;  // "rev:path" or "index:path", a few
  std::string table;    // "objects", "object_times", "git", "index", "statcache", "checks", "runs", "meta"
  // A cache (statcache, checks, meta, object_times) is rebuilt by --repair
  // from what else is stored; data (objects, git, runs, index) is not:
  // only a good copy elsewhere (--from REMOTE) restores it.
  bool data = true;
  std::string file;                  // the store file that holds the damage, when known
  std::vector<std::string> commits;  // short ids of the commits that need the object, a few
  bool remote_has = false;           // --from: the remote holds a good copy
  bool repaired = false;             // --repair: fixed (rebuilt, reset or restored)
};

struct FsckReport {
  uint64_t objects_checked = 0, git_objects_checked = 0, bytes_checked = 0;
  uint64_t commits = 0, files = 0;
  uint64_t table_entries_checked = 0;  // entries of index, statcache, checks, runs, meta
  std::vector<FsckProblem> problems;
  // A partial clone (config kura.promisor) lacks, by design, the objects of
  // the commits it did not check out: those are counted here, not reported as
  // problems. fsck cannot tell such an object from one lost here; the
  // promisor remote (named in `promisor`) fetches either when it is read.
  std::string promisor;
  uint64_t not_fetched = 0;
  // --repair resetting a damaged index to HEAD: the staged paths whose
  // staged version is lost (unreadable, or different from HEAD).
  std::vector<std::string> index_paths_lost;
  bool repaired = false;  // a repair ran
  // Clean, or every finding repaired.
  bool ok() const {
    for (const auto& p : problems)
      if (!p.repaired) return false;
    return true;
  }
};

class ObjectSource;
struct FsckOptions {
  // Rebuild damaged caches, reset a damaged index to HEAD, drop what cannot
  // be read from a damaged table file and, with `from`, restore objects and
  // git objects from it (each verified against its id). The repository
  // must have been opened with Access::kRepair.
  bool repair = false;
  // A remote's objects (remote_object_source() in remote.hpp): without
  // repair, fsck says which bad objects it holds good copies of.
  std::shared_ptr<ObjectSource> from;
};

struct GcOptions {
  std::chrono::seconds keep_recent{std::chrono::hours(24 * 14)};  // like git's gc.pruneExpire
};

// A git object as it travels between repositories: commits, trees, the
// pointer blobs of files, annotated tags.
struct GitObject {
  std::string id;    // hex SHA-1, git's name for it
  int type = 0;      // git's type number: 1 commit, 2 tree, 3 blob, 4 tag
  std::string data;  // the object's content, without git's "type size\0" header
};

// What a set of commits needs beyond what another set already holds; see
// Repo::closure().
struct ObjectClosure {
  std::vector<std::string> commits;      // new commits, hex
  std::vector<std::string> git_objects;  // commits, trees, pointer blobs, tags; hex
  std::vector<ObjectId> objects;         // kura objects: media, manifests, chunks, rows, reports
  std::vector<ObjectId> missing;         // needed but absent here (a partial clone's)
};

// Where a repository gets the kura objects it lacks (a partial clone's
// remote; a partial clone has every git object, so only kura objects are
// ever missing). Implementations must be thread-safe: checkout asks from
// worker threads.
class ObjectSource {
 public:
  virtual ~ObjectSource() = default;
  // The bytes of kura object `id`, already verified against it; nullopt when
  // the source lacks it too. Throws Error on a transport failure.
  virtual std::optional<std::string> fetch_object(const ObjectId& id) = 0;
  // Every git object the source holds, each verified against its id (fsck
  // --repair --from restores lost commits, trees and pointers from them).
  // Empty for a source that holds none.
  virtual std::vector<GitObject> git_objects() { return {}; }
};

class Repo;
// Makes an ObjectSource for a repository being opened, or nullptr; set once
// per process by the remote layer (kura::enable_on_demand_fetch()).
using ObjectSourceFactory = std::function<std::shared_ptr<ObjectSource>(Repo& repo)>;
void set_object_source_factory(ObjectSourceFactory factory);

// One example (row) of a table that both sides of a merge changed
// differently, or changed on one side and deleted on the other
// (docs/merge.md). Lines are 1-based in each side's version; 0: the side
// deleted the row.
struct RowConflictInfo {
  std::string kind;  // "changed on both sides", "deleted by ours, changed by theirs", "changed by ours, deleted by theirs"
  uint64_t base_line = 0, ours_line = 0, theirs_line = 0;
  uint64_t merged_line = 0;                     // the working file's line of the block's first marker
  std::string base_row, ours_row, theirs_row;   // row object ids (hex); empty when absent
  // For rows with a "messages" array: the indexes of the messages each side
  // changed (added or removed ones included), against the base.
  std::vector<uint64_t> ours_messages, theirs_messages;
  std::vector<std::string> ours_images, theirs_images;  // media object ids in the side's row
};

// A path a merge could not finish. Row conflicts: `rows` lists them, and
// the working file holds the merged rows with a marked block for each.
// File-level conflicts (`rows` empty): `reason` says why (both sides
// changed a media file, a side's JSONL is not valid, one side deleted the
// file), and the working file is ours' version (absent when ours deleted it).
struct MergeConflict {
  std::string path;
  std::string reason;  // file-level only
  std::vector<RowConflictInfo> rows;
  std::string base_object, ours_object, theirs_object;  // the file's object (media) or manifest (table); "" absent
};

struct MergeResult {
  std::string commit;        // the branch's new commit ("" when the merge stopped)
  bool fast_forward = false;
  bool up_to_date = false;
  CheckoutResult checkout;
  bool checked = false;      // a merge commit whose merged files were checked
  CheckReport report;        // their report (stored with the merge commit)
  std::vector<std::string> tables_merged;  // tables both sides changed, merged row by row
  // Not empty: the merge stopped with these conflicts and is in progress
  // (merge_state()); the clean part is in the working folder and the index.
  std::vector<MergeConflict> conflicts;
  bool stopped = false;      // in progress: conflicts, or MergeOptions::commit false
};

struct MergeOptions {
  // Run the checks on the merged files, as 'kura commit' does: an error
  // stops the merge (Error kCheckFailed, nothing changed; the report is in
  // `report_out`). A fast-forward brings commits that carry their own report.
  bool verify = true;
  unsigned threads = 0;
  CheckReport* report_out = nullptr;
  // false (--no-commit): stop before committing, as on a conflict.
  bool commit = true;
  // JSON pointer ("/id") pairing a table's rows by key; "": the config
  // kura.key, else by content and place.
  std::string key;
  std::string theirs_name;  // what the user called theirs ("relabel", "origin/main"), for messages
};

// A merge in progress (.kura/MERGE_STATE): stopped at conflicts, or by
// --no-commit, until commit (merge --continue) or abort_merge().
struct MergeState {
  std::string kind = "merge";       // or "revert": the commit then has HEAD as its only parent
  std::string theirs, theirs_name;  // hex commit being merged (reverted: its parent), and its name
  std::string orig_head;            // hex commit HEAD was at
  std::string branch;               // "refs/heads/main"
  std::string message;              // the merge commit's message
  std::vector<MergeConflict> conflicts;
};

// One place a commit uses an object (Repo::object_uses).
struct ObjectUse {
  std::string path;  // the file, '/'-separated
  uint64_t line = 0; // 1-based JSONL line; 0: the file itself is the object
  // "file": the file's bytes are the object; "inline": a data URI of the
  // line decodes to it; "path": the line names the file that is it.
  std::string how;
};

struct GcReport {
  uint64_t objects_kept = 0, objects_removed = 0, bytes_removed = 0;
  uint64_t git_objects_removed = 0;
  uint64_t unreachable_kept_recent = 0;
};

class Repo {
 public:
  // Creates .kura/ in `dir` (which must exist). Error(kConflict) if one exists.
  static void init(const std::filesystem::path& dir, const std::string& branch = "main");
  // Finds .kura/ in `start` or a parent, takes the lock and opens the store.
  static std::unique_ptr<Repo> open(const std::filesystem::path& start, const OpenOptions& options = {});
  ~Repo();

  const std::filesystem::path& root() const;
  Store& store();

  // Stages the files under `paths` (relative to the process's current folder
  // or absolute, inside the working folder): new and changed files are
  // stored, removed ones are staged as deletions. Unchanged files, known by
  // size, mtime, ctime and inode, are not read again.
  AddResult add(const std::vector<std::string>& paths);
  // Unstages and deletes from the working folder (`kura rm`); `cached` keeps the files.
  uint64_t remove(const std::vector<std::string>& paths, bool cached);
  StatusReport status();
  // Records the index as a new commit on HEAD. Error(kNothingToDo) when the
  // tree equals HEAD's and !allow_empty. With options.verify, the checks run
  // first: their report goes to `report` (when given) and is stored with the
  // commit (a `kura-checks` header naming the report object); errors stop the
  // commit with Error(kCheckFailed). During a merge (merge_state()), the
  // commit is the merge commit (two parents, allowed to equal HEAD's tree);
  // Error(kConflict) while a conflicting path is unresolved: its working
  // file differs from the staged one, or the staged one has marker lines.
  CommitInfo commit(const CommitOptions& options, CheckReport* report = nullptr);

  // Runs the checks on the working folder, the index or a commit, limited
  // to `paths` when given. `options.policy` is used as given (callers take
  // policy_for(scope, rev)); the hand exclusions are the scope's own
  // kura-exclusions.jsonl. With `paths`, the other split files of the scope
  // (the policy's train_file / validation_file) are compared with the
  // checked ones for leakage, without being checked themselves.
  CheckReport check(CheckScope scope, const std::string& rev, const std::vector<std::string>& paths,
                    const CheckOptions& options);
  // The check policy that applies to `scope`: the tracked kura-checks.json
  // of the working folder, the index or commit `rev` (the defaults when it
  // has none), with the local .kura/checks.json applied over it (see
  // Policy::parse; Policy::sources says which were read). Error
  // (kInvalidInput) naming the file and key when one is bad.
  Policy policy_for(CheckScope scope, const std::string& rev = "") const;
  // policy_for(kWorkingFolder).
  Policy policy() const;
  // The report stored with a commit; nullopt when it was committed with --no-verify.
  std::optional<CheckReport> commit_report(const std::string& rev) const;
  // The report a commit's data is used under (by train and export): the one
  // stored with it, or, for a commit made with --no-verify, one made now
  // with the repository's policy. `*source` (when given) becomes "stored" or
  // "policy <hash>", which a run's spec records.
  CheckReport report_for(const std::string& rev, unsigned threads, std::string* source = nullptr);

  // Resolves a revision: full or short id, branch, tag, HEAD, HEAD~N, REV^.
  CommitInfo resolve(const std::string& rev) const;
  std::vector<CommitInfo> log(const std::string& rev, size_t max_count) const;
  // Newest first, a commit always before its parents (GIT_SORT_TOPOLOGICAL | TIME).
  std::vector<CommitInfo> log(const LogOptions& options) const;
  // The best common ancestor of two commits (hex), "" when they have none.
  std::string merge_base(const std::string& a, const std::string& b) const;
  // Files of a commit's tree, or of the index when rev is empty; path order.
  std::vector<FileEntry> ls_files(const std::string& rev,
                                  const std::vector<std::string>& paths = {}) const;
  // One file of a commit, or nullopt when the commit has no such path.
  std::optional<FileEntry> file_at(const std::string& rev, const std::string& path) const;
  // Streams the file's bytes, exactly as committed, verifying their SHA-256.
  void read_file(const FileEntry& file, const std::function<void(std::string_view)>& sink) const;
  // Where commit `rev` uses object `id`: files whose bytes it is, lines of
  // its tables that hold it inline, and lines that name such a file by a
  // relative path (any JSON string of the line that resolves to it from
  // the table's folder, as the checks resolve image paths). Path, then line
  // order; at most `limit` uses. Reads every row of every table of `rev`
  // (rows that cannot name the file are not parsed); Error(kNotFound) for an
  // unknown revision.
  std::vector<ObjectUse> object_uses(const std::string& rev, const ObjectId& id, size_t limit = 1000) const;
  // Paths that differ between two commits (rev_a may be empty: the empty tree).
  std::vector<StatusEntry> changes(const std::string& rev_a, const std::string& rev_b) const;
  // The working folder's versions of `paths` (repository-relative file
  // paths, as ls_files names them), stored on the fly as check() stores the
  // working folder: objects only, the index untouched, files unchanged since
  // kura last read them answered by the stat cache. A path that is not a file
  // or link in the folder is left out. Path order. Needs read-write access.
  std::vector<FileEntry> working_files(const std::vector<std::string>& paths);

  CheckoutResult checkout(const std::string& rev, const CheckoutOptions& options);
  // Moves HEAD to branch `name` and checks it out; `create` makes it at HEAD
  // first. Without `create`, a name that is no local branch but is exactly
  // one remote's branch (refs/remotes/R/NAME) makes a local branch there that
  // tracks it (config branch.NAME.remote and .merge), as git switch does.
  CheckoutResult switch_branch(const std::string& name, bool create, bool force);
  // Where HEAD was before the last command that moved it to another branch
  // or commit, from HEAD's reflog: a branch's short name, or a commit id
  // (hex) when it was detached; "" when there is none ('kura switch -').
  std::string previous_head() const;
  // git reset REV: moves HEAD's branch (HEAD itself when detached) to `rev`,
  // with the index and the files as `mode` says. kMixed and kHard are
  // journaled: a kill is finished by the next command (docs/architecture.md).
  // kHard also removes files staged as new that `rev` does not have. Error
  // (kConflict) during a merge or revert (end it first).
  CheckoutResult reset(const std::string& rev, ResetMode mode);
  // git restore PATHS: the working files from the index (or `source`),
  // and with `staged` the index entries from HEAD (or `source`). A path that
  // the source lacks is removed (from the index, or the folder) when it is
  // tracked; one that matches nothing tracked is Error(kNotFound). Journaled.
  CheckoutResult restore(const std::vector<std::string>& paths, const RestoreOptions& options);

  std::vector<RefInfo> branches() const;
  // The upstream of local branch `branch`, as `status` and `branch -v` show
  // it; nullopt when none is configured or the configuration does not name a
  // branch (refs/heads/...). A configured upstream whose remote-tracking
  // branch is missing is returned with `gone` set (git's "[gone]").
  std::optional<UpstreamInfo> upstream(const std::string& branch) const;
  void create_branch(const std::string& name, const std::string& start, bool force);
  void delete_branch(const std::string& name);
  std::vector<RefInfo> tags() const;
  void create_tag(const std::string& name, const std::string& rev, const std::string& message);
  void delete_tag(const std::string& name);
  // Current branch name, empty when detached.
  std::string current_branch() const;

  // Reads every table of the store (objects, object_times, git, index,
  // statcache, checks, runs, meta) with checksums, re-hashes every object,
  // walks every commit down to every row and image, and reports each
  // finding with the paths and commits that use it (docs/cli.md).
  FsckReport fsck(const FsckOptions& options = {});
  GcReport gc(const GcOptions& options);

  // --- for remotes (src/remote); see docs/remotes.md ----------------------
  // Every ref ("refs/heads/main", "refs/tags/v1", "refs/remotes/origin/main")
  // with its target, hex; annotated tags are not peeled.
  std::map<std::string, std::string> refs() const;
  // Points ref `name` at `target` (hex, an object present here), creating it.
  void set_ref(const std::string& name, const std::string& target, const std::string& log_message);
  void delete_ref(const std::string& name);
  // HEAD's branch as a full ref name ("refs/heads/main"), empty when detached.
  std::string head_ref() const;
  // Points HEAD at branch `name` (short name) without touching the files.
  void set_head_branch(const std::string& name);
  // Whether git object `id` (hex) is in this repository's store, without
  // asking an object source.
  bool has_git_object(const std::string& id) const;
  // A git object from the store; nullopt when absent.
  std::optional<GitObject> read_git_object(const std::string& id) const;
  // Checks each object against its id, then stores all of them in one
  // atomic, durable write. Error(kCorrupt) naming the first that does not match.
  void write_git_objects(const std::vector<GitObject>& objects);
  // The objects that commits (or annotated tags) `want` need and commits
  // `have` do not already hold: new commits, the trees and pointer blobs
  // not in the `have` commits' trees, and every kura object of the files
  // whose pointer is new. `have` entries absent here are ignored.
  ObjectClosure closure(const std::vector<std::string>& want, const std::vector<std::string>& have) const;
  // True when commit `ancestor` is `descendant` or one of its ancestors.
  bool is_ancestor(const std::string& ancestor, const std::string& descendant) const;
  // Brings commit `theirs` into the current branch: nothing when it is
  // already there, a fast-forward when HEAD is its ancestor, else a merge
  // commit of the two trees (paths changed on both sides: Error(kConflict)
  // naming them). Files are checked out as by checkout() (local changes are
  // never overwritten), then the branch moves.
  // Both sides changed: files merge as git merges them, except tables
  // changed on both sides, which merge row by row (docs/merge.md). A clean
  // merge is committed (its files are checked first, MergeOptions::verify)
  // and checked out by one journaled checkout. On conflicts the merge stops:
  // the clean part is checked out and staged, each conflicting table holds
  // its merged rows and a marked block per conflicting row, the state is
  // saved (merge_state()) and the result lists the conflicts. Stopping
  // needs a working folder without local changes to tracked files
  // (Error(kConflict) otherwise, nothing changed), so abort_merge() can
  // restore it exactly. Error(kConflict) when a merge is already in progress.
  MergeResult merge(const std::string& theirs, const std::string& message, const MergeOptions& options = {});
  // git revert REV: a new commit on HEAD that undoes what `rev` changed
  // against its first parent. Tables merge row by row as in merge() (base
  // `rev`, theirs its parent), so later edits to other rows are kept; a row
  // changed since is a conflict of that row. A conflict stops the revert as
  // a merge stops (merge_state(), kind "revert"); commit() then makes a
  // commit with HEAD as its only parent. `message` empty: "Revert "SUBJECT"".
  MergeResult revert(const std::string& rev, const std::string& message, const MergeOptions& options = {});
  // The merge (or revert) in progress, if any.
  std::optional<MergeState> merge_state() const;
  // Puts the working folder and the index back as they were before the
  // merge (files the merge added are removed) and ends it. Error(kNotFound)
  // when no merge is in progress.
  void abort_merge();
  // Git config of this repository (.kura/git/config), e.g. "remote.origin.url".
  std::optional<std::string> config(const std::string& key) const;
  void set_config(const std::string& key, const std::string& value);
  void unset_config(const std::string& key);
  // Keys and values matching a regular expression ("^remote\\.").
  std::vector<std::pair<std::string, std::string>> config_matching(const std::string& regex) const;
  // Objects absent from the store are then asked of `source` (and stored
  // when the store is writable); nullptr turns that off.
  void set_object_source(std::shared_ptr<ObjectSource> source);

  struct Impl;

 private:
  explicit Repo(std::unique_ptr<Impl> impl);
  // Finishes what an interrupted process left (src/repo/recover.cpp): stale
  // lock files of libgit2, temporaries, the operation in the journal.
  void recover();
  MergeResult merge_or_revert(const std::string& theirs, const std::string& message, const MergeOptions& options,
                              bool revert);
  std::unique_ptr<Impl> impl_;
};

// Checks files outside any kura repository (a plain git repository's
// pre-commit hook, a folder about to be uploaded): the files under `paths`
// (relative to `root`). Image files are read where they are; results are
// cached by object id in `cache_dir`/results, so unchanged images are not
// inspected twice, and nothing else is kept (JSONL rows go to a scratch
// store in `cache_dir`, deleted afterwards). Takes `cache_dir`'s lock.
CheckReport check_folder(const std::filesystem::path& cache_dir, const std::filesystem::path& root,
                         const std::vector<std::string>& paths, const CheckOptions& options);

// The check policy of a folder outside any kura repository: `root`'s
// kura-checks.json, or the defaults. (The name .kura-checks.json, which kura
// 0.2's git hook read, is still read when kura-checks.json is absent.)
Policy folder_policy(const std::filesystem::path& root);

// Hand exclusions: kura exclude / kura include edit kura-exclusions.jsonl at
// the top of the data set (`root`: a repository's working folder, or any
// folder), which the checks read like the policy (docs/checks.md,
// "Exclusions"). Nothing is staged: the file is a tracked file like any other.
struct ExclusionTarget {
  std::string path;   // root-relative file
  uint64_t line = 0;  // 1-based JSONL line; 0: the file itself (or, for include, all its entries)
  // Optional, with a line: the hex id of the row the caller saw at that line
  // (a page showing a commit's rows). When the working folder's line holds
  // another row, exclude and include refuse with Error(kConflict), naming
  // both, and change nothing. Empty: whatever the line holds now.
  std::string row;
};
// Reads "PATH" or "PATH:LINE" as given on the command line (relative to
// `cwd`, inside `root`); a PATH that exists with its ":N" is taken whole.
ExclusionTarget parse_exclusion_target(const std::filesystem::path& root, const std::filesystem::path& cwd,
                                       const std::string& arg);

struct ExclusionChange {
  Exclusion entry;     // as written (exclude) or as removed (include)
  std::string action;  // "excluded", "already excluded", "included", "not excluded"
};
// Excludes each target with `reason`: a JSONL line by its row (the entry
// follows the row when lines move), any other file by path. Validates every
// target before writing (Error kNotFound / kInvalidInput naming it: a
// missing file, a line past the end, a JSONL file without a line, a
// folder), then rewrites the file once, atomically. A target already
// excluded keeps its entry. Refuses to edit a file with malformed lines.
std::vector<ExclusionChange> exclude(const std::filesystem::path& root, const std::vector<ExclusionTarget>& targets,
                                     const std::string& reason);
// Takes targets back: PATH:LINE removes the entries excluding that line
// (by its row, or by the line number); PATH alone removes every entry of
// PATH, also of a file no longer there.
std::vector<ExclusionChange> include(const std::filesystem::path& root, const std::vector<ExclusionTarget>& targets);

// The entries of root's kura-exclusions.jsonl, each with the lines of its
// file that it excludes now (empty: stale, or a file exclusion of a file
// that is gone). Malformed lines are Error(kInvalidInput) naming the line.
struct ListedExclusion {
  Exclusion entry;
  std::vector<uint64_t> lines_now;  // for a file exclusion: {0} when the file is there
};
std::vector<ListedExclusion> list_exclusions(const std::filesystem::path& root);

// The library version ("0.1.0").
const char* version();

}  // namespace kura
