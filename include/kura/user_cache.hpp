// kura's folder in the user's cache (XDG base directory rules), shared by the
// face model's cache (src/check/faces.cpp) and the check-result cache that
// `kura check` keeps outside a repository (cli/cmd_check.cpp).
#pragma once

#include <cstdlib>
#include <filesystem>
#include <optional>

namespace kura {

// $XDG_CACHE_HOME/kura, else $HOME/.cache/kura; nullopt when neither is set.
inline std::optional<std::filesystem::path> user_cache_dir() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::filesystem::path(x) / "kura";
  if (const char* h = std::getenv("HOME"); h && *h) return std::filesystem::path(h) / ".cache" / "kura";
  return std::nullopt;
}

}  // namespace kura
