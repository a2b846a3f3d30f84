// fsck's parts: the findings collected (Checker), the pass over every table
// of the store (fsck_tables.cpp), the walk of every commit (fsck.cpp) and
// the repair (fsck_repair.cpp).
#pragma once

#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "kura/repo.hpp"
#include "repo/repo_impl.hpp"

namespace kura {

struct Checker {
  FsckReport& report;
  std::map<std::pair<std::string, std::string>, size_t> problem_of;  // (table, key) -> index
  std::unordered_map<std::string, size_t> object_problem;             // objects/git key -> index
  std::unordered_set<std::string> not_fetched;                        // partial clone: absent by design

  FsckProblem* problem(const std::string& table, const std::string& key, const char* kind,
                       const std::string& message, bool data, const std::string& file = "");
  bool is_bad(const std::string& object) const { return object_problem.count(object) > 0; }
  void used_by(const std::string& object, const std::string& user);
};

// What the table pass learnt, for the walk and the repair.
struct TableScan {
  std::unordered_map<ObjectId, uint64_t, ObjectIdHash> object_size;  // objects read and verified
  std::vector<std::string> time_ids;                                  // raw keys of object_times
  std::map<std::string, FileEntry> index;                             // index entries read
  std::vector<std::string> index_unreadable;                          // index keys that cannot be read
  std::vector<std::string> run_commits;                               // commits named by run records
  std::set<std::string> damaged;                                      // tables with a damaged file
};

bool is_data_table(const std::string& table);
void check_tables(Repo::Impl& repo, Checker& c, TableScan& scan);
void walk_commits(Repo::Impl& repo, Checker& c, const TableScan& scan);
// Repairs what `first` found; the caller runs fsck again to see what is left.
void repair(Repo::Impl& repo, const FsckReport& first, const TableScan& scan, const FsckOptions& options,
            FsckReport& out);

}  // namespace kura
