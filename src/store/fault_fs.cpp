#include "store/fault_fs.hpp"

#include <rocksdb/file_system.h>

#include "util/fault.hpp"

namespace kura {

namespace {

using rocksdb::IODebugContext;
using rocksdb::IOOptions;
using rocksdb::IOStatus;

IOStatus injected() { return IOStatus::IOError("injected fault (a test made this write fail)"); }

class FaultFile : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  using FSWritableFileOwnerWrapper::FSWritableFileOwnerWrapper;
  IOStatus Append(const rocksdb::Slice& data, const IOOptions& o, IODebugContext* dbg) override {
    if (fault::point(fault::Op::kWrite)) return injected();
    return target()->Append(data, o, dbg);
  }
  IOStatus Append(const rocksdb::Slice& data, const IOOptions& o, const rocksdb::DataVerificationInfo& info,
                  IODebugContext* dbg) override {
    if (fault::point(fault::Op::kWrite)) return injected();
    return target()->Append(data, o, info, dbg);
  }
  IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset, const IOOptions& o,
                            IODebugContext* dbg) override {
    if (fault::point(fault::Op::kWrite)) return injected();
    return target()->PositionedAppend(data, offset, o, dbg);
  }
  // Syncs are counted and failed, not done: the tests prove what a failure
  // leaves, not durability against power loss, and fsync makes them slow.
  IOStatus Sync(const IOOptions&, IODebugContext*) override {
    return fault::point(fault::Op::kSync) ? injected() : IOStatus::OK();
  }
  IOStatus Fsync(const IOOptions&, IODebugContext*) override {
    return fault::point(fault::Op::kSync) ? injected() : IOStatus::OK();
  }
};

class FaultDirectory : public rocksdb::FSDirectoryWrapper {
 public:
  using FSDirectoryWrapper::FSDirectoryWrapper;
  IOStatus Fsync(const IOOptions&, IODebugContext*) override {
    return fault::point(fault::Op::kSync) ? injected() : IOStatus::OK();
  }
  IOStatus FsyncWithDirOptions(const IOOptions&, IODebugContext*, const rocksdb::DirFsyncOptions&) override {
    return fault::point(fault::Op::kSync) ? injected() : IOStatus::OK();
  }
};

class FaultFileSystem : public rocksdb::FileSystemWrapper {
 public:
  explicit FaultFileSystem(const std::shared_ptr<rocksdb::FileSystem>& base) : FileSystemWrapper(base) {}
  static const char* kClassName() { return "KuraFaultFileSystem"; }
  const char* Name() const override { return kClassName(); }

  IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& o,
                           std::unique_ptr<rocksdb::FSWritableFile>* out, IODebugContext* dbg) override {
    if (fault::point(fault::Op::kWrite)) return injected();
    IOStatus s = target()->NewWritableFile(name, o, out, dbg);
    if (s.ok()) *out = std::make_unique<FaultFile>(std::move(*out));
    return s;
  }
  IOStatus ReopenWritableFile(const std::string& name, const rocksdb::FileOptions& o,
                              std::unique_ptr<rocksdb::FSWritableFile>* out, IODebugContext* dbg) override {
    IOStatus s = target()->ReopenWritableFile(name, o, out, dbg);
    if (s.ok()) *out = std::make_unique<FaultFile>(std::move(*out));
    return s;
  }
  IOStatus NewDirectory(const std::string& name, const IOOptions& o, std::unique_ptr<rocksdb::FSDirectory>* out,
                        IODebugContext* dbg) override {
    IOStatus s = target()->NewDirectory(name, o, out, dbg);
    if (s.ok()) *out = std::make_unique<FaultDirectory>(std::move(*out));
    return s;
  }
  IOStatus RenameFile(const std::string& from, const std::string& to, const IOOptions& o,
                      IODebugContext* dbg) override {
    if (fault::point(fault::Op::kRename)) return injected();
    return target()->RenameFile(from, to, o, dbg);
  }
};

}  // namespace

std::unique_ptr<rocksdb::Env> make_fault_env() {
  return rocksdb::NewCompositeEnv(std::make_shared<FaultFileSystem>(rocksdb::FileSystem::Default()));
}

}  // namespace kura
