// Small helpers shared by the media module's libvips callers (thumbnails,
// repairs): libvips' messages as one line, and ownership of its blobs.
#pragma once

#include <vips/vips8>

#include <cctype>
#include <string>
#include <string_view>

namespace kura::media {

// The first line of a libvips message, without its "loader: " prefix.
inline std::string first_line(std::string_view text) {
  std::string_view line = text.substr(0, text.find('\n'));
  if (size_t colon = line.find(": "); colon != std::string_view::npos &&
                                      line.substr(0, colon).find(' ') == std::string_view::npos)
    line.remove_prefix(colon + 2);
  while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.remove_suffix(1);
  return line.empty() ? std::string("libvips reported an error without a message") : std::string(line);
}

// Releases a VipsBlob (as std::unique_ptr's deleter).
struct BlobUnref {
  void operator()(VipsBlob* blob) const { vips_area_unref(reinterpret_cast<VipsArea*>(blob)); }
};

}  // namespace kura::media
