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
                      {"merge_kind", s.merging ? nlohmann::json(s.merge_kind) : nlohmann::json(nullptr)},
                      {"merge_conflicts", s.merge_conflicts},
                      {"upstream", s.upstream.empty() ? nlohmann::json(nullptr) : nlohmann::json(s.upstream)},
                      {"ahead", s.ahead},
                      {"behind", s.behind}});
          return 0;
        }
        if (!s.branch.empty()) std::cout << "On branch " << s.branch << "\n";
        else std::cout << "HEAD detached at " << s.head.substr(0, 12) << "\n";
        if (s.head.empty()) std::cout << "No commits yet\n";
        if (!s.upstream.empty()) {
          const auto commits = [](uint64_t n) { return std::to_string(n) + (n == 1 ? " commit" : " commits"); };
          if (!s.ahead && !s.behind)
            std::cout << "Your branch is up to date with '" << s.upstream << "'.\n";
          else if (s.ahead && !s.behind)
            std::cout << "Your branch is ahead of '" << s.upstream << "' by " << commits(s.ahead)
                      << ".\n  (use 'kura push' to publish your local commits)\n";
          else if (!s.ahead)
            std::cout << "Your branch is behind '" << s.upstream << "' by " << commits(s.behind)
                      << ".\n  (use 'kura pull' to bring them in)\n";
          else
            std::cout << "Your branch and '" << s.upstream << "' have diverged: " << commits(s.ahead) << " here and "
                      << commits(s.behind) << " there.\n  (use 'kura pull' to merge them, row by row)\n";
        }
        if (s.merging) {
          const std::string verb = s.merge_kind == "revert" ? "revert" : "merge";
          std::cout << "You are in the middle of a " << verb;
          if (s.merge_conflicts.empty()) std::cout << " (no conflicts; 'kura " << verb << " --continue' commits it)\n";
          else std::cout << " (resolve, 'kura add', then 'kura " << verb << " --continue'; or 'kura " << verb << " --abort'):\n";
          for (const auto& p : s.merge_conflicts) std::cout << "  conflict: " << color(p, "31") << "\n";
        }
        if (!s.staged.empty()) {
          std::cout << "Changes to be committed:\n";
          if (!s.head.empty()) std::cout << "  (use 'kura restore --staged PATH...' to unstage)\n";
          else std::cout << "  (use 'kura rm --cached PATH...' to unstage)\n";
          print_changes(s.staged, "32");
        }
        if (!s.unstaged.empty()) {
          std::cout << "Changes not staged for commit:\n"
                       "  (use 'kura add PATH...' to update what will be committed)\n"
                       "  (use 'kura restore PATH...' to discard changes in the working folder)\n";
          print_changes(s.unstaged, "31");
        }
        if (!s.untracked.empty()) {
          std::cout << "Untracked files:\n  (use 'kura add PATH...' to include in what will be committed)\n";
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
    auto stage_all = std::make_shared<bool>(false);
    auto amend = std::make_shared<bool>(false);
    auto per_rule = std::make_shared<size_t>(kFindingsPerRule);
    cmd->add_option("-m,--message", *message, "Commit message (with --amend: default the amended commit's)");
    cmd->add_flag("-a,--all", *stage_all, "First stage every tracked file that was changed or deleted (new files stay untracked)");
    cmd->add_flag("--amend", *amend, "Replace HEAD's commit with one of the index (same parents)");
    cmd->add_flag("--all-findings", *all, "When the checks fail, print every finding (default: the first 20 of each rule)");
    cmd->add_option("--max-per-rule", *per_rule, "Findings printed per rule when the checks fail (default 20; 0: all)");
    cmd->add_flag("-n,--no-verify", *no_verify, "Skip the checks");
    cmd->add_option("--author", *author, "Author as 'Name <email>'");
    cmd->add_flag("--allow-empty", *allow_empty, "Commit even when nothing changed");
    cmd->add_flag("--json", *json, "Print the commit as JSON");
    auto filter_args = add_filter_options(cmd);
    cmd->callback([&g, &action, message, author, allow_empty, no_verify, json, all, per_rule, filter_args, stage_all,
                   amend] {
      action = [&g, message, author, allow_empty, no_verify, json, all, per_rule, filter_args, stage_all, amend] {
        CommitOptions o;
        o.message = *message;
        o.allow_empty = *allow_empty;
        o.verify = !*no_verify;
        o.amend = *amend;
        if (o.message.empty() && !o.amend) fail(ErrorCode::kInvalidInput, "give the commit message with -m MESSAGE");
        if (!author->empty()) parse_author(*author, o);
        auto repo = open_repo(g, "commit", *json);
        if (*stage_all) {
          // git commit -a: tracked files that changed or went, not new ones.
          const StatusReport now = repo->status();
          std::vector<std::string> paths;
          const std::string root = repo->root().string() + "/";
          for (const auto& e : now.unstaged) paths.push_back(root + e.path);
          if (!paths.empty()) repo->add(paths);
        }
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
  {
    auto* cmd = app.add_subcommand("restore", "Restore files in the working folder (or, with --staged, in the index)");
    auto paths = std::make_shared<std::vector<std::string>>();
    auto source = std::make_shared<std::string>();
    auto staged = std::make_shared<bool>(false);
    auto worktree = std::make_shared<bool>(false);
    cmd->add_option("paths", *paths, "Files or folders ('.' for all)");
    cmd->add_option("-s,--source", *source, "Take the versions of this commit (default: the index; with --staged, HEAD)");
    cmd->add_flag("-S,--staged", *staged, "Restore the index entries (unstage), leaving the files");
    cmd->add_flag("-W,--worktree", *worktree, "Restore the working files (the default; with --staged: both)");
    cmd->callback([&g, &action, paths, source, staged, worktree] {
      action = [&g, paths, source, staged, worktree] {
        std::vector<std::string> all = *paths;
        all.insert(all.end(), g.paths.begin(), g.paths.end());
        auto repo = open_repo(g, "restore", false);
        RestoreOptions o;
        o.source = *source;
        o.staged = *staged;
        o.worktree = *worktree || !*staged;
        const CheckoutResult r = repo->restore(all, o);
        if (!g.quiet) {
          if (o.worktree)
            std::cout << "restored " << r.files_written << (r.files_written == 1 ? " file" : " files") << " ("
                      << human_bytes(r.bytes_written) << "), removed " << r.files_removed << "\n";
          if (o.staged) std::cout << "the index now holds " << (o.source.empty() ? "HEAD" : o.source) << "'s version of the paths\n";
        }
        return 0;
      };
    });
  }
  {
    auto* cmd = app.add_subcommand("reset", "Move the current branch to a commit (--soft, --mixed, --hard); with paths, unstage them");
    auto args = std::make_shared<std::vector<std::string>>();
    auto soft = std::make_shared<bool>(false);
    auto mixed = std::make_shared<bool>(false);
    auto hard = std::make_shared<bool>(false);
    auto json = std::make_shared<bool>(false);
    cmd->add_option("args", *args, "REV (default HEAD), or [REV] -- PATH...");
    cmd->add_flag("--soft", *soft, "Only the branch moves: the index and the files stay");
    cmd->add_flag("--mixed", *mixed, "The branch and the index move; the files stay (the default)");
    cmd->add_flag("--hard", *hard, "The branch, the index and the files move: local changes to tracked files are lost");
    cmd->add_flag("--json", *json, "Print JSON");
    cmd->callback([&g, &action, args, soft, mixed, hard, json] {
      action = [&g, args, soft, mixed, hard, json] {
        if (*soft + *mixed + *hard > 1) fail(ErrorCode::kInvalidInput, "give one of --soft, --mixed and --hard");
        auto repo = open_repo(g, "reset", *json);
        std::vector<std::string> paths = g.paths;
        std::string rev = "HEAD";
        size_t first_path = 0;
        if (!args->empty()) {
          // git: 'reset PATH' unstages PATH when PATH is no revision.
          try {
            repo->resolve((*args)[0]);
            rev = (*args)[0];
            first_path = 1;
          } catch (const Error& e) {
            std::error_code ec;
            if (e.code() != ErrorCode::kNotFound || !g.paths.empty() || !std::filesystem::exists((*args)[0], ec)) throw;
          }
        }
        paths.insert(paths.end(), args->begin() + first_path, args->end());
        if (!paths.empty()) {
          if (*soft || *hard)
            fail(ErrorCode::kInvalidInput, "reset with paths only unstages them (--mixed); to also discard the files' changes use 'kura restore --staged --worktree'");
          RestoreOptions o;
          o.source = rev;
          o.staged = true;
          o.worktree = false;
          repo->restore(paths, o);
          if (*json) print_json({{"mode", "paths"}, {"commit", repo->resolve(rev).id}, {"paths", paths}});
          else if (!g.quiet) std::cout << "unstaged: the index holds " << rev << "'s version of " << paths.size() << " path(s)\n";
          return 0;
        }
        const ResetMode mode = *soft ? ResetMode::kSoft : *hard ? ResetMode::kHard : ResetMode::kMixed;
        const CheckoutResult r = repo->reset(rev, mode);
        const char* name = *soft ? "soft" : *hard ? "hard" : "mixed";
        if (*json) {
          print_json({{"mode", name}, {"commit", r.commit}, {"files_written", r.files_written},
                      {"files_removed", r.files_removed}});
          return 0;
        }
        if (g.quiet) return 0;
        const CommitInfo c = repo->resolve(r.commit);
        std::cout << "HEAD is now at " << r.commit.substr(0, 12) << " " << c.message.substr(0, c.message.find('\n')) << "\n";
        if (mode == ResetMode::kHard)
          std::cout << "wrote " << r.files_written << " files (" << human_bytes(r.bytes_written) << "), removed "
                    << r.files_removed << "\n";
        if (mode == ResetMode::kMixed) {
          const StatusReport s = repo->status();
          if (!s.unstaged.empty()) {
            std::cout << "Unstaged changes after reset:\n";
            print_changes(s.unstaged, "31");
          }
        }
        return 0;
      };
    });
  }
}

}  // namespace kura::cli
