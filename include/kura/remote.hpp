// Remotes: sharing a repository's history through a folder or an
// S3-compatible object store.
//
// A remote is named in the repository's git config (remote.NAME.url, with
// optional remote.NAME.endpoint, .region, .connections,
// .multipart-threshold). Its URL is a folder (`/srv/set.kura`,
// `file:///srv/set.kura`) or `s3://BUCKET/PREFIX`. On the remote, every
// object is a file or key named by its hash, so the two sides compare by
// name and only what the other side lacks travels:
//
//   objects/ab/<sha256>   kura objects (media, rows, manifests, chunks, reports)
//   packs/<sha256>        the git objects (commits, trees, pointer blobs, tags)
//                         one push added, in one pack
//   refs/heads/<branch>   "<commit hex>\n"; refs/tags/<tag> likewise
//   HEAD                  "ref: refs/heads/<branch>\n", the default branch
//
// Every push writes objects first and the ref last, by compare-and-swap
// against the value this side last saw (a folder: a lock file; S3: a
// conditional PUT, If-Match / If-None-Match); a second pusher is refused
// with "pull first". Everything fetched is checked against its hash before
// it is stored. docs/remotes.md has the formats and the guarantees' limits.
//
// S3 credentials come only from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY;
// the endpoint and region from the remote's config, else AWS_ENDPOINT_URL /
// AWS_REGION (default us-east-1). Requests are signed with AWS Signature V4
// and use path-style URLs.
//
// Errors: Error(kNotFound) for an unknown remote or branch, kConflict for a
// refused push ("pull first"), kCorrupt for data that does not match its
// hash, kIo for transport failures (the message names the endpoint and, for
// HTTP, the status and what it means).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "kura/repo.hpp"

namespace kura {

struct RemoteSettings {
  std::string name;
  std::string url;
  std::string endpoint;                        // S3 only; empty: AWS_ENDPOINT_URL
  std::string region;                          // S3 only; empty: AWS_REGION, else us-east-1
  unsigned connections = 16;                   // parallel transfers
  uint64_t multipart_threshold = 64ull << 20;  // S3: objects this large go in parts
  uint64_t part_size = 16ull << 20;
  double connect_timeout = 5;  // seconds, per attempt
  // Set by add_remote only: where `endpoint` came from ("--endpoint",
  // "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"), empty when there is none.
  std::string endpoint_from;
};

// The remotes configured in `repo`, by name.
std::vector<RemoteSettings> list_remotes(const Repo& repo);
// One remote's settings; Error(kNotFound) naming it when absent.
RemoteSettings remote_settings(const Repo& repo, const std::string& name);
// Adds a remote and returns its settings. An s3:// remote keeps its
// endpoint: `endpoint` when not empty, else the environment's, as the AWS CLI
// reads it (AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL), so later commands
// reach the same store whatever their environment; `endpoint_from` says which.
// Error(kConflict) when the name is taken, kInvalidInput for a URL that is
// neither a folder path, file:// nor s3://BUCKET[/PREFIX], and for a URL or
// endpoint with a user name or password in it ("https://KEY:SECRET@host"):
// credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY only and
// are never stored.
RemoteSettings add_remote(Repo& repo, const std::string& name, const std::string& url,
                          const std::string& endpoint = "");
// `url` fit to print: "user:password@" becomes "***@" and the values of
// query parameters that carry credentials or signatures (X-Amz-Signature,
// X-Amz-Credential, ...) become "***". Every URL kura prints, in messages and
// in `kura remote -v`, goes through it (settings an older kura stored with a
// password included).
std::string redact_url(std::string_view url);
// Removes a remote, its remote-tracking refs and its settings.
void remove_remote(Repo& repo, const std::string& name);

struct TransferOptions {
  ProgressFn progress;       // may be empty; phases "sending", "receiving", "checking"
  unsigned connections = 0;  // 0: the remote's setting
  // pull: check the files of a merge commit before making it (see
  // MergeOptions); a failed check leaves its report in `check_report`.
  bool verify = true;
  CheckReport* check_report = nullptr;
};

struct RefUpdate {
  std::string ref;         // "refs/heads/main"
  std::string old_target;  // hex, empty when new
  std::string new_target;
};

// Work counters, so tests assert what travelled.
struct TransferReport {
  std::string remote;  // name or URL
  uint64_t objects_sent = 0, git_objects_sent = 0, bytes_sent = 0;
  uint64_t objects_received = 0, git_objects_received = 0, bytes_received = 0;
  uint64_t objects_present = 0;    // needed, but the destination had them already
  uint64_t objects_refetched = 0;  // arrived damaged and were fetched again
  std::vector<RefUpdate> refs;     // refs moved (on the remote for push, here for fetch)
  bool up_to_date() const { return refs.empty(); }
};

// Sends branch or tag `ref` (short name; empty: the current branch) and what
// it needs. Error(kConflict) "pull first" when the remote's ref is not where
// this repository last saw it, or is not an ancestor of ours.
TransferReport push(Repo& repo, const std::string& remote, const std::string& ref,
                    const TransferOptions& options);
// Brings the remote's branches (as refs/remotes/NAME/*) and new tags, and
// every object they need that this repository lacks.
TransferReport fetch(Repo& repo, const std::string& remote, const TransferOptions& options);

struct PullResult {
  TransferReport fetch;
  MergeResult merge;
  std::string branch;
};
// fetch, then Repo::merge of the remote's `branch` (empty: the current
// branch's name) into the current branch.
PullResult pull(Repo& repo, const std::string& remote, const std::string& branch,
                const TransferOptions& options);

struct CloneOptions {
  unsigned depth = 0;    // 1: only the objects of the checked-out commit; 0: everything
  bool checkout = true;  // false: --no-checkout
  std::string branch;    // empty: the remote's HEAD
  TransferOptions transfer;
};
struct CloneResult {
  std::filesystem::path dir;
  std::string branch, commit;
  TransferReport fetch;
  CheckoutResult checkout;
};
// Creates `dir` (which must not exist or be empty), a repository whose
// remote "origin" is `url`, fetches and checks out. With depth 1 the clone
// is partial: it has every commit and tree (log works offline) but only the
// checked-out commit's kura objects; other files are fetched when first read
// (checkout, show), see enable_on_demand_fetch(). A failed clone removes
// what it created.
CloneResult clone(const std::string& url, const std::filesystem::path& dir,
                  const CloneOptions& options);

// Makes every repository opened from now on in this process fetch missing
// objects from its promisor remote (config kura.promisor, set by a partial
// clone). Idempotent.
void enable_on_demand_fetch();

// The objects and git objects of remote `name`, each verified against its
// id when read (fsck --from). Error(kNotFound) for an unknown remote.
std::shared_ptr<ObjectSource> remote_object_source(const Repo& repo, const std::string& name);

}  // namespace kura
