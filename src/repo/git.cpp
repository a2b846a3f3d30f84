#include "repo/git.hpp"

#include <mutex>

#include "kura/error.hpp"

namespace kura::git {

void init() {
  static std::once_flag once;
  std::call_once(once, [] {
    git_libgit2_init();
    // Pointer blobs are written by `add` straight into the store; checking
    // each tree entry's existence again on commit would cost a look-up per file.
    git_libgit2_opts(GIT_OPT_ENABLE_STRICT_OBJECT_CREATION, 0);
    // Refs are the last step of every write: make them durable.
    git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, 1);
  });
}

void check(int rc, const std::string& what) {
  if (rc >= 0) return;
  const git_error* e = git_error_last();
  std::string detail = e && e->message ? e->message : "unknown libgit2 error";
  ErrorCode code = ErrorCode::kIo;
  if (rc == GIT_ENOTFOUND) code = ErrorCode::kNotFound;
  else if (rc == GIT_EEXISTS || rc == GIT_EMODIFIED || rc == GIT_ECONFLICT) code = ErrorCode::kConflict;
  else if (rc == GIT_EINVALIDSPEC || rc == GIT_EAMBIGUOUS) code = ErrorCode::kInvalidInput;
  else if (rc == GIT_ELOCKED) code = ErrorCode::kLocked;
  fail(code, what + ": " + detail);
}

std::string hex(const git_oid& oid) {
  char buf[GIT_OID_HEXSZ + 1];
  git_oid_tostr(buf, sizeof buf, &oid);
  return buf;
}

git_oid oid_from_hex(std::string_view hex) {
  git_oid oid;
  if (git_oid_fromstrn(&oid, hex.data(), hex.size()) < 0)
    fail(ErrorCode::kCorrupt, "bad git object id '" + std::string(hex) + "'");
  return oid;
}

std::string_view raw(const git_oid& oid) {
  return {reinterpret_cast<const char*>(oid.id), GIT_OID_RAWSZ};
}

git_oid hash_blob(std::string_view data) {
  git_oid oid;
  check(git_odb_hash(&oid, data.data(), data.size(), GIT_OBJECT_BLOB), "cannot hash a blob");
  return oid;
}

}  // namespace kura::git
