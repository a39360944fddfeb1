// Exact Gram matrix of small non-negative integers (Numerai's int8 features 0..4) with
// byte arithmetic: an AVX-512 VNNI `vpdpbusd` multiplies 64 byte pairs and adds them four
// at a time into 32-bit lanes; without VNNI, `vpmaddubsw` multiplies 64 (AVX-512BW) or 32
// (AVX2) byte pairs into 16-bit lanes that are widened before they can overflow. Either
// way the products of values <= kByteGramMaxValue are summed in integer lanes that cannot
// overflow (the sums over rows are taken in bounded chunks and carried on in float64,
// exact below 2^53), so the result is the exact integer Gram matrix.
#pragma once

#include <neutralkit/types.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

namespace neutralkit {
namespace detail {

// Largest value (after shifting each column to start at 0) the byte kernel accepts.
constexpr int kByteGramMaxValue = 15;

// Columns stored feature-major as bytes. Each column starts on a 64-byte boundary and is
// padded with zeros to `stride` >= n bytes (zeros add nothing to a Gram matrix): a
// multiple of 64, and an odd number of cache lines so that the columns the kernel reads
// side by side fall into different cache sets. Zero columns are appended up to a multiple
// of 3 columns (the AVX2 kernel's block size; the AVX-512 kernel needs none).
struct ByteColumns {
    Index cols = 0;
    Index stride = 0;
    std::vector<std::uint8_t> data;

    ByteColumns(Index n, Index k)
        : cols(k),
          stride(padded_stride(n)),
          data(static_cast<std::size_t>((k + 2) / 3 * 3 * padded_stride(n) + 63), 0) {
        align();
    }
    // a copy has a buffer of its own, aligned anew; a move keeps the buffer
    ByteColumns(const ByteColumns& o) : cols(o.cols), stride(o.stride), data(o.data.size(), 0) {
        align();
        if (!data.empty()) std::memcpy(col(0), o.col(0), data.size() - 63);
    }
    ByteColumns& operator=(const ByteColumns& o) {
        if (this != &o) *this = ByteColumns(o);
        return *this;
    }
    ByteColumns(ByteColumns&&) noexcept = default;
    ByteColumns& operator=(ByteColumns&&) noexcept = default;
    ~ByteColumns() = default;

    std::uint8_t* col(Index j) { return data.data() + offset_ + j * stride; }
    const std::uint8_t* col(Index j) const { return data.data() + offset_ + j * stride; }

    static Index padded_stride(Index n) {
        const Index lines = std::max<Index>(1, (n + 63) / 64);
        return 64 * (lines % 2 == 0 ? lines + 1 : lines);
    }

private:
    void align() {
        const auto address = reinterpret_cast<std::uintptr_t>(data.data());
        offset_ = static_cast<Index>((64 - address % 64) % 64);
    }

    Index offset_ = 0;  // from data.data() to the first 64-byte boundary
};

constexpr bool byte_gram_available() {
#if defined(__AVX2__)
    return true;
#else
    return false;
#endif
}

#if defined(__AVX512BW__)
#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 reports the deliberately undefined operands inside its own AVX-512 intrinsics as
// uninitialized once they are inlined here (a false positive, GCC bug 105593)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
// Sixteen vectors of 32-bit lanes -> one vector whose lane m is the sum of the lanes of
// v[m] (a transposing reduction: 15 additions of whole vectors instead of 16 reductions).
inline __m512i transpose_sum16(const __m512i* v) {
    __m512i u[8], w[4];
    for (int p = 0; p < 8; ++p)  // within 128-bit lanes: [a0+a2, b0+b2, a1+a3, b1+b3]
        u[p] = _mm512_add_epi32(_mm512_unpacklo_epi32(v[2 * p], v[2 * p + 1]),
                                _mm512_unpackhi_epi32(v[2 * p], v[2 * p + 1]));
    for (int q = 0; q < 4; ++q)  // 128-bit lane L of w[q]: lane L's sums of v[4q..4q+3]
        w[q] = _mm512_add_epi32(_mm512_unpacklo_epi64(u[2 * q], u[2 * q + 1]),
                                _mm512_unpackhi_epi64(u[2 * q], u[2 * q + 1]));
    // across 128-bit lanes: [w0 L0+L1, w0 L2+L3, w1 L0+L1, w1 L2+L3], then the totals
    const __m512i s01 = _mm512_add_epi32(_mm512_shuffle_i32x4(w[0], w[1], 0x88),
                                         _mm512_shuffle_i32x4(w[0], w[1], 0xdd));
    const __m512i s23 = _mm512_add_epi32(_mm512_shuffle_i32x4(w[2], w[3], 0x88),
                                         _mm512_shuffle_i32x4(w[2], w[3], 0xdd));
    return _mm512_add_epi32(_mm512_shuffle_i32x4(s01, s23, 0x88),
                            _mm512_shuffle_i32x4(s01, s23, 0xdd));
}

// Eight vectors -> lane m (of 8) holds the sum of the lanes of v[m].
inline __m256i transpose_sum8(const __m512i* v) {
    __m512i u[4], w[2];
    for (int p = 0; p < 4; ++p)
        u[p] = _mm512_add_epi32(_mm512_unpacklo_epi32(v[2 * p], v[2 * p + 1]),
                                _mm512_unpackhi_epi32(v[2 * p], v[2 * p + 1]));
    for (int q = 0; q < 2; ++q)
        w[q] = _mm512_add_epi32(_mm512_unpacklo_epi64(u[2 * q], u[2 * q + 1]),
                                _mm512_unpackhi_epi64(u[2 * q], u[2 * q + 1]));
    const __m512i s = _mm512_add_epi32(_mm512_shuffle_i32x4(w[0], w[1], 0x88),
                                       _mm512_shuffle_i32x4(w[0], w[1], 0xdd));
    // s = [w0 a, w0 b, w1 a, w1 b] -> [w0 a, w1 a | w0 b, w1 b], halves added
    const __m512i t = _mm512_shuffle_i32x4(s, s, 0xd8);
    return _mm256_add_epi32(_mm512_castsi512_si256(t), _mm512_extracti64x4_epi64(t, 1));
}

// The AVX-512 kernel's register block: kRowsA columns (of the lower triangle's rows) by
// kColsB columns, 24 accumulators, and 10 loads per 24 multiply-add instructions.
constexpr int kRowsA = 6;
constexpr int kColsB = 4;

// acc + the products x * y: four per 32-bit lane (VNNI) or two per 16-bit lane.
template <bool kVnni>
inline __m512i byte_madd(__m512i acc, __m512i x, __m512i y) {
#if defined(__AVX512VNNI__)
    if constexpr (kVnni) return _mm512_dpbusd_epi32(acc, x, y);
#endif
    return _mm512_add_epi16(acc, _mm512_maddubs_epi16(x, y));
}

// Dot products of the kRowsA columns pa with the kColsB columns pb over 64-byte steps
// [s0, s1), added (as float64) to out[i * ldo + j]. With VNNI the 32-bit lanes gain at most
// 4 max^2 per step; without it the 16-bit lanes gain at most 2 max^2 per step, and the
// caller keeps s1 - s0 within the bound of each.
// Not inlined: inside the blocking loops GCC 12 spills the accumulators every step.
template <bool kVnni>
[[gnu::noinline]] void dot_block_512(const std::uint8_t* const* pa, const std::uint8_t* const* pb,
                                     Index s0, Index s1, double* out, Index ldo) {
    constexpr int kAcc = kRowsA * kColsB;
    // 24 named accumulators: GCC keeps an array of them in memory inside the loop
    __m512i c00 = _mm512_setzero_si512(), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00,
            c12 = c00, c13 = c00, c20 = c00, c21 = c00, c22 = c00, c23 = c00, c30 = c00, c31 = c00,
            c32 = c00, c33 = c00, c40 = c00, c41 = c00, c42 = c00, c43 = c00, c50 = c00, c51 = c00,
            c52 = c00, c53 = c00;
    const std::uint8_t *a0 = pa[0], *a1 = pa[1], *a2 = pa[2], *a3 = pa[3], *a4 = pa[4], *a5 = pa[5],
                       *b0 = pb[0], *b1 = pb[1], *b2 = pb[2], *b3 = pb[3];
    for (Index s = s0; s < s1; ++s) {
        const Index o = 64 * s;
        const __m512i y0 = _mm512_loadu_si512(b0 + o), y1 = _mm512_loadu_si512(b1 + o),
                      y2 = _mm512_loadu_si512(b2 + o), y3 = _mm512_loadu_si512(b3 + o);
        __m512i x = _mm512_loadu_si512(a0 + o);
        c00 = byte_madd<kVnni>(c00, x, y0);
        c01 = byte_madd<kVnni>(c01, x, y1);
        c02 = byte_madd<kVnni>(c02, x, y2);
        c03 = byte_madd<kVnni>(c03, x, y3);
        x = _mm512_loadu_si512(a1 + o);
        c10 = byte_madd<kVnni>(c10, x, y0);
        c11 = byte_madd<kVnni>(c11, x, y1);
        c12 = byte_madd<kVnni>(c12, x, y2);
        c13 = byte_madd<kVnni>(c13, x, y3);
        x = _mm512_loadu_si512(a2 + o);
        c20 = byte_madd<kVnni>(c20, x, y0);
        c21 = byte_madd<kVnni>(c21, x, y1);
        c22 = byte_madd<kVnni>(c22, x, y2);
        c23 = byte_madd<kVnni>(c23, x, y3);
        x = _mm512_loadu_si512(a3 + o);
        c30 = byte_madd<kVnni>(c30, x, y0);
        c31 = byte_madd<kVnni>(c31, x, y1);
        c32 = byte_madd<kVnni>(c32, x, y2);
        c33 = byte_madd<kVnni>(c33, x, y3);
        x = _mm512_loadu_si512(a4 + o);
        c40 = byte_madd<kVnni>(c40, x, y0);
        c41 = byte_madd<kVnni>(c41, x, y1);
        c42 = byte_madd<kVnni>(c42, x, y2);
        c43 = byte_madd<kVnni>(c43, x, y3);
        x = _mm512_loadu_si512(a5 + o);
        c50 = byte_madd<kVnni>(c50, x, y0);
        c51 = byte_madd<kVnni>(c51, x, y1);
        c52 = byte_madd<kVnni>(c52, x, y2);
        c53 = byte_madd<kVnni>(c53, x, y3);
    }
    __m512i r[kAcc] = {c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23,
                       c30, c31, c32, c33, c40, c41, c42, c43, c50, c51, c52, c53};
    if constexpr (!kVnni) {  // 16-bit lanes -> 32-bit lanes (pairs added)
        const __m512i ones = _mm512_set1_epi16(1);
        for (auto& v : r) v = _mm512_madd_epi16(v, ones);
    }
    static_assert(kAcc == 24 && kColsB == 4, "the reduction below assumes a 6 x 4 block");
    const __m512i lo = transpose_sum16(r);      // lanes 4i + j: rows i = 0..3
    const __m256i hi = transpose_sum8(r + 16);  // rows 4, 5
    for (int i = 0; i < kRowsA; ++i) {
        __m128i q;
        switch (i) {
            case 0:
                q = _mm512_extracti32x4_epi32(lo, 0);
                break;
            case 1:
                q = _mm512_extracti32x4_epi32(lo, 1);
                break;
            case 2:
                q = _mm512_extracti32x4_epi32(lo, 2);
                break;
            case 3:
                q = _mm512_extracti32x4_epi32(lo, 3);
                break;
            case 4:
                q = _mm256_castsi256_si128(hi);
                break;
            default:
                q = _mm256_extracti128_si256(hi, 1);
                break;
        }
        double* o = out + i * ldo;
        _mm256_storeu_pd(o, _mm256_add_pd(_mm256_loadu_pd(o), _mm256_cvtepi32_pd(q)));
    }
}

// g = B^T B, AVX-512. Blocking, for n ~ 5000 rows:
//  * rows in passes of at most kPassSteps 64-byte steps (n <= 16384 rows: one pass), whose
//    products are added into g (the first pass writes it);
//  * within a pass, a panel of `width` columns (about 640 KiB) stays in L2 while every
//    block of kRowsA columns at or after it streams past once from L3;
//  * that block is taken in chunks of rows that stay in L1 (at most 15 KiB) while it meets
//    each kColsB-column block of the panel in turn, and the chunks' dot products are added
//    into a kRowsA x width float64 tile (exact), so the integer lanes never hold more than
//    a chunk's products;
//  * the tile is written to g twice: down the columns of the upper triangle (contiguous)
//    and across the rows of the lower one (kRowsA contiguous entries per column, the next
//    block continuing each), so g's cache lines are filled whole.
// Blocks that straddle the diagonal compute some pairs of the upper triangle too; only
// the lower triangle's are kept (each entry is written once per pass). Block columns beyond
// k read column k - 1 and their results are dropped.
template <bool kVnni>
inline void byte_gram_512(const ByteColumns& b, int max_value, Eigen::MatrixXd& g,
                          Index max_chunk_steps) {
#if !defined(__AVX512VNNI__)
    static_assert(!kVnni, "the 32-bit lanes' bound below holds for vpdpbusd only");
#endif
    const Index k = b.cols, steps = b.stride / 64;
    const Index m2 = std::max<Index>(1, static_cast<Index>(max_value) * max_value);
    // integer lanes: 32-bit lanes gain <= 4 m2 per step (VNNI), 16-bit lanes <= 2 m2
    const Index lane_limit = kVnni ? (Index{2147483647} / (4 * m2)) : (Index{32767} / (2 * m2));
    const Index chunk_cap = std::max<Index>(1, std::min(max_chunk_steps, lane_limit));
    constexpr Index kPassSteps = 256;
    const Index passes = (steps + kPassSteps - 1) / kPassSteps;
    for (Index p = 0; p < std::max<Index>(passes, 1); ++p) {
        const Index t0 = p * steps / std::max<Index>(passes, 1),
                    t1 = (p + 1) * steps / std::max<Index>(passes, 1);
        const Index pass_bytes = 64 * std::max<Index>(1, t1 - t0);
        const Index width = std::max<Index>(kColsB, 655360 / pass_bytes / kColsB * kColsB);
        const Index chunks = std::max<Index>(1, (t1 - t0 + chunk_cap - 1) / chunk_cap);
        std::vector<double> tile(static_cast<std::size_t>(kRowsA * width));
        for (Index w0 = 0; w0 < k; w0 += width) {
            const Index w1 = std::min(k, w0 + width);
            for (Index a0 = w0 / kRowsA * kRowsA; a0 < k; a0 += kRowsA) {
                const Index a_last = std::min(k - 1, a0 + kRowsA - 1);
                const Index b_end = std::min(w1, a_last + 1);  // columns w0..b_end-1 met
                const Index bw = b_end - w0;
                std::fill(tile.begin(), tile.begin() + kRowsA * width, 0.0);
                const std::uint8_t* pa[kRowsA];
                for (int i = 0; i < kRowsA; ++i) pa[i] = b.col(std::min(k - 1, a0 + i));
                for (Index c = 0; c < chunks; ++c) {
                    const Index s0 = t0 + c * (t1 - t0) / chunks,
                                s1 = t0 + (c + 1) * (t1 - t0) / chunks;
                    for (Index b0 = w0; b0 < b_end; b0 += kColsB) {
                        const std::uint8_t* pb[kColsB];
                        for (int j = 0; j < kColsB; ++j) pb[j] = b.col(std::min(k - 1, b0 + j));
                        dot_block_512<kVnni>(pa, pb, s0, s1, tile.data() + (b0 - w0), width);
                    }
                }
                // lower-triangle entries (a0 + i, w0 + j), w0 + j <= a0 + i, each met in just
                // this block: the upper copy down column a0 + i, the lower across row a0 + i
                const Index rows = a_last - a0 + 1;
                for (Index i = 0; i < rows; ++i) {
                    double* up = g.data() + (a0 + i) * k + w0;
                    const double* t = tile.data() + i * width;
                    const Index above = std::min(bw, std::max<Index>(0, a0 + i - w0));
                    if (p == 0)
                        for (Index j = 0; j < above; ++j) up[j] = t[j];
                    else
                        for (Index j = 0; j < above; ++j) up[j] += t[j];
                }
                for (Index j = 0; j < bw; ++j) {
                    double* low = g.data() + (w0 + j) * k + a0;
                    const double* t = tile.data() + j;
                    if (p == 0)
                        for (Index i = std::max<Index>(0, w0 + j - a0); i < rows; ++i)
                            low[i] = t[i * width];
                    else
                        for (Index i = std::max<Index>(0, w0 + j - a0); i < rows; ++i)
                            low[i] += t[i * width];
                }
            }
        }
    }
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif

#if defined(__AVX2__)
inline std::int64_t horizontal_sum(__m256i v) {
    alignas(32) std::int32_t lanes[8];
    _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), v);
    std::int64_t s = 0;
    for (int i = 0; i < 8; ++i) s += lanes[i];
    return s;
}

// Dot products of columns pa0..pa2 with pb0..pb2 over `steps` 32-byte steps, in 16-bit
// lanes widened every `group` steps. Not inlined: inside the blocking loops GCC 12 spills
// accumulators when only 16 ymm registers exist (AVX2 without AVX-512).
[[gnu::noinline]] inline void dot_block_avx2(const std::uint8_t* pa0, const std::uint8_t* pa1,
                                             const std::uint8_t* pa2, const std::uint8_t* pb0,
                                             const std::uint8_t* pb1, const std::uint8_t* pb2,
                                             Index steps, Index group, std::int64_t* sums) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i acc32[9];
    for (auto& v : acc32) v = _mm256_setzero_si256();
    for (Index s0 = 0; s0 < steps; s0 += group) {
        const Index s1 = std::min(steps, s0 + group);
        __m256i c00 = _mm256_setzero_si256(), c01 = c00, c02 = c00, c10 = c00, c11 = c00, c12 = c00,
                c20 = c00, c21 = c00, c22 = c00;
        for (Index s = s0; s < s1; ++s) {
            const auto at = [s](const std::uint8_t* p) {
                return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32 * s));
            };
            const __m256i x0 = at(pa0), x1 = at(pa1), x2 = at(pa2);
            const __m256i y0 = at(pb0), y1 = at(pb1), y2 = at(pb2);
            c00 = _mm256_add_epi16(c00, _mm256_maddubs_epi16(x0, y0));
            c01 = _mm256_add_epi16(c01, _mm256_maddubs_epi16(x0, y1));
            c02 = _mm256_add_epi16(c02, _mm256_maddubs_epi16(x0, y2));
            c10 = _mm256_add_epi16(c10, _mm256_maddubs_epi16(x1, y0));
            c11 = _mm256_add_epi16(c11, _mm256_maddubs_epi16(x1, y1));
            c12 = _mm256_add_epi16(c12, _mm256_maddubs_epi16(x1, y2));
            c20 = _mm256_add_epi16(c20, _mm256_maddubs_epi16(x2, y0));
            c21 = _mm256_add_epi16(c21, _mm256_maddubs_epi16(x2, y1));
            c22 = _mm256_add_epi16(c22, _mm256_maddubs_epi16(x2, y2));
        }
        const __m256i c[9] = {c00, c01, c02, c10, c11, c12, c20, c21, c22};
        for (int q = 0; q < 9; ++q)
            acc32[q] = _mm256_add_epi32(acc32[q], _mm256_madd_epi16(c[q], ones));
    }
    for (int q = 0; q < 9; ++q) sums[q] = horizontal_sum(acc32[q]);
}

// g = B^T B, AVX2 (vpmaddubsw on ymm, 3 x 3 column blocks).
inline void byte_gram_avx2(const ByteColumns& b, int max_value, Eigen::MatrixXd& g) {
    const Index k = b.cols;
    const Index kp = (k + 2) / 3 * 3, steps = b.stride / 32;
    const int pair_max = 2 * max_value * max_value;
    const Index group = pair_max > 0 ? std::max<Index>(1, 32767 / pair_max) : steps;
    // Cache blocking: a panel of `width` columns (about 256 KiB) stays in L2 while every
    // column block at or after it streams past, three columns at a time (those in L1).
    const Index width = std::max<Index>(3, (262144 / b.stride) / 3 * 3);
    for (Index w0 = 0; w0 < kp; w0 += width)
        for (Index a0 = w0; a0 < kp; a0 += 3) {
            const std::uint8_t *pa0 = b.col(a0), *pa1 = b.col(a0 + 1), *pa2 = b.col(a0 + 2);
            for (Index b0 = w0; b0 <= a0 && b0 < w0 + width; b0 += 3) {
                const std::uint8_t *pb0 = b.col(b0), *pb1 = b.col(b0 + 1), *pb2 = b.col(b0 + 2);
                std::int64_t sums[9];
                dot_block_avx2(pa0, pa1, pa2, pb0, pb1, pb2, steps, group, sums);
                for (int i = 0; i < 3; ++i) {
                    for (int j = 0; j < 3; ++j) {
                        const Index r = a0 + i, c = b0 + j;
                        if (r < k && c < k && c <= r)
                            g(r, c) = g(c, r) = static_cast<double>(sums[3 * i + j]);
                    }
                }
            }
        }
}
#endif

// g = B^T B for the byte columns B (values 0..max_value <= kByteGramMaxValue), as float64
// (exact). Every entry is written (g's memory is reused when it has the size already).
// `max_chunk_steps` (64-byte steps of rows summed in integer lanes before they are carried
// into float64) is for tests; the kernel lowers it to what the lanes can hold.
inline void byte_gram(const ByteColumns& b, int max_value, Eigen::MatrixXd& g,
                      Index max_chunk_steps = 40) {
    g.resize(b.cols, b.cols);
    if (b.cols == 0) return;
#if defined(__AVX512BW__)
#if defined(__AVX512VNNI__)
    byte_gram_512<true>(b, max_value, g, max_chunk_steps);
#else
    byte_gram_512<false>(b, max_value, g, max_chunk_steps);
#endif
#elif defined(__AVX2__)
    (void)max_chunk_steps;
    byte_gram_avx2(b, max_value, g);
#else
    (void)b;
    (void)max_value;
    (void)max_chunk_steps;
    g.setZero();
#endif
}

inline Eigen::MatrixXd byte_gram(const ByteColumns& b, int max_value) {
    Eigen::MatrixXd g;
    byte_gram(b, max_value, g);
    return g;
}

}  // namespace detail
}  // namespace neutralkit
