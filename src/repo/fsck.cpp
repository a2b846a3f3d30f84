// kura fsck: every table read with checksums (fsck_tables.cpp), every
// commit walked down to every row and image (here), and --repair
// (fsck_repair.cpp), after which everything is checked again.
#include "repo/fsck.hpp"

#include <algorithm>

#include "kura/error.hpp"
#include "repo/index.hpp"
#include "repo/reach.hpp"

namespace kura {

namespace {

constexpr size_t kMaxUsers = 20;

std::string where(const std::string& path, uint64_t line) {
  return line ? path + " line " + std::to_string(line) : path;
}

}  // namespace

FsckProblem* Checker::problem(const std::string& table, const std::string& key, const char* kind,
                              const std::string& message, bool data, const std::string& file) {
  const bool object_key = table == "objects" || table == "git";
  if (problem_of.count({table, key}) || not_fetched.count(key)) return nullptr;
  if (object_key && object_problem.count(key)) return nullptr;
  if (!report.promisor.empty() && table == "objects" && std::string_view(kind) == "missing") {
    not_fetched.insert(key);
    ++report.not_fetched;
    return nullptr;
  }
  problem_of[{table, key}] = report.problems.size();
  if (object_key) object_problem[key] = report.problems.size();
  FsckProblem p;
  p.object = key;
  p.kind = kind;
  p.message = message;
  p.table = table;
  p.data = data;
  p.file = file;
  report.problems.push_back(std::move(p));
  return &report.problems.back();
}

void Checker::used_by(const std::string& object, const std::string& user) {
  auto it = object_problem.find(object);
  if (it == object_problem.end()) return;
  FsckProblem& p = report.problems[it->second];
  if (p.used_by.size() < kMaxUsers && std::find(p.used_by.begin(), p.used_by.end(), user) == p.used_by.end())
    p.used_by.push_back(user);
  const std::string commit = user.substr(0, user.find(':'));
  if (user.find(':') != std::string::npos && commit != "index" && p.commits.size() < kMaxUsers &&
      std::find(p.commits.begin(), p.commits.end(), commit) == p.commits.end())
    p.commits.push_back(commit);
}

void walk_commits(Repo::Impl& I, Checker& c, const TableScan& scan) {
  const Store& store = *I.store;
  FsckReport& report = c.report;
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
      auto bad = [&](const ObjectId& id, const char* kind, const std::string& message, uint64_t line) {
        c.problem("objects", id.hex(), kind, message, true);
        found.push_back({id.hex(), line});
      };
      try {
        FileEntry entry = load();
        const Pointer& p = entry.pointer;
        auto size = scan.object_size.find(p.object);
        if (p.kind == FileKind::kMedia && size != scan.object_size.end() && size->second != p.size)
          bad(p.object, "mismatch",
              "the pointer of " + path + " says " + std::to_string(p.size) + " bytes but object " + p.object.hex() +
                  " has " + std::to_string(size->second),
              0);
        file_objects(
            store, entry,
            [&](const ObjectId& id, uint64_t line) {
              if (c.is_bad(id.hex())) found.push_back({id.hex(), line});
              return seen.insert(id).second;
            },
            bad);
      } catch (const Error& e) {
        c.problem("git", pointer, "undecodable", e.what(), true);
        found.push_back({pointer, 0});
      }
      known = under_pointer.emplace(pointer, std::move(found)).first;
    }
    for (const auto& [object, line] : known->second) c.used_by(object, where(path, line));
  };

  std::vector<git_oid> commits;
  try {
    commits = reachable_commits(I, nullptr, &scan.run_commits);
  } catch (const Error& e) {
    c.problem("git", "refs", "missing", e.what(), true);
  }
  for (const git_oid& oid : commits) {
    ++report.commits;
    const std::string short_id = git::hex(oid).substr(0, 10);
    TreeFiles files;
    try {
      files = I.flatten_rev(git::hex(oid));
      git_commit* raw = nullptr;
      git::check(git_commit_lookup(&raw, I.git.get(), &oid), "cannot read commit " + git::hex(oid));
      git::Commit owner(raw);
      if (auto id = I.report_id(raw)) {
        if (!store.has_object(*id))
          c.problem("objects", id->hex(), "missing", "the check report " + id->hex() + " of commit " + short_id + " is missing", true);
        c.used_by(id->hex(), short_id + ":(check report)");
      }
    } catch (const Error& e) {
      c.problem("git", git::hex(oid), "undecodable", "commit " + git::hex(oid) + ": " + e.what(), true);
      c.used_by(git::hex(oid), short_id + ":");
      continue;
    }
    for (const auto& [path, file] : files) {
      const std::string pointer = git::hex(file.oid);
      check_file(short_id + ":" + path, [&, p = path, f = file] { return I.entry_of(p, f); }, pointer);
    }
  }
  for (const auto& [path, entry] : scan.index)
    check_file("index:" + path, [e = entry] { return e; }, entry.pointer_oid);
}

FsckReport Repo::fsck(const FsckOptions& options) {
  Impl& I = *impl_;
  const std::string promisor = config("kura.promisor").value_or("");
  auto run = [&](TableScan& scan) {
    FsckReport r;
    r.promisor = promisor;
    Checker c{r, {}, {}, {}};
    check_tables(I, c, scan);
    walk_commits(I, c, scan);
    return r;
  };
  TableScan scan;
  FsckReport first = run(scan);
  if (options.from) {
    std::unordered_set<std::string> git_there;
    for (const auto& o : options.from->git_objects()) git_there.insert(o.id);
    for (auto& p : first.problems) {
      if (p.table == "git") p.remote_has = git_there.count(p.object) > 0;
      if (p.table != "objects" || !ObjectId::from_hex(p.object)) continue;
      try {
        p.remote_has = options.from->fetch_object(*ObjectId::from_hex(p.object)).has_value();
      } catch (const Error&) {
        p.remote_has = false;  // a damaged remote copy is no good copy
      }
    }
  }
  if (!options.repair || first.problems.empty()) return first;
  FsckReport out;
  repair(I, first, scan, options, out);
  TableScan again;
  FsckReport after = run(again);
  std::set<std::pair<std::string, std::string>> left;
  for (const auto& p : after.problems) left.insert({p.table, p.object});
  // What repair dropped without a copy to restore it from stays unrepaired.
  for (const auto& p : out.problems) left.insert({p.table, p.object});
  for (auto& p : first.problems) p.repaired = !left.count({p.table, p.object});
  std::set<std::pair<std::string, std::string>> had;
  for (const auto& p : first.problems) had.insert({p.table, p.object});
  for (auto& p : after.problems)
    if (!had.count({p.table, p.object})) first.problems.push_back(std::move(p));
  first.index_paths_lost = std::move(out.index_paths_lost);
  first.repaired = true;
  first.objects_checked = after.objects_checked;
  first.bytes_checked = after.bytes_checked;
  first.git_objects_checked = after.git_objects_checked;
  first.not_fetched = after.not_fetched;
  return first;
}

}  // namespace kura
