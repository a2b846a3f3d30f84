// The kura library's side of the image module (see media_api.hpp): finds
// libkura-media.so, loads it on the first image to decode, and forwards
// inspect_image(), init_image_library(), make_thumbnail(), repair_image(),
// decode_pixels() and image_counters() to it.
#include <dlfcn.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <vector>

#include "check/media_api.hpp"
#include "kura/error.hpp"

namespace kura {

namespace fs = std::filesystem;

namespace {

constexpr const char* kModuleName = "libkura-media.so";

// Where the module may be, in order: named by KURA_MEDIA_MODULE; next to the
// running program (the build folder); where `cmake --install` puts it
// (<prefix>/lib/kura/ beside <prefix>/bin/); the build folder this library
// was compiled for (the test programs live in a sub-folder of it).
std::vector<fs::path> candidates() {
  std::vector<fs::path> out;
  if (const char* named = std::getenv("KURA_MEDIA_MODULE"); named && *named) {
    out.emplace_back(named);
    return out;  // an explicit choice is not second-guessed
  }
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    out.push_back(exe.parent_path() / kModuleName);
    out.push_back(exe.parent_path().parent_path() / "lib" / "kura" / kModuleName);
  }
#ifdef KURA_MEDIA_BUILD_PATH
  out.emplace_back(KURA_MEDIA_BUILD_PATH);
#endif
  return out;
}

struct Loaded {
  const MediaApi* api = nullptr;
  std::string error;  // why it could not be loaded
};

Loaded load() {
  Loaded result;
  std::string tried;
  for (const fs::path& path : candidates()) {
    std::error_code ec;
    if (!fs::exists(path, ec)) {
      tried += (tried.empty() ? "" : ", ") + path.string();
      continue;
    }
    void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      const char* why = ::dlerror();
      result.error = "cannot load kura's image module " + path.string() + ": " + (why ? why : "unknown error") +
                     "; its libraries (libvips, dlib) may be missing: run scripts/setup.sh or reinstall kura";
      return result;
    }
    auto entry = reinterpret_cast<const MediaApi* (*)()>(::dlsym(handle, "kura_media_api_v1"));
    const MediaApi* api = entry ? entry() : nullptr;
    if (!api || !(api->abi == MediaAbi{}) || std::string_view(api->version) != KURA_VERSION) {
      result.error = "kura's image module " + path.string() + " belongs to another build of kura (" +
                     (api ? std::string("version ") + api->version : std::string("no entry point")) +
                     ", this is " + KURA_VERSION + "); reinstall kura or set KURA_MEDIA_MODULE";
      ::dlclose(handle);
      return result;
    }
    result.api = api;  // never unloaded: libvips and dlib keep process-wide state
    return result;
  }
  result.error = std::string("kura's image module ") + kModuleName + " was not found (looked at " + tried +
                 "); reinstall kura or set KURA_MEDIA_MODULE to its path";
  return result;
}

std::once_flag g_once;
Loaded g_loaded;
std::atomic<const MediaApi*> g_api{nullptr};

const MediaApi& api() {
  std::call_once(g_once, [] {
    g_loaded = load();
    g_api.store(g_loaded.api);
  });
  if (!g_loaded.api) fail(ErrorCode::kIo, g_loaded.error);
  return *g_loaded.api;
}

void rethrow(const MediaError& error) {
  if (error.code >= 0) fail(static_cast<ErrorCode>(error.code), error.message);
}

}  // namespace

ImageFacts inspect_image(std::string_view bytes, const ImageOptions& options) {
  MediaError error;
  ImageFacts facts = api().inspect(bytes, options, &error);
  rethrow(error);
  return facts;
}

void init_image_library() {
  MediaError error;
  api().init(&error);
  rethrow(error);
}

Thumbnail make_thumbnail(std::string_view bytes, int max_side, uint64_t max_pixels) {
  MediaError error;
  Thumbnail thumb = api().thumbnail(bytes, max_side, max_pixels, &error);
  rethrow(error);
  return thumb;
}

RepairedImage repair_image(std::string_view bytes, const ImageRepair& repair) {
  MediaError error;
  RepairedImage repaired = api().repair(bytes, repair, &error);
  rethrow(error);
  return repaired;
}

ImagePixels decode_pixels(std::string_view bytes, int size, uint64_t max_pixels) {
  MediaError error;
  ImagePixels pixels = api().pixels(bytes, size, max_pixels, &error);
  rethrow(error);
  return pixels;
}

ImageCounters image_counters() {
  // Nothing was decoded in a process that never loaded the module.
  const MediaApi* loaded = g_api.load();
  return loaded ? loaded->counters() : ImageCounters{};
}

}  // namespace kura
