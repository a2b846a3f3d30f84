// kura exclude, kura include: hand exclusions (kura-exclusions.jsonl).
#include <iostream>

#include "commands.hpp"
#include "kura/error.hpp"

namespace kura::cli {

namespace {

// The data set's top: the repository's working folder, or (outside one) the current folder.
struct Top {
  std::unique_ptr<Repo> repo;  // holds the repository's lock while the file is edited
  std::filesystem::path root;
};

Top open_top(const Global& g, const std::string& command, bool json) {
  Top t;
  try {
    t.repo = open_repo(g, command, json);
    t.root = t.repo->root();
  } catch (const Error& e) {
    if (e.code() != ErrorCode::kNotARepository) throw;
    t.root = std::filesystem::current_path();
  }
  return t;
}

nlohmann::json entry_json(const Exclusion& e) {
  nlohmann::json j = {{"path", e.path}};
  if (e.line) j["line"] = e.line;
  if (!e.row.empty()) j["row"] = e.row;
  if (!e.reason.empty()) j["reason"] = e.reason;
  return j;
}

std::string place(const Exclusion& e) { return e.line ? e.path + ":" + std::to_string(e.line) : e.path; }

void print_changes(const Top& top, const std::vector<ExclusionChange>& changes, bool json, bool quiet) {
  size_t changed = 0;
  for (const auto& c : changes) changed += c.action == "excluded" || c.action == "included";
  if (json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& c : changes) {
      nlohmann::json j = entry_json(c.entry);
      j["action"] = c.action;
      list.push_back(j);
    }
    print_json({{"file", kExclusionsFile}, {"changed", changed}, {"changes", list}});
    return;
  }
  if (quiet) return;
  for (const auto& c : changes) {
    std::cout << c.action << " " << place(c.entry);
    if (!c.entry.row.empty()) std::cout << " (row " << c.entry.row.substr(0, 12) << ")";
    if (!c.entry.reason.empty()) std::cout << ": " << c.entry.reason;
    std::cout << "\n";
  }
  if (changed)
    std::cout << kExclusionsFile << " changed; stage it with '" << (top.repo ? "kura" : "git") << " add "
              << kExclusionsFile << "' and commit\n";
}

}  // namespace

void add_exclude_commands(CLI::App& app, Global& g, Action& action) {
  {
    auto* cmd = app.add_subcommand("exclude", "Leave JSONL lines or image files out of training and export, by hand");
    auto targets = std::make_shared<std::vector<std::string>>();
    auto reason = std::make_shared<std::string>();
    auto list = std::make_shared<bool>(false);
    auto json = std::make_shared<bool>(false);
    cmd->add_option("targets", *targets, "PATH:LINE (a JSONL line) or PATH (an image file)");
    cmd->add_option("-r,--reason", *reason, "Why (kept with the exclusion; required)");
    cmd->add_flag("-l,--list", *list, "List the exclusions and the lines they exclude now");
    cmd->add_flag("--json", *json, "Print JSON");
    cmd->callback([&g, &action, targets, reason, list, json] {
      action = [&g, targets, reason, list, json] {
        Top top = open_top(g, "exclude", *json);
        if (*list) {
          if (!targets->empty()) fail(ErrorCode::kInvalidInput, "--list takes no paths");
          const auto entries = list_exclusions(top.root);
          if (*json) {
            nlohmann::json out = nlohmann::json::array();
            for (const auto& l : entries) {
              nlohmann::json j = entry_json(l.entry);
              j["lines_now"] = l.lines_now;
              out.push_back(j);
            }
            print_json({{"file", kExclusionsFile}, {"exclusions", out}});
            return 0;
          }
          for (const auto& l : entries) {
            std::cout << place(l.entry) << ": " << l.entry.reason;
            if (l.lines_now.empty()) std::cout << " (stale: " << (l.entry.line ? "the row is no longer in the file" : "the file is gone") << ")";
            else if (l.entry.line && (l.lines_now.size() > 1 || l.lines_now[0] != l.entry.line)) {
              std::cout << " (now line" << (l.lines_now.size() > 1 ? "s" : "");
              for (size_t i = 0; i < l.lines_now.size(); ++i) std::cout << (i ? ", " : " ") << l.lines_now[i];
              std::cout << ")";
            }
            std::cout << "\n";
          }
          if (entries.empty() && !g.quiet) std::cout << "no exclusions (" << kExclusionsFile << ")\n";
          return 0;
        }
        if (targets->empty()) fail(ErrorCode::kInvalidInput, "name what to exclude: PATH:LINE or PATH (or --list)");
        if (reason->empty()) fail(ErrorCode::kInvalidInput, "give a --reason: it is kept with the exclusion, for whoever reviews it");
        std::vector<ExclusionTarget> parsed;
        for (const auto& t : *targets) parsed.push_back(parse_exclusion_target(top.root, std::filesystem::current_path(), t));
        print_changes(top, exclude(top.root, parsed, *reason), *json, g.quiet);
        return 0;
      };
    });
  }
  {
    auto* cmd = app.add_subcommand("include", "Take back what 'kura exclude' left out");
    auto targets = std::make_shared<std::vector<std::string>>();
    auto json = std::make_shared<bool>(false);
    cmd->add_option("targets", *targets, "PATH:LINE, or PATH (every exclusion of that file)")->required();
    cmd->add_flag("--json", *json, "Print JSON");
    cmd->callback([&g, &action, targets, json] {
      action = [&g, targets, json] {
        Top top = open_top(g, "include", *json);
        std::vector<ExclusionTarget> parsed;
        for (const auto& t : *targets) parsed.push_back(parse_exclusion_target(top.root, std::filesystem::current_path(), t));
        print_changes(top, include(top.root, parsed), *json, g.quiet);
        return 0;
      };
    });
  }
}

}  // namespace kura::cli
