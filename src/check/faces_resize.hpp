// dlib's bilinear resize of an 8-bit grey image (resize_image with
// interpolate_bilinear, dlib/image_transforms/interpolation.h), done with
// the work that depends on the column alone computed once per image instead
// of once per pixel. The same float operations in the same order, so the
// same bytes: tests/check/faces_test.cpp compares the two. Used for the
// scan's resize and for each level of its pyramid, where dlib's version
// took 14% of the scan of a 400x400 photo (gathering four pixels and
// recomputing their weights for every output pixel).
//
// Private to src/check; included by faces_scan.hpp, so it is compiled once
// for any x86-64 and once with AVX2/FMA, like dlib's own code beside it.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include <dlib/array2d.h>
#include <dlib/image_transforms/image_pyramid.h>
#include <dlib/pixel.h>

namespace kura::check::KURA_FACES_NS {

inline void resize_grey(const dlib::array2d<unsigned char>& in, dlib::array2d<unsigned char>& out) {
  const long in_nr = in.nr(), in_nc = in.nc(), out_nr = out.nr(), out_nc = out.nc();
  if (out.size() == 0 || in.size() == 0) return;
  const double x_scale = (in_nc - 1) / double(std::max<long>(out_nc - 1, 1));
  const double y_scale = (in_nr - 1) / double(std::max<long>(out_nr - 1, 1));

  // dlib walks the columns four at a time, each lane's x a float advanced by
  // float(4 x_scale) a step, until lane 3's right neighbour leaves the
  // image; the columns after that (`vector_end` on) take its scalar path.
  std::vector<int> left(out_nc);
  std::vector<float> frac(out_nc), inv_frac(out_nc);
  long vector_end = 0;
  {
    const double x = -4 * x_scale;
    float lane[4] = {float(x), float(x + x_scale), float(x + 2 * x_scale), float(x + 3 * x_scale)};
    const float step = float(4 * x_scale);
    for (long c = 0; c < out_nc; c += 4) {
      int lefts[4];
      for (int k = 0; k < 4; ++k) {
        lane[k] += step;
        lefts[k] = static_cast<int>(lane[k]);  // truncation, as _mm_cvttps_epi32
      }
      if (lefts[3] + 1 >= in_nc) break;
      for (int k = 0; k < 4 && c + k < out_nc; ++k) {
        left[c + k] = lefts[k];
        frac[c + k] = lane[k] - float(lefts[k]);
        inv_frac[c + k] = 1 - frac[c + k];
      }
      vector_end = std::min(c + 4, out_nc);
    }
  }

#if defined(__AVX2__) && defined(__FMA__)
  std::vector<unsigned char> last_row(&in[in_nr - 1][0], &in[in_nr - 1][0] + in_nc);
  last_row.resize(in_nc + 16, 0);
  // Where the eight columns of a block read at most 16 input bytes (scales
  // under about 1.9: the scan's up-sampling and each pyramid level), the
  // pixels come from one 16-byte load and a byte shuffle instead of gathers,
  // which are slow on some CPUs; `shuffle_left` / `shuffle_right` put the
  // byte of each column's left / right pixel in its 32-bit lane.
  const long blocks = vector_end / 8;
  std::vector<int> block_start(blocks);
  std::vector<char> near(blocks, 0);
  std::vector<int> shuffle_left(8 * blocks), shuffle_right(8 * blocks);
  for (long k = 0; k < blocks; ++k) {
    const int first = left[8 * k];
    block_start[k] = first;
    near[k] = in_nc >= 16 && left[8 * k + 7] + 1 - first <= 15;
    for (int j = 0; j < 8; ++j) {
      shuffle_left[8 * k + j] = (left[8 * k + j] - first) | int(0x80808000);
      shuffle_right[8 * k + j] = (left[8 * k + j] + 1 - first) | int(0x80808000);
    }
  }
#endif
  double y = -y_scale;
  for (long r = 0; r < out_nr; ++r) {
    y += y_scale;
    const long top = static_cast<long>(std::floor(y));
    const long bottom = std::min(top + 1, in_nr - 1);
    const double tb_frac = y - top;
    const float tb = float(tb_frac), inv_tb = float(1 - tb_frac);
    const unsigned char* t = &in[top][0];
    const unsigned char* b = &in[bottom][0];
    unsigned char* o = &out[r][0];
    long c = 0;
#if defined(__AVX2__) && defined(__FMA__)
    // Eight columns at a time: a byte shuffle of one load (see above), or
    // one 32-bit gather at each left index, which brings that pixel and its
    // right neighbour. Both read past the last right neighbour, so the
    // image's last row is read from a padded copy.
    const unsigned char* tg = top == in_nr - 1 ? last_row.data() : t;
    const unsigned char* bg = bottom == in_nr - 1 ? last_row.data() : b;
    const __m256 vtb = _mm256_set1_ps(tb), vinv_tb = _mm256_set1_ps(inv_tb);
    const __m256i bytes = _mm256_set1_epi32(0xFF);
    for (; c + 8 <= vector_end; c += 8) {
      const __m256 f = _mm256_loadu_ps(frac.data() + c), nf = _mm256_loadu_ps(inv_frac.data() + c);
      __m256 tl, tr, bl, br;
      if (near[c / 8]) {
        const long at = block_start[c / 8];
        const __m256i tv = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(tg + at)));
        const __m256i bv = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(bg + at)));
        const __m256i sl = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(shuffle_left.data() + c));
        const __m256i sr = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(shuffle_right.data() + c));
        tl = _mm256_cvtepi32_ps(_mm256_shuffle_epi8(tv, sl));
        tr = _mm256_cvtepi32_ps(_mm256_shuffle_epi8(tv, sr));
        bl = _mm256_cvtepi32_ps(_mm256_shuffle_epi8(bv, sl));
        br = _mm256_cvtepi32_ps(_mm256_shuffle_epi8(bv, sr));
      } else {
        const __m256i i = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(left.data() + c));
        const __m256i tg4 = _mm256_i32gather_epi32(reinterpret_cast<const int*>(tg), i, 1);
        const __m256i bg4 = _mm256_i32gather_epi32(reinterpret_cast<const int*>(bg), i, 1);
        tl = _mm256_cvtepi32_ps(_mm256_and_si256(tg4, bytes));
        tr = _mm256_cvtepi32_ps(_mm256_and_si256(_mm256_srli_epi32(tg4, 8), bytes));
        bl = _mm256_cvtepi32_ps(_mm256_and_si256(bg4, bytes));
        br = _mm256_cvtepi32_ps(_mm256_and_si256(_mm256_srli_epi32(bg4, 8), bytes));
      }
      const __m256 tlf = _mm256_mul_ps(vinv_tb, nf), trf = _mm256_mul_ps(vinv_tb, f);
      const __m256 blf = _mm256_mul_ps(vtb, nf), brf = _mm256_mul_ps(vtb, f);
      const __m256 v = _mm256_fmadd_ps(brf, br, _mm256_fmadd_ps(blf, bl, _mm256_fmadd_ps(trf, tr, _mm256_mul_ps(tlf, tl))));
      // (unsigned char)(v + 0.5) with v + 0.5 exact (in double, as dlib
      // has it): the integer part, plus one when the fraction is a half or more.
      const __m256i whole = _mm256_cvttps_epi32(v);
      const __m256 rest = _mm256_sub_ps(v, _mm256_cvtepi32_ps(whole));
      const __m256i up = _mm256_castps_si256(_mm256_cmp_ps(rest, _mm256_set1_ps(0.5f), _CMP_GE_OQ));
      const __m256i rounded = _mm256_sub_epi32(whole, up);  // `up` is -1 where true
      const __m128i words = _mm_packus_epi32(_mm256_castsi256_si128(rounded), _mm256_extracti128_si256(rounded, 1));
      _mm_storel_epi64(reinterpret_cast<__m128i*>(o + c), _mm_packus_epi16(words, words));
    }
#endif
    for (; c < vector_end; ++c) {
      const int i = left[c];
      const float tlf = inv_tb * inv_frac[c], trf = inv_tb * frac[c];
      const float blf = tb * inv_frac[c], brf = tb * frac[c];
      const float tl = t[i], tr = t[i + 1], bl = b[i], br = b[i + 1];
#if defined(__FMA__)
      // What GCC makes of dlib's tlf*tl + trf*tr + blf*bl + brf*br when FMA
      // is on at -O2 (it contracts the sum, -ffp-contract=fast being its
      // default); written out, because it contracts this copy's sum another
      // way. The AVX2 loop above does the same.
      const float v = std::fma(brf, br, std::fma(blf, bl, std::fma(trf, tr, tlf * tl)));
#else
      const float v = tlf * tl + trf * tr + blf * bl + brf * br;
#endif
      o[c] = static_cast<unsigned char>(v + 0.5);
    }
    double x = -x_scale + vector_end * x_scale;
    for (long c = vector_end; c < out_nc; ++c) {  // dlib's scalar tail, as it is
      x += x_scale;
      const long l = static_cast<long>(std::floor(x));
      const long rr = std::min(l + 1, in_nc - 1);
      const float lr_frac = x - l;
      float tl = 0, tr = 0, bl = 0, br = 0;
      dlib::assign_pixel(tl, t[l]);
      dlib::assign_pixel(tr, t[rr]);
      dlib::assign_pixel(bl, b[l]);
      dlib::assign_pixel(br, b[rr]);
      float temp = (1 - tb_frac) * ((1 - lr_frac) * tl + lr_frac * tr) + tb_frac * ((1 - lr_frac) * bl + lr_frac * br);
      dlib::assign_pixel(o[c], temp);
    }
  }
}

// dlib's pyramid_down<4> (each level 3/4 of the one above, the sizes and
// box mapping unchanged) with its levels made by resize_grey.
class Pyramid : public dlib::pyramid_down<4> {
 public:
  void operator()(const dlib::array2d<unsigned char>& original, dlib::array2d<unsigned char>& down) const {
    down.set_size((3 * original.nr()) / 4, (3 * original.nc()) / 4);
    resize_grey(original, down);
  }
};

}  // namespace kura::check::KURA_FACES_NS
