#include "kura/store.hpp"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/cache.h>
#include <rocksdb/table.h>
#include <rocksdb/transaction_log.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/write_batch.h>

#include <cassert>
#include <cctype>
#include <ctime>
#include <mutex>

#include "kura/error.hpp"
#include "store/fault_fs.hpp"
#include "store/store_impl.hpp"
#include "util/fault.hpp"

namespace kura {

namespace fs = std::filesystem;

namespace {


std::string encode_time(int64_t t) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(uint64_t(t) >> (8 * i));
  return out;
}

int64_t decode_time(std::string_view v) {
  uint64_t t = 0;
  for (size_t i = 0; i < 8 && i < v.size(); ++i) t |= uint64_t(uint8_t(v[i])) << (8 * i);
  return static_cast<int64_t>(t);
}

rocksdb::Slice slice(std::string_view s) { return {s.data(), s.size()}; }

}  // namespace

// Translates a RocksDB status once, here; nothing above sees rocksdb::Status.
void check(const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) return;
  ErrorCode code = s.IsCorruption() ? ErrorCode::kCorrupt : ErrorCode::kIo;
  if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) code = ErrorCode::kLocked;
  const std::string file = file_named_in(s.ToString());
  if (!file.empty() && code != ErrorCode::kLocked)
    fail(ErrorCode::kCorrupt, what + ": the store file " + file + " is damaged (" + reason_of(s) +
                                  "); run 'kura fsck' to see what it affects, 'kura fsck --repair' to repair");
  fail(code, what + ": " + s.ToString());
}

struct TableBatch::Impl {
  std::vector<std::tuple<Table, std::string, std::string, bool>> ops;  // resolved by Store
};

TableBatch::TableBatch() : impl_(std::make_unique<Impl>()) {}
TableBatch::~TableBatch() = default;
TableBatch::TableBatch(TableBatch&&) noexcept = default;
TableBatch& TableBatch::operator=(TableBatch&&) noexcept = default;
void TableBatch::put(Table table, std::string_view key, std::string_view value) {
  impl_->ops.emplace_back(table, std::string(key), std::string(value), true);
}
void TableBatch::erase(Table table, std::string_view key) {
  impl_->ops.emplace_back(table, std::string(key), std::string(), false);
}
size_t TableBatch::size() const { return impl_->ops.size(); }

void Store::Impl::before_write() {
  std::lock_guard<std::mutex> g(failure_mu);
  if (!failure.empty())
    fail(ErrorCode::kIo, "the store took no more writes after an earlier failure in this command (" + failure +
                             "); nothing after it was written: fix the cause and run the command again");
}

void Store::Impl::after_write(const rocksdb::Status& s, const std::string& what) {
  if (!s.ok()) {
    std::lock_guard<std::mutex> g(failure_mu);
    if (failure.empty()) failure = what + ": " + s.ToString();
  }
  check(s, what);
}

Store::Impl::~Impl() {
  if (db && !read_only && failure.empty()) {
    // Opens skip the flush of the replayed log (cheap commands); fold the
    // logs into tables once they pile up or grow past a megabyte (a
    // commit of a large tree), so that every later open replays little.
    rocksdb::VectorLogPtr logs;
    uint64_t log_bytes = 0;
    const bool listed = db->GetSortedWalFiles(logs).ok();
    for (const auto& log : logs) log_bytes += log->SizeFileBytes();
    if (listed && (logs.size() > 8 || log_bytes > (1u << 20))) {
      rocksdb::FlushOptions fo;
      std::ignore = db->Flush(fo, handles);  // best effort: the logs still hold the data
    }
  }
  if (db) {
    for (auto* h : handles) std::ignore = db->DestroyColumnFamilyHandle(h);  // closing anyway
    std::ignore = db->Close();
  }
}

size_t Store::Impl::family(std::string_view name) const {
  for (size_t i = 1; i < kFamilyCount; ++i)
    if (name == kFamilyNames[i]) return i;
  fail(ErrorCode::kInvalidInput, "the store has no table '" + std::string(name) + "'");
}

void Store::Impl::bind() {
  objects = handles[1];
  times = handles[2];
  for (size_t i = kFirstTable; i < kFamilyCount; ++i) tables[i - kFirstTable] = handles[i];
}

Store::Store() : impl_(std::make_unique<Impl>()) {}
Store::~Store() = default;

bool Store::writable() const { return !impl_->read_only; }

std::unique_ptr<Store> Store::open(const fs::path& dir, bool create, Access access) {
  rocksdb::DBOptions db_options;
  // Every kura command opens the store: keep opening cheap (no flush of the
  // replayed log, no reading of every table's statistics).
  db_options.avoid_flush_during_recovery = true;
  db_options.skip_stats_update_on_db_open = true;
  db_options.skip_checking_sst_file_sizes_on_db_open = true;
  db_options.max_file_opening_threads = 1;  // default 16 threads per column family, per open
  db_options.create_if_missing = create;
  db_options.create_missing_column_families = true;
  // Objects skip the WAL; an atomic flush makes an object and its time
  // durable together (sync_objects).
  db_options.atomic_flush = true;
  // Two flush threads: while one writes a memtable's blobs to disk (CRC32C
  // and the copy into the page cache: the slowest step of 'kura add'),
  // the other can write the next one.
  db_options.max_background_flushes = 2;
  db_options.max_background_compactions = 1;
  db_options.keep_log_file_num = 3;
  db_options.max_total_wal_size = 256 << 20;

  // One block cache for every column family (the default is one each).
  rocksdb::BlockBasedTableOptions table_options;
  table_options.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table_options.block_cache = rocksdb::NewLRUCache(64 << 20);
  // Every block read is verified. Debian's RocksDB computes CRC32C in
  // software (a portable build), which made block checksums a tenth of
  // 'kura status'; XXH3 is several times faster (RocksDB 8's default).
  // Tables keep the checksum type they were written with.
  table_options.checksum = rocksdb::kXXH3;

  rocksdb::ColumnFamilyOptions small;
  small.compression = rocksdb::kLZ4Compression;
  small.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table_options));
  small.write_buffer_size = 8 << 20;
  // Universal compaction: every commit flushes a small file of new entries
  // (objects skip the WAL, see sync_objects). Leveled compaction merged every
  // four of those into the one big file under them, rewriting the whole key
  // space (11 MB for 100,000 files) every fourth commit; universal merges
  // small runs with small runs and the big one only when space grows.
  small.compaction_style = rocksdb::kCompactionStyleUniversal;

  rocksdb::ColumnFamilyOptions objects = small;
  // Small memtables, recycled often: memory the process has touched before
  // is cheap, fresh pages are not (zeroed by the kernel, and on a VM first
  // backed by the host). Measured adding 1 GB of JPEGs (CPU seconds, all
  // threads): 128 MB x 3 -> 4.6 s and 400 MB resident; 32 MB x 4 -> 3.5 s;
  // 16 MB -> 3.4 s and 100 MB; 8 MB -> 3.8 s. Each flush starts a blob
  // file, so 32 MB memtables make about 32 blob files per GB added.
  objects.write_buffer_size = 32 << 20;
  objects.max_write_buffer_number = 4;
  objects.enable_blob_files = true;
  objects.min_blob_size = 2048;
  objects.blob_file_size = 256 << 20;
  objects.blob_compression_type = rocksdb::kNoCompression;  // media is compressed already
  // Blob garbage collection relocates live blobs while compacting: only
  // `kura gc` (compact()) asks for it, so that adding data writes it once.
  objects.enable_blob_garbage_collection = false;

  const bool tolerant = access == Access::kInspect || access == Access::kRepair;
  if (tolerant) {
    // fsck: a damaged or missing table file must not stop the open (RocksDB
    // then fails only the reads that need it, which fsck reports one by one),
    // and no background compaction may trip over it while repairing.
    db_options.paranoid_checks = false;
    small.disable_auto_compactions = true;
    objects.disable_auto_compactions = true;
  }

  auto store = std::unique_ptr<Store>(new Store());
  auto& impl = *store->impl_;
  impl.dir = dir;
  impl.read_only = access == Access::kReadOnly || access == Access::kInspect;
  if (fault::installed()) {
    impl.fault_env = make_fault_env();
    db_options.env = impl.fault_env.get();
  }
  impl.descriptors = {{rocksdb::kDefaultColumnFamilyName, small}, {"objects", objects}};
  for (size_t i = 2; i < kFamilyCount; ++i) impl.descriptors.emplace_back(kFamilyNames[i], small);
  auto descriptors = impl.descriptors;
  rocksdb::DB* raw = nullptr;
  auto try_open = [&] {
    return impl.read_only ? rocksdb::DB::OpenForReadOnly(db_options, dir.string(), descriptors, &impl.handles, &raw)
                          : rocksdb::DB::Open(db_options, dir.string(), descriptors, &impl.handles, &raw);
  };
  rocksdb::Status s = try_open();
  if (!s.ok() && !impl.read_only && s.IsInvalidArgument()) {
    // A rebuild interrupted by a crash left a repair.* family: open it too.
    std::vector<std::string> names;
    if (rocksdb::DB::ListColumnFamilies(db_options, dir.string(), &names).ok()) {
      for (const auto& name : names)
        if (name.rfind(kRepairPrefix, 0) == 0) descriptors.emplace_back(name, name == "repair.objects" ? objects : small);
      s = try_open();
    }
  }
  if (!s.ok()) {
    if (s.IsIOError() && s.ToString().find("LOCK") != std::string::npos)
      fail(ErrorCode::kLocked, "store " + dir.string() + " is in use by another process");
    if (!tolerant && !file_named_in(s.ToString()).empty())
      fail(ErrorCode::kCorrupt, explain_damaged_file(dir, s.ToString()));
    check(s, "cannot open the store " + dir.string());
  }
  impl.db.reset(raw);
  impl.bind();
  if (!impl.read_only) impl.finish_rebuilds();
  else if (auto pending = impl.pending_rebuild())
    fail(ErrorCode::kCorrupt, "table " + *pending + " of the store " + dir.string() +
                                  " is half rebuilt (a 'kura fsck --repair' was interrupted); run 'kura fsck --repair'");
  return store;
}

ObjectId Store::put_object(std::string_view bytes) {
  ObjectId id = sha256(bytes);
  put_object(id, bytes);
  return id;
}

void Store::put_object(const ObjectId& id, std::string_view bytes) {
  std::lock_guard<std::mutex> guard(impl_->stripes[id.bytes[0] % 64]);
  if (has_object(id)) {
    ++counters_.objects_deduped;
    return;
  }
  rocksdb::WriteBatch batch;
  check(batch.Put(impl_->objects, slice(id.raw()), slice(bytes)), "cannot store object");
  check(batch.Put(impl_->times, slice(id.raw()), encode_time(std::time(nullptr))),
        "cannot store object");
  rocksdb::WriteOptions wo;
  wo.disableWAL = true;
  impl_->before_write();
  impl_->after_write(impl_->db->Write(wo, &batch), "cannot store object " + id.hex());
  ++counters_.objects_written;
  counters_.bytes_written += bytes.size();
}

bool Store::has_object(const ObjectId& id) const {
  rocksdb::PinnableSlice v;
  auto s = impl_->db->Get(rocksdb::ReadOptions(), impl_->times, slice(id.raw()), &v);
  if (s.IsNotFound()) return false;
  check(s, "cannot read the store");
  return true;
}

std::optional<int64_t> Store::object_time(const ObjectId& id) const {
  rocksdb::PinnableSlice v;
  auto s = impl_->db->Get(rocksdb::ReadOptions(), impl_->times, slice(id.raw()), &v);
  if (s.IsNotFound()) return std::nullopt;
  check(s, "cannot read the store");
  return decode_time(v.ToStringView());
}

std::optional<std::string> Store::get_object(const ObjectId& id) const {
  std::string v;
  auto s = impl_->db->Get(rocksdb::ReadOptions(), impl_->objects, slice(id.raw()), &v);
  if (s.IsNotFound()) {
    auto fn = std::atomic_load(&missing_object_fn_);
    return fn && *fn ? (*fn)(id) : std::nullopt;
  }
  check(s, "cannot read object " + id.hex());
  ++counters_.objects_read;
  return v;
}

std::string Store::read_object(const ObjectId& id) const {
  auto v = get_object(id);
  if (!v) fail(ErrorCode::kNotFound, "object " + id.hex() + " not found in the store; run 'kura fsck'");
  return std::move(*v);
}

std::vector<std::optional<std::string>> Store::get_objects(const std::vector<ObjectId>& ids,
                                                          ObjectCheck object_check) const {
  std::vector<std::optional<std::string>> out(ids.size());
  constexpr size_t kBatch = 1024;
  rocksdb::ReadOptions ro;
  ro.verify_checksums = false;  // see ObjectCheck: the caller's SHA-256 checks every byte instead
  std::vector<rocksdb::Slice> slices;
  std::vector<rocksdb::PinnableSlice> values;
  std::vector<rocksdb::Status> statuses;
  auto fn = std::atomic_load(&missing_object_fn_);
  for (size_t start = 0; start < ids.size(); start += kBatch) {
    const size_t n = std::min(kBatch, ids.size() - start);
    slices.clear();
    for (size_t i = 0; i < n; ++i) slices.push_back(slice(ids[start + i].raw()));
    values = std::vector<rocksdb::PinnableSlice>(n);
    statuses = std::vector<rocksdb::Status>(n);
    impl_->db->MultiGet(ro, impl_->objects, n, slices.data(), values.data(), statuses.data());
    for (size_t i = 0; i < n; ++i) {
      const ObjectId& id = ids[start + i];
      if (statuses[i].IsNotFound()) {
        if (fn && *fn) out[start + i] = (*fn)(id);  // verified by the fetcher
        continue;
      }
      check(statuses[i], "cannot read object " + id.hex());
      ++counters_.objects_read;
      if (object_check == ObjectCheck::kSha256 && sha256(values[i].ToStringView()) != id)
        fail(ErrorCode::kCorrupt, "object " + id.hex() + " in the store does not match its SHA-256 (damaged on disk); "
                                  "run 'kura fsck' to see what it affects, 'kura fsck --repair --from REMOTE' to repair");
      out[start + i] = values[i].ToString();
    }
  }
  return out;
}

void Store::for_each_object_id(const std::function<bool(const ObjectId&, int64_t)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->times));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto id = ObjectId::from_raw(it->key().ToStringView());
    if (!id) continue;
    if (!fn(*id, decode_time(it->value().ToStringView()))) break;
  }
  check(it->status(), "cannot read the store");
}

std::vector<ObjectId> Store::find_objects(std::string_view hex_prefix, size_t limit) const {
  std::string prefix(hex_prefix);
  for (char& c : prefix) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (prefix.size() > 2 * ObjectId::kSize ||
      prefix.find_first_not_of("0123456789abcdef") != std::string::npos)
    fail(ErrorCode::kInvalidInput, "'" + std::string(hex_prefix) + "' is not an object id (up to 64 hex digits)");
  // The smallest id with that prefix: its digits, then zeros.
  auto start = ObjectId::from_hex(prefix + std::string(2 * ObjectId::kSize - prefix.size(), '0'));
  std::vector<ObjectId> out;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->times));
  for (it->Seek(slice(start->raw())); it->Valid() && out.size() < limit; it->Next()) {
    auto id = ObjectId::from_raw(it->key().ToStringView());
    if (!id) continue;
    if (id->hex().compare(0, prefix.size(), prefix) != 0) break;
    out.push_back(*id);
  }
  check(it->status(), "cannot read the store");
  return out;
}

void Store::erase_objects(const std::vector<ObjectId>& ids) {
  rocksdb::WriteBatch batch;
  for (const auto& id : ids) {
    check(batch.Delete(impl_->objects, slice(id.raw())), "cannot erase object");
    check(batch.Delete(impl_->times, slice(id.raw())), "cannot erase object");
  }
  rocksdb::WriteOptions wo;
  wo.sync = true;
  impl_->before_write();
  impl_->after_write(impl_->db->Write(wo, &batch), "cannot erase objects");
}

void Store::sync_objects() {
  rocksdb::FlushOptions fo;
  fo.wait = true;
  impl_->before_write();
  impl_->after_write(impl_->db->Flush(fo, {impl_->objects, impl_->times}), "cannot flush objects to disk");
}

std::optional<std::string> Store::get(Table table, std::string_view key) const {
  std::string v;
  auto s = impl_->db->Get(rocksdb::ReadOptions(), impl_->cf(table), slice(key), &v);
  if (s.IsNotFound()) return std::nullopt;
  check(s, "cannot read the store");
  return v;
}

std::vector<std::optional<std::string>> Store::get_many(Table table, const std::vector<std::string>& keys) const {
  std::vector<std::optional<std::string>> out(keys.size());
  constexpr size_t kBatch = 4096;
  std::vector<rocksdb::Slice> slices;
  std::vector<rocksdb::PinnableSlice> values;
  std::vector<rocksdb::Status> statuses;
  for (size_t start = 0; start < keys.size(); start += kBatch) {
    const size_t n = std::min(kBatch, keys.size() - start);
    slices.clear();
    for (size_t i = 0; i < n; ++i) slices.emplace_back(keys[start + i]);
    values = std::vector<rocksdb::PinnableSlice>(n);
    statuses = std::vector<rocksdb::Status>(n);
    impl_->db->MultiGet(rocksdb::ReadOptions(), impl_->cf(table), n, slices.data(), values.data(), statuses.data());
    for (size_t i = 0; i < n; ++i) {
      if (statuses[i].IsNotFound()) continue;
      check(statuses[i], "cannot read the store");
      out[start + i] = values[i].ToString();
    }
  }
  return out;
}

void Store::put(Table table, std::string_view key, std::string_view value, Sync sync) {
  rocksdb::WriteOptions wo;
  wo.sync = sync == Sync::kYes;
  impl_->before_write();
  impl_->after_write(impl_->db->Put(wo, impl_->cf(table), slice(key), slice(value)), "cannot write the store");
}

void Store::erase(Table table, std::string_view key, Sync sync) {
  rocksdb::WriteOptions wo;
  wo.sync = sync == Sync::kYes;
  impl_->before_write();
  impl_->after_write(impl_->db->Delete(wo, impl_->cf(table), slice(key)), "cannot write the store");
}

void Store::write(TableBatch& batch, Sync sync) {
  rocksdb::WriteBatch wb;
  for (auto& [table, key, value, is_put] : batch.impl_->ops) {
    if (is_put)
      check(wb.Put(impl_->cf(table), key, value), "cannot write the store");
    else
      check(wb.Delete(impl_->cf(table), key), "cannot write the store");
  }
  rocksdb::WriteOptions wo;
  wo.sync = sync == Sync::kYes;
  impl_->before_write();
  impl_->after_write(impl_->db->Write(wo, &wb), "cannot write the store");
  batch.impl_->ops.clear();
}

void Store::scan(Table table, std::string_view prefix,
                 const std::function<bool(std::string_view, std::string_view)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->cf(table)));
  for (it->Seek(slice(prefix)); it->Valid(); it->Next()) {
    auto key = it->key().ToStringView();
    if (key.substr(0, prefix.size()) != prefix) break;
    if (!fn(key, it->value().ToStringView())) break;
  }
  check(it->status(), "cannot read the store");
}

std::optional<std::pair<std::string, std::string>> Store::seek(Table table, std::string_view from) const {
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->cf(table)));
  it->Seek(slice(from));
  check(it->status(), "cannot read the store");
  if (!it->Valid()) return std::nullopt;
  return std::make_pair(it->key().ToString(), it->value().ToString());
}

void Store::set_missing_object_fn(MissingObjectFn fn) {
  std::atomic_store(&missing_object_fn_, std::make_shared<const MissingObjectFn>(std::move(fn)));
}

void Store::sync_tables() {
  impl_->before_write();
  impl_->after_write(impl_->db->SyncWAL(), "cannot sync the store's log");
}

void Store::flush() {
  rocksdb::FlushOptions fo;
  std::vector<rocksdb::ColumnFamilyHandle*> all(impl_->handles.begin(), impl_->handles.begin() + kFamilyCount);
  impl_->before_write();
  impl_->after_write(impl_->db->Flush(fo, all), "cannot flush the store");
}

void Store::compact() {
  rocksdb::CompactRangeOptions co;
  co.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  co.blob_garbage_collection_policy = rocksdb::BlobGarbageCollectionPolicy::kForce;
  co.blob_garbage_collection_age_cutoff = 1.0;
  impl_->before_write();
  impl_->after_write(impl_->db->CompactRange(co, impl_->objects, nullptr, nullptr), "cannot compact the store");
  impl_->after_write(impl_->db->CompactRange(co, impl_->times, nullptr, nullptr), "cannot compact the store");
  impl_->after_write(impl_->db->CompactRange(co, impl_->cf(Table::kGit), nullptr, nullptr), "cannot compact the store");
}

uint64_t Store::disk_usage() const {
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(impl_->dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->is_regular_file(ec)) total += it->file_size(ec);
  }
  return total;
}

}  // namespace kura
