#include "kura/error.hpp"

#include <cerrno>
#include <cstring>

namespace kura {

void fail(ErrorCode code, const std::string& message) { throw Error(code, message); }

void fail_errno(const std::string& what, const std::string& path) {
  const int err = errno;
  ErrorCode code = ErrorCode::kIo;
  if (err == ENOENT || err == ENOTDIR) code = ErrorCode::kNotFound;
  throw Error(code, "cannot " + what + " '" + path + "': " + std::strerror(err));
}

}  // namespace kura
