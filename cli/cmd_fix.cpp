// kura fix: apply the fixes of the image findings (fix.hpp).
#include <iostream>

#include "commands.hpp"
#include "kura/error.hpp"
#include "kura/fix.hpp"

namespace kura::cli {

namespace {

void print_text(const FixReport& r, bool in_repo, bool quiet) {
  for (const FixChange& c : r.changes)
    std::cout << c.where() << (c.new_path.empty() ? "" : " -> " + c.new_path) << ": " << c.what << "\n";
  for (const FixSkipped& s : r.skipped) {
    FixChange at{s.path, "", s.line, s.message_index, s.content_index, {}, "", 0, 0};
    std::cout << "not fixed: " << at.where() << ": " << s.reason << "\n";
  }
  if (quiet) return;
  if (r.changes.empty()) {
    std::cout << "nothing to fix\n";
    return;
  }
  const std::string files = std::to_string(r.written.size()) + (r.written.size() == 1 ? " file" : " files");
  if (r.dry_run)
    std::cout << "dry run: " << files << " would be written" << (r.removed.empty() ? "" : ", " + std::to_string(r.removed.size()) + " removed") << "; nothing was changed\n";
  else
    std::cout << files << " written" << (r.removed.empty() ? "" : ", " + std::to_string(r.removed.size()) + " renamed images' old files removed")
              << "; nothing is staged: review the changes, then '" << (in_repo ? "kura" : "git") << " add' and commit\n";
}

}  // namespace

void add_fix_commands(CLI::App& app, Global& g, Action& action) {
  auto* cmd = app.add_subcommand("fix", "Apply the fixes of the image findings to the working folder");
  auto paths = std::make_shared<std::vector<std::string>>();
  auto dry_run = std::make_shared<bool>(false);
  auto json = std::make_shared<bool>(false);
  cmd->add_option("paths", *paths, "Only these files or folders (default: the whole working folder)");
  cmd->add_flag("-n,--dry-run", *dry_run, "List what would change; write nothing");
  cmd->add_flag("--json", *json, "Print JSON");
  cmd->callback([&g, &action, paths, dry_run, json] {
    action = [&g, paths, dry_run, json] {
      std::vector<std::string> wanted = *paths;
      wanted.insert(wanted.end(), g.paths.begin(), g.paths.end());
      std::unique_ptr<Repo> repo;  // holds the repository's lock while files are rewritten
      try {
        repo = open_repo(g, "fix", *json);
      } catch (const Error& e) {
        if (e.code() != ErrorCode::kNotARepository) throw;
      }
      const std::filesystem::path root = repo ? repo->root() : std::filesystem::current_path();
      FixOptions options;
      options.policy = repo ? repo->policy() : folder_policy(root);
      note_policy(options.policy, g.quiet);
      options.dry_run = *dry_run;
      const FixReport report = fix_images(root, std::filesystem::current_path(), wanted, options);
      if (*json) print_json(report.to_json());
      else print_text(report, repo != nullptr, g.quiet);
      return 0;
    };
  });
}

}  // namespace kura::cli
