// dlib's FHOG features (impl_fhog::impl_extract_fhog_features in
// dlib/image_transforms/fhog.h, for 8-bit grey images) with the same float
// operations in the same order, so the same features: tests compare them.
// Only the per-pixel stage is written anew, where dlib spent most of its
// time: the gradients from whole rows of pixels (dlib builds each vector
// from 32 separate loads), the 18 orientations compared as integers, and the
// bilinear weights of each column computed once per image. The per-cell
// normalisation is dlib's code as it is. Each pixel still adds its four
// votes to the histograms in dlib's order, which keeps every sum the same.
//
// Private to src/check; included by faces_scan.hpp (compiled twice: see
// there).
#include <algorithm>
#include <cmath>
#include <vector>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include <dlib/image_processing/scan_fhog_pyramid.h>
#include <dlib/image_transforms/fhog.h>

namespace kura::check::KURA_FACES_NS {

class Features : public dlib::default_fhog_feature_extractor {
 public:
  void operator()(const dlib::array2d<unsigned char>& img, dlib::array<dlib::array2d<float>>& hog, int cell_size,
                  int filter_rows_padding, int filter_cols_padding) const {
    if (cell_size == 1) {  // dlib has another algorithm for that size
      dlib::extract_fhog_features(img, hog, cell_size, filter_rows_padding, filter_cols_padding);
      return;
    }
    extract(img, hog, cell_size, filter_rows_padding, filter_cols_padding);
    if (hog.size() == 0) hog.resize(31);  // as dlib::extract_fhog_features: 31 empty planes
  }

 private:
  void extract(const dlib::array2d<unsigned char>& img_, dlib::array<dlib::array2d<float>>& hog, int cell_size,
               int filter_rows_padding, int filter_cols_padding) const;
  void histograms(const dlib::array2d<unsigned char>& img_, int cell_size, int visible_nr, int visible_nc) const;
  int column_weights(int cell_size, int visible_nc) const;
  // One pixel's vote as dlib's scalar code makes it.
  struct Vote {
    int o;      // orientation bin, 0 to 17
    int ixp;    // floor of the column position, in cells
    float v;    // gradient magnitude
    float vx0, vx1;  // column weights
  };
  static Vote scalar_vote(const dlib::const_image_view<dlib::array2d<unsigned char>>& img, int y, int x, int cell_size);
#if defined(__AVX2__) && defined(__FMA__)
  void histograms_avx2(const dlib::array2d<unsigned char>& img_, int cell_size, int visible_nr,
                       int visible_nc) const;
  mutable std::vector<float> band_;  // histograms_avx2's two rows of cells, interleaved
#endif
#if defined(__AVX2__) && defined(__FMA__)
  void norms8(int r, int c, float* out) const;
  void normalise8(dlib::array<dlib::array2d<float>>& hog, int y, int x, int yy, int xx, const float* norms,
                  long norms_nc, float eps) const;
#endif

  // dlib's unit vectors of the nine orientations (doubles made floats, as
  // dlib assigns them).
 public:
  static constexpr float kDx[9] = {1.0000, 0.9397, 0.7660, 0.500, 0.1736, -0.1736, -0.5000, -0.7660, -0.9397};
  static constexpr float kDy[9] = {0.0000, 0.3420, 0.6428, 0.8660, 0.9848, 0.9848, 0.8660, 0.6428, 0.3420};

 private:

  // Kept from one image to the next: 18 bins a cell with a border of one
  // cell all round (dlib's `hist`), its row length, and the norms.
  mutable std::vector<float> hist_;
  mutable long hist_nc_ = 0;
  mutable std::vector<float> norm_;
  mutable std::vector<int> ixp_;
  mutable std::vector<float> vx0_, vx1_;

#if defined(__AVX2__) && defined(__FMA__)
  // The AVX2 build keeps hist_ bin-major within a row of cells (dlib keeps
  // the 18 bins of a cell together): a pixel's votes into cells c and c + 1
  // of one bin are then two neighbouring floats, and one bin of eight
  // neighbouring cells is one vector.
  float& h(long r, long c, int o) const { return hist_[(r * 18 + o) * hist_nc_ + c]; }
#else
  // The generic build keeps dlib's layout, a cell's 18 bins together, which
  // its cell-by-cell code reads fastest.
  float& h(long r, long c, int o) const { return hist_[(r * hist_nc_ + c) * 18 + o]; }
#endif
};

#if defined(__AVX2__) && defined(__FMA__)
// dlib's choice of orientation for eight gradients (gx, gy): the best of
// the nine directions' dot products and their negations, compared in
// dlib's order (a strictly greater one wins), under GCC's contraction of
// dlib's grad_x*dx + grad_y*dy into a fused multiply-add.
inline __m256i best_orientation(__m256 gx, __m256 gy) {
  __m256 best_dot = _mm256_setzero_ps();
  __m256i best_o = _mm256_setzero_si256();
  for (int o = 0; o < 9; o++) {
    __m256 dot = _mm256_fmadd_ps(gy, _mm256_set1_ps(Features::kDy[o]), _mm256_mul_ps(gx, _mm256_set1_ps(Features::kDx[o])));
    __m256 cmp = _mm256_cmp_ps(dot, best_dot, _CMP_GT_OQ);
    best_dot = _mm256_blendv_ps(best_dot, dot, cmp);
    best_o = _mm256_blendv_epi8(best_o, _mm256_set1_epi32(o), _mm256_castps_si256(cmp));
    dot = _mm256_sub_ps(_mm256_setzero_ps(), dot);
    cmp = _mm256_cmp_ps(dot, best_dot, _CMP_GT_OQ);
    best_dot = _mm256_blendv_ps(best_dot, dot, cmp);
    best_o = _mm256_blendv_epi8(best_o, _mm256_set1_epi32(o + 9), _mm256_castps_si256(cmp));
  }
  return best_o;
}

// The gradients of 8-bit pixels are integers from -255 to 255, so the
// orientation of every one of them is computed once, by
// best_orientation itself, into a table of 511 x 512 bytes (256 KB, which
// stays in the core's second-level cache), indexed by orientation_index.
// A look-up gives the bin the comparisons would, at a fraction of the cost.
inline __m256i orientation_index(__m256i gx, __m256i gy) {
  return _mm256_add_epi32(_mm256_slli_epi32(gy, 9), _mm256_add_epi32(gx, _mm256_set1_epi32(255 * 512 + 255)));
}

inline const unsigned char* orientation_table() {
  static const std::vector<unsigned char> table = [] {
    std::vector<unsigned char> out(511 * 512 + 8);
    alignas(32) int best[8];
    for (int gy = -255; gy <= 255; ++gy) {
      for (int gx = -255; gx <= 255; gx += 8) {
        const __m256i gxs = _mm256_add_epi32(_mm256_set1_epi32(gx), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        const __m256i gys = _mm256_set1_epi32(gy);
        _mm256_store_si256(reinterpret_cast<__m256i*>(best),
                           best_orientation(_mm256_cvtepi32_ps(gxs), _mm256_cvtepi32_ps(gys)));
        alignas(32) int index[8];
        _mm256_store_si256(reinterpret_cast<__m256i*>(index), orientation_index(gxs, gys));
        for (int k = 0; k < 8 && gx + k <= 255; ++k) out[index[k]] = static_cast<unsigned char>(best[k]);
      }
    }
    return out;
  }();
  return table.data();
}
#endif

// dlib's vector loop covers x = 1, 9, 17, ... while x < visible_nc - 7;
// its weights depend on the column only: computed once here, into ixp_,
// vx0_ and vx1_. Returns where the vector loop ends.
inline int Features::column_weights(int cell_size, int visible_nc) const {
  int vector_end = 1;
  while (vector_end < visible_nc - 7) vector_end += 8;
  ixp_.resize(vector_end);
  vx0_.resize(vector_end);
  vx1_.resize(vector_end);
  for (int x = 1; x < vector_end; ++x) {
    const float xp = (float(x) + 0.5f) / float(cell_size) + 0.5f;
    ixp_[x] = static_cast<int>(xp);
    vx0_[x] = xp - float(ixp_[x]);
    vx1_[x] = 1.0f - vx0_[x];
  }
  return vector_end;
}

// dlib's scalar code for a pixel its vector loop leaves, as it is: the
// pixel's orientation, magnitude and column weights.
inline Features::Vote Features::scalar_vote(const dlib::const_image_view<dlib::array2d<unsigned char>>& img, int y,
                                            int x, int cell_size) {
  dlib::matrix<float, 2, 1> directions[9];
  for (int o = 0; o < 9; ++o) directions[o] = kDx[o], kDy[o];
  dlib::matrix<float, 2, 1> grad;
  float v;
  dlib::impl_fhog::get_gradient(y, x, img, grad, v);
  float best_dot = 0;
  int best_o = 0;
  for (int o = 0; o < 9; o++) {
    const float dot = dlib::dot(directions[o], grad);
    if (dot > best_dot) {
      best_dot = dot;
      best_o = o;
    } else if (-dot > best_dot) {
      best_dot = -dot;
      best_o = o + 9;
    }
  }
  v = std::sqrt(v);
  const float xp = ((double)x + 0.5) / (double)cell_size - 0.5;
  const int ixp = (int)std::floor(xp);
  const float vx0 = xp - ixp;
  const float vx1 = 1.0 - vx0;
  return {best_o, ixp, v, vx0, vx1};
}

inline void Features::histograms(const dlib::array2d<unsigned char>& img_, int cell_size, int visible_nr,
                                 int visible_nc) const {
#if defined(__AVX2__) && defined(__FMA__)
  histograms_avx2(img_, cell_size, visible_nr, visible_nc);
  return;
#endif
  const dlib::const_image_view<dlib::array2d<unsigned char>> img(img_);
  const int vector_end = column_weights(cell_size, visible_nc);

  for (int y = 1; y < visible_nr; y++) {
    const float yp = ((float)y + 0.5) / (float)cell_size - 0.5;
    const int iyp = (int)std::floor(yp);
    const float vy0 = yp - iyp;
    const float vy1 = 1.0 - vy0;
    const unsigned char* up = &img_[y - 1][0];
    const unsigned char* mid = &img_[y][0];
    const unsigned char* down = &img_[y + 1][0];
    float* row0 = &h(iyp + 1, 0, 0);
    float* row1 = &h(iyp + 2, 0, 0);
    for (int x = 1; x < vector_end; x += 8) {
      alignas(32) int best[8];
      alignas(32) float v11[8], v01[8], v10[8], v00[8];
      for (int k = 0; k < 8; ++k) {
        const float gx = float(int(mid[x + k + 1]) - int(mid[x + k - 1]));
        const float gy = float(int(down[x + k]) - int(up[x + k]));
        const float v = std::sqrt(gx * gx + gy * gy);
        float best_dot = 0;
        int best_o = 0;
        for (int o = 0; o < 9; o++) {
          float dot = gx * kDx[o] + gy * kDy[o];
          if (dot > best_dot) best_dot = dot, best_o = o;
          dot = -dot;
          if (dot > best_dot) best_dot = dot, best_o = o + 9;
        }
        best[k] = best_o;
        const float a1 = vx1_[x + k] * v, a0 = vx0_[x + k] * v;
        v11[k] = vy1 * a1;
        v01[k] = vy0 * a1;
        v10[k] = vy1 * a0;
        v00[k] = vy0 * a0;
      }
      for (int k = 0; k < 8; ++k) {  // dlib's order of the votes
        float* b0 = row0 + long(ixp_[x + k]) * 18 + best[k];
        float* b1 = row1 + long(ixp_[x + k]) * 18 + best[k];
        b0[0] += v11[k];
        b1[0] += v01[k];
        b0[18] += v10[k];
        b1[18] += v00[k];
      }
    }
    // The columns that don't fill eight lanes: dlib's scalar code, as it is.
    for (int x = vector_end; x < visible_nc; x++) {
      const Vote vote = scalar_vote(img, y, x, cell_size);
      h(iyp + 1, vote.ixp + 1, vote.o) += vy1 * vote.vx1 * vote.v;
      h(iyp + 1 + 1, vote.ixp + 1, vote.o) += vy0 * vote.vx1 * vote.v;
      h(iyp + 1, vote.ixp + 1 + 1, vote.o) += vy1 * vote.vx0 * vote.v;
      h(iyp + 1 + 1, vote.ixp + 1 + 1, vote.o) += vy0 * vote.vx0 * vote.v;
    }
  }
}

#if defined(__AVX2__) && defined(__FMA__)
// The AVX2 build's votes. A row of pixels votes into two rows of cells,
// iyp + 1 and iyp + 2 (a band: the eight rows of pixels with the same iyp);
// dlib adds each vote to its bin in pixel order. Here a band's two rows of
// cells are kept interleaved, band_[(o * hist_nc_ + c) * 2 + {0, 1}] for
// rows iyp + 1 and iyp + 2, so that a pixel's four votes (cells ixp and
// ixp + 1 of its bin, in both rows) are four neighbouring floats, added as
// one vector. When the band moves down a row of cells, its upper row is
// complete and goes to hist_, and its lower row, with the sums it has so
// far, becomes the upper one: every bin still gets its votes one by one, in
// dlib's order, so the sums are the same.
inline void Features::histograms_avx2(const dlib::array2d<unsigned char>& img_, int cell_size, int visible_nr,
                                      int visible_nc) const {
  const dlib::const_image_view<dlib::array2d<unsigned char>> img(img_);
  const unsigned char* const orientations = orientation_table();
  const int vector_end = column_weights(cell_size, visible_nc);

  const long cells = hist_nc_;  // cells in a row, with the border
  const size_t band_size = size_t(18) * cells * 2;
  band_.assign(band_size + 8, 0.0f);
  float* const band = band_.data();
  // The band's rows of cells go to hist_: `upper` (row iyp + 1) always,
  // the lower one too at the end.
  auto flush = [&](int iyp, bool last) {
    for (int o = 0; o < 18; ++o) {
      float* top = &h(iyp + 1, 0, o);
      float* bottom = &h(iyp + 2, 0, o);
      const float* pairs = band + size_t(o) * cells * 2;
      for (long c = 0; c < cells; ++c) {
        top[c] = pairs[2 * c];
        if (last) bottom[c] = pairs[2 * c + 1];
      }
    }
    if (last) return;
    for (size_t i = 0; i < band_size; i += 2) {  // the lower row moves up; a new one starts at +0
      band[i] = band[i + 1];
      band[i + 1] = 0.0f;
    }
  };

  int band_iyp = 0;
  bool started = false;
  for (int y = 1; y < visible_nr; y++) {
    const float yp = ((float)y + 0.5) / (float)cell_size - 0.5;
    const int iyp = (int)std::floor(yp);
    const float vy0 = yp - iyp;
    const float vy1 = 1.0 - vy0;
    if (started && iyp != band_iyp) flush(band_iyp, false);
    band_iyp = iyp;
    started = true;
    const unsigned char* up = &img_[y - 1][0];
    const unsigned char* mid = &img_[y][0];
    const unsigned char* down = &img_[y + 1][0];
    for (int x = 1; x < vector_end; x += 8) {
      auto bytes = [](const unsigned char* p) {
        return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
      };
      const __m256i gxi = _mm256_sub_epi32(bytes(mid + x + 1), bytes(mid + x - 1));
      const __m256i gyi = _mm256_sub_epi32(bytes(down + x), bytes(up + x));
      const __m256 gx = _mm256_cvtepi32_ps(gxi);
      const __m256 gy = _mm256_cvtepi32_ps(gyi);
      const __m256 v = _mm256_sqrt_ps(_mm256_add_ps(_mm256_mul_ps(gx, gx), _mm256_mul_ps(gy, gy)));
      alignas(32) int index[8];
      _mm256_store_si256(reinterpret_cast<__m256i*>(index), orientation_index(gxi, gyi));
      const __m256 a1 = _mm256_mul_ps(_mm256_loadu_ps(&vx1_[x]), v);
      const __m256 a0 = _mm256_mul_ps(_mm256_loadu_ps(&vx0_[x]), v);
      const __m256 y1 = _mm256_set1_ps(vy1), y0 = _mm256_set1_ps(vy0);
      // dlib's four votes of each pixel (v11, v01, v10, v00 in its code),
      // made into one group of four a pixel: pixel k's at quad[(k % 4) * 8 + (k / 4) * 4].
      const __m256 w11 = _mm256_mul_ps(y1, a1), w01 = _mm256_mul_ps(y0, a1);
      const __m256 w10 = _mm256_mul_ps(y1, a0), w00 = _mm256_mul_ps(y0, a0);
      const __m256 t0 = _mm256_unpacklo_ps(w11, w01), t1 = _mm256_unpackhi_ps(w11, w01);
      const __m256 t2 = _mm256_unpacklo_ps(w10, w00), t3 = _mm256_unpackhi_ps(w10, w00);
      alignas(32) float quad[32];
      _mm256_store_ps(quad, _mm256_shuffle_ps(t0, t2, 0x44));
      _mm256_store_ps(quad + 8, _mm256_shuffle_ps(t0, t2, 0xee));
      _mm256_store_ps(quad + 16, _mm256_shuffle_ps(t1, t3, 0x44));
      _mm256_store_ps(quad + 24, _mm256_shuffle_ps(t1, t3, 0xee));
#pragma GCC unroll 8
      for (int k = 0; k < 8; ++k) {  // dlib's order of each bin's votes
        float* bins = band + (orientations[index[k]] * cells + ixp_[x + k]) * 2;
        _mm_storeu_ps(bins, _mm_add_ps(_mm_loadu_ps(bins), _mm_load_ps(quad + (k % 4) * 8 + (k / 4) * 4)));
      }
    }
    // The columns that don't fill eight lanes: dlib's scalar code, as it
    // is, voting into the band.
    for (int x = vector_end; x < visible_nc; x++) {
      const Vote vote = scalar_vote(img, y, x, cell_size);
      float* bins = band + (vote.o * cells + vote.ixp + 1) * 2;
      bins[0] += vy1 * vote.vx1 * vote.v;
      bins[1] += vy0 * vote.vx1 * vote.v;
      bins[2] += vy1 * vote.vx0 * vote.v;
      bins[3] += vy0 * vote.vx0 * vote.v;
    }
  }
  if (started) flush(band_iyp, true);
}
#endif

#if defined(__AVX2__) && defined(__FMA__)

// dlib's simd4f sum() in this build (SSE4.1's dot product with ones):
// (a0 + a1) + (a2 + a3).
inline __m256 sum4(__m256 a0, __m256 a1, __m256 a2, __m256 a3) {
  return _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3));
}

// dlib's cell norms (the sum over nine orientations of the squared
// contrast-insensitive bins; GCC contracts its norm += s * s) of cells
// (r, c) to (r, c + 7).
inline void Features::norms8(int r, int c, float* out) const {
  __m256 norm = _mm256_setzero_ps();
  for (int o = 0; o < 9; o++) {
    const __m256 s = _mm256_add_ps(_mm256_loadu_ps(&h(r + 1, c + 1, o)), _mm256_loadu_ps(&h(r + 1, c + 1, o + 9)));
    norm = _mm256_fmadd_ps(s, s, norm);
  }
  _mm256_storeu_ps(out, norm);
}

// dlib's 31 features of cells (y, x) to (y, x + 7) into hog[o][yy][xx...],
// lane k doing for cell x + k what dlib's simd4f code does, its four lanes
// a being four vectors here. `norms` is &norm(y, x), a row being `norms_nc`.
inline void Features::normalise8(dlib::array<dlib::array2d<float>>& hog, int y, int x, int yy, int xx,
                                 const float* norms, long norms_nc, float eps) const {
  auto n = [&](int dy, int dx) { return _mm256_loadu_ps(norms + dy * norms_nc + dx); };
  // dlib's z1..z4, lane a of each (simd4f(r0, r1, r2, r3) puts r0 in lane 0).
  const __m256 z1[4] = {n(1, 1), n(0, 1), n(1, 0), n(0, 0)};
  const __m256 z2[4] = {n(1, 2), n(0, 2), n(1, 1), n(0, 1)};
  const __m256 z3[4] = {n(2, 1), n(1, 1), n(2, 0), n(1, 0)};
  const __m256 z4[4] = {n(2, 2), n(1, 2), n(2, 1), n(1, 1)};
  __m256 nn[4], inv[4];
  for (int a = 0; a < 4; ++a) {
    // nn = 0.2*sqrt(z1+z2+z3+z4+eps); n = 0.1/nn
    const __m256 z =
        _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(_mm256_add_ps(z1[a], z2[a]), z3[a]), z4[a]), _mm256_set1_ps(eps));
    nn[a] = _mm256_mul_ps(_mm256_set1_ps(0.2f), _mm256_sqrt_ps(z));
    inv[a] = _mm256_div_ps(_mm256_set1_ps(0.1f), nn[a]);
  }
  __m256 bins[18];  // bin o of the eight cells, one vector each
  for (int o = 0; o < 18; ++o) bins[o] = _mm256_loadu_ps(&h(y + 2, x + 2, o));
  auto set = [&](int plane, __m256 value) { _mm256_storeu_ps(&hog[plane][yy][xx], value); };
  // contrast-sensitive features, and the texture sums t (t += h0 + h1 + h2)
  __m256 t[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
  for (int o = 0; o < 18; o += 3) {
    __m256 f[3][4];
    for (int i = 0; i < 3; ++i) {
      for (int a = 0; a < 4; ++a) f[i][a] = _mm256_mul_ps(_mm256_min_ps(bins[o + i], nn[a]), inv[a]);
      set(o + i, sum4(f[i][0], f[i][1], f[i][2], f[i][3]));
    }
    for (int a = 0; a < 4; ++a) t[a] = _mm256_add_ps(t[a], _mm256_add_ps(_mm256_add_ps(f[0][a], f[1][a]), f[2][a]));
  }
  // contrast-insensitive features
  for (int o = 0; o < 9; ++o) {
    const __m256 both = _mm256_add_ps(bins[o], bins[o + 9]);
    __m256 f[4];
    for (int a = 0; a < 4; ++a) f[a] = _mm256_mul_ps(_mm256_min_ps(both, nn[a]), inv[a]);
    set(o + 18, sum4(f[0], f[1], f[2], f[3]));
  }
  // texture features: t *= 2*0.2357
  for (int a = 0; a < 4; ++a) set(27 + a, _mm256_mul_ps(t[a], _mm256_set1_ps(float(2 * 0.2357))));
}
#endif

inline void Features::extract(const dlib::array2d<unsigned char>& img, dlib::array<dlib::array2d<float>>& hog,
                              int cell_size, int filter_rows_padding, int filter_cols_padding) const {
  using dlib::simd4f;
  const int cells_nr = (int)((float)img.nr() / (float)cell_size + 0.5);
  const int cells_nc = (int)((float)img.nc() / (float)cell_size + 0.5);
  if (cells_nr == 0 || cells_nc == 0) {
    hog.clear();
    return;
  }
  hist_nc_ = cells_nc + 2;
  hist_.assign(size_t(cells_nr + 2) * hist_nc_ * 18, 0.0f);
  norm_.assign(size_t(cells_nr) * cells_nc, 0.0f);
  auto norm = [&](int r, int c) -> float& { return norm_[size_t(r) * cells_nc + c]; };

  const int hog_nr = std::max(cells_nr - 2, 0);
  const int hog_nc = std::max(cells_nc - 2, 0);
  if (hog_nr == 0 || hog_nc == 0) {
    hog.clear();
    return;
  }
  const int padding_rows_offset = (filter_rows_padding - 1) / 2;
  const int padding_cols_offset = (filter_cols_padding - 1) / 2;
  dlib::impl_fhog::init_hog(hog, hog_nr, hog_nc, filter_rows_padding, filter_cols_padding);

  const int visible_nr = std::min((long)cells_nr * cell_size, img.nr()) - 1;
  const int visible_nc = std::min((long)cells_nc * cell_size, img.nc()) - 1;
  histograms(img, cell_size, visible_nr, visible_nc);

  // From here on dlib's code, as it is (hist[r][c](o) is h(r, c, o)),
  // except that the AVX2 build does eight cells at a time (normalise8).
  for (int r = 0; r < cells_nr; ++r) {
    int first_c = 0;
#if defined(__AVX2__) && defined(__FMA__)
    for (; first_c + 8 <= cells_nc; first_c += 8) norms8(r, first_c, &norm(r, first_c));
#endif
    for (int c = first_c; c < cells_nc; ++c) {
      for (int o = 0; o < 9; o++) {
        norm(r, c) += (h(r + 1, c + 1, o) + h(r + 1, c + 1, o + 9)) * (h(r + 1, c + 1, o) + h(r + 1, c + 1, o + 9));
      }
    }
  }

  const float eps = 0.0001;
  for (int y = 0; y < hog_nr; y++) {
    const int yy = y + padding_rows_offset;
    int first_x = 0;
#if defined(__AVX2__) && defined(__FMA__)
    for (; first_x + 8 <= hog_nc; first_x += 8) {
      normalise8(hog, y, first_x, yy, first_x + padding_cols_offset, &norm(y, first_x), cells_nc, eps);
    }
#endif
    for (int x = first_x; x < hog_nc; x++) {
      const simd4f z1(norm(y + 1, x + 1), norm(y, x + 1), norm(y + 1, x), norm(y, x));
      const simd4f z2(norm(y + 1, x + 2), norm(y, x + 2), norm(y + 1, x + 1), norm(y, x + 1));
      const simd4f z3(norm(y + 2, x + 1), norm(y + 1, x + 1), norm(y + 2, x), norm(y + 1, x));
      const simd4f z4(norm(y + 2, x + 2), norm(y + 1, x + 2), norm(y + 2, x + 1), norm(y + 1, x + 1));
      const simd4f nn = 0.2 * sqrt(z1 + z2 + z3 + z4 + eps);
      const simd4f n = 0.1 / nn;
      simd4f t = 0;
      const int xx = x + padding_cols_offset;
      // contrast-sensitive features
      for (int o = 0; o < 18; o += 3) {
        simd4f temp0(h(y + 1 + 1, x + 1 + 1, o));
        simd4f temp1(h(y + 1 + 1, x + 1 + 1, o + 1));
        simd4f temp2(h(y + 1 + 1, x + 1 + 1, o + 2));
        simd4f h0 = min(temp0, nn) * n;
        simd4f h1 = min(temp1, nn) * n;
        simd4f h2 = min(temp2, nn) * n;
        dlib::impl_fhog::set_hog(hog, o, xx, yy, sum(h0));
        dlib::impl_fhog::set_hog(hog, o + 1, xx, yy, sum(h1));
        dlib::impl_fhog::set_hog(hog, o + 2, xx, yy, sum(h2));
        t += h0 + h1 + h2;
      }
      t *= 2 * 0.2357;
      // contrast-insensitive features
      for (int o = 0; o < 9; o += 3) {
        simd4f temp0 = h(y + 1 + 1, x + 1 + 1, o) + h(y + 1 + 1, x + 1 + 1, o + 9);
        simd4f temp1 = h(y + 1 + 1, x + 1 + 1, o + 1) + h(y + 1 + 1, x + 1 + 1, o + 9 + 1);
        simd4f temp2 = h(y + 1 + 1, x + 1 + 1, o + 2) + h(y + 1 + 1, x + 1 + 1, o + 9 + 2);
        simd4f h0 = min(temp0, nn) * n;
        simd4f h1 = min(temp1, nn) * n;
        simd4f h2 = min(temp2, nn) * n;
        dlib::impl_fhog::set_hog(hog, o + 18, xx, yy, sum(h0));
        dlib::impl_fhog::set_hog(hog, o + 18 + 1, xx, yy, sum(h1));
        dlib::impl_fhog::set_hog(hog, o + 18 + 2, xx, yy, sum(h2));
      }
      float temp[4];
      t.store(temp);
      // texture features
      dlib::impl_fhog::set_hog(hog, 27, xx, yy, temp[0]);
      dlib::impl_fhog::set_hog(hog, 28, xx, yy, temp[1]);
      dlib::impl_fhog::set_hog(hog, 29, xx, yy, temp[2]);
      dlib::impl_fhog::set_hog(hog, 30, xx, yy, temp[3]);
    }
  }
}

}  // namespace kura::check::KURA_FACES_NS
