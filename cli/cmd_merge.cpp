// kura merge (docs/merge.md): start, continue or abort a merge.
#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "commands.hpp"
#include "kura/error.hpp"
#include "report.hpp"

namespace kura::cli {

namespace {

nlohmann::json conflict_json(const MergeConflict& c) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& r : c.rows)
    rows.push_back({{"kind", r.kind},
                    {"merged_line", r.merged_line},
                    {"base_line", r.base_line},
                    {"ours_line", r.ours_line ? nlohmann::json(r.ours_line) : nlohmann::json(nullptr)},
                    {"theirs_line", r.theirs_line ? nlohmann::json(r.theirs_line) : nlohmann::json(nullptr)},
                    {"base_row", r.base_row},
                    {"ours_row", r.ours_row.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.ours_row)},
                    {"theirs_row", r.theirs_row.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.theirs_row)},
                    {"ours_messages", r.ours_messages},
                    {"theirs_messages", r.theirs_messages},
                    {"ours_images", r.ours_images},
                    {"theirs_images", r.theirs_images}});
  auto object = [](const std::string& s) { return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s); };
  return {{"path", c.path},
          {"level", c.rows.empty() ? "file" : "rows"},
          {"reason", c.reason},
          {"base_object", object(c.base_object)},
          {"ours_object", object(c.ours_object)},
          {"theirs_object", object(c.theirs_object)},
          {"rows", rows}};
}

std::string messages(const std::vector<uint64_t>& v) {
  if (v.empty()) return "";
  std::string out = v.size() == 1 ? "message " : "messages ";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + std::to_string(v[i] + 1);
  return out;
}

std::string images(const std::vector<std::string>& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + v[i].substr(0, 12);
  return out;
}

void print_conflict(const MergeConflict& c) {
  if (c.rows.empty()) {
    std::cout << "  " << color(c.path, "31") << ": " << c.reason << "\n";
    return;
  }
  std::cout << "  " << color(c.path, "31") << ": " << c.rows.size() << (c.rows.size() == 1 ? " row conflicts" : " rows conflict") << "\n";
  for (const auto& r : c.rows) {
    std::cout << "    line " << r.merged_line << ": " << r.kind << " (base line " << r.base_line << ", ours "
              << (r.ours_line ? "line " + std::to_string(r.ours_line) : "deleted") << ", theirs "
              << (r.theirs_line ? "line " + std::to_string(r.theirs_line) : "deleted") << ")";
    if (!r.ours_messages.empty()) std::cout << "; ours changed " << messages(r.ours_messages);
    if (!r.theirs_messages.empty()) std::cout << "; theirs changed " << messages(r.theirs_messages);
    if (r.ours_images != r.theirs_images) {
      if (r.ours_line) std::cout << "; ours' images: " << (r.ours_images.empty() ? "none" : images(r.ours_images));
      if (r.theirs_line) std::cout << "; theirs' images: " << (r.theirs_images.empty() ? "none" : images(r.theirs_images));
    }
    std::cout << "; rows: base " << r.base_row.substr(0, 12);
    if (r.ours_line) std::cout << ", ours " << r.ours_row.substr(0, 12);
    if (r.theirs_line) std::cout << ", theirs " << r.theirs_row.substr(0, 12);
    std::cout << "\n";
  }
}

std::string default_message(Repo& repo, const std::string& rev) {
  for (const auto& b : repo.branches())
    if (b.name == rev) return "Merge branch '" + rev + "'";
  return "Merge '" + rev + "'";
}

int print_commit(const Global& g, Repo& repo, const CommitInfo& c, bool json, const CheckReport* report,
                 const std::string& verb) {
  if (json) {
    nlohmann::json j = to_json(c);
    j["result"] = verb;
    j["committed"] = true;
    if (report) print_json(j, "checks", *report);
    else print_json(j);
  } else if (!g.quiet) {
    std::cout << "[" << repo.current_branch() << " " << c.id.substr(0, 12) << "] "
              << c.message.substr(0, c.message.find('\n')) << "\n";
  }
  return 0;
}

[[noreturn]] void print_failed_checks(const Error& e, const CheckReport& report, bool json) {
  if (json) print_json({{"merged", false}}, "checks", report);
  else print_report(std::cerr, report, ::isatty(STDERR_FILENO) && !std::getenv("NO_COLOR"));
  throw e;
}

}  // namespace

int report_stopped_merge(const MergeResult& r, const std::string& theirs, const std::string& branch, bool json,
                         bool quiet, bool revert) {
  const int rc = r.conflicts.empty() ? 0 : 1;
  const std::string verb = revert ? "revert" : "merge";
  if (json) {
    nlohmann::json conflicts = nlohmann::json::array();
    for (const auto& c : r.conflicts) conflicts.push_back(conflict_json(c));
    print_json({{"result", r.conflicts.empty() ? "stopped" : "conflicts"},
                {"theirs", theirs},
                {"branch", branch},
                {"commit", nullptr},
                {"tables_merged", r.tables_merged},
                {"conflicts", conflicts}});
    return rc;
  }
  if (r.conflicts.empty()) {
    if (!quiet)
      std::cout << (revert ? "reverted " + theirs + " on '" : "merged " + theirs + " into '") << branch
                << "' without committing (--no-commit): the result is staged; 'kura " << verb
                << " --continue' commits it, 'kura " << verb << " --abort' undoes it\n";
    return rc;
  }
  std::cout << verb << " of " << theirs << (revert ? " on '" : " into '") << branch << "' stopped: " << r.conflicts.size()
            << (r.conflicts.size() == 1 ? " path conflicts" : " paths conflict") << "\n";
  for (const auto& c : r.conflicts) print_conflict(c);
  std::cout << "The rest is " << (revert ? "reverted" : "merged")
            << " and staged. Resolve each conflict: in a table, keep the rows you want between "
               "the <<<<<<< and >>>>>>> lines and delete the marker lines, or take one side whole with 'kura checkout "
               "--ours|--theirs -- PATH'"
            << (revert ? " (theirs: the reverted commit's parent)" : "") << "; then 'kura add PATH' and 'kura " << verb
            << " --continue' (or 'kura " << verb << " --abort')\n";
  return rc;
}

namespace {

// kura merge and kura revert: one command shape, three-way underneath.
void add_merge_like(CLI::App& app, Global& g, Action& action, bool revert) {
  const std::string verb = revert ? "revert" : "merge";
  auto* cmd = revert ? app.add_subcommand("revert", "Make a commit that undoes a commit's changes, tables row by row")
                     : app.add_subcommand("merge", "Merge a branch or commit into the current branch, tables row by row");
  auto rev = std::make_shared<std::string>();
  auto message = std::make_shared<std::string>();
  auto key = std::make_shared<std::string>();
  auto no_commit = std::make_shared<bool>(false);
  auto abort = std::make_shared<bool>(false);
  auto cont = std::make_shared<bool>(false);
  auto no_verify = std::make_shared<bool>(false);
  auto json = std::make_shared<bool>(false);
  cmd->add_option("rev", *rev, revert ? "The commit to undo" : "Branch, tag or commit to merge");
  cmd->add_option("-m,--message", *message,
                  revert ? "The new commit's message (default: Revert \"SUBJECT\")"
                         : "The merge commit's message (default: Merge branch 'NAME')");
  cmd->add_option("--key", *key, "JSON pointer pairing table rows (e.g. /id; default: config kura.key, else by content)");
  // git's letters: revert -n is --no-commit; kura merge -n (like commit -n) is --no-verify.
  cmd->add_flag(revert ? "-n,--no-commit" : "--no-commit", *no_commit, "Stage the result, but stop before committing");
  cmd->add_flag("--abort", *abort, "Put back the working folder and the index as they were before the " + verb);
  cmd->add_flag("--continue", *cont, "Commit the " + verb + " once every conflict is resolved and staged");
  cmd->add_flag(revert ? "--no-verify" : "-n,--no-verify", *no_verify,
                "Commit even if the checks find errors in the resulting files");
  cmd->add_flag("--json", *json, "Print JSON");
  cmd->callback([&g, &action, rev, message, key, no_commit, abort, cont, no_verify, json, revert, verb] {
    action = [&g, rev, message, key, no_commit, abort, cont, no_verify, json, revert, verb] {
      if (*abort + *cont > 1) fail(ErrorCode::kInvalidInput, "give either --abort or --continue, not both");
      if ((*abort || *cont) && !rev->empty())
        fail(ErrorCode::kInvalidInput, "--abort and --continue act on the " + verb + " in progress; give no revision");
      if (!*abort && !*cont && rev->empty())
        fail(ErrorCode::kInvalidInput, revert ? "name the commit to revert, or give --continue or --abort"
                                              : "name what to merge (a branch, tag or commit), or give --continue or --abort");
      auto repo = open_repo(g, verb, *json);
      if (*abort || *cont) {
        auto state = repo->merge_state();
        if (!state) fail(ErrorCode::kNotFound, "there is no " + verb + " to " + (*abort ? "abort" : "continue") + " (no " +
                                                   verb + " is in progress)");
        if ((state->kind == "revert") != revert)
          fail(ErrorCode::kConflict, "a " + state->kind + " is in progress, not a " + verb + ": use 'kura " + state->kind +
                                         (*abort ? " --abort'" : " --continue'"));
        if (*abort) {
          repo->abort_merge();
          if (*json) print_json({{"result", "aborted"}, {"head", state->orig_head}});
          else if (!g.quiet)
            std::cout << verb << " aborted: the working folder and the index are as before the " << verb << "\n";
          return 0;
        }
        CommitOptions o;
        o.message = message->empty() ? state->message : *message;
        o.verify = !*no_verify;
        CheckReport report;
        try {
          CommitInfo c = repo->commit(o, &report);
          return print_commit(g, *repo, c, *json, o.verify ? &report : nullptr, verb);
        } catch (const Error& e) {
          if (e.code() != ErrorCode::kCheckFailed) throw;
          print_failed_checks(e, report, *json);
        }
      }
      MergeOptions o;
      o.commit = !*no_commit;
      o.verify = !*no_verify;
      o.key = *key;
      o.theirs_name = *rev;
      CheckReport failed;
      o.report_out = &failed;
      const std::string branch = repo->current_branch();
      MergeResult r;
      try {
        r = revert ? repo->revert(*rev, *message, o)
                   : repo->merge(*rev, message->empty() ? default_message(*repo, *rev) : *message, o);
      } catch (const Error& e) {
        if (e.code() != ErrorCode::kCheckFailed) throw;
        print_failed_checks(e, failed, *json);
      }
      if (r.stopped) return report_stopped_merge(r, *rev, branch, *json, g.quiet, revert);
      const char* how = revert ? "revert" : r.up_to_date ? "up-to-date" : r.fast_forward ? "fast-forward" : "merge";
      if (*json) {
        nlohmann::json j = {{"result", how},
                            {"theirs", *rev},
                            {"branch", branch},
                            {"commit", r.commit},
                            {"tables_merged", r.tables_merged},
                            {"conflicts", nlohmann::json::array()},
                            {"files_written", r.checkout.files_written},
                            {"files_removed", r.checkout.files_removed}};
        if (r.checked) print_json(j, "checks", r.report);
        else print_json(j);
      } else if (!g.quiet) {
        if (r.up_to_date) {
          std::cout << "already up to date\n";
        } else {
          std::cout << how << ": " << branch << " is now at " << r.commit.substr(0, 10) << " ("
                    << r.checkout.files_written << " files written, " << r.checkout.files_removed << " removed)\n";
          for (const auto& t : r.tables_merged)
            std::cout << "  " << t << ": " << (revert ? "reverted" : "merged") << " row by row\n";
        }
      }
      return 0;
    };
  });
}

}  // namespace

void add_merge_commands(CLI::App& app, Global& g, Action& action) {
  add_merge_like(app, g, action, /*revert=*/false);
  add_merge_like(app, g, action, /*revert=*/true);
}

}  // namespace kura::cli
