// dlib's frontal face detector (object_detector over scan_fhog_pyramid) run
// by kura's own loop: the same features, the same filter arithmetic in the
// same order for each of its five filters, the same thresholds and the same
// non-maximum suppression, so the same boxes. What changes is the order of
// the work and where it is kept:
// - dlib applies one filter to all 31 feature planes of a pyramid level, then
//   the next filter to all of them again; a level's planes (1.4 MB for the
//   top level of a 400x400 photo scanned at 2x) outgrow the core's cache, so
//   each filter read them from memory. Here each plane gets all five filters
//   while it is in cache, each filter still adding its parts in dlib's order.
// - The feature pyramid, the five score images and the filter's scratch
//   image are kept from one image to the next instead of being allocated
//   for each level and each filter.
//
// Private to src/check; included by faces_scan.hpp (see there for why it is
// compiled twice, and why `dlib` may be another namespace's name here).
#include <algorithm>
#include <istream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <dlib/image_processing/frontal_face_detector.h>

namespace kura::check::KURA_FACES_NS {

class Detector {
 public:
  using Scanner = dlib::scan_fhog_pyramid<Pyramid>;

  // `model`: a dlib::frontal_face_detector in dlib's serialized form (which
  // does not record the pyramid type, so it loads with Pyramid unchanged).
  explicit Detector(const std::string& model) {
    dlib::object_detector<Scanner> detector;
    std::istringstream in(model);
    dlib::deserialize(detector, in);
    const Scanner& scanner = detector.get_scanner();
    cell_ = static_cast<int>(scanner.get_cell_size());
    padding_ = static_cast<long>(scanner.get_padding());
    min_level_width_ = scanner.get_min_pyramid_layer_width();
    min_level_height_ = scanner.get_min_pyramid_layer_height();
    max_levels_ = scanner.get_max_pyramid_levels();
    overlap_ = detector.get_overlap_tester();
    for (unsigned long i = 0; i < detector.num_detectors(); ++i) {
      banks_.push_back(scanner.build_fhog_filterbank(detector.get_w(i)));
      thresholds_.push_back(detector.get_w(i)(scanner.get_num_dimensions()));
    }
    filter_rows_ = banks_.at(0).filters.at(0).nr();
    filter_cols_ = banks_.at(0).filters.at(0).nc();
    saliency_.resize(banks_.size());
  }

  // A copy has the model, not the buffers (dlib's arrays do not copy).
  Detector(const Detector& other)
      : features_(other.features_), cell_(other.cell_), padding_(other.padding_),
        min_level_width_(other.min_level_width_), min_level_height_(other.min_level_height_),
        max_levels_(other.max_levels_), overlap_(other.overlap_), banks_(other.banks_),
        thresholds_(other.thresholds_), filter_rows_(other.filter_rows_), filter_cols_(other.filter_cols_),
        saliency_(other.banks_.size()) {}
  Detector& operator=(const Detector&) = delete;

  // The boxes dlib's object_detector::operator()(image) returns, in order.
  std::vector<dlib::rectangle> operator()(const dlib::array2d<unsigned char>& image) {
    const int cell = cell_;
    const long pad = padding_;
    dlib::impl::create_fhog_pyramid<Pyramid>(image, features_, feats_, cell, filter_rows_, filter_cols_,
                                             min_level_width_, min_level_height_, max_levels_);
    std::vector<std::vector<std::pair<double, dlib::rectangle>>> dets(banks_.size());
    Pyramid pyramid;
    for (unsigned long level = 0; level < feats_.size(); ++level) {
      const std::vector<dlib::rectangle> areas = filter_level(feats_[level]);
      for (size_t b = 0; b < banks_.size(); ++b) {
        const dlib::rectangle& area = areas[b];
        const dlib::array2d<float>& scores = saliency_[b];
        for (long r = area.top(); r <= area.bottom(); ++r) {
          for (long c = area.left(); c <= area.right(); ++c) {
            if (scores[r][c] >= thresholds_[b]) {  // as dlib's detect_from_fhog_pyramid
              dlib::rectangle rect = features_.feats_to_image(
                  dlib::centered_rect(dlib::point(c, r), filter_cols_ - 2 * pad, filter_rows_ - 2 * pad), cell,
                  filter_rows_, filter_cols_);
              rect = pyramid.rect_up(rect, level);
              dets[b].push_back(std::make_pair(scores[r][c], rect));
            }
          }
        }
      }
    }
    // object_detector::operator(): each filter's detections by score, then
    // all of them by confidence, then greedy non-maximum suppression.
    std::vector<dlib::rect_detection> all;
    for (size_t b = 0; b < banks_.size(); ++b) {
      std::sort(dets[b].rbegin(), dets[b].rend(), dlib::impl::compare_pair_rect);
      for (const auto& [score, rect] : dets[b]) {
        dlib::rect_detection d;
        d.detection_confidence = score - thresholds_[b];
        d.weight_index = b;
        d.rect = rect;
        all.push_back(d);
      }
    }
    if (banks_.size() > 1) std::sort(all.rbegin(), all.rend());
    std::vector<dlib::rectangle> kept;
    for (const dlib::rect_detection& d : all) {
      const bool covered =
          std::any_of(kept.begin(), kept.end(), [&](const dlib::rectangle& k) { return overlap_(k, d.rect); });
      if (!covered) kept.push_back(d.rect);
    }
    return kept;
  }

 private:
  // Each filter's scores over one pyramid level into saliency_[b], as dlib's
  // impl::apply_filters_to_fhog computes them; returns each filter's area of
  // valid scores.
  std::vector<dlib::rectangle> filter_level(const dlib::array<dlib::array2d<float>>& planes) {
    std::vector<dlib::rectangle> areas(banks_.size());
    std::vector<bool> started(banks_.size(), false);
    std::vector<bool> separable(banks_.size());
    bool all_separable = true;
    for (size_t b = 0; b < banks_.size(); ++b) {
      const auto& bank = banks_[b];
      // dlib's own choice between its separable and its full filters.
      separable[b] = !(bank.num_separable_filters() >
                       bank.filters.size() * std::min(bank.filters[0].nr(), bank.filters[0].nc()) / 3.0);
      if (!separable[b]) areas[b] = dlib::impl::apply_filters_to_fhog(bank, planes, saliency_[b]);
      all_separable = all_separable && separable[b];
    }
#if defined(__AVX2__) && defined(__FMA__)
    // faces_filter.hpp's filter_plane: the same scores as dlib's separable
    // filtering below, for the model's 10x10 filters.
    if (all_separable && filter_rows_ == kTaps && filter_cols_ == kTaps && planes.size() > 0 &&
        planes[0].size() > 0) {
      const long nr = planes[0].nr(), nc = planes[0].nc();
      const dlib::rectangle valid(kTaps / 2, kTaps / 2, nc - (kTaps - 1) / 2 - 1, nr - (kTaps - 1) / 2 - 1);
      for (auto& scores : saliency_) scores.set_size(nr, nc);
      for (unsigned long i = 0; i < planes.size(); ++i) {
        ranks_.clear();
        for (size_t b = 0; b < banks_.size(); ++b) {
          if (i >= banks_[b].row_filters.size()) continue;
          const auto& rows = banks_[b].row_filters[i];
          const auto& cols = banks_[b].col_filters[i];
          for (size_t j = 0; j < rows.size(); ++j) {
            if (!started[b]) dlib::zero_border_pixels(saliency_[b], valid);  // as dlib's first call
            ranks_.push_back({&rows[j](0), &cols[j](0), &saliency_[b][0][0], !started[b]});
            started[b] = true;
            areas[b] = valid;
          }
        }
        filter_plane(&planes[i][0][0], nr, nc, ranks_, filter_scratch_);
      }
    } else
#endif
    {
      for (unsigned long i = 0; i < planes.size(); ++i) {
        for (size_t b = 0; b < banks_.size(); ++b) {
          if (!separable[b] || i >= banks_[b].row_filters.size()) continue;
          const auto& rows = banks_[b].row_filters[i];
          const auto& cols = banks_[b].col_filters[i];
          for (size_t j = 0; j < rows.size(); ++j) {
            areas[b] = dlib::float_spatially_filter_image_separable(planes[i], saliency_[b], rows[j], cols[j],
                                                                    scratch_, started[b]);
            started[b] = true;
          }
        }
      }
    }
    for (size_t b = 0; b < banks_.size(); ++b) {
      if (separable[b] && !started[b]) {  // a filter of nothing but zeros
        saliency_[b].set_size(planes[0].nr(), planes[0].nc());
        dlib::assign_all_pixels(saliency_[b], 0);
      }
    }
    return areas;
  }

  Features features_;  // dlib's default extractor, which has no state, faster
  int cell_ = 8;
  long padding_ = 1;
  unsigned long min_level_width_ = 0, min_level_height_ = 0, max_levels_ = 0;
  dlib::test_box_overlap overlap_;
  std::vector<Scanner::fhog_filterbank> banks_;
  std::vector<double> thresholds_;
  long filter_rows_ = 0, filter_cols_ = 0;
  // Kept from one image to the next.
  dlib::array<dlib::array<dlib::array2d<float>>> feats_;
  std::vector<dlib::array2d<float>> saliency_;
  dlib::array2d<float> scratch_;
#if defined(__AVX2__) && defined(__FMA__)
  std::vector<Rank> ranks_;
  FilterScratch filter_scratch_;
#endif
};

}  // namespace kura::check::KURA_FACES_NS
