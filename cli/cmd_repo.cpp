// kura init, add, rm, status, commit.
#include <filesystem>
#include <iostream>

#include "commands.hpp"
#include "kura/error.hpp"
#include "report.hpp"

#include <unistd.h>
#include <cstdlib>

namespace kura::cli {

namespace {

void parse_author(const std::string& author, CommitOptions& o) {
  auto lt = author.find('<'), gt = author.rfind('>');
  if (lt == std::string::npos || gt == std::string::npos || gt < lt)
    fail(ErrorCode::kInvalidInput, "--author must look like 'Name <email>'");
  o.author_name = author.substr(0, lt);
  while (!o.author_name.empty() && o.author_name.back() == ' ') o.author_name.pop_back();
  o.author_email = author.substr(lt + 1, gt - lt - 1);
}

void print_changes(const std::vector<StatusEntry>& entries, const char* code) {
  for (const auto& e : entries) {
    std::string label = std::string(change_name(e.change)) + ":";
    label.resize(12, ' ');
    std::cout << "  " << color(label + e.path, code) << "\n";
  }
}

}  // namespace

void add_repo_commands(CLI::App& app, Global& g, Action& action) {
  {
    auto* cmd = app.add_subcommand("init", "Create a kura repository (.kura/) in a folder");
    auto dir = std::make_shared<std::string>();
    auto branch = std::make_shared<std::string>("main");
    cmd->add_option("dir", *dir, "Folder to version (default: the current one)");
    cmd->add_option("-b,--branch", *branch, "Name of the first branch");
    cmd->callback([&g, &action, dir, branch] {
      action = [&g, dir, branch] {
        std::filesystem::path target = dir->empty() ? std::filesystem::path(g.dir) : std::filesystem::path(g.dir) / *dir;
        std::error_code ec;
        std::filesystem::create_directories(target, ec);
        Repo::init(target, *branch);
        if (!g.quiet)
          std::cout << "Initialised an empty kura repository in "
                    << (std::filesystem::absolute(target).lexically_normal() / ".kura").string() << "\n";
        return 0;
      };
    });
  }
  {
    auto* cmd = app.add_subcommand("add", "Stage files and folders: store new and changed files, record deletions");
    auto paths = std::make_shared<std::vector<std::string>>();
    auto json = std::make_shared<bool>(false);
    cmd->add_option("paths", *paths, "Files or folders")->required();
    cmd->add_flag("--json", *json, "Print a JSON summary");
    cmd->callback([&g, &action, paths, json] {
      action = [&g, paths, json] {
        auto repo = open_repo(g, "add", *json);
        AddResult r = repo->add(*paths);
        if (*json) {
          print_json({{"files_added", r.files_added},
                      {"files_unchanged", r.files_unchanged},
                      {"files_removed", r.files_removed},
                      {"files_hashed", r.files_hashed},
                      {"bytes_hashed", r.bytes_hashed},
                      {"objects_written", r.objects_written},
                      {"bytes_written", r.bytes_written},
                      {"rows", r.rows},
                      {"images", r.images},
                      {"skipped", r.skipped}});
        } else if (!g.quiet) {
          std::cout << "staged " << r.files_added << " new or changed, " << r.files_removed << " removed, "
                    << r.files_unchanged << " unchanged; read " << r.files_hashed << " files ("
                    << human_bytes(r.bytes_hashed) << "), stored " << r.objects_written << " new objects ("
                    << human_bytes(r.bytes_written) << ")\n";
          for (const auto& s : r.skipped) std::cerr << "kura: skipped " << s << "\n";
        }
        return 0;
      };
    });
  }
  {
    auto* cmd = app.add_subcommand("rm", "Stop tracking files and delete them from the working folder");
    auto paths = std::make_shared<std::vector<std::string>>();
    auto cached = std::make_shared<bool>(false);
    cmd->add_option("paths", *paths, "Files or folders")->required();
    cmd->add_flag("--cached", *cached, "Only untrack; keep the files");
    cmd->callback([&g, &action, paths, cached] {
      action = [&g, paths, cached] {
        auto repo = open_repo(g, "rm", false);
        uint64_t n = repo->remove(*paths, *cached);
        if (!g.quiet) std::cout << "removed " << n << " file" << (n == 1 ? "" : "s") << " from the index\n";
        return 0;
      };
    });
  }
  {
    auto* cmd = app.add_subcommand("status", "Show staged, unstaged and untracked changes");
    auto json = std::make_shared<bool>(false);
    cmd->add_flag("--json", *json, "Print JSON");
    cmd->callback([&g, &action, json] {
      action = [&g, json] {
        auto repo = open_repo(g, "status", *json);
        StatusReport s = repo->status();
        if (*json) {
          auto list = [](const std::vector<StatusEntry>& v) {
            nlohmann::json a = nlohmann::json::array();
            for (const auto& e : v) a.push_back({{"path", e.path}, {"change", change_name(e.change)}});
            return a;
          };
          print_json({{"branch", s.branch.empty() ? nlohmann::json(nullptr) : nlohmann::json(s.branch)},
                      {"head", s.head.empty() ? nlohmann::json(nullptr) : nlohmann::json(s.head)},
                      {"staged", list(s.staged)},
                      {"unstaged", list(s.unstaged)},
                      {"untracked", s.untracked},
                      {"clean", s.clean()},
                      {"merging", s.merging},
                      {"merge_conflicts", s.merge_conflicts}});
          return 0;
        }
        if (!s.branch.empty()) std::cout << "On branch " << s.branch << "\n";
        else std::cout << "HEAD detached at " << s.head.substr(0, 12) << "\n";
        if (s.head.empty()) std::cout << "No commits yet\n";
        if (s.merging) {
          std::cout << "You are in the middle of a merge";
          if (s.merge_conflicts.empty()) std::cout << " (no conflicts; 'kura merge --continue' commits it)\n";
          else std::cout << " (resolve, 'kura add', then 'kura merge --continue'; or 'kura merge --abort'):\n";
          for (const auto& p : s.merge_conflicts) std::cout << "  conflict: " << color(p, "31") << "\n";
        }
        if (!s.staged.empty()) {
          std::cout << "Changes to be committed:\n";
          print_changes(s.staged, "32");
        }
        if (!s.unstaged.empty()) {
          std::cout << "Changes not staged for commit (use 'kura add'):\n";
          print_changes(s.unstaged, "31");
        }
        if (!s.untracked.empty()) {
          std::cout << "Untracked files (use 'kura add'):\n";
          for (const auto& p : s.untracked) std::cout << "  " << color(p, "31") << "\n";
        }
        if (s.clean()) std::cout << "nothing to commit, working folder clean\n";
        return 0;
      };
    });
  }
  {
    auto* cmd = app.add_subcommand("commit", "Record the staged files as a new commit");
    auto message = std::make_shared<std::string>();
    auto author = std::make_shared<std::string>();
    auto allow_empty = std::make_shared<bool>(false);
    auto no_verify = std::make_shared<bool>(false);
    auto json = std::make_shared<bool>(false);
    auto all = std::make_shared<bool>(false);
    auto per_rule = std::make_shared<size_t>(kFindingsPerRule);
    cmd->add_option("-m,--message", *message, "Commit message")->required();
    cmd->add_flag("--all", *all, "When the checks fail, print every finding (default: the first 20 of each rule)");
    cmd->add_option("--max-per-rule", *per_rule, "Findings printed per rule when the checks fail (default 20; 0: all)");
    cmd->add_flag("-n,--no-verify", *no_verify, "Skip the checks");
    cmd->add_option("--author", *author, "Author as 'Name <email>'");
    cmd->add_flag("--allow-empty", *allow_empty, "Commit even when nothing changed");
    cmd->add_flag("--json", *json, "Print the commit as JSON");
    auto filter_args = add_filter_options(cmd);
    cmd->callback([&g, &action, message, author, allow_empty, no_verify, json, all, per_rule, filter_args] {
      action = [&g, message, author, allow_empty, no_verify, json, all, per_rule, filter_args] {
        CommitOptions o;
        o.message = *message;
        o.allow_empty = *allow_empty;
        o.verify = !*no_verify;
        if (!author->empty()) parse_author(*author, o);
        auto repo = open_repo(g, "commit", *json);
        if (o.verify) note_policy(repo->policy_for(CheckScope::kIndex), g.quiet);
        CheckReport report;
        CommitInfo c;
        try {
          c = repo->commit(o, &report);
        } catch (const Error& e) {
          if (e.code() != ErrorCode::kCheckFailed) throw;
          const ReportFilter filter = filter_args->filter(report);
          if (*json)
            print_json({{"committed", false}}, "checks", report, filter);
          else
            print_report(std::cerr, report, ::isatty(STDERR_FILENO) && !std::getenv("NO_COLOR"), *all ? 0 : *per_rule,
                         "kura check --staged --all" + filter_args->arguments(), filter);
          throw;
        }
        if (*json) {
          nlohmann::json j = to_json(c);
          j["committed"] = true;
          if (o.verify) print_json(j, "checks", report, filter_args->filter(report, FilterArgs::Validate::kNo));
          else print_json(j);
        } else if (!g.quiet) {
          std::string branch = repo->current_branch();
          std::cout << "[" << (branch.empty() ? "detached HEAD" : branch) << " " << c.id.substr(0, 12) << "] "
                    << c.message.substr(0, c.message.find('\n')) << "\n";
          if (o.verify && (report.summary.warnings || report.summary.infos || report.summary.excluded))
            std::cout << "checks: " << report.summary.warnings << " warnings, " << report.summary.infos << " info, "
                      << report.summary.excluded << " excluded (see 'kura show')\n";
        }
        return 0;
      };
    });
  }
}

}  // namespace kura::cli
