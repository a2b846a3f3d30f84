// kura clone: a new repository whose remote "origin" is the URL, its
// branches fetched and one checked out. With depth 1 only the checked-out
// commit's objects come; the clone records origin as its promisor and
// fetches anything else when first read (on_demand.cpp).
#include <system_error>

#include "kura/error.hpp"
#include "remote/transfer.hpp"
#include "util/url.hpp"

namespace kura {

using namespace remote;
namespace fs = std::filesystem;

CloneResult clone(const std::string& url, const fs::path& dir, const CloneOptions& options) {
  CloneResult result;
  result.dir = fs::absolute(dir).lexically_normal();
  std::error_code ec;
  const bool existed = fs::exists(result.dir, ec);
  if (existed && (!fs::is_directory(result.dir, ec) || !fs::is_empty(result.dir, ec)))
    fail(ErrorCode::kConflict, "'" + dir.string() + "' exists and is not an empty folder");
  if (options.depth > 1)
    fail(ErrorCode::kInvalidInput,
         "--depth takes 1 (one commit's objects) or is left out (everything)");

  refuse_userinfo(url, "the URL");
  RemoteSettings settings;
  settings.name = "origin";
  settings.url =
      url.find("://") == std::string::npos ? fs::absolute(url).lexically_normal().string() : url;
  auto backend = open_backend(settings);
  std::string head_branch;
  const auto theirs = remote_refs(*backend, &head_branch);
  if (theirs.empty())
    fail(ErrorCode::kNotFound, "nothing to clone: " + redact_url(url) + " has no branches (push to it first)");
  std::string branch = options.branch.empty() ? head_branch : options.branch;
  if (branch.empty() || !theirs.count("refs/heads/" + branch)) {
    if (!options.branch.empty())
      fail(ErrorCode::kNotFound, redact_url(url) + " has no branch '" + options.branch + "'");
    branch = theirs.count("refs/heads/main") ? "main" : "";
    for (const auto& [ref, t] : theirs)
      if (branch.empty() && ref.rfind("refs/heads/", 0) == 0) branch = ref.substr(11);
    if (branch.empty())
      fail(ErrorCode::kNotFound, "nothing to clone: " + redact_url(url) + " has tags but no branch");
  }
  const std::string tip = theirs.at("refs/heads/" + branch);

  fs::create_directories(result.dir, ec);
  if (ec) fail(ErrorCode::kIo, "cannot create '" + result.dir.string() + "': " + ec.message());
  try {
    Repo::init(result.dir, branch);
    OpenOptions open_options;
    open_options.progress = options.transfer.progress;
    open_options.command = "kura clone";
    auto repo = Repo::open(result.dir, open_options);
    add_remote(*repo, "origin", settings.url);
    if (options.depth == 1) repo->set_config("kura.promisor", "origin");
    std::vector<std::string> want;
    if (options.depth == 1) {
      want.push_back(tip);
    } else {
      for (const auto& [ref, target] : theirs) want.push_back(target);
    }
    result.fetch.remote = "origin";
    fetch_objects(*repo, *backend, want, options.depth, options.transfer, result.fetch);
    // Refs last. A partial clone still knows every ref; their commits come on demand.
    for (const auto& [ref, target] : theirs) {
      const std::string local =
          ref.rfind("refs/heads/", 0) == 0 ? tracking_ref("origin", ref) : ref;
      repo->set_ref(local, target, "clone");
      result.fetch.refs.push_back({local, "", target});
    }
    if (options.checkout) {
      result.checkout = repo->checkout(tip, {});  // from an unborn HEAD: writes every file
      repo->set_ref("refs/heads/" + branch, tip, "clone: from " + url);
      repo->set_head_branch(branch);
    } else {
      repo->set_ref("refs/heads/" + branch, tip, "clone: from " + url);
    }
    // The branch tracks origin's, as git clone sets it up (status: ahead/behind).
    repo->set_config("branch." + branch + ".remote", "origin");
    repo->set_config("branch." + branch + ".merge", "refs/heads/" + branch);
    result.branch = branch;
    result.commit = tip;
  } catch (...) {
    // Leave nothing half-made behind: the folder was empty or absent.
    if (existed) {
      for (auto& e : fs::directory_iterator(result.dir, ec)) fs::remove_all(e.path(), ec);
    } else {
      fs::remove_all(result.dir, ec);
    }
    throw;
  }
  return result;
}

}  // namespace kura
