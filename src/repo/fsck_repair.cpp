// kura fsck --repair: damaged tables are rewritten from what can be read
// (their damaged files dropped), caches keep only entries that decode, a
// damaged index is reset to HEAD, and with --from lost git objects and
// objects are restored from the remote, each verified against its id.
#include <nlohmann/json.hpp>

#include <cstring>
#include <set>

#include "kura/error.hpp"
#include "repo/fsck.hpp"
#include "repo/index.hpp"
#include "repo/odb_backend.hpp"

namespace kura {

namespace {

bool git_value_ok(std::string_view key, std::string_view value) {
  if (key.size() != GIT_OID_RAWSZ) return false;
  git_oid oid, actual;
  std::memcpy(oid.id, key.data(), GIT_OID_RAWSZ);
  git_object_t type;
  int64_t time;
  std::string_view data;
  return decode_git_value(value, &type, &time, &data) && git_odb_hash(&actual, data.data(), data.size(), type) == 0 &&
         git_oid_equal(&actual, &oid);
}

void lost(FsckReport& out, const std::string& table, const std::string& key) {
  FsckProblem p;
  p.table = table;
  p.object = key;
  out.problems.push_back(std::move(p));
}

}  // namespace

void repair(Repo::Impl& I, const FsckReport& first, const TableScan& scan, const FsckOptions& options,
            FsckReport& out) {
  Store& store = *I.store;
  std::vector<std::string> object_keys;
  for (const auto& [id, size] : scan.object_size) object_keys.emplace_back(id.raw());
  std::set<std::string> to_rebuild = scan.damaged;
  for (const auto& p : first.problems)
    if (p.kind == "undecodable" && (p.table == "statcache" || p.table == "runs")) to_rebuild.insert(p.table);

  // 1. Damaged tables: their readable, well-formed entries kept, their files dropped.
  for (const std::string& table : to_rebuild) {
    if (table == "objects") {
      store.rebuild(table, scan.time_ids, [](std::string_view key, std::string_view value) {
        auto id = key.size() == 32 ? ObjectId::from_raw(key) : std::nullopt;
        return id && sha256(value) == *id;
      });
    } else if (table == "object_times") {
      std::unordered_set<std::string> present(object_keys.begin(), object_keys.end());
      store.rebuild(table, object_keys, [&](std::string_view key, std::string_view value) {
        return value.size() == 8 && present.count(std::string(key));
      });
    } else if (table == "git") {
      store.rebuild(table, {}, git_value_ok);
    } else if (table == "statcache") {
      store.rebuild(table, {}, [&](std::string_view key, std::string_view value) {
        auto cached = decode_cached(key, value);
        return cached && scan.object_size.count(cached->entry.pointer.object);
      });
    } else if (table == "runs") {
      store.rebuild(table, {}, [](std::string_view, std::string_view value) {
        return !nlohmann::json::parse(value, nullptr, false).is_discarded();
      });
      for (const auto& p : first.problems)
        if (p.table == "runs") lost(out, "runs", p.object);  // no copy anywhere: run records are local
    } else if (table == "index") {
      store.rebuild(table, {}, [](std::string_view, std::string_view) { return false; });  // reset below
    } else {  // checks, meta: caches, refilled as they are used
      store.rebuild(table, {}, [](std::string_view, std::string_view) { return true; });
    }
  }

  // 2. Objects whose bytes are wrong go; time entries follow the objects.
  std::vector<ObjectId> wrong;
  for (const auto& p : first.problems)
    if (p.table == "objects" && p.kind == "corrupt")
      if (auto id = ObjectId::from_hex(p.object); id && !scan.object_size.count(*id)) wrong.push_back(*id);
  if (!wrong.empty()) store.erase_objects(wrong);
  for (const auto& p : first.problems)
    if (p.table == "object_times" && p.kind == "missing")
      if (auto id = ObjectId::from_hex(p.object))
        if (auto bytes = store.get_object(*id)) {
          store.erase_objects({*id});
          store.put_object(*id, *bytes);
        }

  // 3. A damaged index is reset to HEAD; what it staged beyond HEAD is named.
  if (to_rebuild.count("index") || !scan.index_unreadable.empty()) {
    if (!to_rebuild.count("index")) store.rebuild("index", {}, [](std::string_view, std::string_view) { return false; });
    const TreeFiles head = I.head_files();
    std::map<std::string, FileEntry> entries;
    for (const auto& [path, file] : head) entries.emplace(path, I.entry_of(path, file));
    std::set<std::string> lost_paths(scan.index_unreadable.begin(), scan.index_unreadable.end());
    for (const auto& [path, entry] : scan.index) {
      auto it = entries.find(path);
      if (it == entries.end() || it->second.pointer_oid != entry.pointer_oid || it->second.mode != entry.mode)
        lost_paths.insert(path);
    }
    TableBatch batch;
    for (const auto& [path, entry] : entries) batch.put(Table::kIndex, path, encode_entry(entry));
    store.write(batch, Sync::kYes);
    out.index_paths_lost.assign(lost_paths.begin(), lost_paths.end());
  }

  // 4. Good copies from the remote: git objects first (they name the rest).
  if (!options.from) return;
  std::vector<GitObject> restore;
  for (auto& o : options.from->git_objects())
    if (!store.get(Table::kGit, git::raw(git::oid_from_hex(o.id)))) restore.push_back(std::move(o));
  if (!restore.empty()) {
    TableBatch batch;
    for (const auto& o : restore)
      batch.put(Table::kGit, git::raw(git::oid_from_hex(o.id)), encode_git_value(git_object_t(o.type), o.data));
    store.write(batch, Sync::kYes);
  }
  // The walk again, now that lost commits and trees may be back: every
  // object it misses is asked of the remote. A walk cannot see below an
  // object it lacks (the rows of a lost chunk, the chunks of a lost
  // manifest), so it runs again while the previous round restored something.
  std::set<std::string> asked;
  for (bool restored = true; restored;) {
    restored = false;
    TableScan scan2;
    FsckReport missing;
    Checker c{missing, {}, {}, {}};
    check_tables(I, c, scan2);
    walk_commits(I, c, scan2);
    for (const auto& p : missing.problems) {
      if (p.table != "objects" || !asked.insert(p.object).second) continue;
      auto id = ObjectId::from_hex(p.object);
      if (!id) continue;
      std::optional<std::string> bytes;
      try {
        bytes = options.from->fetch_object(*id);
      } catch (const Error&) {
        continue;  // a damaged remote copy: the object stays missing and is reported
      }
      if (!bytes || sha256(*bytes) != *id) continue;
      if (store.has_object(*id)) store.erase_objects({*id});
      store.put_object(*id, *bytes);
      restored = true;
    }
    store.sync_objects();
  }
}

}  // namespace kura
