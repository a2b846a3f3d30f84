// kura remote, push, fetch, pull, clone.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "commands.hpp"
#include "kura/error.hpp"
#include "kura/remote.hpp"
#include "report.hpp"

namespace kura::cli {

namespace {

// "sending  120/400 objects  [#####...]  12.0 MB  40.1 MB/s" on stderr, when it is a terminal.
class TransferBar {
 public:
  void update(const Progress& p) {
    const auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(100) && p.done < p.total) return;
    last_ = now;
    const double secs = std::chrono::duration<double>(now - start_).count();
    std::string line = std::string(p.phase) + "  " + std::to_string(p.done) + "/" +
                       std::to_string(p.total) + " objects";
    if (p.total) {
      const int width = 20, filled = static_cast<int>(width * p.done / p.total);
      line += "  [" + std::string(filled, '#') + std::string(width - filled, '.') + "]";
    }
    line += "  " + human_bytes(p.bytes_done);
    if (secs > 0.05) line += "  " + human_bytes(static_cast<uint64_t>(p.bytes_done / secs)) + "/s";
    if (p.total && p.done >= p.total) {  // a phase ended: leave the line clean for what follows
      if (drawn_) std::fprintf(stderr, "\r\033[K");
      drawn_ = false;
      return;
    }
    std::fprintf(stderr, "\r%s\033[K", line.c_str());
    drawn_ = true;
  }
  ~TransferBar() {
    if (drawn_) std::fprintf(stderr, "\r\033[K");
  }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now(), last_{};
  bool drawn_ = false;
};

ProgressFn transfer_progress(const Global& g, bool json) {
  if (g.quiet || json || !::isatty(STDERR_FILENO)) return {};
  auto bar = std::make_shared<TransferBar>();
  return [bar](const Progress& p) { bar->update(p); };
}

std::string default_remote(const Repo& repo, const std::string& given) {
  if (!given.empty()) return given;
  auto remotes = list_remotes(repo);
  if (remotes.size() == 1) return remotes[0].name;
  for (const auto& r : remotes)
    if (r.name == "origin") return "origin";
  if (remotes.empty())
    fail(ErrorCode::kNotFound, "no remote configured; add one with 'kura remote add NAME URL'");
  fail(ErrorCode::kInvalidInput, "several remotes and none named origin; name the remote");
}

nlohmann::json to_json(const TransferReport& r) {
  nlohmann::json refs = nlohmann::json::array();
  for (const auto& u : r.refs)
    refs.push_back({{"ref", u.ref}, {"old", u.old_target}, {"new", u.new_target}});
  return {{"remote", r.remote},
          {"objects_sent", r.objects_sent},
          {"git_objects_sent", r.git_objects_sent},
          {"bytes_sent", r.bytes_sent},
          {"objects_received", r.objects_received},
          {"git_objects_received", r.git_objects_received},
          {"bytes_received", r.bytes_received},
          {"objects_present", r.objects_present},
          {"objects_refetched", r.objects_refetched},
          {"refs", refs}};
}

void print_refs(const TransferReport& r) {
  for (const auto& u : r.refs) {
    if (u.new_target.empty())
      std::cout << "  " << u.ref << ": deleted\n";
    else if (u.old_target.empty())
      std::cout << "  " << u.ref << ": new at " << u.new_target.substr(0, 10) << "\n";
    else
      std::cout << "  " << u.ref << ": " << u.old_target.substr(0, 10) << ".."
                << u.new_target.substr(0, 10) << "\n";
  }
}

}  // namespace

void add_remote_commands(CLI::App& app, Global& g, Action& action) {
  enable_on_demand_fetch();  // partial clones fetch what checkout/show/log need
  {
    auto* cmd =
        app.add_subcommand("remote", "List, add and remove remotes (folders, s3://bucket/prefix)");
    auto verbose = std::make_shared<bool>(false);
    auto json = std::make_shared<bool>(false);
    cmd->add_flag("-v,--verbose", *verbose, "Show URLs and settings");
    cmd->add_flag("--json", *json, "Print JSON");
    auto* add = cmd->add_subcommand("add", "Add a remote");
    auto name = std::make_shared<std::string>();
    auto url = std::make_shared<std::string>();
    auto endpoint = std::make_shared<std::string>();
    auto region = std::make_shared<std::string>();
    auto connections = std::make_shared<unsigned>(0);
    add->add_option("name", *name, "Remote name")->required();
    add->add_option("url", *url, "A folder path, file://PATH or s3://BUCKET/PREFIX")->required();
    add->add_option("--endpoint", *endpoint, "S3 endpoint URL (default: $AWS_ENDPOINT_URL)");
    add->add_option("--region", *region, "S3 region (default: $AWS_REGION, else us-east-1)");
    add->add_option("--connections", *connections,
                    "Parallel transfers (default 16 for S3, 4 for folders)");
    add->callback([&g, &action, name, url, endpoint, region, connections] {
      action = [&g, name, url, endpoint, region, connections] {
        auto repo = open_repo(g, "remote add", false);
        const RemoteSettings added = add_remote(*repo, *name, *url, *endpoint);
        if (added.url.rfind("s3://", 0) == 0) {
          if (added.endpoint.empty())
            std::cerr << "kura: remote '" << added.name
                      << "' has no endpoint yet: push and fetch will use AWS_ENDPOINT_URL as set when they run\n";
          else
            std::cerr << "kura: remote '" << added.name << "' uses the endpoint " << redact_url(added.endpoint)
                      << " (from " << added.endpoint_from << ")\n";
        }
        if (!region->empty()) repo->set_config("remote." + *name + ".region", *region);
        if (*connections)
          repo->set_config("remote." + *name + ".connections", std::to_string(*connections));
        return 0;
      };
    });
    auto* rm = cmd->add_subcommand("remove", "Remove a remote and its remote-tracking branches");
    rm->alias("rm");
    auto rm_name = std::make_shared<std::string>();
    rm->add_option("name", *rm_name, "Remote name")->required();
    rm->callback([&g, &action, rm_name] {
      action = [&g, rm_name] {
        auto repo = open_repo(g, "remote remove", false);
        remove_remote(*repo, *rm_name);
        return 0;
      };
    });
    cmd->callback([&g, &action, cmd, verbose, json] {
      if (!cmd->get_subcommands().empty()) return;
      action = [&g, verbose, json] {
        auto repo = open_repo(g, "remote", *json, Mode::kRead);
        auto remotes = list_remotes(*repo);
        if (*json) {
          nlohmann::json out = nlohmann::json::array();
          for (const auto& r : remotes)
            out.push_back({{"name", r.name},
                           {"url", redact_url(r.url)},
                           {"endpoint", redact_url(r.endpoint)},
                           {"region", r.region},
                           {"connections", r.connections}});
          print_json(out);
          return 0;
        }
        for (const auto& r : remotes) {
          if (!*verbose) {
            std::cout << r.name << "\n";
            continue;
          }
          std::cout << r.name << "\t" << redact_url(r.url);
          if (!r.endpoint.empty()) std::cout << " (endpoint " << redact_url(r.endpoint) << ")";
          if (!r.region.empty()) std::cout << " (region " << r.region << ")";
          std::cout << "\n";
        }
        return 0;
      };
    });
  }
  {
    auto* cmd =
        app.add_subcommand("push", "Send a branch or tag and the objects it needs to a remote");
    auto name = std::make_shared<std::string>();
    auto ref = std::make_shared<std::string>();
    auto json = std::make_shared<bool>(false);
    cmd->add_option("remote", *name, "Remote (default: origin, or the only one)");
    cmd->add_option("ref", *ref, "Branch or tag (default: the current branch)");
    cmd->add_flag("--json", *json, "Print JSON");
    cmd->callback([&g, &action, name, ref, json] {
      action = [&g, name, ref, json] {
        auto repo = open_repo(g, "push", *json);
        const std::string remote = default_remote(*repo, *name);
        TransferOptions options;
        options.progress = transfer_progress(g, *json);
        TransferReport r = push(*repo, remote, *ref, options);
        if (*json) {
          print_json(to_json(r));
        } else if (!g.quiet) {
          if (r.up_to_date())
            std::cout << "everything up to date on " << remote << "\n";
          else
            std::cout << "sent " << r.objects_sent << " objects and " << r.git_objects_sent
                      << " git objects (" << human_bytes(r.bytes_sent) << ") to " << remote << "; "
                      << r.objects_present << " were there already\n";
          print_refs(r);
        }
        return 0;
      };
    });
  }
  {
    auto* cmd =
        app.add_subcommand("fetch", "Bring a remote's branches and tags and the objects they need");
    auto name = std::make_shared<std::string>();
    auto json = std::make_shared<bool>(false);
    cmd->add_option("remote", *name, "Remote (default: origin, or the only one)");
    cmd->add_flag("--json", *json, "Print JSON");
    cmd->callback([&g, &action, name, json] {
      action = [&g, name, json] {
        auto repo = open_repo(g, "fetch", *json);
        const std::string remote = default_remote(*repo, *name);
        TransferOptions options;
        options.progress = transfer_progress(g, *json);
        TransferReport r = fetch(*repo, remote, options);
        if (*json) {
          print_json(to_json(r));
        } else if (!g.quiet) {
          std::cout << "received " << r.objects_received << " objects and "
                    << r.git_objects_received << " git objects (" << human_bytes(r.bytes_received)
                    << ") from " << remote << "\n";
          print_refs(r);
        }
        return 0;
      };
    });
  }
  {
    auto* cmd =
        app.add_subcommand("pull", "Fetch, then merge the remote's branch into the current branch");
    auto name = std::make_shared<std::string>();
    auto branch = std::make_shared<std::string>();
    auto json = std::make_shared<bool>(false);
    auto no_verify = std::make_shared<bool>(false);
    cmd->add_option("remote", *name, "Remote (default: origin, or the only one)");
    cmd->add_option("branch", *branch, "The remote's branch (default: the current branch's name)");
    cmd->add_flag("--no-verify", *no_verify, "Make a merge commit even if the checks find errors in the merged files");
    cmd->add_flag("--json", *json, "Print JSON");
    cmd->callback([&g, &action, name, branch, json, no_verify] {
      action = [&g, name, branch, json, no_verify] {
        auto repo = open_repo(g, "pull", *json);
        const std::string remote = default_remote(*repo, *name);
        TransferOptions options;
        options.progress = transfer_progress(g, *json);
        options.verify = !*no_verify;
        CheckReport failed;
        options.check_report = &failed;
        PullResult r;
        try {
          r = pull(*repo, remote, *branch, options);
        } catch (const Error& e) {
          if (e.code() != ErrorCode::kCheckFailed) throw;
          if (*json) print_json({{"merged", false}}, "checks", failed);
          else print_report(std::cerr, failed, ::isatty(STDERR_FILENO) && !std::getenv("NO_COLOR"));
          throw;
        }
        if (r.merge.stopped) return report_stopped_merge(r.merge, remote + "/" + r.branch, r.branch, *json, g.quiet);
        const char* how = r.merge.up_to_date     ? "up-to-date"
                          : r.merge.fast_forward ? "fast-forward"
                                                 : "merge";
        if (*json) {
          auto j = to_json(r.fetch);
          j["branch"] = r.branch;
          j["result"] = how;
          j["commit"] = r.merge.commit;
          j["files_written"] = r.merge.checkout.files_written;
          j["files_removed"] = r.merge.checkout.files_removed;
          if (r.merge.checked) print_json(j, "checks", r.merge.report);
          else print_json(j);
        } else if (!g.quiet) {
          std::cout << "received " << r.fetch.objects_received << " objects ("
                    << human_bytes(r.fetch.bytes_received) << ")\n";
          if (r.merge.up_to_date)
            std::cout << "already up to date\n";
          else
            std::cout << how << ": " << r.branch << " is now at " << r.merge.commit.substr(0, 10)
                      << " (" << r.merge.checkout.files_written << " files written, "
                      << r.merge.checkout.files_removed << " removed)\n";
        }
        return 0;
      };
    });
  }
  {
    auto* cmd = app.add_subcommand(
        "clone", "Make a new repository from a remote and check out its default branch");
    auto url = std::make_shared<std::string>();
    auto dir = std::make_shared<std::string>();
    auto depth = std::make_shared<unsigned>(0);
    auto no_checkout = std::make_shared<bool>(false);
    auto branch = std::make_shared<std::string>();
    auto json = std::make_shared<bool>(false);
    cmd->add_option("url", *url, "A folder path, file://PATH or s3://BUCKET/PREFIX")->required();
    cmd->add_option("dir", *dir, "The new folder (default: the URL's last part, without .kura)");
    cmd->add_option("--depth", *depth,
                    "1: fetch only the checked-out commit's objects; the rest on demand");
    cmd->add_flag("--no-checkout", *no_checkout, "Do not write the files");
    cmd->add_option("-b,--branch", *branch, "The branch to check out (default: the remote's HEAD)");
    cmd->add_flag("--json", *json, "Print JSON");
    cmd->callback([&g, &action, url, dir, depth, no_checkout, branch, json] {
      action = [&g, url, dir, depth, no_checkout, branch, json] {
        std::string target = *dir;
        if (target.empty()) {
          std::string u = *url;
          while (!u.empty() && u.back() == '/') u.pop_back();
          target = u.substr(u.find_last_of("/:") + 1);
          if (target.size() > 5 && target.substr(target.size() - 5) == ".kura")
            target.resize(target.size() - 5);
          if (target.empty())
            fail(ErrorCode::kInvalidInput, "cannot name a folder after '" + redact_url(*url) + "'; give DIR");
        }
        CloneOptions options;
        options.depth = *depth;
        options.checkout = !*no_checkout;
        options.branch = *branch;
        options.transfer.progress = transfer_progress(g, *json);
        CloneResult r = clone(*url, target, options);
        if (*json) {
          auto j = to_json(r.fetch);
          j["dir"] = r.dir.string();
          j["branch"] = r.branch;
          j["commit"] = r.commit;
          j["files_written"] = r.checkout.files_written;
          print_json(j);
        } else if (!g.quiet) {
          std::cout << "cloned " << redact_url(*url) << " into " << r.dir.string() << ": "
                    << r.fetch.objects_received << " objects ("
                    << human_bytes(r.fetch.bytes_received) << "), branch " << r.branch << " at "
                    << r.commit.substr(0, 10);
          if (options.checkout) std::cout << ", " << r.checkout.files_written << " files written";
          std::cout << "\n";
        }
        return 0;
      };
    });
  }
}

}  // namespace kura::cli
