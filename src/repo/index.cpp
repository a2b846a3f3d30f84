#include "repo/index.hpp"

#include <cstring>

#include "kura/error.hpp"
#include "objects/codec.hpp"
#include "repo/git.hpp"

namespace kura {

namespace {
constexpr char kEntryVersion = 1;
}

std::string encode_entry(const FileEntry& e) {
  std::string out;
  out.push_back(kEntryVersion);
  put_varint(out, e.mode);
  out.push_back(static_cast<char>(e.pointer.kind));
  put_id(out, e.pointer.object);
  put_varint(out, e.pointer.size);
  put_varint(out, e.pointer.rows);
  put_id(out, e.pointer.file_sha);
  git_oid oid;
  if (git_oid_fromstrn(&oid, e.pointer_oid.data(), e.pointer_oid.size()) < 0)
    std::memset(&oid, 0, sizeof oid);
  out.append(reinterpret_cast<const char*>(oid.id), GIT_OID_RAWSZ);
  return out;
}

namespace {
FileEntry read_entry(std::string_view path, Reader& in) {
  FileEntry e;
  e.path = std::string(path);
  if (in.byte() != kEntryVersion) in.corrupt();
  e.mode = static_cast<uint32_t>(in.varint());
  uint8_t kind = in.byte();
  if (kind < 1 || kind > 3) in.corrupt();
  e.pointer.kind = static_cast<FileKind>(kind);
  e.pointer.object = in.id();
  e.pointer.size = in.varint();
  e.pointer.rows = in.varint();
  e.pointer.file_sha = in.id();
  git_oid oid;
  std::memcpy(oid.id, in.take(GIT_OID_RAWSZ).data(), GIT_OID_RAWSZ);
  e.pointer_oid = git::hex(oid);
  return e;
}
}  // namespace

FileEntry decode_entry(std::string_view path, std::string_view bytes) {
  Reader in(bytes, "index entry for ", path);
  FileEntry e = read_entry(path, in);
  if (!in.done()) in.corrupt();
  return e;
}

StatPrint StatPrint::of(const struct stat& st) {
  StatPrint p;
  p.size = static_cast<uint64_t>(st.st_size);
  p.ino = st.st_ino;
  p.dev = st.st_dev;
  p.mtime_ns = int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  p.ctime_ns = int64_t(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec;
  p.mode = st.st_mode;
  return p;
}

std::string encode_cached(const CachedEntry& c) {
  std::string out;
  put_varint(out, c.stat.size);
  put_varint(out, c.stat.ino);
  put_varint(out, c.stat.dev);
  put_varint(out, static_cast<uint64_t>(c.stat.mtime_ns));
  put_varint(out, static_cast<uint64_t>(c.stat.ctime_ns));
  put_varint(out, c.stat.mode);
  out += encode_entry(c.entry);
  return out;
}

std::optional<CachedEntry> decode_cached(std::string_view path, std::string_view bytes) {
  // A damaged cache entry is only a cache miss: the file gets hashed again.
  try {
    Reader in(bytes, "stat cache entry");
    CachedEntry c;
    c.stat.size = in.varint();
    c.stat.ino = in.varint();
    c.stat.dev = in.varint();
    c.stat.mtime_ns = static_cast<int64_t>(in.varint());
    c.stat.ctime_ns = static_cast<int64_t>(in.varint());
    c.stat.mode = static_cast<uint32_t>(in.varint());
    c.entry = read_entry(path, in);
    return c;
  } catch (const Error&) {
    return std::nullopt;
  }
}

std::map<std::string, FileEntry> load_index(const Store& store) {
  std::map<std::string, FileEntry> out;
  store.scan(Table::kIndex, "", [&](std::string_view key, std::string_view value) {
    out.emplace_hint(out.end(), std::string(key), decode_entry(key, value));
    return true;
  });
  return out;
}

std::map<std::string, FileEntry> load_index(const Store& store, const std::vector<std::string>& specs) {
  for (const auto& spec : specs)
    if (spec.empty()) return load_index(store);
  std::map<std::string, FileEntry> out;
  auto exact = [&](const std::string& path) {
    if (out.count(path)) return;
    if (auto value = store.get(Table::kIndex, path)) out.emplace(path, decode_entry(path, *value));
  };
  for (const auto& spec : specs) {
    exact(spec);
    for (size_t pos = spec.find('/'); pos != std::string::npos; pos = spec.find('/', pos + 1))
      exact(spec.substr(0, pos));
    store.scan(Table::kIndex, spec + "/", [&](std::string_view key, std::string_view value) {
      out.emplace(std::string(key), decode_entry(key, value));
      return true;
    });
  }
  return out;
}

std::vector<TreeItem> load_tree_items(const Store& store) {
  std::vector<TreeItem> out;
  store.scan(Table::kIndex, "", [&](std::string_view key, std::string_view value) {
    // version | varint mode | ... | 20-byte pointer blob id (see the top of index.hpp)
    Reader in(value, "index entry for ", key);
    if (value.size() < 2 + GIT_OID_RAWSZ || in.byte() != kEntryVersion) in.corrupt();
    TreeItem item;
    item.path = std::string(key);
    item.mode = static_cast<uint32_t>(in.varint());
    std::memcpy(item.oid.id, value.data() + value.size() - GIT_OID_RAWSZ, GIT_OID_RAWSZ);
    out.push_back(std::move(item));
    return true;
  });
  return out;
}

uint32_t git_mode(const struct stat& st) {
  if (S_ISLNK(st.st_mode)) return 0120000;
  return (st.st_mode & 0111) ? 0100755 : 0100644;
}

}  // namespace kura
