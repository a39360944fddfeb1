// Exact Gram matrix of small non-negative integers (Numerai's int8 features 0..4) with
// AVX2 byte arithmetic: vpmaddubsw multiplies 32 byte pairs and adds neighbours into
// 16-bit lanes, four times the multiply-adds per instruction of float32 FMA. Products of
// values <= 15 cannot overflow a 16-bit lane within `group` steps, after which the lanes
// are widened into 32-bit sums, so the result is exact integer arithmetic.
#pragma once

#include <neutralkit/types.hpp>

#include <Eigen/Core>

#include <cstdint>
#include <vector>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

namespace neutralkit {
namespace detail {

// Largest value (after shifting each column to start at 0) the byte kernel accepts.
constexpr int kByteGramMaxValue = 15;

// Columns stored feature-major as bytes, each padded with zeros to a multiple of 32
// samples (zeros add nothing to a Gram matrix), and the column count padded to a
// multiple of 3 (the kernel's block size) with zero columns.
struct ByteColumns {
    Index cols = 0;
    Index stride = 0;
    std::vector<std::uint8_t> data;

    ByteColumns(Index n, Index k)
        : cols(k),
          stride((n + 31) / 32 * 32),
          data(static_cast<std::size_t>((k + 2) / 3 * 3 * ((n + 31) / 32 * 32)), 0) {}

    std::uint8_t* col(Index j) { return data.data() + j * stride; }
    const std::uint8_t* col(Index j) const { return data.data() + j * stride; }
};

constexpr bool byte_gram_available() {
#if defined(__AVX2__)
    return true;
#else
    return false;
#endif
}

#if defined(__AVX2__)
inline std::int64_t horizontal_sum(__m256i v) {
    alignas(32) std::int32_t lanes[8];
    _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), v);
    std::int64_t s = 0;
    for (int i = 0; i < 8; ++i) s += lanes[i];
    return s;
}
#endif

// g = B^T B for the byte columns B (values 0..max_value), as float64 (exact). Every
// entry is written (g's memory is reused when it has the size already).
inline void byte_gram(const ByteColumns& b, int max_value, Eigen::MatrixXd& g) {
    const Index k = b.cols;
    g.resize(k, k);
#if defined(__AVX2__)
    const Index kp = (k + 2) / 3 * 3, steps = b.stride / 32;
    const int pair_max = 2 * max_value * max_value;
    const Index group = pair_max > 0 ? std::max<Index>(1, 32767 / pair_max) : steps;
    const __m256i ones = _mm256_set1_epi16(1);
    // Cache blocking: a panel of `width` columns (about 256 KiB) stays in L2 while every
    // column block at or after it streams past, three columns at a time (those in L1).
    const Index width = std::max<Index>(3, (262144 / b.stride) / 3 * 3);
    for (Index w0 = 0; w0 < kp; w0 += width)
        for (Index a0 = w0; a0 < kp; a0 += 3) {
            const std::uint8_t *pa0 = b.col(a0), *pa1 = b.col(a0 + 1), *pa2 = b.col(a0 + 2);
            for (Index b0 = w0; b0 <= a0 && b0 < w0 + width; b0 += 3) {
                const std::uint8_t *pb0 = b.col(b0), *pb1 = b.col(b0 + 1), *pb2 = b.col(b0 + 2);
                __m256i acc32[9];
                for (auto& v : acc32) v = _mm256_setzero_si256();
                for (Index s0 = 0; s0 < steps; s0 += group) {
                    const Index s1 = std::min(steps, s0 + group);
                    __m256i c00 = _mm256_setzero_si256(), c01 = c00, c02 = c00, c10 = c00,
                            c11 = c00, c12 = c00, c20 = c00, c21 = c00, c22 = c00;
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
                for (int i = 0; i < 3; ++i) {
                    for (int j = 0; j < 3; ++j) {
                        const Index r = a0 + i, c = b0 + j;
                        if (r < k && c < k && c <= r)
                            g(r, c) = g(c, r) =
                                static_cast<double>(horizontal_sum(acc32[3 * i + j]));
                    }
                }
            }
        }
#else
    (void)b;
    (void)max_value;
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
