// kura log, show, ls-files, checkout, switch, branch, tag.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>

#include "commands.hpp"
#include "kura/diff.hpp"
#include "kura/error.hpp"
#include "report.hpp"

#include <cstdlib>

namespace kura::cli {

namespace {

std::string decoration_text(const RefNames& d, const std::string& id) {
  auto it = d.find(id);
  if (it == d.end() || it->second.empty()) return "";
  std::string s = " (";
  for (size_t i = 0; i < it->second.size(); ++i) s += (i ? ", " : "") + it->second[i];
  return color(s + ")", "33");
}

void print_commit(const CommitInfo& c, const std::string& decoration = "", const std::string& prefix = "",
                  const std::string& body_prefix = "") {
  std::cout << prefix << color("commit " + c.id, "33") << decoration << "\n";
  if (c.parents.size() > 1) {
    std::cout << body_prefix << "Merge:";
    for (const auto& p : c.parents) std::cout << " " << p.substr(0, 12);
    std::cout << "\n";
  }
  std::cout << body_prefix << "Author: " << c.author_name << " <" << c.author_email << ">\n";
  std::cout << body_prefix << "Date:   " << format_time(c.time, c.offset_minutes) << "\n" << body_prefix << "\n";
  size_t start = 0;
  while (start < c.message.size()) {
    size_t nl = c.message.find('\n', start);
    if (nl == std::string::npos) nl = c.message.size();
    std::cout << body_prefix << "    " << c.message.substr(start, nl - start) << "\n";
    start = nl + 1;
  }
}

// git log --graph's columns: one lane per line of history still to be
// drawn, each waiting for the commit it names.
class Graph {
 public:
  // The row's prefix for `c` ("| * " ...), and the lines that connect it to
  // the next row, which `connectors` receives.
  // The row's prefix for `c` ("| * " ...). `before` receives the lines
  // drawn above it (lanes that end at it: "|/"), `after` those below it (a
  // merge's other parents opening lanes: "|\\").
  std::string row(const CommitInfo& c, std::vector<std::string>& before, std::vector<std::string>& after) {
    before.clear();
    after.clear();
    size_t col = find(c.id);
    if (col == lanes_.size()) lanes_.push_back(c.id);
    // Lanes that also wait for this commit end here (branches joining).
    std::vector<size_t> joins;
    for (size_t i = col + 1; i < lanes_.size(); ++i)
      if (lanes_[i] == c.id) joins.push_back(i);
    if (!joins.empty()) {
      // "|/": a lane that ends here, and those right of it, move one left.
      std::string l;
      for (size_t i = 0; i < lanes_.size(); ++i) l += "| ";
      for (size_t i = joins.front(); i < lanes_.size(); ++i) l[2 * i - 1] = '/', l[2 * i] = ' ';
      before.push_back(trim(l));
      for (auto it = joins.rbegin(); it != joins.rend(); ++it) lanes_.erase(lanes_.begin() + *it);
    }
    std::string line;
    for (size_t i = 0; i < lanes_.size(); ++i) line += i == col ? "* " : "| ";
    if (c.parents.empty()) {
      lanes_.erase(lanes_.begin() + col);
    } else {
      lanes_[col] = c.parents[0];
      size_t added = 0;
      for (size_t k = 1; k < c.parents.size(); ++k)
        if (find(c.parents[k]) == lanes_.size()) lanes_.insert(lanes_.begin() + col + 1 + added++, c.parents[k]);
      if (added) {
        // "|\\": the merge's other parents open lanes to its right; the
        // lanes that were there move right with them.
        std::string l;
        for (size_t i = 0; i < col; ++i) l += "| ";
        l += "|" + std::string(added, '\\');
        for (size_t i = col + 1 + added; i < lanes_.size(); ++i) l += " \\";
        after.push_back(l);
      }
    }
    return line;
  }
  // The prefix of a commit's other lines (its message), after row().
  std::string continuation() const {
    std::string l;
    for (size_t i = 0; i < lanes_.size(); ++i) l += "| ";
    return l.empty() ? "  " : l;
  }

 private:
  size_t find(const std::string& id) const {
    return std::find(lanes_.begin(), lanes_.end(), id) - lanes_.begin();
  }
  static std::string trim(std::string s) {
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s;
  }
  std::vector<std::string> lanes_;
};

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
    auto* cmd = app.add_subcommand("log", "Show the history of a branch or commit (-- PATH: only commits changing it)");
    auto revs = std::make_shared<std::vector<std::string>>();
    auto n = std::make_shared<size_t>(0);
    auto json = std::make_shared<bool>(false);
    auto oneline = std::make_shared<bool>(false);
    auto all = std::make_shared<bool>(false);
    auto graph = std::make_shared<bool>(false);
    cmd->add_option("revs", *revs, "Where to start (default HEAD); A..B: what B has and A lacks; A...B: what either has and the other lacks");
    cmd->add_option("-n,--max-count", *n, "Show at most N commits");
    cmd->add_flag("--oneline", *oneline, "One line per commit");
    cmd->add_flag("--all", *all, "Every branch, remote-tracking branch and tag, not only HEAD");
    cmd->add_flag("--graph", *graph, "Draw the lines of history beside the commits");
    cmd->add_flag("--json", *json, "Print JSON");
    cmd->callback([&g, &action, revs, n, json, oneline, all, graph] {
      action = [&g, revs, n, json, oneline, all, graph] {
        auto repo = open_repo(g, "log", *json, Mode::kRead);
        LogOptions o;
        o.all = *all;
        o.max_count = *n;
        o.paths = g.paths;
        for (const auto& r : *revs) {
          if (const auto range = parse_range(r)) {
            o.revs.push_back(range->b);
            if (range->symmetric) {
              o.revs.push_back(range->a);
              const std::string base = repo->merge_base(range->a, range->b);
              if (!base.empty()) o.hide.push_back(base);
            } else {
              o.hide.push_back(range->a);
            }
            continue;
          }
          // A name that is no revision but a path here is a path, as git takes it.
          try {
            repo->resolve(r);
            o.revs.push_back(r);
          } catch (const Error& e) {
            std::error_code ec;
            if (e.code() != ErrorCode::kNotFound || !std::filesystem::exists(r, ec)) throw;
            o.paths.push_back(r);
          }
        }
        const auto commits = repo->log(o);
        const RefNames deco = ref_names(*repo);
        if (*json) {
          nlohmann::json a = nlohmann::json::array();
          for (const auto& c : commits) a.push_back(commit_json(c, deco));
          print_json(a);
          return 0;
        }
        Graph lanes;
        std::vector<std::string> before, connectors;
        for (size_t i = 0; i < commits.size(); ++i) {
          const auto& c = commits[i];
          const std::string prefix = *graph ? lanes.row(c, before, connectors) : "";
          for (const auto& l : before) std::cout << l << "\n";
          if (*oneline) {
            std::cout << prefix << color(c.id.substr(0, 12), "33") << decoration_text(deco, c.id) << " "
                      << c.message.substr(0, c.message.find('\n')) << "\n";
          } else {
            if (i && !*graph) std::cout << "\n";
            print_commit(c, decoration_text(deco, c.id), prefix, *graph ? lanes.continuation() : "");
          }
          for (const auto& l : connectors) std::cout << l << "\n";
          if (*graph && !*oneline && i + 1 < commits.size() && connectors.empty())
            std::cout << lanes.continuation() << "\n";
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
    auto stat = std::make_shared<bool>(false);
    cmd->add_flag("--stat", *stat, "For a commit: files, rows and images it changed, with counts (as 'kura diff --stat')");
    cmd->add_option("object", *spec, "REV, REV:PATH or an object ID (64 hex digits, or 8 or more of its first) (default HEAD)");
    cmd->add_flag("--info", *info,
                  "For an object ID or REV:PATH of a media file: its kind, size, format, colour mode, EXIF orientation "
                  "and where HEAD (or REV) uses it");
    cmd->add_flag("--binary", *binary, "Write an object's binary bytes even to a terminal");
    auto filter_args = add_filter_options(cmd);
    cmd->add_flag("--all", *all, "Print every finding of the commit's checks (default: the first 20 of each rule)");
    cmd->add_option("--max-per-rule", *per_rule, "Findings printed per rule (default 20; 0: all)");
    cmd->add_flag("--json", *json, "Print JSON (for REV:PATH: the file's entry, not its bytes)");
    cmd->callback([&g, &action, spec, json, all, per_rule, info, binary, filter_args, stat] {
      action = [&g, spec, json, all, per_rule, info, binary, filter_args, stat] {
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
        if (*stat) {
          DiffOptions o;
          o.from = c.parents.empty() ? "" : c.parents[0];
          o.to = c.id;
          o.detail = DiffDetail::kStat;
          const DiffReport r = diff(*repo, o);
          if (*json) {
            nlohmann::json j = to_json(c);
            j["diff"] = r.to_json();
            print_json(j);
            return 0;
          }
          print_commit(c, decoration_text(ref_names(*repo), c.id));
          std::cout << "\n";
          if (!r.empty()) print_stat(r);
          return 0;
        }
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
        print_commit(c, decoration_text(ref_names(*repo), c.id));
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
    auto start = std::make_shared<std::string>();
    auto detach = std::make_shared<bool>(false);
    cmd->add_option("branch", *name, "Branch name; '-': the branch (or commit) HEAD was on before")->required();
    cmd->add_option("start", *start, "With -c: where the new branch starts (default HEAD)");
    cmd->add_flag("-c,--create", *create, "Create the branch first");
    cmd->add_flag("-d,--detach", *detach, "Check out a commit with HEAD detached, on no branch");
    cmd->add_flag("-f,--force", *force, "Overwrite local changes");
    cmd->callback([&g, &action, name, create, force, start, detach] {
      action = [&g, name, create, force, start, detach] {
        auto repo = open_repo(g, "switch", false);
        std::string target = *name;
        if (target == "-") {
          if (*create) fail(ErrorCode::kInvalidInput, "'-' names where HEAD was before; it cannot be created with -c");
          target = repo->previous_head();
          if (target.empty())
            fail(ErrorCode::kNotFound, "there is no previous branch: HEAD has not been on another branch or commit (in this repository's reflog)");
        }
        const bool is_commit = target.size() == 40 && target.find_first_not_of("0123456789abcdef") == std::string::npos;
        if (*detach || (is_commit && *name == "-")) {
          CheckoutOptions o;
          o.force = *force;
          auto r = repo->checkout(target, o);
          if (!g.quiet) std::cout << "HEAD is now at " << r.commit.substr(0, 12) << " (detached)\n";
          return 0;
        }
        if (!start->empty()) {
          if (!*create) fail(ErrorCode::kInvalidInput, "a start point ('" + *start + "') goes with -c NAME START");
          repo->create_branch(target, *start, false);
        }
        const bool created = *create;
        auto r = repo->switch_branch(target, *create && start->empty(), *force);
        if (!g.quiet)
          std::cout << "Switched to " << (created ? "a new " : "") << "branch '" << target << "' (wrote "
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
    auto remotes = std::make_shared<bool>(false);
    auto every = std::make_shared<bool>(false);
    auto verbose = std::make_shared<bool>(false);
    cmd->add_flag("-f,--force", *force, "Move an existing branch");
    cmd->add_flag("-r,--remotes", *remotes, "List the remote-tracking branches (origin/main ...)");
    cmd->add_flag("-a,--all", *every, "List local and remote-tracking branches");
    cmd->add_flag("-v,--verbose", *verbose, "With each branch, its upstream and how far ahead or behind it is");
    cmd->add_flag("--json", *json, "Print JSON");
    cmd->callback([&g, &action, args, del, force, json, remotes, every, verbose] {
      action = [&g, args, del, force, json, remotes, every, verbose] {
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
        std::vector<RefInfo> branches = *remotes ? std::vector<RefInfo>{} : repo->branches();
        std::vector<RefInfo> tracking;
        if (*remotes || *every)
          for (const auto& [ref, target] : repo->refs())
            if (ref.rfind("refs/remotes/", 0) == 0) tracking.push_back({ref.substr(13), target, false, "", ""});
        // Each local branch's upstream (branch.NAME.remote / .merge) and distance from it.
        std::map<std::string, UpstreamInfo> upstreams;
        for (const auto& b : branches)
          if (auto u = repo->upstream(b.name)) upstreams[b.name] = *u;
        if (*json) {
          nlohmann::json a = refs_json(branches);
          for (auto& j : a) {
            auto it = upstreams.find(j["name"].get<std::string>());
            if (it != upstreams.end())
              j["upstream"] = {{"name", it->second.name},
                               {"gone", it->second.gone},
                               {"ahead", it->second.ahead},
                               {"behind", it->second.behind}};
            j["remote"] = false;
          }
          for (auto j : refs_json(tracking)) {
            j["remote"] = true;
            a.push_back(j);
          }
          print_json(a);
          return 0;
        }
        for (const auto& b : branches) {
          std::cout << (b.current ? "* " : "  ") << (b.current ? color(b.name, "32") : b.name) << "  "
                    << b.target.substr(0, 12);
          auto it = upstreams.find(b.name);
          if (*verbose && it != upstreams.end()) {
            std::cout << " [" << color(it->second.name, "34");
            if (it->second.gone) {
              std::cout << ": gone";
            } else if (it->second.ahead || it->second.behind) {
              std::cout << ":";
              if (it->second.ahead) std::cout << " ahead " << it->second.ahead;
              if (it->second.ahead && it->second.behind) std::cout << ",";
              if (it->second.behind) std::cout << " behind " << it->second.behind;
            }
            std::cout << "]";
          }
          std::cout << "\n";
        }
        for (const auto& t : tracking)
          std::cout << "  " << color((*every ? "remotes/" : "") + t.name, "31") << "  " << t.target.substr(0, 12) << "\n";
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
