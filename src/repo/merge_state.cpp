#include "repo/merge_state.hpp"

#include <nlohmann/json.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "kura/error.hpp"
#include "repo/index.hpp"
#include "repo/merge_rows.hpp"
#include "repo/repo_impl.hpp"
#include "util/fs.hpp"

namespace kura {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kStateFile = "MERGE_STATE";

json row_json(const RowConflictInfo& r) {
  return {{"kind", r.kind},
          {"base_line", r.base_line},
          {"ours_line", r.ours_line},
          {"theirs_line", r.theirs_line},
          {"merged_line", r.merged_line},
          {"base_row", r.base_row},
          {"ours_row", r.ours_row},
          {"theirs_row", r.theirs_row},
          {"ours_messages", r.ours_messages},
          {"theirs_messages", r.theirs_messages},
          {"ours_images", r.ours_images},
          {"theirs_images", r.theirs_images}};
}

RowConflictInfo row_from(const json& j) {
  RowConflictInfo r;
  r.kind = j.value("kind", "");
  r.base_line = j.value("base_line", uint64_t(0));
  r.ours_line = j.value("ours_line", uint64_t(0));
  r.theirs_line = j.value("theirs_line", uint64_t(0));
  r.merged_line = j.value("merged_line", uint64_t(0));
  r.base_row = j.value("base_row", "");
  r.ours_row = j.value("ours_row", "");
  r.theirs_row = j.value("theirs_row", "");
  r.ours_messages = j.value("ours_messages", std::vector<uint64_t>{});
  r.theirs_messages = j.value("theirs_messages", std::vector<uint64_t>{});
  r.ours_images = j.value("ours_images", std::vector<std::string>{});
  r.theirs_images = j.value("theirs_images", std::vector<std::string>{});
  return r;
}

fs::path state_path(const fs::path& kura_dir) { return kura_dir / kStateFile; }

}  // namespace

std::optional<StoredMerge> read_merge_state(const fs::path& kura_dir) {
  const fs::path path = state_path(kura_dir);
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return std::nullopt;
    fail_errno("read", path.string());
  }
  MappedFile file(path);
  json j = json::parse(file.bytes(), nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("theirs") || !j.contains("orig_head") || !j.contains("worktree"))
    fail(ErrorCode::kCorrupt, "'" + path.string() +
                                  "' (the state of the merge in progress) is damaged; remove it to end the merge, "
                                  "then run 'kura status'");
  StoredMerge m;
  MergeState& s = m.state;
  s.kind = j.value("kind", "merge");
  s.theirs = j.value("theirs", "");
  s.theirs_name = j.value("theirs_name", "");
  s.orig_head = j.value("orig_head", "");
  s.branch = j.value("branch", "");
  s.message = j.value("message", "");
  m.worktree = j.value("worktree", "");
  m.stage = j.value("stage", "writing");
  for (const json& c : j.value("conflicts", json::array())) {
    MergeConflict mc;
    mc.path = c.value("path", "");
    mc.reason = c.value("reason", "");
    mc.base_object = c.value("base_object", "");
    mc.ours_object = c.value("ours_object", "");
    mc.theirs_object = c.value("theirs_object", "");
    for (const json& r : c.value("rows", json::array())) mc.rows.push_back(row_from(r));
    if (c.contains("file")) m.files.emplace_back(mc.path, c["file"].get<std::string>());
    s.conflicts.push_back(std::move(mc));
  }
  return m;
}

void write_merge_state(const fs::path& kura_dir, const StoredMerge& m) {
  const MergeState& s = m.state;
  json j = {{"kind", s.kind},          {"theirs", s.theirs},     {"theirs_name", s.theirs_name}, {"orig_head", s.orig_head},
            {"branch", s.branch},     {"message", s.message},         {"worktree", m.worktree},
            {"stage", m.stage},       {"conflicts", json::array()}};
  for (const MergeConflict& c : s.conflicts) {
    json cj = {{"path", c.path},
               {"reason", c.reason},
               {"base_object", c.base_object},
               {"ours_object", c.ours_object},
               {"theirs_object", c.theirs_object},
               {"rows", json::array()}};
    for (const auto& r : c.rows) cj["rows"].push_back(row_json(r));
    for (const auto& [path, pointer] : m.files)
      if (path == c.path) cj["file"] = pointer;
    j["conflicts"].push_back(std::move(cj));
  }
  write_file_atomic(state_path(kura_dir), j.dump() + "\n");
  sync_dir(kura_dir);
}

void clear_merge_state(const fs::path& kura_dir) {
  const fs::path path = state_path(kura_dir);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) fail_errno("remove", path.string());
  sync_dir(kura_dir);
}

void write_merge_worktree(Repo& repo, Repo::Impl& I, StoredMerge& m, bool resume) {
  CheckoutRun run;
  run.rev = m.worktree;
  run.resume = resume;
  run_checkout(repo, I, m.worktree, run);  // journaled; HEAD stays (run.head unset)
  for (const auto& [path, text] : m.files) {
    FileEntry e;
    e.path = path;
    e.pointer = Pointer::decode(text, "the merge state's file for '" + path + "'");
    const auto staged = load_index(*I.store);
    auto it = staged.find(path);
    const mode_t mode = it != staged.end() && it->second.mode == 0100755 ? 0755 : 0644;
    write_file_atomic(I.root / path, mode, I.kura_dir / "tmp", [&](const auto& write) { repo.read_file(e, write); });
  }
  m.stage = "stopped";
  write_merge_state(I.kura_dir, m);
}

void recover_merge(Repo& repo, Repo::Impl& I) {
  auto m = read_merge_state(I.kura_dir);
  if (!m) return;
  const auto head = I.head_oid();
  if (!head || git::hex(*head) != m->state.orig_head) {
    // The merge commit landed (or the branch was moved) before the state
    // went: the merge is over.
    clear_merge_state(I.kura_dir);
    I.notice("the merge of " + m->state.theirs.substr(0, 10) + " ended (HEAD is no longer " +
             m->state.orig_head.substr(0, 10) + "); removed its leftover state");
    return;
  }
  if (m->stage == "stopped") return;
  I.notice("finishing the merge of " + m->state.theirs.substr(0, 10) +
           " that a kura process did not complete (it was killed or failed): writing its files");
  write_merge_worktree(repo, I, *m, /*resume=*/true);
  I.notice("done: the merge is in progress with " + std::to_string(m->state.conflicts.size()) +
           " conflicting path(s); see 'kura status'");
}

void check_merge_resolved(Repo& repo, Repo::Impl& I, const StoredMerge& m) {
  std::vector<std::string> paths;
  for (const auto& c : m.state.conflicts) paths.push_back(c.path);
  if (paths.empty()) return;
  const auto index = load_index(*I.store);
  std::map<std::string, FileEntry> working;
  for (auto& e : repo.working_files(paths)) working.emplace(e.path, e);
  for (const auto& path : paths) {
    auto staged = index.find(path);
    auto work = working.find(path);
    const bool in_index = staged != index.end(), in_folder = work != working.end();
    if (in_index != in_folder || (in_index && staged->second.pointer.file_sha != work->second.pointer.file_sha))
      fail(ErrorCode::kConflict, "'" + path + "' has a merge conflict whose resolution is not staged; resolve it, then '" +
                                     (in_folder ? "kura add " : "kura rm ") + path + "'");
    if (!in_index || staged->second.pointer.kind != FileKind::kTable) continue;
    const Store& store = *I.store;
    uint64_t line = 0;
    for (const RowRef& r : read_manifest(store, staged->second.pointer.object)) {
      ++line;
      if (is_conflict_marker(decode_row(store.read_object(r.row), r.row).body))
        fail(ErrorCode::kConflict, path + ":" + std::to_string(line) +
                                       ": a conflict marker line is left; keep the rows you want, delete the "
                                       "marker lines, then 'kura add " + path + "'");
    }
  }
}

}  // namespace kura
