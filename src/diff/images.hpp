// Image facts for a diff: from the check layer's cache (what the commit-time
// checks measured), else inspected once without a face scan and cached.
#pragma once

#include <unordered_map>
#include <vector>

#include "kura/check.hpp"
#include "kura/diff.hpp"

namespace kura::difflib {

// An image known by id only; ImageBook::fill adds its facts.
inline DiffImage image_ref(const ObjectId& id) {
  DiffImage d;
  d.object = id;
  return d;
}

class ImageBook {
 public:
  ImageBook(Store& store, const Policy& policy, unsigned threads);
  void want(const ObjectId& id) { wanted_.emplace(id, DiffImage{}); }
  // Looks up every wanted image (in parallel); returns how many were decoded.
  uint64_t resolve();
  // Fills `image` from the resolved facts (unchanged when not wanted).
  void fill(DiffImage& image) const;

 private:
  Store& store_;
  Policy policy_, plain_;
  unsigned threads_;
  std::unordered_map<ObjectId, DiffImage, ObjectIdHash> wanted_;
};

// Perceptual distance of two resolved images, -1 when either did not decode.
int image_distance(const DiffImage& a, const DiffImage& b);

// Whether a media file's name says it is an image (jpg, png, webp, ...).
bool is_image_path(const std::string& path);

}  // namespace kura::difflib
