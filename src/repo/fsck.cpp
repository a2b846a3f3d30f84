// kura fsck: re-hashes every object and follows every reference.
#include <algorithm>
#include <cstring>
#include <unordered_map>
#include <unordered_set>

#include "kura/error.hpp"
#include "repo/index.hpp"
#include "repo/odb_backend.hpp"
#include "repo/reach.hpp"

namespace kura {

namespace {

constexpr size_t kMaxUsers = 20;

struct Checker {
  FsckReport& report;
  std::unordered_map<std::string, size_t> problem_of;  // object hex -> index in report.problems
  std::unordered_set<std::string> not_fetched;        // partial clone: absent by design

  void problem(const std::string& object, const char* kind, const std::string& message) {
    if (problem_of.count(object) || not_fetched.count(object)) return;
    if (!report.promisor.empty() && std::string_view(kind) == "missing" && ObjectId::from_hex(object)) {
      not_fetched.insert(object);
      ++report.not_fetched;
      return;
    }
    problem_of[object] = report.problems.size();
    report.problems.push_back({object, kind, message, {}});
  }
  bool is_bad(const std::string& object) const { return problem_of.count(object) > 0; }
  void used_by(const std::string& object, const std::string& user) {
    auto it = problem_of.find(object);
    if (it == problem_of.end()) return;
    auto& users = report.problems[it->second].used_by;
    if (users.size() < kMaxUsers && std::find(users.begin(), users.end(), user) == users.end())
      users.push_back(user);
  }
};

std::string where(const std::string& path, uint64_t line) {
  return line ? path + " line " + std::to_string(line) : path;
}

}  // namespace

FsckReport Repo::fsck() {
  Impl& I = *impl_;
  const Store& store = *I.store;
  FsckReport report;
  report.promisor = config("kura.promisor").value_or("");
  Checker c{report, {}, {}};

  // Objects are read one by one, so a value RocksDB itself finds damaged
  // (a blob checksum) is reported as that object, not as a failed fsck.
  store.for_each_object_id([&](const ObjectId& id, int64_t) {
    ++report.objects_checked;
    try {
      auto bytes = store.get_object(id);
      if (!bytes) {
        c.problem(id.hex(), "missing", "object " + id.hex() + " is listed but its content is missing");
      } else {
        report.bytes_checked += bytes->size();
        if (sha256(*bytes) != id)
          c.problem(id.hex(), "corrupt", "object " + id.hex() + ": content does not match its hash");
      }
    } catch (const Error& e) {
      c.problem(id.hex(), "corrupt", "object " + id.hex() + " cannot be read: " + e.what());
    }
    return true;
  });
  store.scan(Table::kGit, "", [&](std::string_view key, std::string_view value) {
    ++report.git_objects_checked;
    git_oid oid;
    std::memcpy(oid.id, key.data(), std::min<size_t>(key.size(), GIT_OID_RAWSZ));
    git_object_t type;
    int64_t time;
    std::string_view data;
    git_oid actual;
    if (key.size() != GIT_OID_RAWSZ || !decode_git_value(value, &type, &time, &data) ||
        git_odb_hash(&actual, data.data(), data.size(), type) < 0 || !git_oid_equal(&actual, &oid))
      c.problem(git::hex(oid), "corrupt", "git object " + git::hex(oid) + ": content does not match its hash");
    return true;
  });

  // Problems under each pointer blob, so a file seen again (other commits,
  // copies) is not walked again but still named as a user.
  std::unordered_map<std::string, std::vector<std::pair<std::string, uint64_t>>> under_pointer;
  std::unordered_set<ObjectId, ObjectIdHash> seen;
  auto check_file = [&](const std::string& path, const std::function<FileEntry()>& load, const std::string& pointer) {
    ++report.files;
    auto known = under_pointer.find(pointer);
    if (known == under_pointer.end()) {
      std::vector<std::pair<std::string, uint64_t>> found;
      if (c.is_bad(pointer)) found.push_back({pointer, 0});
      try {
        FileEntry entry = load();
        file_objects(
            store, entry,
            [&](const ObjectId& id, uint64_t line) {
              if (c.is_bad(id.hex())) found.push_back({id.hex(), line});
              return seen.insert(id).second;
            },
            [&](const ObjectId& id, const char* kind, const std::string& message, uint64_t line) {
              c.problem(id.hex(), kind, message);
              found.push_back({id.hex(), line});
            });
      } catch (const Error& e) {
        c.problem(pointer, "undecodable", e.what());
        found.push_back({pointer, 0});
      }
      known = under_pointer.emplace(pointer, std::move(found)).first;
    }
    for (const auto& [object, line] : known->second) c.used_by(object, where(path, line));
  };

  std::vector<git_oid> commits;
  try {
    commits = reachable_commits(I, nullptr);
  } catch (const Error& e) {
    c.problem("refs", "missing", e.what());
  }
  for (const git_oid& oid : commits) {
    ++report.commits;
    TreeFiles files;
    try {
      files = I.flatten_rev(git::hex(oid));
    } catch (const Error& e) {
      c.problem(git::hex(oid), "undecodable", "commit " + git::hex(oid) + ": " + e.what());
      continue;
    }
    const std::string short_id = git::hex(oid).substr(0, 10);
    try {
      git_commit* raw = nullptr;
      git::check(git_commit_lookup(&raw, I.git.get(), &oid), "cannot read commit " + git::hex(oid));
      git::Commit owner(raw);
      if (auto report = I.report_id(raw)) {
        if (!store.has_object(*report))
          c.problem(report->hex(), "missing", "the check report " + report->hex() + " of commit " + short_id + " is missing");
        c.used_by(report->hex(), short_id + ":(check report)");
      }
    } catch (const Error& e) {
      c.problem(git::hex(oid), "undecodable", e.what());
    }
    for (const auto& [path, file] : files) {
      const std::string pointer = git::hex(file.oid);
      check_file(short_id + ":" + path, [&, p = path, f = file] { return I.entry_of(p, f); }, pointer);
    }
  }
  for (const auto& [path, entry] : load_index(store))
    check_file("index:" + path, [e = entry] { return e; }, entry.pointer_oid);
  return report;
}

}  // namespace kura
