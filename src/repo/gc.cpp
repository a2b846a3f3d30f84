// kura gc: drops objects that nothing reaches (no ref, no commit, no index
// entry), keeping those stored within the grace period, as git's
// gc.pruneExpire does, so a commit being prepared is never pulled away.
#include <algorithm>
#include <cstring>
#include <ctime>

#include "kura/error.hpp"
#include "repo/index.hpp"
#include "repo/journal.hpp"
#include "repo/odb_backend.hpp"
#include "repo/reach.hpp"

namespace kura {

GcReport Repo::gc(const GcOptions& options) {
  Impl& I = *impl_;
  Store& store = *I.store;
  GcReport report;
  const int64_t cutoff = static_cast<int64_t>(std::time(nullptr)) - options.keep_recent.count();
  const uint64_t disk_before = store.disk_usage();

  // Mark.
  GitOidSet git_live;
  std::unordered_set<ObjectId, ObjectIdHash> live;
  auto mark_file = [&](const FileEntry& entry) {
    file_objects(
        store, entry, [&](const ObjectId& id, uint64_t) { return live.insert(id).second; },
        [&](const ObjectId& id, const char*, const std::string& message, uint64_t) {
          fail(ErrorCode::kCorrupt, "gc stopped before deleting anything: " + message + " (object " +
                                        id.hex() + "); run 'kura fsck'");
        });
  };
  for (const git_oid& oid : reachable_commits(I, &git_live)) {
    git_live.insert(oid);
    git_commit* c = nullptr;
    git::check(git_commit_lookup(&c, I.git.get(), &oid), "cannot read commit " + git::hex(oid));
    git::Commit owner(c);
    if (auto report = I.report_id(c)) live.insert(*report);
    git_tree* tree = nullptr;
    git::check(git_commit_tree(&tree, c), "cannot read a tree");
    git::Tree tree_owner(tree);
    git_live.insert(*git_tree_id(tree));
    struct Ctx {
      GitOidSet* live;
    } ctx{&git_live};
    git::check(git_tree_walk(
                   tree, GIT_TREEWALK_PRE,
                   [](const char*, const git_tree_entry* e, void* p) -> int {
                     static_cast<Ctx*>(p)->live->insert(*git_tree_entry_id(e));
                     return 0;
                   },
                   &ctx),
               "cannot read a tree");
    for (const auto& [path, file] : I.flatten(tree)) {
      mark_file(I.entry_of(path, file));
    }
  }
  for (const auto& [path, entry] : load_index(store)) {
    git_live.insert(git::oid_from_hex(entry.pointer_oid));
    mark_file(entry);
  }

  for (const ObjectId& id : run_roots(store).objects) live.insert(id);

  // Sweep.
  std::vector<ObjectId> doomed;
  store.for_each_object_id([&](const ObjectId& id, int64_t time) {
    if (live.count(id)) ++report.objects_kept;
    else if (time > cutoff) ++report.unreachable_kept_recent;
    else doomed.push_back(id);
    return true;
  });
  // The journal: a killed gc is finished by the next kura command.
  write_journal(I.kura_dir, {{"op", "gc"}, {"command", I.options.command},
                             {"keep_seconds", static_cast<int64_t>(options.keep_recent.count())}});
  // Stat cache entries naming objects about to go first: one left behind
  // by a kill would make add trust a file whose object is gone.
  {
    const std::unordered_set<ObjectId, ObjectIdHash> going(doomed.begin(), doomed.end());
    TableBatch stale;
    store.scan(Table::kStatCache, "", [&](std::string_view key, std::string_view value) {
      auto cached = decode_cached(key, value);
      if (!cached || going.count(cached->entry.pointer.object) || !store.has_object(cached->entry.pointer.object))
        stale.erase(Table::kStatCache, key);
      return true;
    });
    store.write(stale, Sync::kYes);
  }
  for (size_t i = 0; i < doomed.size(); i += 10000)
    store.erase_objects({doomed.begin() + static_cast<long>(i),
                         doomed.begin() + static_cast<long>(std::min(doomed.size(), i + 10000))});
  report.objects_removed = doomed.size();

  TableBatch batch;
  store.scan(Table::kGit, "", [&](std::string_view key, std::string_view value) {
    if (key.size() != GIT_OID_RAWSZ) return true;
    git_oid oid;
    std::memcpy(oid.id, key.data(), GIT_OID_RAWSZ);
    git_object_t type;
    int64_t time = 0;
    std::string_view data;
    if (git_live.count(oid) || !decode_git_value(value, &type, &time, &data) || time > cutoff) return true;
    batch.erase(Table::kGit, key);
    ++report.git_objects_removed;
    return true;
  });
  store.write(batch, Sync::kYes);
  if (report.objects_removed || report.git_objects_removed) store.compact();
  clear_journal(I.kura_dir);
  const uint64_t disk_after = store.disk_usage();
  report.bytes_removed = disk_before > disk_after ? disk_before - disk_after : 0;
  return report;
}

}  // namespace kura
