// kura check, kura hook install.
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>

#include "commands.hpp"
#include "hook_script.hpp"
#include "kura/error.hpp"
#include "kura/user_cache.hpp"
#include "report.hpp"

namespace kura::cli {

namespace {

std::filesystem::path cache_dir() {
  if (auto dir = user_cache_dir()) return *dir / "check-cache";
  return std::filesystem::temp_directory_path() / "kura-check-cache";
}

}  // namespace

void add_check_commands(CLI::App& app, Global& g, Action& action) {
  {
    auto* cmd = app.add_subcommand("check", "Check the data set (working folder, --staged, or --rev REV)");
    auto paths = std::make_shared<std::vector<std::string>>();
    auto staged = std::make_shared<bool>(false);
    auto rev = std::make_shared<std::string>();
    auto json = std::make_shared<bool>(false);
    auto no_faces = std::make_shared<bool>(false);
    auto profile = std::make_shared<std::string>();
    auto policy_file = std::make_shared<std::string>();
    auto image_root = std::make_shared<std::string>();
    auto fetch = std::make_shared<bool>(false);
    auto fetch_timeout = std::make_shared<int>(30);
    auto all = std::make_shared<bool>(false);
    auto per_rule = std::make_shared<size_t>(kFindingsPerRule);
    cmd->add_option("paths", *paths, "Only these files or folders");
    cmd->add_option("--policy", *policy_file, "A policy file to use instead of .kura/checks.json");
    cmd->add_flag("--staged", *staged, "Check the index (what the next commit holds)");
    cmd->add_option("--rev", *rev, "Check a commit");
    cmd->add_option("--profile", *profile, "openai (default), llava, sharegpt, axolotl or generic");
    CLI::Option* image_root_opt = cmd->add_option(
        "--image-root", *image_root, "Resolve relative image paths against DIR (relative to the top of the data set)");
    cmd->add_flag("--no-faces", *no_faces, "Skip face detection");
    cmd->add_flag("--json", *json, "Print the report as JSON (every finding)");
    cmd->add_flag("--all", *all, "Print every finding (default: the first 20 of each rule, then how many more)");
    cmd->add_option("--max-per-rule", *per_rule, "Findings printed per rule (default 20; 0: all)");
    cmd->add_flag("--fetch", *fetch, "Download images given by http(s) URL and check them too");
    cmd->add_option("--fetch-timeout", *fetch_timeout, "Seconds allowed per download (default 30)")
        ->check(CLI::Range(1, 3600));
    auto filter_args = add_filter_options(cmd);
    cmd->callback([&g, &action, paths, staged, rev, json, no_faces, profile, policy_file, image_root, image_root_opt,
                   fetch, fetch_timeout, all, per_rule, filter_args] {
      action = [&g, paths, staged, rev, json, no_faces, profile, policy_file, image_root, image_root_opt, fetch,
                fetch_timeout, all, per_rule, filter_args] {
        std::vector<std::string> wanted = *paths;
        wanted.insert(wanted.end(), g.paths.begin(), g.paths.end());
        CheckReport report;
        CheckOptions options;
        std::unique_ptr<Repo> repo;
        try {
          repo = open_repo(g, "check", *json);
        } catch (const Error& e) {
          if (e.code() != ErrorCode::kNotARepository) throw;
        }
        options.fetch = *fetch;
        options.fetch_timeout = std::chrono::seconds(*fetch_timeout);
        if (!policy_file->empty()) {
          // .kura/checks.json may be absent (the defaults apply); a file
          // given on the command line must be there.
          if (!std::ifstream(*policy_file))
            fail(ErrorCode::kNotFound, "cannot read the policy file '" + *policy_file + "': " + std::strerror(errno));
          options.policy = Policy::load(*policy_file);
        } else if (repo) {
          const CheckScope scope = !rev->empty() ? CheckScope::kRevision : *staged ? CheckScope::kIndex : CheckScope::kWorkingFolder;
          options.policy = repo->policy_for(scope, *rev);
        } else {
          options.policy = folder_policy(std::filesystem::current_path());
        }
        note_policy(options.policy, g.quiet);
        if (!profile->empty()) {
          if (*profile != "openai" && *profile != "generic" && *profile != "llava" && *profile != "sharegpt" &&
              *profile != "axolotl")
            fail(ErrorCode::kInvalidInput, "--profile must be openai, llava, sharegpt, axolotl or generic");
          options.policy.profile = *profile;
        }
        if (image_root_opt->count()) {
          options.policy.image_root = normal_image_root(*image_root);
          if (!options.policy.image_root)
            fail(ErrorCode::kInvalidInput,
                 "--image-root '" + *image_root + "' must be a folder inside the data set, relative to its top");
        }
        if (*no_faces) options.policy.detect_faces = false;
        if (!repo) {
          if (*staged || !rev->empty())
            fail(ErrorCode::kNotARepository, "--staged and --rev need a kura repository; run 'kura init'");
          report = check_folder(cache_dir(), std::filesystem::current_path(), wanted, options);
        } else {
          CheckScope scope = !rev->empty() ? CheckScope::kRevision : *staged ? CheckScope::kIndex : CheckScope::kWorkingFolder;
          report = repo->check(scope, *rev, wanted, options);
        }
        const ReportFilter filter = filter_args->filter(report);
        if (*json) {
          report.write_json(std::cout, filter);
          std::cout << "\n";
        } else {
          std::string again = "kura check --all";
          if (*staged) again += " --staged";
          if (!rev->empty()) again += " --rev " + *rev;
          print_report(std::cout, report, stdout_is_tty() && !std::getenv("NO_COLOR"), *all ? 0 : *per_rule,
                       again + filter_args->arguments(), filter);
        }
        return report.ok() ? 0 : 1;
      };
    });
  }
  {
    auto* hook = app.add_subcommand("hook", "Git integration");
    hook->require_subcommand(1);
    auto* install = hook->add_subcommand("install", "Install kura's pre-commit hook in the current git repository");
    auto force = std::make_shared<bool>(false);
    install->add_flag("-f,--force", *force, "Replace an existing pre-commit hook");
    install->callback([&g, &action, force] {
      action = [&g, force] {
        namespace fs = std::filesystem;
        fs::path dir = fs::current_path(), hooks;
        for (fs::path p = dir;; p = p.parent_path()) {
          if (fs::is_directory(p / ".git")) {
            hooks = p / ".git" / "hooks";
            break;
          }
          if (p == p.root_path()) break;
        }
        if (hooks.empty()) fail(ErrorCode::kNotFound, "not inside a git repository (no .git/ found)");
        fs::create_directories(hooks);
        fs::path target = hooks / "pre-commit";
        if (fs::exists(target) && !*force)
          fail(ErrorCode::kConflict, target.string() + " already exists; use --force to replace it");
        std::ofstream(target, std::ios::trunc) << kPreCommitHook;
        fs::permissions(target, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                    fs::perms::others_read | fs::perms::others_exec);
        if (!g.quiet) std::cout << "installed " << target.string() << "\n";
        return 0;
      };
    });
  }
}

}  // namespace kura::cli
