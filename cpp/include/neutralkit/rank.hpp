// Per-era ranking: uniform ranks, their Gaussian scores and signed powers.
//
// A column of one era is sorted once (a stable LSD radix sort on the bit pattern of the
// values), then every entry gets its "rank code" k = 2 r - 1, r its 1-based rank (the
// average over ties for RankMethod::Average). The uniform rank is u = (k / 2) / n, which
// is exactly pandas' (rank - 0.5) / count. Ranks take at most 2n distinct values per era,
// so the Gaussian transform is tabulated once per era and shared by every column.
#pragma once

#include <neutralkit/types.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

namespace neutralkit {

enum class RankMethod : int { Average = 0, First = 1 };

// Inverse of the standard normal CDF, from Wichura's algorithm AS 241 (PPND16, Applied
// Statistics 37, 1988): rational approximations in three regions, relative error about
// 1e-16. ndtri(0) = -inf, ndtri(1) = +inf, NaN outside [0, 1].
inline double ndtri(double p) {
    if (!(p >= 0.0 && p <= 1.0)) return std::numeric_limits<double>::quiet_NaN();
    if (p == 0.0) return -std::numeric_limits<double>::infinity();
    if (p == 1.0) return std::numeric_limits<double>::infinity();
    const double q = p - 0.5;
    if (std::abs(q) <= 0.425) {
        const double r = 0.180625 - q * q;
        const double num =
            ((((((2.5090809287301226727e+3 * r + 3.3430575583588128105e+4) * r +
                 6.7265770927008700853e+4) * r + 4.5921953931549871457e+4) * r +
               1.3731693765509461125e+4) * r + 1.9715909503065514427e+3) * r +
             1.3314166789178437745e+2) * r + 3.3871328727963666080e+0;
        const double den =
            ((((((5.2264952788528545610e+3 * r + 2.8729085735721942674e+4) * r +
                 3.9307895800092710610e+4) * r + 2.1213794301586595867e+4) * r +
               5.3941960214247511077e+3) * r + 6.8718700749205790830e+2) * r +
             4.2313330701600911252e+1) * r + 1.0;
        return q * num / den;
    }
    // Tails: work with the smaller of p and 1 - p (exact for p >= 0.5 by Sterbenz).
    double r = q < 0.0 ? p : 1.0 - p;
    r = std::sqrt(-std::log(r));
    double value;
    if (r <= 5.0) {
        r -= 1.6;
        const double num =
            ((((((7.74545014278341407640e-4 * r + 2.27238449892691845833e-2) * r +
                 2.41780725177450611770e-1) * r + 1.27045825245236838258e+0) * r +
               3.64784832476320460504e+0) * r + 5.76949722146069140550e+0) * r +
             4.63033784615654529590e+0) * r + 1.42343711074968357734e+0;
        const double den =
            ((((((1.05075007164441684324e-9 * r + 5.47593808499534494600e-4) * r +
                 1.51986665636164571966e-2) * r + 1.48103976427480074590e-1) * r +
               6.89767334985100004550e-1) * r + 1.67638483018380384940e+0) * r +
             2.05319162663775882187e+0) * r + 1.0;
        value = num / den;
    } else {
        r -= 5.0;
        const double num =
            ((((((2.01033439929228813265e-7 * r + 2.71155556874348757815e-5) * r +
                 1.24266094738807843860e-3) * r + 2.65321895265761230930e-2) * r +
               2.96560571828504891230e-1) * r + 1.78482653991729133580e+0) * r +
             5.46378491116411436990e+0) * r + 6.65790464350110377720e+0;
        const double den =
            ((((((2.04426310338993978564e-15 * r + 1.42151175831644588870e-7) * r +
                 1.84631831751005468180e-5) * r + 7.86869131145613259100e-4) * r +
               1.48753612908506148525e-2) * r + 1.36929880922735805310e-1) * r +
             5.99832206555887937690e-1) * r + 1.0;
        value = num / den;
    }
    return q < 0.0 ? -value : value;
}

// sign(x) |x|^p (NaN stays NaN, zero stays zero).
inline double signed_power(double x, double p) {
    if (x > 0.0) return std::pow(x, p);
    if (x < 0.0) return -std::pow(-x, p);
    return x == 0.0 ? 0.0 : x;
}

// What a rank is turned into: u, ndtri(u), or signed_power(ndtri(u), power).
struct RankTransform {
    RankMethod method = RankMethod::Average;
    bool gaussian = false;
    double power = 1.0;  // applied after the Gaussian step when != 1

    double apply(std::int64_t code, Index count) const {
        const double u = (0.5 * static_cast<double>(code)) / static_cast<double>(count);
        if (!gaussian) return power == 1.0 ? u : signed_power(u, power);
        const double g = ndtri(u);
        return power == 1.0 ? g : signed_power(g, power);
    }
};

namespace detail {

// Maps a double to an unsigned integer with the same order (-0.0 and +0.0 share a key,
// as they compare equal).
inline std::uint64_t order_key(double x) {
    if (x == 0.0) x = 0.0;
    std::uint64_t bits;
    std::memcpy(&bits, &x, sizeof bits);
    return (bits >> 63) ? ~bits : (bits | 0x8000000000000000ULL);
}

struct KeyPos {
    std::uint64_t key;
    std::uint32_t pos;  // position within the era (eras hold fewer than 2^32 rows)
};

// Per-thread buffers, reused across tasks.
struct SortScratch {
    std::vector<KeyPos> keys;
    std::vector<KeyPos> tmp;
    std::vector<double> values;
    std::vector<double> other;
};

inline SortScratch& scratch() {
    thread_local SortScratch s;
    return s;
}

// Stable sort by key. Radix passes whose byte is the same for every key are skipped, so
// data with a narrow range of values costs few passes.
inline void stable_sort_keys(std::vector<KeyPos>& a, std::vector<KeyPos>& tmp) {
    const std::size_t n = a.size();
    if (n < 96) {
        std::stable_sort(a.begin(), a.end(),
                         [](const KeyPos& l, const KeyPos& r) { return l.key < r.key; });
        return;
    }
    std::array<std::array<std::uint32_t, 256>, 8> hist{};
    for (const KeyPos& e : a)
        for (int d = 0; d < 8; ++d) ++hist[d][(e.key >> (8 * d)) & 0xFF];
    tmp.resize(n);
    KeyPos* src = a.data();
    KeyPos* dst = tmp.data();
    for (int d = 0; d < 8; ++d) {
        auto& h = hist[d];
        if (h[(src[0].key >> (8 * d)) & 0xFF] == n) continue;
        std::uint32_t offset = 0;
        for (auto& c : h) {
            const std::uint32_t count = c;
            c = offset;
            offset += count;
        }
        for (std::size_t i = 0; i < n; ++i) dst[h[(src[i].key >> (8 * d)) & 0xFF]++] = src[i];
        std::swap(src, dst);
    }
    if (src != a.data()) std::copy(src, src + n, a.data());
}

// Bits needed for a position in [0, n).
inline int position_bits(Index n) {
    int bits = 1;
    while ((Index{1} << bits) < n) ++bits;
    return bits;
}

// Sorts 64-bit keys whose bits below `low_bits` already increase along the array (they
// hold the position): an LSD radix sort, stable, so only the bits from `low_bits` up need
// passes (11-bit digits; a pass whose digit is the same for every key is skipped).
inline void radix_sort_u64(std::vector<std::uint64_t>& a, std::vector<std::uint64_t>& tmp,
                           int low_bits) {
    const std::size_t n = a.size();
    if (n < 96) {
        std::sort(a.begin(), a.end());
        return;
    }
    constexpr int width = 11;
    constexpr int max_digits = (64 + width - 1) / width;
    constexpr std::uint64_t digit_mask = (1u << width) - 1;
    const int digits = (64 - low_bits + width - 1) / width;
    std::array<std::array<std::uint32_t, 1u << width>, max_digits> hist{};
    for (const std::uint64_t k : a)
        for (int d = 0; d < digits; ++d) ++hist[d][(k >> (low_bits + width * d)) & digit_mask];
    tmp.resize(n);
    std::uint64_t* src = a.data();
    std::uint64_t* dst = tmp.data();
    for (int d = 0; d < digits; ++d) {
        auto& h = hist[d];
        const int shift = low_bits + width * d;
        if (h[(src[0] >> shift) & digit_mask] == n) continue;
        std::uint32_t offset = 0;
        for (auto& c : h) {
            const std::uint32_t count = c;
            c = offset;
            offset += count;
        }
        for (std::size_t i = 0; i < n; ++i) dst[h[(src[i] >> shift) & digit_mask]++] = src[i];
        std::swap(src, dst);
    }
    if (src != a.data()) std::copy(src, src + n, a.data());
}

// Sorts the non-NaN values get(0..n) of one era column; returns how many there are.
// Fast path: 8-byte keys whose low bits hold the entry's index (so that the radix passes
// skip them: 5 passes instead of 8, on half the bytes); if two keys collide on the
// remaining bits (detected), the 16-byte stable sort does it.
template <class Get>
Index sort_column(Index n, Get&& get, std::vector<KeyPos>& keys, std::vector<KeyPos>& tmp) {
    keys.clear();
    for (Index i = 0; i < n; ++i) {
        const double v = get(i);
        if (!std::isnan(v)) keys.push_back({order_key(v), static_cast<std::uint32_t>(i)});
    }
    const Index count = static_cast<Index>(keys.size());
    const int bits = position_bits(std::max<Index>(count, 2));
    if (count >= 96 && bits <= 24) {
        thread_local std::vector<std::uint64_t> packed, packed_tmp;
        const std::uint64_t mask = (std::uint64_t{1} << bits) - 1;
        packed.resize(static_cast<std::size_t>(count));
        for (Index c = 0; c < count; ++c)
            packed[static_cast<std::size_t>(c)] =
                (keys[static_cast<std::size_t>(c)].key & ~mask) | static_cast<std::uint64_t>(c);
        radix_sort_u64(packed, packed_tmp, bits);
        bool sorted = true;
        for (Index c = 1; c < count && sorted; ++c)
            sorted = keys[packed[static_cast<std::size_t>(c - 1)] & mask].key <=
                     keys[packed[static_cast<std::size_t>(c)] & mask].key;
        if (sorted) {
            tmp.resize(static_cast<std::size_t>(count));
            for (Index c = 0; c < count; ++c)
                tmp[static_cast<std::size_t>(c)] = keys[packed[static_cast<std::size_t>(c)] & mask];
            keys.swap(tmp);
            return count;
        }
    }
    stable_sort_keys(keys, tmp);
    return count;
}

// Calls f(sorted index, era position, code) for each sorted entry, code = 2 rank - 1.
template <class F>
void for_each_rank_code(const std::vector<KeyPos>& keys, RankMethod method, F&& f) {
    const Index count = static_cast<Index>(keys.size());
    if (method == RankMethod::First) {
        for (Index i = 0; i < count; ++i) f(i, keys[i].pos, 2 * i + 1);
        return;
    }
    Index a = 0;
    while (a < count) {
        Index b = a + 1;
        while (b < count && keys[b].key == keys[a].key) ++b;
        for (Index i = a; i < b; ++i) f(i, keys[i].pos, a + b);
        a = b;
    }
}

}  // namespace detail

// transform(code) for code in [0, 2 n) of every era (a per-era lookup table; entry 0 is
// unused). Empty tables when the transform is cheap enough to evaluate directly.
inline std::vector<std::vector<double>> rank_tables(const EraIndex& eras,
                                                   const RankTransform& tr, int n_threads) {
    std::vector<std::vector<double>> tables(static_cast<std::size_t>(eras.n_eras));
    if (!tr.gaussian && tr.power == 1.0) return tables;
    parallel_for(eras.n_eras, n_threads, [&](Index e) {
        const Index n = eras.size(e);
        auto& t = tables[static_cast<std::size_t>(e)];
        t.assign(static_cast<std::size_t>(2 * n), 0.0);
        for (Index k = 1; k < 2 * n; ++k) t[static_cast<std::size_t>(k)] = tr.apply(k, n);
    });
    return tables;
}

// Looks a code up in the era's table when the column has no NaN in the era (count == n),
// otherwise evaluates the transform for that column's count.
inline double transformed(const std::vector<double>& table, const RankTransform& tr,
                          std::int64_t code, Index count, Index n) {
    if (!table.empty() && count == n) return table[static_cast<std::size_t>(code)];
    return tr.apply(code, count);
}

// out (rows x cols, row-major) = the transformed per-era rank of each column of x. NaN
// entries stay NaN and are not counted. Tasks are (era, column) pairs.
template <class T>
void rank_columns(const StridedMatrix<T>& x, const EraIndex& eras, const RankTransform& tr,
                  int n_threads, double* out) {
    const auto tables = rank_tables(eras, tr, n_threads);
    const Index m = x.cols;
    parallel_for(eras.n_eras * m, n_threads, [&](Index task) {
        const Index e = task / m;
        const Index j = task % m;
        const Index n = eras.size(e);
        auto& s = detail::scratch();
        const Index count = detail::sort_column(
            n, [&](Index i) { return static_cast<double>(x(eras.row(e, i), j)); }, s.keys,
            s.tmp);
        const auto& table = tables[static_cast<std::size_t>(e)];
        if (count < n) {
            for (Index i = 0; i < n; ++i)
                out[eras.row(e, i) * m + j] = std::numeric_limits<double>::quiet_NaN();
        }
        detail::for_each_rank_code(s.keys, tr.method, [&](Index, std::uint32_t pos,
                                                         std::int64_t code) {
            out[eras.row(e, pos) * m + j] = transformed(table, tr, code, count, n);
        });
    });
}

// out (rows x cols, row-major) = signed_power(x, p), columns in parallel.
template <class T>
void signed_power_columns(const StridedMatrix<T>& x, double p, int n_threads, double* out) {
    const Index m = x.cols;
    parallel_for(m, n_threads, [&](Index j) {
        for (Index i = 0; i < x.rows; ++i)
            out[i * m + j] = signed_power(static_cast<double>(x(i, j)), p);
    });
}

}  // namespace neutralkit
