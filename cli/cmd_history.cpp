// kura log, show, ls-files, checkout, switch, branch, tag.
#include <cstdio>
#include <iostream>

#include "commands.hpp"
#include "kura/error.hpp"
#include "report.hpp"

#include <cstdlib>

namespace kura::cli {

namespace {

void print_commit(const CommitInfo& c) {
  std::cout << color("commit " + c.id, "33") << "\n";
  if (c.parents.size() > 1) {
    std::cout << "Merge:";
    for (const auto& p : c.parents) std::cout << " " << p.substr(0, 12);
    std::cout << "\n";
  }
  std::cout << "Author: " << c.author_name << " <" << c.author_email << ">\n";
  std::cout << "Date:   " << format_time(c.time, c.offset_minutes) << "\n\n";
  size_t start = 0;
  while (start < c.message.size()) {
    size_t nl = c.message.find('\n', start);
    if (nl == std::string::npos) nl = c.message.size();
    std::cout << "    " << c.message.substr(start, nl - start) << "\n";
    start = nl + 1;
  }
}

std::string pad(std::string s, size_t n) {
  if (s.size() < n) s.resize(n, ' ');
  return s;
}

nlohmann::json refs_json(const std::vector<RefInfo>& refs) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& r : refs) {
    nlohmann::json j = {{"name", r.name}, {"target", r.target}, {"current", r.current}};
    if (!r.message.empty()) j["message"] = r.message;
    if (!r.tagger.empty()) j["tagger"] = r.tagger;
    a.push_back(j);
  }
  return a;
}

}  // namespace

void add_history_commands(CLI::App& app, Global& g, Action& action) {
  {
    auto* cmd = app.add_subcommand("log", "Show the history of a branch or commit");
    auto rev = std::make_shared<std::string>("HEAD");
    auto n = std::make_shared<size_t>(0);
    auto json = std::make_shared<bool>(false);
    auto oneline = std::make_shared<bool>(false);
    cmd->add_option("rev", *rev, "Where to start (default HEAD)");
    cmd->add_option("-n,--max-count", *n, "Show at most N commits");
    cmd->add_flag("--oneline", *oneline, "One line per commit");
    cmd->add_flag("--json", *json, "Print JSON");
    cmd->callback([&g, &action, rev, n, json, oneline] {
      action = [&g, rev, n, json, oneline] {
        auto repo = open_repo(g, "log", *json, Mode::kRead);
        auto commits = repo->log(*rev, *n);
        if (*json) {
          nlohmann::json a = nlohmann::json::array();
          for (const auto& c : commits) a.push_back(to_json(c));
          print_json(a);
          return 0;
        }
        for (size_t i = 0; i < commits.size(); ++i) {
          const auto& c = commits[i];
          if (*oneline) {
            std::cout << color(c.id.substr(0, 12), "33") << " " << c.message.substr(0, c.message.find('\n')) << "\n";
          } else {
            if (i) std::cout << "\n";
            print_commit(c);
          }
        }
        return 0;
      };
    });
  }
  {
    auto* cmd = app.add_subcommand(
        "show", "Show a commit, print a file exactly as committed (REV:PATH), or print or describe a stored object (ID)");
    auto spec = std::make_shared<std::string>("HEAD");
    auto json = std::make_shared<bool>(false);
    auto all = std::make_shared<bool>(false);
    auto per_rule = std::make_shared<size_t>(kFindingsPerRule);
    auto info = std::make_shared<bool>(false);
    auto binary = std::make_shared<bool>(false);
    cmd->add_option("object", *spec, "REV, REV:PATH or an object ID (64 hex digits, or 8 or more of its first) (default HEAD)");
    cmd->add_flag("--info", *info,
                  "For an object ID or REV:PATH of a media file: its kind, size, format, colour mode, EXIF orientation "
                  "and where HEAD (or REV) uses it");
    cmd->add_flag("--binary", *binary, "Write an object's binary bytes even to a terminal");
    auto filter_args = add_filter_options(cmd);
    cmd->add_flag("--all", *all, "Print every finding of the commit's checks (default: the first 20 of each rule)");
    cmd->add_option("--max-per-rule", *per_rule, "Findings printed per rule (default 20; 0: all)");
    cmd->add_flag("--json", *json, "Print JSON (for REV:PATH: the file's entry, not its bytes)");
    cmd->callback([&g, &action, spec, json, all, per_rule, info, binary, filter_args] {
      action = [&g, spec, json, all, per_rule, info, binary, filter_args] {
        auto repo = open_repo(g, "show", *json, Mode::kRead);
        ShowObjectOptions so;
        so.info = *info;
        so.json = *json;
        so.binary = *binary;
        size_t colon = spec->find(':');
        if (colon != std::string::npos) {
          std::string rev = spec->substr(0, colon), path = spec->substr(colon + 1);
          if (rev.empty()) rev = "HEAD";
          auto file = repo->file_at(rev, path);
          if (!file) fail(ErrorCode::kNotFound, "'" + path + "' is not in " + rev + "; see 'kura ls-files " + rev + "'");
          if (*info) {
            if (file->pointer.kind != FileKind::kMedia)
              fail(ErrorCode::kInvalidInput, "'" + path + "' is a " + kind_name(file->pointer.kind) +
                                                 "; --info describes media files and stored objects (see 'kura ls-files')");
            so.rev = rev;
            return show_object(*repo, file->pointer.object, so);
          }
          if (*json) {
            print_json(to_json(*file));
          } else {
            repo->read_file(*file, [](std::string_view piece) { std::fwrite(piece.data(), 1, piece.size(), stdout); });
            std::fflush(stdout);
          }
          return 0;
        }
        ShowTarget target = show_target(*repo, *spec);
        if (target.object) return show_object(*repo, *target.object, so);
        if (*info)
          fail(ErrorCode::kInvalidInput, "--info describes a stored object: give its id (8 to 64 hex digits) or "
                                         "REV:PATH of a media file, not the commit '" + *spec + "'");
        CommitInfo c = *target.commit;
        auto changes = repo->changes(c.parents.empty() ? "" : c.parents[0], c.id);
        auto report = repo->commit_report(c.id);
        const ReportFilter filter = report ? filter_args->filter(*report) : ReportFilter{};
        if (*json) {
          nlohmann::json j = to_json(c);
          j["changes"] = nlohmann::json::array();
          for (const auto& e : changes) j["changes"].push_back({{"path", e.path}, {"change", change_name(e.change)}});
          if (report) {
            print_json(j, "checks", *report, filter);
          } else {
            j["checks"] = nullptr;
            print_json(j);
          }
          return 0;
        }
        print_commit(c);
        std::cout << "\n";
        for (const auto& e : changes) std::cout << " " << pad(change_name(e.change), 11) << e.path << "\n";
        if (!report) {
          std::cout << "\nchecks: not run (committed with --no-verify)\n";
        } else {
          std::cout << "\nchecks at commit:";
          print_report(std::cout, *report, stdout_is_tty() && !std::getenv("NO_COLOR"), *all ? 0 : *per_rule,
                       "kura show " + *spec + " --all" + filter_args->arguments(), filter);
        }
        return 0;
      };
    });
  }
  {
    auto* cmd = app.add_subcommand("ls-files", "List the files of the index or of a commit");
    auto rev = std::make_shared<std::string>();
    auto paths = std::make_shared<std::vector<std::string>>();
    auto json = std::make_shared<bool>(false);
    cmd->add_option("rev", *rev, "A commit (default: the index)");
    cmd->add_option("paths", *paths, "Only under these paths (or after --)");
    cmd->add_flag("--json", *json, "Print JSON");
    cmd->callback([&g, &action, rev, paths, json] {
      action = [&g, rev, paths, json] {
        auto repo = open_repo(g, "ls-files", *json, Mode::kRead);
        std::vector<std::string> wanted = *paths;
        wanted.insert(wanted.end(), g.paths.begin(), g.paths.end());
        auto files = repo->ls_files(*rev, wanted);
        if (*json) {
          nlohmann::json a = nlohmann::json::array();
          for (const auto& f : files) a.push_back(to_json(f));
          print_json(a);
          return 0;
        }
        for (const auto& f : files) {
          std::string rows = f.pointer.kind == FileKind::kTable ? std::to_string(f.pointer.rows) + " rows" : "";
          std::cout << pad(kind_name(f.pointer.kind), 6) << " " << f.pointer.object.short_hex() << " "
                    << pad(human_bytes(f.pointer.size), 10) << " " << pad(rows, 12) << " " << f.path << "\n";
        }
        return 0;
      };
    });
  }
  {
    auto* cmd = app.add_subcommand("checkout", "Restore the working folder (or some paths) to a commit");
    auto rev = std::make_shared<std::string>();
    auto paths = std::make_shared<std::vector<std::string>>();
    auto force = std::make_shared<bool>(false);
    auto ours = std::make_shared<bool>(false);
    auto theirs = std::make_shared<bool>(false);
    cmd->add_option("rev", *rev, "Commit, branch or tag");
    cmd->add_option("paths", *paths, "Only these paths (after --); HEAD does not move");
    cmd->add_flag("-f,--force", *force, "Overwrite local changes");
    cmd->add_flag("--ours", *ours, "During a merge: take these paths as the current branch has them");
    cmd->add_flag("--theirs", *theirs, "During a merge: take these paths as the merged commit has them");
    cmd->callback([&g, &action, rev, paths, force, ours, theirs] {
      action = [&g, rev, paths, force, ours, theirs] {
        auto repo = open_repo(g, "checkout", false);
        CheckoutOptions o;
        o.force = *force;
        o.paths = *paths;
        o.paths.insert(o.paths.end(), g.paths.begin(), g.paths.end());
        std::string target = *rev;
        if (*ours || *theirs) {
          if (*ours && *theirs) fail(ErrorCode::kInvalidInput, "give either --ours or --theirs, not both");
          if (!rev->empty()) o.paths.insert(o.paths.begin(), *rev);  // kura checkout --theirs PATH
          if (o.paths.empty()) fail(ErrorCode::kInvalidInput, "--ours and --theirs need paths: kura checkout --theirs -- PATH");
          auto state = repo->merge_state();
          if (!state) fail(ErrorCode::kNotFound, "--ours and --theirs take a side of a merge, and no merge is in progress");
          target = *ours ? state->orig_head : state->theirs;
          o.force = true;  // the conflict's working file is what is being replaced
        } else if (rev->empty()) {
          fail(ErrorCode::kInvalidInput, "name the commit, branch or tag to check out");
        }
        auto r = repo->checkout(target, o);
        if (!g.quiet) {
          std::cout << "wrote " << r.files_written << " files (" << human_bytes(r.bytes_written) << "), removed "
                    << r.files_removed << "\n";
          if (*ours || *theirs) {
            std::cout << "took " << (*ours ? "ours" : "theirs") << " for " << o.paths.size()
                      << " path(s), staged; 'kura merge --continue' when every conflict is resolved\n";
          } else if (paths->empty() && g.paths.empty()) {
            if (r.detached) std::cout << "HEAD is now at " << r.commit.substr(0, 12) << " (detached)\n";
            else std::cout << "Switched to branch '" << *rev << "'\n";
          }
        }
        return 0;
      };
    });
  }
  {
    auto* cmd = app.add_subcommand("switch", "Switch to a branch (-c creates it)");
    auto name = std::make_shared<std::string>();
    auto create = std::make_shared<bool>(false);
    auto force = std::make_shared<bool>(false);
    cmd->add_option("branch", *name, "Branch name")->required();
    cmd->add_flag("-c,--create", *create, "Create the branch at HEAD first");
    cmd->add_flag("-f,--force", *force, "Overwrite local changes");
    cmd->callback([&g, &action, name, create, force] {
      action = [&g, name, create, force] {
        auto repo = open_repo(g, "switch", false);
        auto r = repo->switch_branch(*name, *create, *force);
        if (!g.quiet)
          std::cout << "Switched to " << (*create ? "a new " : "") << "branch '" << *name << "' (wrote "
                    << r.files_written << " files, removed " << r.files_removed << ")\n";
        return 0;
      };
    });
  }
  {
    auto* cmd = app.add_subcommand("branch", "List, create (NAME [START]) or delete (-d NAME) branches");
    auto args = std::make_shared<std::vector<std::string>>();
    auto del = std::make_shared<std::string>();
    auto force = std::make_shared<bool>(false);
    auto json = std::make_shared<bool>(false);
    cmd->add_option("args", *args, "NAME [START]")->expected(0, 2);
    cmd->add_option("-d,--delete", *del, "Delete this branch");
    cmd->add_flag("-f,--force", *force, "Move an existing branch");
    cmd->add_flag("--json", *json, "Print JSON");
    cmd->callback([&g, &action, args, del, force, json] {
      action = [&g, args, del, force, json] {
        auto repo = open_repo(g, "branch", *json);
        if (!del->empty()) {
          repo->delete_branch(*del);
          if (!g.quiet) std::cout << "Deleted branch '" << *del << "'\n";
          return 0;
        }
        if (!args->empty()) {
          repo->create_branch((*args)[0], args->size() > 1 ? (*args)[1] : "HEAD", *force);
          if (!g.quiet) std::cout << "Created branch '" << (*args)[0] << "'\n";
          return 0;
        }
        auto branches = repo->branches();
        if (*json) {
          print_json(refs_json(branches));
          return 0;
        }
        for (const auto& b : branches)
          std::cout << (b.current ? "* " : "  ") << (b.current ? color(b.name, "32") : b.name) << "  "
                    << b.target.substr(0, 12) << "\n";
        return 0;
      };
    });
  }
  {
    auto* cmd = app.add_subcommand("tag", "List, create (NAME [REV] [-m MSG]) or delete (-d NAME) tags");
    auto args = std::make_shared<std::vector<std::string>>();
    auto del = std::make_shared<std::string>();
    auto message = std::make_shared<std::string>();
    auto json = std::make_shared<bool>(false);
    cmd->add_option("args", *args, "NAME [REV]")->expected(0, 2);
    cmd->add_option("-d,--delete", *del, "Delete this tag");
    cmd->add_option("-m,--message", *message, "Make an annotated tag with this message");
    cmd->add_flag("--json", *json, "Print JSON");
    cmd->callback([&g, &action, args, del, message, json] {
      action = [&g, args, del, message, json] {
        auto repo = open_repo(g, "tag", *json);
        if (!del->empty()) {
          repo->delete_tag(*del);
          if (!g.quiet) std::cout << "Deleted tag '" << *del << "'\n";
          return 0;
        }
        if (!args->empty()) {
          repo->create_tag((*args)[0], args->size() > 1 ? (*args)[1] : "HEAD", *message);
          return 0;
        }
        auto tags = repo->tags();
        if (*json) {
          print_json(refs_json(tags));
          return 0;
        }
        for (const auto& t : tags) std::cout << t.name << "  " << t.target.substr(0, 12) << "\n";
        return 0;
      };
    });
  }
}

}  // namespace kura::cli
