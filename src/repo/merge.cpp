// Bringing another line of history into the current branch (kura merge,
// kura pull): fast-forward when possible, else a three-way merge of the two
// trees against their merge base. Trees hold pointer blobs, so git's tree
// merge decides per file; a table both sides changed is then merged row by
// row (merge_rows.hpp). docs/merge.md has the rules.
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <tuple>

#include "kura/error.hpp"
#include "repo/merge_rows.hpp"
#include "repo/merge_state.hpp"
#include "repo/repo_impl.hpp"
#include "util/fs.hpp"

namespace kura {

namespace {

// The messages ("messages" or "conversations") of a JSON row that `side`
// changed against `base`, 0-based.
std::vector<uint64_t> changed_messages(const std::string& base, const std::string& side) {
  auto b = nlohmann::json::parse(base, nullptr, false), s = nlohmann::json::parse(side, nullptr, false);
  std::vector<uint64_t> out;
  if (!b.is_object() || !s.is_object()) return out;
  const char* field = b.contains("messages") ? "messages" : "conversations";  // OpenAI, LLaVA
  if (!b.contains(field) || !s.contains(field)) return out;
  const auto &bm = b[field], &sm = s[field];
  if (!bm.is_array() || !sm.is_array()) return out;
  for (size_t i = 0; i < std::max(bm.size(), sm.size()); ++i)
    if (i >= bm.size() || i >= sm.size() || bm[i] != sm[i]) out.push_back(i);
  return out;
}

RowConflictInfo describe(const Store& store, const RowConflict& c, uint64_t merged_line) {
  RowConflictInfo r;
  r.kind = row_conflict_name(c.kind);
  r.base_line = c.base_line, r.ours_line = c.ours_line, r.theirs_line = c.theirs_line;
  r.merged_line = merged_line;
  r.base_row = c.base.row.hex();
  const Row base = decode_row(store.read_object(c.base.row), c.base.row);
  const std::string base_text = render_row(store, base);  // images in place: a new image is a changed message
  auto side = [&](uint64_t line, const RowRef& ref, std::string& id, std::vector<uint64_t>& messages,
                  std::vector<std::string>& images) {
    if (!line) return;
    id = ref.row.hex();
    const Row row = decode_row(store.read_object(ref.row), ref.row);
    messages = changed_messages(base_text, render_row(store, row));
    for (const auto& im : row.images) images.push_back(im.media.hex());
  };
  side(c.ours_line, c.ours, r.ours_row, r.ours_messages, r.ours_images);
  side(c.theirs_line, c.theirs, r.theirs_row, r.theirs_messages, r.theirs_images);
  return r;
}

struct Side {
  bool present = false;
  TreeFile file;
  FileEntry entry;
};

Side side_of(const Repo::Impl& I, const std::string& path, const git_index_entry* e) {
  Side s;
  if (!e) return s;
  s.present = true;
  s.file = {e->mode, e->id};
  s.entry = I.entry_of(path, s.file);
  return s;
}

}  // namespace

MergeResult Repo::merge(const std::string& theirs, const std::string& message, const MergeOptions& options) {
  return merge_or_revert(theirs, message, options, /*revert=*/false);
}

MergeResult Repo::revert(const std::string& rev, const std::string& message, const MergeOptions& options) {
  return merge_or_revert(rev, message, options, /*revert=*/true);
}

// merge(): bring `theirs` in. revert(): undo `theirs` (the commit reverted)
// on HEAD, which git computes as a merge whose base is that commit and whose
// other side is its parent; the commit then has HEAD as its only parent.
MergeResult Repo::merge_or_revert(const std::string& theirs, const std::string& message_given,
                                  const MergeOptions& options, bool revert) {
  Impl& I = *impl_;
  Store& store = *I.store;
  MergeResult result;
  const char* verb = revert ? "revert" : "merge";
  if (auto m = read_merge_state(I.kura_dir)) {
    const bool r = m->state.kind == "revert";
    fail(ErrorCode::kConflict, std::string("a ") + (r ? "revert" : "merge") + " of " +
                                   (m->state.theirs_name.empty() ? m->state.theirs.substr(0, 10)
                                                                 : "'" + m->state.theirs_name + "'") +
                                   " is in progress; resolve it and run 'kura " + (r ? "revert" : "merge") +
                                   " --continue', or 'kura " + (r ? "revert" : "merge") + " --abort'");
  }
  const std::string branch_ref = head_ref();
  if (branch_ref.rfind("refs/heads/", 0) != 0)
    fail(ErrorCode::kConflict, std::string("HEAD is detached; switch to a branch before ") + (revert ? "reverting" : "merging"));
  const std::string branch = branch_ref.substr(11);
  git::Commit their_commit = I.commit_of(theirs);
  const std::string their_hex = git::hex(*git_commit_id(their_commit.get()));
  const std::string their_name = options.theirs_name.empty() ? their_hex.substr(0, 10) : options.theirs_name;
  const auto head = I.head_oid();
  std::string key = options.key.empty() ? config("kura.key").value_or("") : options.key;
  if (!key.empty() && key[0] != '/')
    fail(ErrorCode::kInvalidInput, "key '" + key + "' is not a JSON pointer; write it like /id or /metadata/id");
  std::string message = message_given;
  if (revert) {
    if (!head) fail(ErrorCode::kNotFound, "there is no commit yet to revert onto (HEAD is unborn)");
    if (git_commit_parentcount(their_commit.get()) == 0)
      fail(ErrorCode::kInvalidInput, "cannot revert " + their_name + ": it is a root commit (nothing before it to go back to)");
    if (git_commit_parentcount(their_commit.get()) > 1)
      fail(ErrorCode::kInvalidInput, "cannot revert " + their_name +
                                         ": it is a merge commit (revert one of the commits it brought in instead)");
    if (!is_ancestor(their_hex, git::hex(*head)))
      fail(ErrorCode::kInvalidInput, "cannot revert " + their_name + ": it is not in the history of HEAD");
    if (message.empty()) {
      const std::string msg = git_commit_message(their_commit.get()) ? git_commit_message(their_commit.get()) : "";
      message = "Revert \"" + msg.substr(0, msg.find('\n')) + "\"\n\nThis reverts commit " + their_hex + ".";
    }
  }

  // Merged tables written while they were hashed, named by the checkout.
  std::map<std::string, std::unique_ptr<PendingFile>> pending;
  std::map<std::string, CheckoutRun::Prepared> prepared;
  auto move_to = [&](const std::string& commit, const char* why) {
    // Files, index, branch, HEAD: one journaled checkout, so a kill at any
    // point is finished by the next command (src/repo/recover.cpp).
    CheckoutRun run;
    run.rev = commit;
    run.update_ref = branch_ref;
    run.update_old = I.ref_target(branch_ref);
    run.head = branch_ref;
    run.reflog = std::string(why) + ": " + commit.substr(0, 10);
    run.prepared = prepared;
    result.checkout = run_checkout(*this, I, commit, run);  // refuses to overwrite local changes
    result.commit = commit;
  };
  if (!head) {
    result.fast_forward = true;
    move_to(their_hex, "merge");
    return result;
  }
  const std::string ours = git::hex(*head);
  if (!revert && is_ancestor(their_hex, ours)) {
    result.up_to_date = true;
    result.commit = ours;
    return result;
  }
  if (!revert && is_ancestor(ours, their_hex)) {
    result.fast_forward = true;
    move_to(their_hex, "merge: fast-forward");
    return result;
  }

  git::Commit our_commit = I.commit_of(ours);
  git_index* raw = nullptr;
  git_merge_options opts = GIT_MERGE_OPTIONS_INIT;
  opts.flags = GIT_MERGE_FIND_RENAMES;
  if (revert)
    git::check(git_revert_commit(&raw, I.git.get(), their_commit.get(), our_commit.get(), 0, &opts),
               "cannot revert " + their_name);
  else
    git::check(git_merge_commits(&raw, I.git.get(), our_commit.get(), their_commit.get(), &opts),
               "cannot merge " + their_name);
  git::Owned<git_index, git_index_free> index(raw);

  // Paths both sides changed: tables row by row, the rest stays a conflict.
  struct Resolution {
    std::string path;
    std::optional<TreeFile> file;  // what the index (and so the worktree commit) holds
  };
  std::vector<Resolution> resolutions;
  StoredMerge stored;
  {
    std::vector<std::tuple<std::string, Side, Side, Side>> both;
    git_index_conflict_iterator* it = nullptr;
    git::check(git_index_conflict_iterator_new(&it, raw), "cannot list conflicts");
    git::Owned<git_index_conflict_iterator, git_index_conflict_iterator_free> it_owner(it);
    const git_index_entry *anc, *our, *their;
    while (git_index_conflict_next(&anc, &our, &their, it) == 0) {
      const std::string path = our ? our->path : their ? their->path : anc->path;
      both.emplace_back(path, side_of(I, path, anc), side_of(I, path, our), side_of(I, path, their));
    }
    for (auto& [path, a, o, t] : both) {
      MergeConflict mc;
      mc.path = path;
      if (a.present) mc.base_object = a.entry.pointer.object.hex();
      if (o.present) mc.ours_object = o.entry.pointer.object.hex();
      if (t.present) mc.theirs_object = t.entry.pointer.object.hex();
      const auto table = [](const Side& s) { return s.present && s.entry.pointer.kind == FileKind::kTable; };
      Resolution res{path, o.present ? std::optional<TreeFile>(o.file) : std::nullopt};
      if (table(o) && table(t) && (!a.present || table(a))) {
        const RowMerge rm =
            merge_rows(store, a.present ? read_manifest(store, a.entry.pointer.object) : std::vector<RowRef>{},
                       read_manifest(store, o.entry.pointer.object), read_manifest(store, t.entry.pointer.object), key);
        if (!rm.invalid.empty()) {
          mc.reason = "its rows were not merged: " + rm.invalid + "; the file is ours' version";
        } else {
          // A clean result is rows already stored: only its manifest is new.
          std::vector<uint64_t> lines;
          TableInfo info;
          if (rm.conflicts.empty()) {
            std::vector<RowRef> rows;
            rows.reserve(rm.rows.size());
            for (const MergedRow& m : rm.rows) rows.push_back(m.row);
            // The working file is written as the rows are rendered for the
            // hash, nameless until the journaled checkout names it: one
            // rendering instead of two. Not for a merge that stops.
            std::unique_ptr<PendingFile> file;
            const std::filesystem::path abs = I.root / path;
            if (options.commit && std::filesystem::is_directory(abs.parent_path()))
              file = std::make_unique<PendingFile>(abs, I.kura_dir / "tmp");
            info = store_table_rows(store, rows, I.threads(),
                                    file ? std::function<void(std::string_view)>(
                                               [&](std::string_view piece) { file->write(piece); })
                                         : std::function<void(std::string_view)>());
            if (file) {
              prepared[path] = {info.file_sha, file.get()};
              pending[path] = std::move(file);
            }
          } else {
            info = store_table(store, render_merge(store, rm, &lines));
          }
          Pointer p;
          p.kind = FileKind::kTable;
          p.object = info.manifest;
          p.size = info.size;
          p.rows = info.rows;
          p.file_sha = info.file_sha;
          if (rm.conflicts.empty()) {
            const std::string text = p.encode();
            git_oid blob;
            git::check(git_blob_create_from_buffer(&blob, I.git.get(), text.data(), text.size()),
                       "cannot store the merged '" + path + "'");
            res.file = TreeFile{o.file.mode, blob};
            result.tables_merged.push_back(path);
          } else {
            for (size_t k = 0; k < rm.conflicts.size(); ++k) mc.rows.push_back(describe(store, rm.conflicts[k], lines[k]));
            stored.files.emplace_back(path, p.encode());
          }
        }
      } else {
        mc.reason = !o.present   ? "deleted by ours, changed by theirs"
                    : !t.present ? "changed by ours, deleted by theirs"
                    : !a.present ? "added on both sides with different contents"
                                 : "changed on both sides";
        if (o.present && t.present && !(table(o) && table(t)))
          mc.reason += " (a file that is not a table merges only whole)";
        else if (o.present && t.present && table(o) != table(t))
          mc.reason += " (a table on one side only)";
        if (o.present) mc.reason += "; the file is ours' version";
      }
      if (!mc.reason.empty() || !mc.rows.empty()) result.conflicts.push_back(std::move(mc));
      resolutions.push_back(std::move(res));
    }
  }
  for (const Resolution& r : resolutions) {
    git::check(git_index_conflict_remove(raw, r.path.c_str()), "cannot resolve '" + r.path + "'");
    if (!r.file) continue;
    git_index_entry e{};
    e.mode = r.file->mode;
    e.id = r.file->oid;
    e.path = r.path.c_str();
    git::check(git_index_add(raw, &e), "cannot resolve '" + r.path + "'");
  }
  git_oid tree_oid;
  git::check(git_index_write_tree_to(&tree_oid, raw, I.git.get()), "cannot write the merged tree");
  git_tree* tree = nullptr;
  git::check(git_tree_lookup(&tree, I.git.get(), &tree_oid), "cannot read the merged tree");
  git::Tree tree_owner(tree);
  git::Signature sig = author_signature(I.git.get());
  if (revert && result.conflicts.empty() && git_oid_equal(&tree_oid, git_commit_tree_id(our_commit.get())))
    fail(ErrorCode::kNothingToDo, "reverting " + their_name + " changes nothing: what it changed is no longer in HEAD");

  if (!result.conflicts.empty() || !options.commit) {
    // Stop with the merge in progress. Only from a folder without local
    // changes, so that abort_merge() puts back exactly what was there.
    const StatusReport local = status();
    if (!local.staged.empty() || !local.unstaged.empty()) {
      const StatusEntry& first = local.staged.empty() ? local.unstaged.front() : local.staged.front();
      fail(ErrorCode::kConflict,
           "cannot " + std::string(result.conflicts.empty() ? std::string("stop this ") + verb + " before its commit"
                                                            : std::string("stop at this ") + verb + "'s " + std::to_string(result.conflicts.size()) +
                                                                  " conflicting path(s) (" + result.conflicts[0].path + "...)") +
               " with local changes (" + first.path + (local.staged.size() + local.unstaged.size() > 1 ? " and more" : "") +
               "); nothing was changed: commit them (kura add, kura commit), then " + verb + " again");
    }
    const git_commit* parents[1] = {our_commit.get()};
    git_oid worktree;
    git::check(git_commit_create(&worktree, I.git.get(), nullptr, sig.get(), sig.get(), "UTF-8",
                                 ("kura " + std::string(verb) + ": the clean part of " + (revert ? "reverting " : "merging ") +
                                  their_name + "\n").c_str(), tree, 1, parents),
               "cannot write the merge's working state");
    store.sync_tables();  // objects durable before the state names them
    stored.state = {verb, their_hex, their_name, ours, branch_ref, message, result.conflicts};
    stored.worktree = git::hex(worktree);
    stored.stage = "writing";
    write_merge_state(I.kura_dir, stored);
    try {
      write_merge_worktree(*this, I, stored, /*resume=*/false);
    } catch (const Error& e) {
      // Refused before writing a file (an untracked file in the way): nothing happened.
      if (e.code() != ErrorCode::kConflict) throw;
      clear_merge_state(I.kura_dir);
      throw;
    }
    result.stopped = true;
    return result;
  }

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
           std::string(verb) + " of " + their_name + (revert ? " on '" : " into '") + branch + "' stopped: the " +
               (revert ? "resulting" : "merged") + " data has " +
               std::to_string(report.summary.errors) + (report.summary.errors == 1 ? " error" : " errors") +
               "; nothing was changed here. Fix them on either side, change the rules in kura-checks.json, "
               "or " + verb + " anyway with --no-verify");
    report_hex = I.store_report(report);
    result.checked = true;
    result.report = std::move(report);
  }
  const git_commit* parents[2] = {our_commit.get(), their_commit.get()};
  git_buf text = GIT_BUF_INIT;
  git::check(git_commit_create_buffer(&text, I.git.get(), sig.get(), sig.get(), "UTF-8", (message + "\n").c_str(),
                                      tree, revert ? 1 : 2, parents),
             "cannot write the merge commit");
  const std::string content(text.ptr, text.size);
  git_buf_dispose(&text);
  // The report id rides in a header of its own, as on any commit.
  git_oid commit_oid;
  git::check(git_commit_create_with_signature(&commit_oid, I.git.get(), content.c_str(),
                                              report_hex.empty() ? nullptr : report_hex.c_str(), kReportHeader),
             "cannot write the merge commit");
  store.sync_tables();  // tree and commit durable before the ref names them
  move_to(git::hex(commit_oid), verb);
  return result;
}

std::optional<MergeState> Repo::merge_state() const {
  auto m = read_merge_state(impl_->kura_dir);
  if (!m) return std::nullopt;
  return m->state;
}

void Repo::abort_merge() {
  Impl& I = *impl_;
  auto m = read_merge_state(I.kura_dir);
  if (!m) fail(ErrorCode::kNotFound, "there is no merge to abort (no merge is in progress)");
  // Files the merge added are not HEAD's: remove them, so the forced
  // checkout below leaves nothing of the merge behind. A kill in between
  // leaves the state, and 'kura merge --abort' again finishes.
  const TreeFiles before = I.flatten_rev(m->state.orig_head);
  for (const auto& [path, file] : I.flatten_rev(m->worktree))
    if (!before.count(path)) remove_with_empty_parents(I.root, path);
  CheckoutRun run;
  run.rev = m->state.orig_head;
  run.force = true;
  run_checkout(*this, I, m->state.orig_head, run);  // journaled; HEAD stays where it is
  clear_merge_state(I.kura_dir);
}

}  // namespace kura
