// kura fsck, gc.
#include <iostream>

#include "commands.hpp"
#include "kura/error.hpp"

namespace kura::cli {

void add_maint_commands(CLI::App& app, Global& g, Action& action) {
  {
    auto* cmd = app.add_subcommand("fsck", "Re-hash every object and check every reference");
    auto json = std::make_shared<bool>(false);
    cmd->add_flag("--json", *json, "Print JSON");
    cmd->callback([&g, &action, json] {
      action = [&g, json] {
        auto repo = open_repo(g, "fsck", *json, Mode::kRead);
        FsckReport r = repo->fsck();
        if (*json) {
          nlohmann::json problems = nlohmann::json::array();
          for (const auto& p : r.problems)
            problems.push_back({{"object", p.object}, {"kind", p.kind}, {"message", p.message}, {"used_by", p.used_by}});
          print_json({{"ok", r.ok()},
                      {"objects_checked", r.objects_checked},
                      {"git_objects_checked", r.git_objects_checked},
                      {"bytes_checked", r.bytes_checked},
                      {"commits", r.commits},
                      {"files", r.files},
                      {"promisor", r.promisor.empty() ? nlohmann::json() : nlohmann::json(r.promisor)},
                      {"not_fetched", r.not_fetched},
                      {"problems", problems}});
        } else {
          for (const auto& p : r.problems) {
            std::cout << color(p.kind, "31") << ": " << p.message << "\n";
            if (!p.used_by.empty()) {
              std::cout << "  used by:";
              for (const auto& u : p.used_by) std::cout << " " << u << (&u == &p.used_by.back() ? "" : ",");
              std::cout << "\n";
            }
          }
          if (!g.quiet || !r.ok())
            std::cout << "checked " << r.objects_checked << " objects (" << human_bytes(r.bytes_checked) << "), "
                      << r.git_objects_checked << " git objects, " << r.commits << " commits, " << r.files
                      << " file entries: " << (r.ok() ? "ok" : std::to_string(r.problems.size()) + " problems")
                      << "\n";
          if (r.not_fetched)
            std::cout << r.not_fetched << (r.not_fetched == 1 ? " object" : " objects")
                      << " of other commits " << (r.not_fetched == 1 ? "is" : "are")
                      << " not fetched yet (a partial clone of '"
                      << r.promisor << "'; kura fetches each when it is read)\n";
        }
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
