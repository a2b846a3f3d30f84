// The store's side of the fault-injection seam (util/fault.hpp): a RocksDB
// file system that asks fault::point() before every append, sync and rename
// and fails the call with an I/O error when told to; syncs that are not
// failed are skipped (tests of failures, not of power loss). Store::open
// uses it only when fault::installed().
#pragma once

#include <rocksdb/env.h>

#include <memory>

namespace kura {

// An Env over the default file system with the counting wrapper around it.
std::unique_ptr<rocksdb::Env> make_fault_env();

}  // namespace kura
