// What the export tests share: rows of the chat format with inline images
// from tests/data, and a tmpfs mounted for one test (full or read-only
// output folders).
#pragma once

#include <sys/mount.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <string>
#include <tuple>
#include <vector>

#include "support.hpp"

namespace kura::test {

// `repo` made a repository and its working folder committed, with the
// export tests' policy: duplicate examples excluded, near-duplicates and
// leakage off.
inline void commit_for_export(const fs::path& repo) {
  REQUIRE(run_kura(repo, {"init"}).exit_code == 0);
  write_file(repo / ".kura/checks.json",
             R"({"rules": {"jsonl.duplicate_example": "exclude", "image.near_duplicate": "off", "dataset.leakage": "off"}})");
  let_clock_tick();
  REQUIRE(run_kura(repo, {"add", "."}).exit_code == 0);
  auto c = run_kura(repo, {"-q", "commit", "-m", "data"});
  INFO(c.err);
  REQUIRE(c.exit_code == 0);
}

// A data URI of tests/data/`file`.
inline std::string uri(const std::string& file, const std::string& mime) {
  return "data:" + mime + ";base64," + base64(data_file(file));
}

// One JSONL line ("\n" included): an optional system turn, a user turn with
// `text` and the images at `urls`, and the assistant's `answer`.
inline std::string row(const std::string& text, const std::vector<std::string>& urls, const std::string& answer,
                       bool system = true) {
  using nlohmann::json;
  json content = json::array({{{"type", "text"}, {"text", text}}});
  for (const auto& u : urls) content.push_back({{"type", "image_url"}, {"image_url", {{"url", u}}}});
  json messages = json::array();
  if (system) messages.push_back({{"role", "system"}, {"content", "Name the picture in one word."}});
  messages.push_back({{"role", "user"}, {"content", content}});
  messages.push_back({{"role", "assistant"}, {"content", answer}});
  return json({{"messages", messages}}).dump() + "\n";
}

// A tmpfs mounted for one test (the tests run as root here; a chmod'ed
// folder would not stop root from writing).
struct Mount {
  fs::path at;
  bool mounted = false;
  Mount(const fs::path& where, const std::string& options) : at(where) {
    fs::create_directories(at);
    mounted = ::mount("tmpfs", at.c_str(), "tmpfs", options.find("ro") == 0 ? MS_RDONLY : 0,
                      options.c_str()) == 0;
  }
  ~Mount() {
    if (mounted) std::ignore = ::umount(at.c_str());
  }
};

}  // namespace kura::test
