// kura push: send a branch or tag and what it needs, then move the remote's
// ref by compare-and-swap. What to send is decided in two steps: locally,
// the closure of the new commits minus what the remote's known commits
// already hold (git's negotiation, without a server), then, for kura
// objects, by asking the remote (a HEAD each for a few, one listing for
// many), so an interrupted push resumes without sending a media object
// twice. The new git objects travel as one pack.
#include <unordered_set>

#include "kura/error.hpp"
#include "remote/transfer.hpp"

namespace kura::remote {

namespace {

// Beyond this many candidates one listing beats a request per object.
constexpr size_t kListThreshold = 1000;

std::vector<char> present_on_remote(Backend& backend, const std::vector<std::string>& keys,
                                    unsigned threads, const ProgressFn& progress) {
  std::vector<char> present(keys.size(), 0);
  if (keys.size() > kListThreshold) {
    std::unordered_set<std::string> listed;
    backend.list("objects/", [&](const std::string& key) { listed.insert(key); });
    for (size_t i = 0; i < keys.size(); ++i) present[i] = listed.count(keys[i]) > 0;
    return present;
  }
  std::atomic<uint64_t> none{0};
  transfer_all(keys.size(), threads, "checking", progress, none, 0,
               [&](size_t i) { present[i] = backend.exists(keys[i]); });
  return present;
}

}  // namespace

}  // namespace kura::remote

namespace kura {

using namespace remote;

TransferReport push(Repo& repo, const std::string& name, const std::string& ref_arg,
                    const TransferOptions& options) {
  RemoteSettings settings = remote_settings(repo, name);
  auto backend = open_backend(settings);
  TransferReport report;
  report.remote = name;
  const unsigned threads = options.connections ? options.connections : backend->connections();

  // Which ref: a branch (default: the current one) or a tag.
  const auto local_refs = repo.refs();
  std::string ref;
  if (ref_arg.empty()) {
    ref = repo.head_ref();
    if (ref.empty()) fail(ErrorCode::kInvalidInput, "HEAD is detached; name the branch to push");
  } else if (local_refs.count("refs/heads/" + ref_arg)) {
    ref = "refs/heads/" + ref_arg;
  } else if (local_refs.count("refs/tags/" + ref_arg)) {
    ref = "refs/tags/" + ref_arg;
  } else if (local_refs.count(ref_arg)) {
    ref = ref_arg;
  } else {
    fail(ErrorCode::kNotFound, "no branch or tag named '" + ref_arg + "'");
  }
  auto it = local_refs.find(ref);
  if (it == local_refs.end())
    fail(ErrorCode::kNotFound, "'" + ref + "' has no commit yet; commit before pushing");
  const std::string target = it->second;
  const bool is_branch = ref.rfind("refs/heads/", 0) == 0;

  // Where the remote's ref is, against where we last saw it.
  backend->prepare_for_writes();  // an S3 bucket is created on the first push
  Backend::Versioned theirs = backend->get_versioned(ref);
  const std::string remote_target = theirs.value ? parse_ref_value(ref, *theirs.value) : "";
  const std::string tracking = is_branch ? tracking_ref(name, ref) : "";
  auto seen = is_branch ? local_refs.find(tracking) : local_refs.end();
  const std::string last_seen = seen == local_refs.end() ? "" : seen->second;
  const std::string short_ref = ref.substr(ref.find('/', 5) + 1);
  if (remote_target == target) {
    if (is_branch && last_seen != target) repo.set_ref(tracking, target, "push " + name);
    return report;  // up to date
  }
  if (!remote_target.empty()) {
    if (!is_branch)
      fail(ErrorCode::kConflict, "tag '" + short_ref + "' on " + name + " names another commit (" +
                                     remote_target.substr(0, 10) +
                                     "); tags do not move: delete it there or use another name");
    if (remote_target != last_seen || !repo.has_git_object(remote_target) ||
        !repo.is_ancestor(remote_target, target))
      fail(ErrorCode::kConflict,
           "'" + short_ref + "' on " + name + " is at " + remote_target.substr(0, 10) +
               ", which this repository has not merged; pull first ('kura pull " + name +
               "'), then push again");
  }

  // What to send.
  std::vector<std::string> have;
  for (const auto& [r, t] : local_refs)
    if (r.rfind("refs/remotes/" + name + "/", 0) == 0) have.push_back(t);
  if (!remote_target.empty()) have.push_back(remote_target);
  ObjectClosure need = repo.closure({target}, have);
  std::vector<std::string> keys;
  for (const auto& id : need.objects) keys.push_back(object_key(id));
  for (const auto& id : need.missing) keys.push_back(object_key(id));
  const std::vector<char> present = present_on_remote(*backend, keys, threads, options.progress);
  const size_t n_objects = need.objects.size(), n_missing = need.missing.size();
  for (size_t i = 0; i < n_missing; ++i)
    if (!present[n_objects + i])
      fail(ErrorCode::kNotFound, "object " + need.missing[i].hex() + " is needed by " + short_ref +
                                     " but is neither here nor on " + name +
                                     "; fetch it from where it came from first");
  std::vector<ObjectId> objects;
  for (size_t i = 0; i < n_objects; ++i)
    if (!present[i]) objects.push_back(need.objects[i]);
  std::vector<GitObject> git_objects;
  for (const auto& hex : need.git_objects) {
    auto o = repo.read_git_object(hex);
    if (!o) fail(ErrorCode::kNotFound, "git object " + hex + " is missing here; run 'kura fsck'");
    git_objects.push_back(std::move(*o));
  }
  report.objects_present = n_objects + n_missing - objects.size();

  // Objects first (kura objects, then git objects), the ref last.
  Store& store = repo.store();
  std::atomic<uint64_t> bytes{0};
  transfer_all(objects.size(), threads, "sending", options.progress, bytes, 0, [&](size_t i) {
    const std::string b = store.read_object(objects[i]);
    backend->put(object_key(objects[i]), b, &objects[i]);
    bytes += b.size();
  });
  report.objects_sent = objects.size();
  if (!git_objects.empty()) {
    const std::string pack = encode_pack(git_objects);
    const ObjectId pack_id = sha256(pack);
    backend->put(pack_key(pack_id), pack, &pack_id);
    bytes += pack.size();
  }
  report.git_objects_sent = git_objects.size();
  report.bytes_sent = bytes.load();

  if (!backend->put_if(ref, target + "\n", theirs.version))
    fail(ErrorCode::kConflict,
         "'" + short_ref + "' on " + name +
             " moved while pushing (someone else pushed); the objects sent stay there: "
             "pull first ('kura pull " +
             name + "'), then push again");
  report.refs.push_back({ref, remote_target, target});
  if (is_branch) {
    repo.set_ref(tracking, target, "push " + name);
    // The first branch pushed becomes the remote's default for clones.
    if (!backend->exists("HEAD")) std::ignore = backend->put_if("HEAD", "ref: " + ref + "\n", "");
  }
  return report;
}

}  // namespace kura
