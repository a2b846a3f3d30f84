// kura fsck, gc.
#include <iostream>

#include "commands.hpp"
#include "kura/error.hpp"
#include "kura/remote.hpp"

namespace kura::cli {

namespace {

void print_fsck(const FsckReport& r, bool json, bool quiet) {
  if (json) {
    nlohmann::json problems = nlohmann::json::array();
    for (const auto& p : r.problems)
      problems.push_back({{"table", p.table}, {"object", p.object}, {"kind", p.kind},
                          {"class", p.data ? "data" : "cache"}, {"message", p.message},
                          {"file", p.file.empty() ? nlohmann::json() : nlohmann::json(p.file)},
                          {"used_by", p.used_by}, {"commits", p.commits}, {"remote_has", p.remote_has},
                          {"repaired", p.repaired}});
    print_json({{"ok", r.ok()},
                {"repaired", r.repaired},
                {"objects_checked", r.objects_checked},
                {"git_objects_checked", r.git_objects_checked},
                {"table_entries_checked", r.table_entries_checked},
                {"bytes_checked", r.bytes_checked},
                {"commits", r.commits},
                {"files", r.files},
                {"promisor", r.promisor.empty() ? nlohmann::json() : nlohmann::json(r.promisor)},
                {"not_fetched", r.not_fetched},
                {"index_paths_lost", r.index_paths_lost},
                {"problems", problems}});
    return;
  }
  size_t open = 0;
  for (const auto& p : r.problems) {
    open += !p.repaired;
    std::cout << color(p.repaired ? "repaired" : p.kind, p.repaired ? "32" : "31") << ": " << p.table << " ("
              << (p.data ? "data" : "cache") << "): " << p.message << "\n";
    if (!p.used_by.empty()) {
      std::cout << "  used by:";
      for (const auto& u : p.used_by) std::cout << " " << u << (&u == &p.used_by.back() ? "" : ",");
      std::cout << "\n";
    }
    if (p.remote_has && !p.repaired) std::cout << "  the remote holds a good copy: kura fsck --repair --from REMOTE\n";
  }
  if (!r.index_paths_lost.empty()) {
    std::cout << "the index was reset to HEAD; staged versions lost (add them again):";
    for (const auto& path : r.index_paths_lost) std::cout << " " << path;
    std::cout << "\n";
  }
  if (!quiet || !r.ok())
    std::cout << "checked " << r.objects_checked << " objects (" << human_bytes(r.bytes_checked) << "), "
              << r.git_objects_checked << " git objects, " << r.table_entries_checked << " table entries, "
              << r.commits << " commits, " << r.files << " file entries: "
              << (r.problems.empty() ? "ok"
                  : open == 0       ? "all " + std::to_string(r.problems.size()) + " problems repaired"
                                    : std::to_string(open) + " problems" +
                                    (r.repaired ? " left after repair" : "; 'kura fsck --repair' fixes caches and the index, '--from REMOTE' restores data"))
              << "\n";
  if (r.not_fetched)
    std::cout << r.not_fetched << (r.not_fetched == 1 ? " object" : " objects") << " of other commits "
              << (r.not_fetched == 1 ? "is" : "are") << " not fetched yet (a partial clone of '" << r.promisor
              << "'; kura fetches each when it is read)\n";
}

}  // namespace

void add_maint_commands(CLI::App& app, Global& g, Action& action) {
  {
    auto* cmd = app.add_subcommand("fsck", "Check every table, object and commit; --repair fixes what it can");
    auto json = std::make_shared<bool>(false);
    auto repair = std::make_shared<bool>(false);
    auto from = std::make_shared<std::string>();
    cmd->add_flag("--json", *json, "Print JSON");
    cmd->add_flag("--repair", *repair, "Rebuild damaged caches, reset a damaged index to HEAD, drop unreadable data");
    cmd->add_option("--from", *from, "A remote holding good copies of lost objects (restored with --repair)");
    cmd->callback([&g, &action, json, repair, from] {
      action = [&g, json, repair, from] {
        auto repo = open_repo(g, "fsck", *json, *repair ? Mode::kRepair : Mode::kInspect);
        FsckOptions o;
        o.repair = *repair;
        if (!from->empty()) o.from = remote_object_source(*repo, *from);
        FsckReport r = repo->fsck(o);
        print_fsck(r, *json, g.quiet);
        return r.ok() ? 0 : 1;
      };
    });
  }
  {
    auto* cmd = app.add_subcommand("gc", "Delete objects that no commit, ref or index entry uses");
    auto prune = std::make_shared<std::string>("14");
    auto json = std::make_shared<bool>(false);
    cmd->add_option("--prune", *prune, "Keep unreachable objects younger than DAYS (default 14), or 'now'");
    cmd->add_flag("--json", *json, "Print JSON");
    cmd->callback([&g, &action, prune, json] {
      action = [&g, prune, json] {
        GcOptions o;
        if (*prune == "now") {
          o.keep_recent = std::chrono::seconds(0);
        } else {
          try {
            o.keep_recent = std::chrono::seconds(static_cast<int64_t>(std::stod(*prune) * 86400));
          } catch (const std::exception&) {
            fail(ErrorCode::kInvalidInput, "--prune takes a number of days or 'now', not '" + *prune + "'");
          }
        }
        auto repo = open_repo(g, "gc", *json);
        GcReport r = repo->gc(o);
        if (*json) {
          print_json({{"objects_kept", r.objects_kept},
                      {"objects_removed", r.objects_removed},
                      {"bytes_removed", r.bytes_removed},
                      {"git_objects_removed", r.git_objects_removed},
                      {"unreachable_kept_recent", r.unreachable_kept_recent}});
        } else if (!g.quiet) {
          std::cout << "removed " << r.objects_removed << " objects and " << r.git_objects_removed
                    << " git objects (" << human_bytes(r.bytes_removed) << " freed); kept " << r.objects_kept;
          if (r.unreachable_kept_recent)
            std::cout << "; " << r.unreachable_kept_recent
                      << " unreachable objects are younger than the grace period (use --prune now)";
          std::cout << "\n";
        }
        return 0;
      };
    });
  }
}

}  // namespace kura::cli
