// kura fix's judgement of one image (fix.hpp): which of its findings the
// fix repairs, the repaired bytes, and the words that describe the change.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "kura/check.hpp"
#include "kura/image_facts.hpp"

namespace kura::check {

// What kura fix does to one image's bytes, decided (and done) once per
// distinct image.
struct Outcome {
  std::vector<std::string> rules;  // the image rules it fixes; empty: nothing to do
  std::string skipped;             // why it is left as it is, when it is
  RepairedImage repaired;
  std::string original_format;     // "gif", "jpeg", ...
  std::string format;              // of the image kura fix leaves
  std::string what;
};

// Judges `bytes` under `policy` as kura check would (image_findings, the
// rules `off` skipped) and repairs what a fix exists for; the result is
// inspected again and refused (skipped) if a repaired rule would still fire.
// Never throws for bad image bytes.
Outcome decide(std::string_view bytes, const Policy& policy);

// "JPEG", "PNG", "WebP", "GIF", ... for a facts format name.
std::string format_label(const std::string& format);

// The name of an image file whose format became `format`: kept when its
// extension already says so, else with the extension replaced (or added).
std::string name_for(const std::string& path, const std::string& format);

}  // namespace kura::check
