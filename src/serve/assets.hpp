// The web pages' files, compiled into the program (src/serve/embed.cmake
// turns src/serve/web/* and Debian's Chart.js into a generated source file):
// nothing is read from disk or fetched at run time.
#pragma once

#include <string_view>

namespace kura::serve {

struct Asset {
  std::string_view name;  // "index.html", "app.js", "style.css", "chart.min.js"
  std::string_view mime;
  std::string_view bytes;
};

// The asset called `name`, or nullptr.
const Asset* find_asset(std::string_view name);

}  // namespace kura::serve
