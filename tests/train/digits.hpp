// Training data for the [train] tests: opencv-doc's 5,000 handwritten
// digits (Debian's opencv-doc package), cut into PNG files and JSONL rows.
#pragma once

#include <vips/vips.h>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "support.hpp"

namespace kura::test {

inline const char* kDigits = "/usr/share/doc/opencv-doc/examples/data/digits.png";

inline std::string row(const std::string& image, const std::string& label) {
  return R"({"messages":[{"role":"user","content":[{"type":"text","text":"Which digit?"},{"type":"image_url","image_url":{"url":")" +
         image + R"("}}]},{"role":"assistant","content":")" + label + R"("}]})";
}

// digits.png holds five rows of 100 digits per class, each 20x20. Writes
// digits/<label>/<n>.png, train.jsonl (the first `train` of each class) and
// validation.jsonl (the next `validation`) naming them by path.
// With `rgb_even`, even-numbered digits are stored as sRGB (the rest stay grayscale).
inline void cut_digits(const fs::path& dir, int train, int validation, bool rgb_even = false) {
  VipsImage* all = vips_image_new_from_file(kDigits, nullptr);
  REQUIRE(all);
  std::string train_rows, validation_rows;
  for (int label = 0; label < 10; ++label) {
    for (int k = 0; k < train + validation; ++k) {
      const int row_index = label * 5 + k / 100, col = k % 100;
      VipsImage* tile = nullptr;
      REQUIRE(vips_crop(all, &tile, col * 20, row_index * 20, 20, 20, nullptr) == 0);
      if (rgb_even && k % 2 == 0) {
        VipsImage* rgb = nullptr;
        REQUIRE(vips_colourspace(tile, &rgb, VIPS_INTERPRETATION_sRGB, nullptr) == 0);
        g_object_unref(tile);
        tile = rgb;
      }
      void* buf = nullptr;
      size_t len = 0;
      REQUIRE(vips_image_write_to_buffer(tile, ".png", &buf, &len, nullptr) == 0);
      const std::string name = "digits/" + std::to_string(label) + "/" + std::to_string(k) + ".png";
      write_file(dir / name, std::string(static_cast<char*>(buf), len));
      g_free(buf);
      g_object_unref(tile);
      (k < train ? train_rows : validation_rows) += row(name, std::to_string(label)) + "\n";
    }
  }
  g_object_unref(all);
  write_file(dir / "train.jsonl", train_rows);
  write_file(dir / "validation.jsonl", validation_rows);
}

// Digits are grayscale 20 px scans, which the "openai" profile refuses; the
// "generic" profile checks them as they are, leakage included (distinct
// digits are not reported as the same picture: tests/check/leakage_test.cpp).
inline void init_repo(const fs::path& dir) {
  REQUIRE(run_kura(dir, {"init"}).exit_code == 0);
  write_file(dir / ".kura/checks.json", R"({"profile": "generic"})");
}

inline void commit_all(const fs::path& dir, const std::vector<std::string>& extra = {}) {
  let_clock_tick();
  REQUIRE(run_kura(dir, {"add", "."}).exit_code == 0);
  std::vector<std::string> args = {"-q", "commit", "-m", "data"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto c = run_kura(dir, args);
  INFO(c.err);
  REQUIRE(c.exit_code == 0);
}

// Keeps the rows of train.jsonl and validation.jsonl whose label (the digit)
// is in [from, to).
inline void keep_labels(const fs::path& dir, int from, int to) {
  for (const char* name : {"train.jsonl", "validation.jsonl"}) {
    const std::string text = read_file(dir / name);
    std::string kept;
    for (size_t start = 0; start < text.size();) {
      size_t end = text.find('\n', start);
      const std::string line = text.substr(start, end - start);
      start = end + 1;
      const size_t at = line.rfind(R"("content":")");
      REQUIRE(at != std::string::npos);
      const int digit = line[at + 11] - '0';
      if (digit >= from && digit < to) kept += line + "\n";
    }
    write_file(dir / name, kept);
  }
}

}  // namespace kura::test
