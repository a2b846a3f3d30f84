// kura reports expected failures (bad input, a missing file, a held lock, a
// corrupt object) by throwing kura::Error. Every library entry point may throw
// it; nothing else crosses the public API: errors of RocksDB, libgit2 and
// OpenSSL are translated into an Error in the adapter that calls them. The CLI
// catches Error in exactly one place (cli/main.cpp) and maps its code to an
// exit status (see docs/cli.md). Programming errors are assert()s, not Errors.
//
// A message is one line that says what failed, where (path:line, object id)
// and what to do next, without stacked prefixes.
#pragma once

#include <stdexcept>
#include <string>

namespace kura {

enum class ErrorCode {
  kInvalidInput,   // bad argument, malformed file, path outside the repository
  kNotFound,       // no such path, revision or object
  kNotARepository, // no .kura/ found from the working directory upwards
  kConflict,       // the operation would clobber local changes or a moved ref
  kNothingToDo,    // e.g. commit with no staged change
  kCheckFailed,    // checks found errors (commit stopped; see the report)
  kLocked,         // another kura process holds the repository lock
  kCorrupt,        // stored data does not match its hash or cannot be decoded
  kIo,             // the operating system refused a read or write
};

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message)
      : std::runtime_error(message), code_(code) {}
  ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

// Throws Error(code, message). Used as `fail(ErrorCode::kNotFound, "...")`.
[[noreturn]] void fail(ErrorCode code, const std::string& message);

// Throws Error(kIo) naming `what` and `path` with strerror(errno).
[[noreturn]] void fail_errno(const std::string& what, const std::string& path);

}  // namespace kura
