// kura show ID and kura show --info ID|REV:PATH: a stored object's bytes, or
// what it is and where a commit uses it.
#include <cstdio>
#include <iostream>

#include "commands.hpp"
#include "kura/error.hpp"
#include "kura/image_facts.hpp"

namespace kura::cli {

namespace {

constexpr size_t kMinPrefix = 8;     // hex digits of the shortest object id accepted, as git's default
constexpr size_t kMaxCandidates = 10;

bool all_hex(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos;
}

// What a stored object is, from its first bytes (objects.hpp's formats) or
// the image facts.
std::string kind_of(std::string_view bytes, const ImageFacts& facts) {
  if (facts.format != ImageFormat::kUnknown) return "image";
  if (bytes.size() >= 3 && bytes[2] == '\x01') {
    if (bytes.substr(0, 2) == "KR") return "row";
    if (bytes.substr(0, 2) == "KC") return "row chunk";
    if (bytes.substr(0, 2) == "KM") return "manifest";
  }
  return "data";
}

// Bytes a terminal would show as garbage: an image, or control characters
// other than tab, line ends, form feed and escape.
bool looks_binary(std::string_view bytes) {
  if (sniff_image_format(bytes) != ImageFormat::kUnknown) return true;
  for (unsigned char c : bytes)
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != 0x1b) || c == 0x7f) return true;
  return false;
}

}  // namespace

ShowTarget show_target(Repo& repo, const std::string& spec) {
  ShowTarget t;
  const bool hex = all_hex(spec) && spec.size() >= kMinPrefix && spec.size() <= 2 * ObjectId::kSize;
  std::vector<ObjectId> objects;
  if (hex) objects = repo.store().find_objects(spec, kMaxCandidates + 1);
  try {
    t.commit = repo.resolve(spec);
  } catch (const Error& e) {
    if (!hex) {
      if (all_hex(spec) && e.code() == ErrorCode::kNotFound)
        fail(ErrorCode::kNotFound, std::string(e.what()) + " (an object id needs at least " +
                                       std::to_string(kMinPrefix) + " hex digits)");
      throw;
    }
    // Not a revision; it may still name an object.
  }
  if (t.commit && objects.empty()) return t;
  if (!t.commit && objects.size() == 1) {
    t.object = objects[0];
    return t;
  }
  if (objects.empty()) {
    if (spec.size() == 2 * ObjectId::kSize) fail(ErrorCode::kNotFound, "object " + spec + " not found in this repository");
    fail(ErrorCode::kNotFound, "'" + spec + "' is neither a revision nor the start of a stored object's id; see 'kura log' and 'kura ls-files'");
  }
  std::string list;
  if (t.commit) list = "commit " + t.commit->id;
  for (size_t i = 0; i < objects.size() && i < kMaxCandidates; ++i) list += (list.empty() ? "object " : ", object ") + objects[i].hex();
  if (objects.size() > kMaxCandidates) list += ", and more";
  fail(ErrorCode::kInvalidInput, "'" + spec + "' is ambiguous: it names " + list + "; give more hex digits");
}

int show_object(Repo& repo, const ObjectId& id, const ShowObjectOptions& o) {
  auto found = repo.store().get_objects({id}, ObjectCheck::kSha256);  // re-hashed: no wrong byte leaves
  if (!found[0]) fail(ErrorCode::kNotFound, "object " + id.hex() + " not found in this repository");
  const std::string& bytes = *found[0];
  if (!o.info && !o.json) {
    if (stdout_is_tty() && !o.binary && looks_binary(bytes)) {
      const ImageFormat format = sniff_image_format(bytes);
      fail(ErrorCode::kInvalidInput,
           "object " + id.short_hex() + " is binary (" +
               (format == ImageFormat::kUnknown ? std::string("data") : std::string(image_format_name(format)) + " image") +
               ", " + human_bytes(bytes.size()) + "); redirect it to a file (kura show " + id.short_hex() +
               " > FILE) or give --binary to write it to the terminal anyway");
    }
    std::fwrite(bytes.data(), 1, bytes.size(), stdout);
    std::fflush(stdout);
    return 0;
  }
  const ImageFacts facts = inspect_image(bytes);
  const std::string kind = kind_of(bytes, facts);
  const std::string mode = kind == "image" && facts.bands > 0
                               ? colour_mode(facts.bands, facts.bits_per_sample, facts.interpretation, facts.palette)
                               : "";
  std::optional<CommitInfo> at;
  try {
    at = repo.resolve(o.rev);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::kNotFound) throw;  // HEAD before the first commit: no uses to list
  }
  const std::vector<ObjectUse> uses = at ? repo.object_uses(at->id, id) : std::vector<ObjectUse>{};
  if (o.json) {
    nlohmann::json j = {{"object", id.hex()}, {"kind", kind}, {"bytes", bytes.size()}};
    if (kind == "image") {
      j["format"] = facts.format_name;
      j["width"] = facts.width;
      j["height"] = facts.height;
      j["mode"] = mode;
      j["exif_orientation"] = facts.exif_orientation;
      j["pages"] = facts.pages;
      j["decodes"] = facts.decodes;
      if (!facts.decodes) j["decode_error"] = facts.decode_error;
    }
    nlohmann::json used = nlohmann::json::array();
    for (const auto& u : uses) {
      nlohmann::json e = {{"path", u.path}, {"how", u.how}};
      if (u.line) e["line"] = u.line;
      used.push_back(e);
    }
    j["used"] = {{"rev", o.rev}, {"commit", at ? nlohmann::json(at->id) : nlohmann::json(nullptr)}, {"uses", used}};
    print_json(j);
    return 0;
  }
  std::cout << "object       " << id.hex() << "\n"
            << "kind         " << kind << "\n"
            << "bytes        " << bytes.size() << " (" << human_bytes(bytes.size()) << ")\n";
  if (kind == "image") {
    std::cout << "format       " << facts.format_name << "\n"
              << "size         " << facts.width << "x" << facts.height
              << (facts.pages > 1 ? ", " + std::to_string(facts.pages) + " frames" : "") << "\n"
              << "colour mode  " << mode << "\n"
              << "orientation  " << facts.exif_orientation
              << (facts.exif_orientation == 1 ? " (upright, or no EXIF orientation)" : " (EXIF: shown rotated or flipped)")
              << "\n"
              << "decodes      " << (facts.decodes ? "yes" : "no: " + facts.decode_error) << "\n";
  }
  if (!at) {
    std::cout << "used at " << o.rev << ": no commit yet\n";
    return 0;
  }
  std::cout << "used at " << o.rev << " (" << at->id.substr(0, 12) << "):" << (uses.empty() ? " nowhere" : "") << "\n";
  for (const auto& u : uses)
    std::cout << "  " << u.path << (u.line ? ":" + std::to_string(u.line) : "")
              << (u.how == "inline" ? " (inline image)" : u.how == "path" ? " (names the file)" : "") << "\n";
  return 0;
}

}  // namespace kura::cli
