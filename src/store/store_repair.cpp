// The store's integrity side: which file holds which table, reading a table
// past a damaged block, and rebuilding a table without its damaged files.
#include <rocksdb/metadata.h>
#include <rocksdb/sst_file_reader.h>
#include <rocksdb/write_batch.h>

#include <regex>
#include <set>

#include "kura/error.hpp"
#include "store/store_impl.hpp"

namespace kura {

namespace fs = std::filesystem;

namespace {

constexpr size_t kBatchBytes = 32 << 20;

rocksdb::Slice slice(std::string_view s) { return {s.data(), s.size()}; }

std::vector<StoreFile> live_files(rocksdb::DB& db, const std::vector<rocksdb::ColumnFamilyHandle*>& handles) {
  std::vector<StoreFile> out;
  std::vector<rocksdb::LiveFileMetaData> ssts;
  db.GetLiveFilesMetaData(&ssts);
  for (const auto& f : ssts) {
    StoreFile file;
    file.table = f.column_family_name;
    file.path = fs::path(f.directory) / f.relative_filename;
    file.size = f.size;
    file.smallest = f.smallestkey;
    file.largest = f.largestkey;
    out.push_back(std::move(file));
  }
  for (auto* h : handles) {
    rocksdb::ColumnFamilyMetaData meta;
    db.GetColumnFamilyMetaData(h, &meta);
    for (const auto& b : meta.blob_files) {
      StoreFile file;
      file.table = meta.name;
      file.path = fs::path(b.blob_file_path) / fs::path(b.blob_file_name).filename();
      file.kind = StoreFile::Kind::kBlob;
      file.size = b.blob_file_size;
      out.push_back(std::move(file));
    }
  }
  return out;
}

}  // namespace

std::string file_named_in(const std::string& message) {
  static const std::regex file(R"((/[^ :]*/)?[0-9]{6,}\.(sst|blob))");
  std::smatch m;
  return std::regex_search(message, m, file) ? m.str(0) : std::string();
}

std::string reason_of(const rocksdb::Status& s) {
  std::string text = s.getState() ? s.getState() : s.ToString();
  if (text.find("too short") != std::string::npos || text.find("truncated") != std::string::npos)
    return "truncated";
  if (text.find("No such file") != std::string::npos || s.IsPathNotFound()) return "missing";
  if (text.find("checksum mismatch") != std::string::npos) return "checksum mismatch";
  const std::string file = file_named_in(text);
  if (!file.empty()) text.erase(text.find(file), file.size());
  while (!text.empty() && (text.back() == ' ' || text.back() == ':')) text.pop_back();
  return text.empty() ? "unreadable" : text;
}

std::string explain_damaged_file(const fs::path& dir, const std::string& message) {
  const std::string named = file_named_in(message);
  const std::string base = fs::path(named).filename().string();
  std::string table;
  try {
    auto store = Store::open(dir, false, Access::kInspect);
    for (const auto& f : store->files())
      if (f.path.filename() == base) table = f.table;
  } catch (const Error&) {
    // The store does not open even tolerantly: the message names the file only.
  }
  const std::string reason = message.find("too short") != std::string::npos    ? "truncated"
                             : message.find("No such file") != std::string::npos ? "missing"
                                                                                   : "damaged";
  return "the store file " + (dir / base).string() + (table.empty() ? "" : " (table " + table + ")") + " is " +
         reason + "; run 'kura fsck' to see what it affects and 'kura fsck --repair' to repair the store";
}

std::vector<std::string> Store::table_names() { return {kFamilyNames + 1, kFamilyNames + kFamilyCount}; }

std::vector<StoreFile> Store::files() const {
  std::vector<rocksdb::ColumnFamilyHandle*> families(impl_->handles.begin(), impl_->handles.begin() + kFamilyCount);
  auto out = live_files(*impl_->db, families);
  std::erase_if(out, [](const StoreFile& f) { return f.table == rocksdb::kDefaultColumnFamilyName; });
  return out;
}

void Store::verify(std::string_view table, const std::vector<std::string>& known_keys,
                   const std::function<void(std::string_view, std::string_view)>& fn,
                   std::vector<StoreDamage>& damage) const {
  const size_t at = impl_->family(table);
  rocksdb::ColumnFamilyHandle* h = impl_->handles[at];
  rocksdb::ReadOptions ro;
  ro.verify_checksums = true;
  ro.fill_cache = false;
  std::set<std::string> files_damaged;
  auto note = [&](const std::string& key, const rocksdb::Status& s) {
    const std::string file = file_named_in(s.ToString());
    if (key.empty() && !files_damaged.insert(file).second) return;
    damage.push_back({std::string(table), key, file, reason_of(s)});
  };
  std::string last;
  bool whole = true;
  {
    std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro, h));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      fn(it->key().ToStringView(), it->value().ToStringView());
      last = it->key().ToString();
    }
    if (!it->status().ok()) {
      whole = false;
      note("", it->status());
    }
  }
  if (whole) return;
  // Past the damage: every key that something else knows of, read on its own.
  std::set<std::string> keys(known_keys.begin(), known_keys.end());
  {
    rocksdb::ReadOptions memtable = ro;
    memtable.read_tier = rocksdb::kMemtableTier;
    std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(memtable, h));
    for (it->SeekToFirst(); it->Valid(); it->Next()) keys.insert(it->key().ToString());
  }
  rocksdb::Options options(rocksdb::DBOptions(), impl_->descriptors[at].options);
  for (const auto& f : files()) {
    if (f.table != table || f.kind != StoreFile::Kind::kTable) continue;
    rocksdb::SstFileReader reader(options);
    rocksdb::Status s = reader.Open(f.path.string());
    if (s.ok()) {
      std::unique_ptr<rocksdb::Iterator> it(reader.NewIterator(ro));
      for (it->SeekToFirst(); it->Valid(); it->Next()) keys.insert(it->key().ToString());
      s = it->status();
    }
    // A blob reference cannot be resolved by a lone file: not damage.
    if (!s.ok() && !s.IsNotSupported()) {
      if (file_named_in(s.ToString()).empty()) s = rocksdb::Status::Corruption(s.ToString(), f.path.string());
      note("", s);
    }
  }
  const size_t first_keyed = damage.size();
  for (auto k = keys.upper_bound(last); k != keys.end(); ++k) {
    std::string value;
    rocksdb::Status s = impl_->db->Get(ro, h, slice(*k), &value);
    if (s.ok())
      fn(*k, value);
    else if (!s.IsNotFound())
      note(*k, s);
  }
  // A blob record holds one value (RocksDB names no file for it): once its
  // key is named, the table-wide entry for it says nothing more.
  std::erase_if(damage, [&](const StoreDamage& d) {
    if (!d.key.empty() || d.table != table || fs::path(d.file).extension() == ".sst") return false;
    for (size_t i = first_keyed; i < damage.size(); ++i)
      if (damage[i].file == d.file && !damage[i].key.empty()) return true;
    return false;
  });
}

std::optional<std::string> Store::Impl::pending_rebuild() const {
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), handles[0]));
  it->Seek(slice(kRebuildMarker));
  if (!it->Valid() || !it->key().starts_with(slice(kRebuildMarker))) return std::nullopt;
  return it->key().ToString().substr(kRebuildMarker.size());
}

namespace {

// Copies every entry of `from` to `to` (no WAL), then flushes `to`.
void copy_family(rocksdb::DB& db, rocksdb::ColumnFamilyHandle* from, rocksdb::ColumnFamilyHandle* to) {
  std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(rocksdb::ReadOptions(), from));
  rocksdb::WriteBatch batch;
  rocksdb::WriteOptions wo;
  wo.disableWAL = true;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    check(batch.Put(to, it->key(), it->value()), "cannot rebuild a table");
    if (batch.GetDataSize() > kBatchBytes) {
      check(db.Write(wo, &batch), "cannot rebuild a table");
      batch.Clear();
    }
  }
  check(it->status(), "cannot read the copy of a table being rebuilt");
  check(db.Write(wo, &batch), "cannot rebuild a table");
  rocksdb::FlushOptions fo;
  check(db.Flush(fo, to), "cannot flush a rebuilt table");
}

}  // namespace

// Steps 2 and 3 of a rebuild: the table afresh, the copy back, the copy gone.
void Store::Impl::finish_rebuild(size_t at, rocksdb::ColumnFamilyHandle* copy) {
  Impl& I = *this;
  rocksdb::DB& db = *I.db;
  const std::string name = kFamilyNames[at];
  check(db.DropColumnFamily(I.handles[at]), "cannot drop table " + name);
  check(db.DestroyColumnFamilyHandle(I.handles[at]), "cannot drop table " + name);
  I.handles[at] = nullptr;
  check(db.CreateColumnFamily(I.descriptors[at].options, name, &I.handles[at]), "cannot create table " + name);
  I.bind();
  copy_family(db, copy, I.handles[at]);
  rocksdb::WriteOptions sync;
  sync.sync = true;
  check(db.Delete(sync, I.handles[0], std::string(kRebuildMarker) + name), "cannot finish rebuilding " + name);
  check(db.DropColumnFamily(copy), "cannot drop the copy of " + name);
  check(db.DestroyColumnFamilyHandle(copy), "cannot drop the copy of " + name);
}

void Store::Impl::finish_rebuilds() {
  while (handles.size() > kFamilyCount) {
    rocksdb::ColumnFamilyHandle* copy = handles.back();
    handles.pop_back();
    const std::string name = copy->GetName().substr(kRepairPrefix.size());
    std::string marker;
    const bool complete = db->Get(rocksdb::ReadOptions(), handles[0], std::string(kRebuildMarker) + name, &marker).ok();
    if (complete) {
      finish_rebuild(family(name), copy);
    } else {  // the copy was never finished: the table itself is untouched
      check(db->DropColumnFamily(copy), "cannot drop the copy of " + name);
      check(db->DestroyColumnFamilyHandle(copy), "cannot drop the copy of " + name);
    }
  }
}

uint64_t Store::rebuild(std::string_view table, const std::vector<std::string>& known_keys,
                        const std::function<bool(std::string_view, std::string_view)>& keep) {
  Impl& I = *impl_;
  if (I.read_only) fail(ErrorCode::kIo, "the store " + I.dir.string() + " is open read-only; cannot rebuild " + std::string(table));
  const size_t at = I.family(table);
  const std::string name = kFamilyNames[at];
  rocksdb::ColumnFamilyHandle* copy = nullptr;
  check(I.db->CreateColumnFamily(I.descriptors[at].options, std::string(kRepairPrefix) + name, &copy),
        "cannot create a copy of table " + name);
  uint64_t kept = 0;
  rocksdb::WriteBatch batch;
  rocksdb::WriteOptions wo;
  wo.disableWAL = true;
  std::vector<StoreDamage> ignored;  // the caller has reported the damage already
  verify(table, known_keys, [&](std::string_view key, std::string_view value) {
    if (!keep(key, value)) return;
    ++kept;
    check(batch.Put(copy, slice(key), slice(value)), "cannot copy table " + name);
    if (batch.GetDataSize() > kBatchBytes) {
      check(I.db->Write(wo, &batch), "cannot copy table " + name);
      batch.Clear();
    }
  }, ignored);
  check(I.db->Write(wo, &batch), "cannot copy table " + name);
  check(I.db->Flush(rocksdb::FlushOptions(), copy), "cannot flush the copy of table " + name);
  rocksdb::WriteOptions sync;
  sync.sync = true;
  check(I.db->Put(sync, I.handles[0], std::string(kRebuildMarker) + name, ""), "cannot rebuild table " + name);
  I.finish_rebuild(at, copy);
  return kept;
}

}  // namespace kura
