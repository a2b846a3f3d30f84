// A libgit2 object-database backend over the store's `git` table, so commits,
// trees and pointer blobs live in RocksDB beside the objects they point to:
// one crash-safe write path and no loose-object file per dataset file.
//   key: the 20-byte git object id
//   value: 1-byte git object type | 8-byte little-endian unix time written | data
#pragma once

#include <git2.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace kura {

class Store;

// Registers the backend on `repo`'s object database with top priority, so
// every read and write goes to the store first.
void attach_store_backend(git_repository* repo, Store& store);

std::string encode_git_value(git_object_t type, std::string_view data);
// Splits a stored value; false when it is malformed.
bool decode_git_value(std::string_view value, git_object_t* type, int64_t* time, std::string_view* data);

}  // namespace kura
