// fsck, first pass: every table of the store read with checksums, each
// entry decoded as its table's format says (docs/architecture.md).
#include <nlohmann/json.hpp>

#include <cstring>

#include "kura/error.hpp"
#include "repo/fsck.hpp"
#include "repo/index.hpp"
#include "repo/odb_backend.hpp"

namespace kura {

namespace {

// A key as a person reads it: ids in hex, paths and run keys as they are.
std::string key_text(const std::string& table, std::string_view key) {
  if ((table == "objects" || table == "object_times") && key.size() == 32) return ObjectId::from_raw(key)->hex();
  if (table == "git" && key.size() == GIT_OID_RAWSZ) {
    git_oid oid;
    std::memcpy(oid.id, key.data(), GIT_OID_RAWSZ);
    return git::hex(oid);
  }
  if (table == "runs" && key.rfind("run/", 0) == 0) return std::string(key.substr(4));
  for (unsigned char ch : key)
    if (ch < 0x20 || ch > 0x7e) {
      static const char* digits = "0123456789abcdef";
      std::string hex;
      for (unsigned char b : key) hex += {digits[b >> 4], digits[b & 15]};
      return hex;
    }
  return std::string(key);
}

void report_damage(Checker& c, TableScan& scan, const std::vector<StoreDamage>& damage) {
  for (const auto& d : damage) {
    scan.damaged.insert(d.table);
    const std::string file = std::filesystem::path(d.file).filename().string();
    const bool data = is_data_table(d.table);
    if (d.key.empty()) {
      c.problem(d.table, "file:" + (file.empty() ? d.table : file), "corrupt",
                "table " + d.table + ": store file " + (file.empty() ? "?" : file) + " is damaged (" + d.message +
                    "); the entries in its damaged part cannot be read",
                data, file);
    } else {
      const std::string key = key_text(d.table, d.key);
      if (d.table == "index") scan.index_unreadable.push_back(d.key);
      c.problem(d.table, key, "corrupt",
                d.table + " entry " + key + " cannot be read (" + d.message + (file.empty() ? "" : " in " + file) + ")",
                data, file);
    }
  }
}

}  // namespace

bool is_data_table(const std::string& table) {
  return table == "objects" || table == "git" || table == "runs" || table == "index";
}

void check_tables(Repo::Impl& I, Checker& c, TableScan& scan) {
  const Store& store = *I.store;
  FsckReport& report = c.report;
  std::vector<StoreDamage> damage;

  std::unordered_set<std::string> timed;
  store.verify("object_times", {}, [&](std::string_view key, std::string_view value) {
    scan.time_ids.emplace_back(key);
    timed.emplace(key);
    if (key.size() != 32 || value.size() != 8)
      c.problem("object_times", key_text("object_times", key), "undecodable",
                "object_times entry " + key_text("object_times", key) + " is not a 32-byte id and an 8-byte time", false);
  }, damage);
  store.verify("objects", scan.time_ids, [&](std::string_view key, std::string_view value) {
    ++report.objects_checked;
    report.bytes_checked += value.size();
    auto id = key.size() == 32 ? ObjectId::from_raw(key) : std::nullopt;
    if (!id || sha256(value) != *id) {
      c.problem("objects", key_text("objects", key), "corrupt",
                "object " + key_text("objects", key) + ": content does not match its hash", true);
      return;
    }
    scan.object_size[*id] = value.size();
    if (!timed.count(std::string(key)))
      c.problem("object_times", id->hex(), "missing", "object " + id->hex() + " has no entry in object_times", false);
  }, damage);
  report_damage(c, scan, damage);
  damage.clear();
  for (const auto& raw : scan.time_ids) {
    auto id = raw.size() == 32 ? ObjectId::from_raw(raw) : std::nullopt;
    if (id && !scan.object_size.count(*id) && !c.is_bad(id->hex()))
      c.problem("objects", id->hex(), "missing", "object " + id->hex() + " is listed but its content is missing", true);
  }

  std::vector<std::string> refs;  // ref files are outside the store: known keys of the git table
  git_reference_iterator* it = nullptr;
  if (git_reference_iterator_new(&it, I.git.get()) == 0) {
    git::Owned<git_reference_iterator, git_reference_iterator_free> owner(it);
    git_reference* ref = nullptr;
    while (git_reference_next(&ref, it) == 0) {
      git::Reference r(ref);
      if (const git_oid* target = git_reference_target(ref)) refs.emplace_back(git::raw(*target));
    }
  }
  store.verify("git", refs, [&](std::string_view key, std::string_view value) {
    ++report.git_objects_checked;
    git_oid oid{};
    std::memcpy(oid.id, key.data(), std::min<size_t>(key.size(), GIT_OID_RAWSZ));
    git_object_t type;
    int64_t time;
    std::string_view data;
    git_oid actual;
    if (key.size() != GIT_OID_RAWSZ || !decode_git_value(value, &type, &time, &data) ||
        git_odb_hash(&actual, data.data(), data.size(), type) < 0 || !git_oid_equal(&actual, &oid))
      c.problem("git", git::hex(oid), "corrupt", "git object " + git::hex(oid) + ": content does not match its hash", true);
  }, damage);

  std::vector<std::string> cached_paths;
  store.verify("statcache", {}, [&](std::string_view key, std::string_view value) {
    ++report.table_entries_checked;
    cached_paths.emplace_back(key);
    if (!decode_cached(key, value))
      c.problem("statcache", std::string(key), "undecodable", "stat cache entry " + std::string(key) + " cannot be decoded", false);
  }, damage);
  store.verify("index", cached_paths, [&](std::string_view key, std::string_view value) {
    ++report.table_entries_checked;
    try {
      scan.index.emplace(std::string(key), decode_entry(key, value));
    } catch (const Error& e) {
      scan.index_unreadable.emplace_back(key);
      c.problem("index", std::string(key), "undecodable", e.what(), true);
    }
  }, damage);
  store.verify("checks", {}, [&](std::string_view, std::string_view) { ++report.table_entries_checked; }, damage);
  store.verify("meta", {}, [&](std::string_view, std::string_view) { ++report.table_entries_checked; }, damage);
  store.verify("runs", {}, [&](std::string_view key, std::string_view value) {
    ++report.table_entries_checked;
    const std::string run = key_text("runs", key);
    nlohmann::json j = nlohmann::json::parse(value, nullptr, false);
    if (key.rfind("eval/", 0) == 0) {
      // An eval record (kura eval, docs/train.md) names no object: it holds its key.
      if (j.is_discarded() || !j.is_object() || j.value("key", "") != run)
        c.problem("runs", run, "undecodable", "eval record " + run + " is not the JSON eval record of that key", true);
      return;
    }
    if (j.is_discarded() || !j.is_object() || j.value("id", "") != run) {
      c.problem("runs", run, "undecodable", "run record " + run + " is not the JSON record of run " + run, true);
      return;
    }
    for (const char* field : {"weights", "metrics", "log", "base_model"}) {
      auto id = j.contains(field) && j[field].is_string() ? ObjectId::from_hex(j[field].get<std::string>()) : std::nullopt;
      if (id && !store.has_object(*id))
        c.problem("objects", id->hex(), "missing", "object " + id->hex() + " (the " + field + " of run " + run + ") is missing", true);
      if (id) c.used_by(id->hex(), "run " + run.substr(0, 10) + " (" + field + ")");
    }
    if (j.contains("spec") && j["spec"].contains("commit") && j["spec"]["commit"].is_string())
      scan.run_commits.push_back(j["spec"]["commit"]);
  }, damage);
  report_damage(c, scan, damage);
}

}  // namespace kura
