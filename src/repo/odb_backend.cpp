#include "repo/odb_backend.hpp"

#include <git2/sys/odb_backend.h>
#include <git2/sys/repository.h>

#include <cstring>
#include <ctime>

#include "kura/error.hpp"
#include "kura/store.hpp"
#include "repo/git.hpp"

namespace kura {

namespace {

struct StoreBackend {
  git_odb_backend parent;  // must come first: libgit2 casts
  Store* store;
};

Store& store_of(git_odb_backend* b) { return *reinterpret_cast<StoreBackend*>(b)->store; }

std::string key(const git_oid* oid) { return std::string(git::raw(*oid)); }

// Exceptions must not unwind through libgit2's C frames.
template <typename F>
int guarded(F&& f) {
  try {
    return f();
  } catch (const std::exception& e) {
    git_error_set_str(GIT_ERROR_ODB, e.what());
    return GIT_ERROR;
  }
}

int copy_out(git_odb_backend* b, std::string_view data, void** out, size_t* len) {
  void* buf = git_odb_backend_data_alloc(b, data.size() + 1);
  if (!buf) return GIT_ERROR;
  std::memcpy(buf, data.data(), data.size());
  static_cast<char*>(buf)[data.size()] = '\0';
  *out = buf;
  *len = data.size();
  return 0;
}

int read_value(git_odb_backend* b, const git_oid* oid, std::string* value, git_object_t* type,
               std::string_view* data) {
  auto v = store_of(b).get(Table::kGit, key(oid));
  if (!v) return GIT_ENOTFOUND;
  *value = std::move(*v);
  int64_t time;
  if (!decode_git_value(*value, type, &time, data)) {
    git_error_set_str(GIT_ERROR_ODB, ("git object " + git::hex(*oid) + " is malformed in the store").c_str());
    return GIT_ERROR;
  }
  return 0;
}

int b_read(void** out, size_t* len, git_object_t* type, git_odb_backend* b, const git_oid* oid) {
  return guarded([&] {
    std::string value;
    std::string_view data;
    int rc = read_value(b, oid, &value, type, &data);
    return rc < 0 ? rc : copy_out(b, data, out, len);
  });
}

int b_read_header(size_t* len, git_object_t* type, git_odb_backend* b, const git_oid* oid) {
  return guarded([&] {
    std::string value;
    std::string_view data;
    int rc = read_value(b, oid, &value, type, &data);
    if (rc == 0) *len = data.size();
    return rc;
  });
}

// Finds the unique object whose id starts with the first `hex_len` hex digits of `short_id`.
int find_prefix(git_odb_backend* b, const git_oid* short_id, size_t hex_len, git_oid* found) {
  const size_t bytes = (hex_len + 1) / 2;
  std::string prefix(reinterpret_cast<const char*>(short_id->id), bytes);
  int matches = 0;
  store_of(b).scan(Table::kGit, std::string_view(prefix).substr(0, hex_len / 2),
                   [&](std::string_view k, std::string_view) {
                     git_oid candidate;
                     std::memcpy(candidate.id, k.data(), GIT_OID_RAWSZ);
                     if (git_oid_ncmp(&candidate, short_id, hex_len) != 0) return matches == 0;
                     if (++matches == 1) *found = candidate;
                     return matches < 2;
                   });
  if (matches == 0) return GIT_ENOTFOUND;
  if (matches > 1) {
    git_error_set_str(GIT_ERROR_ODB, "short object id is ambiguous; give more digits");
    return GIT_EAMBIGUOUS;
  }
  return 0;
}

int b_read_prefix(git_oid* out_oid, void** out, size_t* len, git_object_t* type, git_odb_backend* b,
                  const git_oid* short_id, size_t hex_len) {
  return guarded([&] {
    int rc = find_prefix(b, short_id, hex_len, out_oid);
    if (rc < 0) return rc;
    return b_read(out, len, type, b, out_oid);
  });
}

int b_exists(git_odb_backend* b, const git_oid* oid) {
  return guarded([&] { return store_of(b).get(Table::kGit, key(oid)) ? 1 : 0; });
}

int b_exists_prefix(git_oid* out, git_odb_backend* b, const git_oid* short_id, size_t hex_len) {
  return guarded([&] { return find_prefix(b, short_id, hex_len, out); });
}

int b_write(git_odb_backend* b, const git_oid* oid, const void* data, size_t len, git_object_t type) {
  return guarded([&] {
    store_of(b).put(Table::kGit, key(oid),
                    encode_git_value(type, {static_cast<const char*>(data), len}));
    return 0;
  });
}

int b_foreach(git_odb_backend* b, git_odb_foreach_cb cb, void* payload) {
  return guarded([&] {
    int rc = 0;
    store_of(b).scan(Table::kGit, "", [&](std::string_view k, std::string_view) {
      if (k.size() != GIT_OID_RAWSZ) return true;
      git_oid oid;
      std::memcpy(oid.id, k.data(), GIT_OID_RAWSZ);
      rc = cb(&oid, payload);
      return rc == 0;
    });
    return rc;
  });
}

void b_free(git_odb_backend* b) { delete reinterpret_cast<StoreBackend*>(b); }

}  // namespace

std::string encode_git_value(git_object_t type, std::string_view data) {
  std::string out;
  out.reserve(9 + data.size());
  out.push_back(static_cast<char>(type));
  uint64_t t = static_cast<uint64_t>(std::time(nullptr));
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(t >> (8 * i)));
  out.append(data);
  return out;
}

bool decode_git_value(std::string_view value, git_object_t* type, int64_t* time, std::string_view* data) {
  if (value.size() < 9) return false;
  int t = static_cast<uint8_t>(value[0]);
  if (t != GIT_OBJECT_COMMIT && t != GIT_OBJECT_TREE && t != GIT_OBJECT_BLOB && t != GIT_OBJECT_TAG)
    return false;
  *type = static_cast<git_object_t>(t);
  uint64_t ts = 0;
  for (int i = 0; i < 8; ++i) ts |= uint64_t(uint8_t(value[1 + i])) << (8 * i);
  *time = static_cast<int64_t>(ts);
  *data = value.substr(9);
  return true;
}

void attach_store_backend(git_repository* repo, Store& store) {
  auto* backend = new StoreBackend{};
  git::check(git_odb_init_backend(&backend->parent, GIT_ODB_BACKEND_VERSION), "cannot set up the object database");
  backend->store = &store;
  backend->parent.read = b_read;
  backend->parent.read_prefix = b_read_prefix;
  backend->parent.read_header = b_read_header;
  backend->parent.write = b_write;
  backend->parent.exists = b_exists;
  backend->parent.exists_prefix = b_exists_prefix;
  backend->parent.foreach = b_foreach;
  backend->parent.free = b_free;
  // The store is the only object database: libgit2 tries every backend in
  // turn, so with its loose-object backend beside ours a failed store write
  // would quietly land in .kura/git/objects/, where fsck, gc and push never look.
  git_odb* odb = nullptr;
  git::check(git_odb_new(&odb), "cannot create the object database");
  git::Odb owner(odb);
  int rc = git_odb_add_backend(odb, &backend->parent, 1000);
  if (rc < 0) delete backend;  // not owned by the odb on failure
  git::check(rc, "cannot attach the store to the object database");
  git::check(git_repository_set_odb(repo, odb), "cannot attach the store to the repository");
}

}  // namespace kura
