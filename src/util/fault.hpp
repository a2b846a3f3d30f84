// Fault injection for tests: makes the n-th file write, fsync or rename of
// this process fail, as a full disk or a dying device would, so a test can
// fail each step of an operation in turn and assert what the repository
// looks like afterwards (tests/repo/fault_test.cpp).
//
// Every write path of kura's own (util/fs.cpp: working-folder files, the
// journal) calls fault::point() before the system call, and Store::open
// wraps RocksDB's file system (rocksdb::FileSystemWrapper) around the same
// counter when fault::install() was called first. Ref updates through
// libgit2 call point(kRename) before libgit2 renames the ref's lock file.
//
// Not installed in a normal run: point() is then one relaxed atomic load.
// Thread-safe.
#pragma once

#include <cstdint>

namespace kura::fault {

enum class Op { kWrite, kSync, kRename };

// From now on, stores opened get the counting file-system wrapper.
void install();
bool installed();
// The `nth` (1-based) operation of kind `op` from now on fails (once); 0 disarms.
void arm(Op op, uint64_t nth);
void disarm();
// True once the armed fault has fired.
bool fired();
// Operations of kind `op` seen since install() or the last reset_counts()
// (counted only once installed): how many steps a test has to fail in turn.
uint64_t count(Op op);
void reset_counts();

// Called before an operation of kind `op`: returns true when it must fail
// (the caller then fails as the system call would, with EIO).
bool point(Op op);

}  // namespace kura::fault
