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
    // libgit2 keeps parsed trees of up to 4 KiB only (about 80 entries), so a
    // path look-up in a larger folder read the folder's tree again, and
    // SHA-1-checked it again, for every file (Repo::file_at once per row of
    // a table naming images: 60% of reading such a table). Parsed trees of
    // up to 1 MiB (a fanout bucket holds at most 2,048 entries) stay in its
    // object cache, which keeps its own overall bound (256 MiB).
    git_libgit2_opts(GIT_OPT_SET_CACHE_OBJECT_LIMIT, GIT_OBJECT_TREE, static_cast<size_t>(1) << 20);
  });
}

void check(int rc, const std::string& what) {
  if (rc >= 0) return;
  const git_error* e = git_error_last();
  std::string detail = e && e->message ? e->message : "unknown libgit2 error";
  // libgit2 ends some messages with ": " and an empty OS error (a lock file
  // that exists): never hand on a sentence that stops in the middle.
  while (!detail.empty() && (detail.back() == ' ' || detail.back() == ':' || detail.back() == '\n'))
    detail.pop_back();
  if (detail.find(".lock") != std::string::npos)
    detail += " (another process holds that lock file, or one was killed while holding it: kura removes "
              "such leftovers when it opens the repository; run the command again)";
  ErrorCode code = ErrorCode::kIo;
  if (rc == GIT_ENOTFOUND) code = ErrorCode::kNotFound;
  else if (rc == GIT_EEXISTS || rc == GIT_EMODIFIED || rc == GIT_ECONFLICT) code = ErrorCode::kConflict;
  else if (rc == GIT_EINVALIDSPEC || rc == GIT_EAMBIGUOUS) code = ErrorCode::kInvalidInput;
  else if (rc == GIT_ELOCKED) code = ErrorCode::kLocked;
  fail(code, what + ": " + detail);
}

// Hot in index and tree code (once per file per commit): table code instead
// of libgit2's general-purpose conversions.
std::string hex(const git_oid& oid) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(GIT_OID_HEXSZ, '0');
  char* p = out.data();
  for (size_t i = 0; i < GIT_OID_RAWSZ; ++i) {
    p[2 * i] = kDigits[oid.id[i] >> 4];
    p[2 * i + 1] = kDigits[oid.id[i] & 15];
  }
  return out;
}

namespace {
struct NibbleTable {
  int8_t v[256];
  constexpr NibbleTable() : v() {
    for (int i = 0; i < 256; ++i) v[i] = -1;
    for (int i = 0; i < 10; ++i) v['0' + i] = static_cast<int8_t>(i);
    for (int i = 0; i < 6; ++i) v['a' + i] = v['A' + i] = static_cast<int8_t>(10 + i);
  }
};
constexpr NibbleTable kNibbles;
}  // namespace

git_oid oid_from_hex(std::string_view hex) {
  git_oid oid;
  int bad = hex.size() == GIT_OID_HEXSZ ? 0 : -1;
  for (size_t i = 0; bad == 0 && i < GIT_OID_RAWSZ; ++i) {
    int hi = kNibbles.v[static_cast<unsigned char>(hex[2 * i])];
    int lo = kNibbles.v[static_cast<unsigned char>(hex[2 * i + 1])];
    bad = (hi | lo) & ~15;
    oid.id[i] = static_cast<unsigned char>(hi << 4 | lo);
  }
  if (bad) fail(ErrorCode::kCorrupt, "bad git object id '" + std::string(hex) + "'");
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
