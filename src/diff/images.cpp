#include "diff/images.hpp"

#include <algorithm>
#include <atomic>

#include "check/image_rules.hpp"
#include "kura/image_facts.hpp"
#include "util/parallel.hpp"

namespace kura::difflib {

ImageBook::ImageBook(Store& store, const Policy& policy, unsigned threads)
    : store_(store), policy_(policy), plain_(policy), threads_(threads) {
  // A diff needs sizes and modes, not faces: a scan costs 50 times a decode.
  plain_.rules["moderation.face"] = RuleAction::kOff;
  plain_.detect_faces = false;
}

uint64_t ImageBook::resolve() {
  std::vector<std::pair<const ObjectId, DiffImage>*> todo;
  for (auto& entry : wanted_)
    if (!entry.second.known) todo.push_back(&entry);
  std::atomic<uint64_t> decoded{0};
  parallel_for(todo.size(), threads_, [&](size_t i) {
    const ObjectId& id = todo[i]->first;
    std::optional<check::Facts> facts = check::cached_facts(store_, id, policy_);
    if (!facts) {
      bool hit = false;
      facts = check::facts_of(store_, id, plain_, &hit);
      if (!hit) ++decoded;
    }
    DiffImage& d = todo[i]->second;
    d.object = id;
    d.known = true;
    d.bytes = facts->bytes;
    d.format = facts->format;
    d.width = facts->width;
    d.height = facts->height;
    d.mode = facts->format == "unknown" ? "" : colour_mode(facts->bands, facts->bits, facts->interpretation, facts->palette);
    d.decodes = facts->decodes;
    d.phash = facts->phash;
  });
  return decoded;
}

void ImageBook::fill(DiffImage& image) const {
  auto it = wanted_.find(image.object);
  if (it != wanted_.end() && it->second.known) image = it->second;
}

int image_distance(const DiffImage& a, const DiffImage& b) {
  if (!a.known || !b.known || !a.decodes || !b.decodes) return -1;
  return hamming(a.phash, b.phash);
}

bool is_image_path(const std::string& path) {
  const size_t dot = path.rfind('.');
  if (dot == std::string::npos || path.find('/', dot) != std::string::npos) return false;
  std::string ext = path.substr(dot + 1);
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const char* e : {"jpg", "jpeg", "png", "webp", "gif", "bmp", "tif", "tiff", "heic", "heif", "avif", "jxl", "ppm", "pgm"})
    if (ext == e) return true;
  return false;
}

}  // namespace kura::difflib
