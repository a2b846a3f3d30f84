// kura fetch and pull: read the packs (git objects) not imported yet, walk
// the wanted commits through them down to the pointers new here, then fetch
// the kura objects those pointers name. Kura objects are stored as they
// arrive (each verified), git objects all at once at the end and refs last:
// a git object present here therefore comes with everything below it, and
// an interrupted fetch resumes without fetching a stored object again
// (docs/remotes.md).
#include <cstring>
#include <map>
#include <mutex>
#include <unordered_set>

#include "kura/error.hpp"
#include "kura/git_objects.hpp"
#include "kura/objects.hpp"
#include "remote/transfer.hpp"
#include "util/parallel.hpp"

namespace kura::remote {

namespace {

constexpr int kAttempts = 3;
constexpr uint64_t kSyncObjects = 500, kSyncBytes = 64ull << 20;

struct GitWant {
  std::string hex;
  enum Kind { kAny, kPointer, kLink } kind = kAny;
};

}  // namespace

void transfer_all(size_t n, unsigned threads, const char* phase, const ProgressFn& progress,
                  std::atomic<uint64_t>& bytes, uint64_t bytes_total,
                  const std::function<void(size_t)>& fn) {
  std::atomic<uint64_t> done{0};
  parallel_for(
      n, threads,
      [&](size_t i) {
        fn(i);
        ++done;
      },
      [&] {
        if (progress) progress({phase, done.load(), n, bytes.load(), bytes_total});
      });
}

std::string tracking_ref(const std::string& remote, const std::string& ref) {
  return "refs/remotes/" + remote + "/" + ref.substr(std::string("refs/heads/").size());
}

std::string parse_ref_value(const std::string& key, const std::string& value) {
  std::string v = value;
  while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) v.pop_back();
  if (v.size() != 40 || v.find_first_not_of("0123456789abcdef") != std::string::npos)
    fail(ErrorCode::kCorrupt, "remote ref " + key + " is malformed ('" + v.substr(0, 60) + "')");
  return v;
}

std::map<std::string, std::string> remote_refs(Backend& backend, std::string* head_branch) {
  std::map<std::string, std::string> out;
  std::vector<std::string> keys;
  backend.list("refs/", [&](const std::string& key) {
    if (key.rfind("refs/heads/", 0) == 0 || key.rfind("refs/tags/", 0) == 0) keys.push_back(key);
  });
  for (const auto& key : keys)
    if (auto v = backend.get(key)) out[key] = parse_ref_value(key, *v);
  if (head_branch) {
    head_branch->clear();
    if (auto head = backend.get("HEAD")) {
      std::string h = *head;
      while (!h.empty() && (h.back() == '\n' || h.back() == '\r')) h.pop_back();
      if (h.rfind("ref: refs/heads/", 0) == 0) *head_branch = h.substr(16);
    }
  }
  return out;
}

void fetch_objects(Repo& repo, Backend& backend, const std::vector<std::string>& want,
                   unsigned depth, const TransferOptions& options, TransferReport& report) {
  Store& store = repo.store();
  const unsigned threads = options.connections ? options.connections : backend.connections();
  std::atomic<uint64_t> bytes{0};
  std::atomic<uint64_t> refetched{0};

  // Gets one object and checks it against its name, fetching again when
  // it arrives damaged (a flipped bit on the way, a truncated file).
  auto get_verified = [&](const std::string& key, const std::string& what,
                          const std::function<bool(const std::string&)>& ok) -> std::string {
    for (int attempt = 1;; ++attempt) {
      auto v = backend.get(key);
      if (!v)
        fail(ErrorCode::kNotFound,
             what + " is missing on " + backend.url() + " (" + key +
                 "); the remote is incomplete: push it again from a complete copy");
      bytes += v->size();
      if (ok(*v)) return std::move(*v);
      if (attempt == kAttempts)
        fail(ErrorCode::kCorrupt,
             what + " on " + backend.url() + " does not match its hash (fetched " +
                 std::to_string(kAttempts) +
                 " times); the remote copy is damaged: nothing of it was stored here; "
                 "repair the remote from a good copy");
      ++refetched;
    }
  };

  // 1. Git objects: every pack not imported here yet, whole (a pack is one
  // push's metadata: small beside the media it names).
  std::map<std::string, GitObject> available;  // hex -> object, absent here
  std::vector<ObjectId> packs_read;
  auto import_packs = [&](bool all) {
    std::vector<ObjectId> packs;
    backend.list("packs/", [&](const std::string& key) {
      auto id = ObjectId::from_hex(key.substr(key.find('/') + 1));
      if (id && (all || !store.get(Table::kMeta, "pack:" + id->hex()))) packs.push_back(*id);
    });
    std::vector<std::vector<GitObject>> got(packs.size());
    transfer_all(packs.size(), threads, "receiving", options.progress, bytes, 0, [&](size_t i) {
      get_verified(pack_key(packs[i]), "pack " + packs[i].hex(), [&](const std::string& b) {
        if (sha256(b) != packs[i]) return false;
        auto objects = decode_pack(b);
        if (objects) got[i] = std::move(*objects);
        return objects.has_value();
      });
    });
    for (auto& objects : got)
      for (auto& o : objects)
        if (!available.count(o.id) && !repo.has_git_object(o.id))
          available.emplace(o.id, std::move(o));
    packs_read.insert(packs_read.end(), packs.begin(), packs.end());
  };
  import_packs(false);

  // The wanted commits' new trees and pointers, level by level, name the
  // kura objects to fetch. Objects present here come with all below them.
  std::unordered_set<std::string> queued;
  std::vector<ObjectId> roots;        // kura objects named by new pointers and commits
  std::vector<ObjectId> table_roots;  // the manifests among them
  std::vector<GitWant> level;
  for (const auto& w : want)
    if (!repo.has_git_object(w) && queued.insert(w).second) level.push_back({w, GitWant::kAny});
  bool rescanned = false;
  while (!level.empty()) {
    std::vector<GitWant> next;
    auto enqueue = [&](const std::string& hex, GitWant::Kind kind) {
      if (queued.insert(hex).second && !repo.has_git_object(hex)) next.push_back({hex, kind});
    };
    for (const auto& w : level) {
      auto it = available.find(w.hex);
      if (it == available.end() && !rescanned) {
        // A pack imported before may have lost objects to gc here: read them all again, once.
        rescanned = true;
        import_packs(true);
        it = available.find(w.hex);
      }
      if (it == available.end())
        fail(ErrorCode::kNotFound,
             "git object " + w.hex + " is in no pack on " + backend.url() +
                 "; the remote is incomplete: push it again from a complete copy");
      const GitObject& o = it->second;
      if (o.type == kGitCommit || o.type == kGitTag) {
        const GitCommitLinks links = git_commit_links(o);
        for (const auto& t : links.trees) enqueue(t, GitWant::kAny);
        for (const auto& t : links.objects) enqueue(t, GitWant::kAny);
        if (depth == 0)
          for (const auto& p : links.parents) enqueue(p, GitWant::kAny);
        roots.insert(roots.end(), links.reports.begin(), links.reports.end());
      } else if (o.type == kGitTree) {
        for (const GitTreeEntry& e : git_tree_entries(o)) {
          if (e.kind == GitTreeEntry::Kind::kSubmodule) continue;  // kura never writes one
          enqueue(e.id, e.kind == GitTreeEntry::Kind::kTree   ? GitWant::kAny
                        : e.kind == GitTreeEntry::Kind::kLink ? GitWant::kLink
                                                              : GitWant::kPointer);
        }
      } else if (w.kind == GitWant::kLink) {
        roots.push_back(sha256(o.data));  // checkout reads a link's target from the store
      } else if (w.kind == GitWant::kPointer) {
        Pointer p = Pointer::decode(o.data, "pointer blob " + o.id);
        roots.push_back(p.object);
        if (p.kind == FileKind::kTable) table_roots.push_back(p.object);
      }
    }
    level = std::move(next);
  }
  report.git_objects_received += available.size();

  // 2. Kura objects: media and manifests, then chunks, rows, images.
  std::unordered_set<ObjectId, ObjectIdHash> asked;
  std::mutex sync_mutex;
  uint64_t unsynced = 0, unsynced_objects = 0;
  auto fetch_ids = [&](std::vector<ObjectId> ids) {
    std::vector<ObjectId> todo;
    for (const auto& id : ids)
      if (asked.insert(id).second && !store.has_object(id)) todo.push_back(id);
    transfer_all(todo.size(), threads, "receiving", options.progress, bytes, 0, [&](size_t i) {
      const ObjectId& id = todo[i];
      std::string b = get_verified(object_key(id), "object " + id.hex(),
                                   [&](const std::string& v) { return sha256(v) == id; });
      store.put_object(id, b);
      std::lock_guard<std::mutex> guard(sync_mutex);
      unsynced += b.size();
      // Make what arrived durable now and then, so an interrupted fetch keeps it.
      if (++unsynced_objects >= kSyncObjects || unsynced >= kSyncBytes) {
        store.sync_objects();
        unsynced = unsynced_objects = 0;
      }
    });
    report.objects_received += todo.size();
    report.objects_present += ids.size() - todo.size();
  };
  fetch_ids(roots);
  std::vector<ObjectId> chunks, rows, images;
  for (const auto& m : table_roots) {
    auto c = manifest_chunks(store, m);
    chunks.insert(chunks.end(), c.begin(), c.end());
  }
  fetch_ids(chunks);
  for (const auto& m : table_roots)
    for (const auto& r : read_manifest(store, m)) rows.push_back(r.row);
  fetch_ids(rows);
  std::unordered_set<ObjectId, ObjectIdHash> rows_seen;
  for (const auto& r : rows) {
    if (!rows_seen.insert(r).second) continue;
    for (const auto& img : decode_row(store.read_object(r), r).images) images.push_back(img.media);
  }
  fetch_ids(images);
  store.sync_objects();
  report.bytes_received += bytes.load();
  report.objects_refetched += refetched.load();

  // 3. Git objects, in one atomic write; refs are the caller's last step.
  std::vector<GitObject> arrived;
  arrived.reserve(available.size());
  for (auto& [hex, o] : available) arrived.push_back(std::move(o));
  repo.write_git_objects(arrived);
  for (const auto& p : packs_read) store.put(Table::kMeta, "pack:" + p.hex(), "", Sync::kYes);
}

}  // namespace kura::remote

namespace kura {

using namespace remote;

TransferReport fetch(Repo& repo, const std::string& name, const TransferOptions& options) {
  RemoteSettings settings = remote_settings(repo, name);
  auto backend = open_backend(settings);
  TransferReport report;
  report.remote = name;
  const auto theirs = remote_refs(*backend, nullptr);
  std::vector<std::string> want;
  for (const auto& [ref, target] : theirs)
    if (!repo.has_git_object(target)) want.push_back(target);
  // A partial clone stays partial: new tips come with their own objects only.
  const unsigned depth = repo.config("kura.promisor") == name ? 1 : 0;
  fetch_objects(repo, *backend, want, depth, options, report);
  const auto ours = repo.refs();
  auto current = [&](const std::string& ref) {
    auto it = ours.find(ref);
    return it == ours.end() ? std::string() : it->second;
  };
  for (const auto& [ref, target] : theirs) {
    std::string local = ref.rfind("refs/heads/", 0) == 0 ? tracking_ref(name, ref) : ref;
    const std::string old = current(local);
    if (old == target) continue;
    if (ref.rfind("refs/tags/", 0) == 0 && !old.empty()) continue;  // a local tag of that name wins
    repo.set_ref(local, target, "fetch " + name);
    report.refs.push_back({local, old, target});
  }
  // Branches deleted on the remote lose their tracking refs.
  for (const auto& [ref, target] : ours) {
    const std::string prefix = "refs/remotes/" + name + "/";
    if (ref.rfind(prefix, 0) == 0 && !theirs.count("refs/heads/" + ref.substr(prefix.size()))) {
      repo.delete_ref(ref);
      report.refs.push_back({ref, target, ""});
    }
  }
  return report;
}

PullResult pull(Repo& repo, const std::string& name, const std::string& branch,
                const TransferOptions& options) {
  PullResult result;
  result.branch = branch;
  if (result.branch.empty()) {
    const std::string head = repo.head_ref();
    if (head.rfind("refs/heads/", 0) != 0)
      fail(ErrorCode::kConflict, "HEAD is detached; switch to a branch before pulling");
    result.branch = head.substr(11);
  }
  result.fetch = fetch(repo, name, options);
  const auto refs = repo.refs();
  auto it = refs.find("refs/remotes/" + name + "/" + result.branch);
  if (it == refs.end())
    fail(ErrorCode::kNotFound, "remote '" + name + "' has no branch '" + result.branch + "'");
  MergeOptions merge_options;
  merge_options.verify = options.verify;
  merge_options.report_out = options.check_report;
  merge_options.theirs_name = name + "/" + result.branch;
  result.merge = repo.merge(it->second, "Merge " + name + "/" + result.branch, merge_options);
  return result;
}

}  // namespace kura
