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
#include <type_traits>
#include <vector>

namespace neutralkit {

enum class RankMethod : int { Average = 0, First = 1 };

// Inverse of the standard normal CDF, from Wichura's algorithm AS 241 (PPND16, Applied
// Statistics 37, 1988): rational approximations in three regions, relative error about
// 1e-16. ndtri(0) = -inf, ndtri(1) = +inf, NaN outside [0, 1].
// clang-format off: the polynomials read as in the paper
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
// clang-format on

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

// Bits needed for a position in [0, n).
inline int position_bits(Index n) {
    int bits = 1;
    while ((Index{1} << bits) < n) ++bits;
    return bits;
}

// The non-NaN values of one era column in sorted order: a stable order (equal values keep
// their row order), so ties and RankMethod::First are decided by position.
//
// Both paths sort "packed" words (hi << bits) | i, where i is the entry's index (bits
// wide) and hi a coarse key that never decreases as the value grows; an LSD radix sort
// on the hi bits is stable, and the index bits are already in order. Entries whose hi
// collide are then put in order by value (index for equal values), run by run.
//  - Narrow path (eras up to 2^14 values): 32-bit words, hi = floor((v - min) * 2^h /
//    (max - min)) with h = 32 - bits, i.e. 2^18 or more buckets over the range of the
//    column (each floating-point step of the map is monotone). Two passes of 4-byte
//    words; with n << 2^h few distinct values collide. When they do in large numbers
//    (heavy tails: most values in a few buckets) the general path takes over.
//  - General path: 64-bit words, hi = the first 33 bits of the order key after the bits
//    every key of the column shares; three passes of 11-bit digits.
class ColumnSort {
public:
    // Sorts get(0) .. get(n - 1); returns the number of non-NaN values.
    template <class Get>
    Index sort(Index n, Get&& get) {
        values_.resize(static_cast<std::size_t>(n));
        dense_ = true;
        double lowest = std::numeric_limits<double>::infinity();
        double highest = -lowest;
        // Common case first: no NaN (two min/max chains, to halve their latency).
        double* values = values_.data();
        double lowest2 = lowest, highest2 = highest;
        bool has_nan = false;
        Index i = 0;
        for (; i + 1 < n; i += 2) {
            const double v0 = get(i), v1 = get(i + 1);
            values[i] = v0;
            values[i + 1] = v1;
            has_nan |= std::isnan(v0) | std::isnan(v1);
            lowest = std::min(lowest, v0);
            highest = std::max(highest, v0);
            lowest2 = std::min(lowest2, v1);
            highest2 = std::max(highest2, v1);
        }
        for (; i < n; ++i) {
            const double v = get(i);
            values[i] = v;
            has_nan |= std::isnan(v);
            lowest = std::min(lowest, v);
            highest = std::max(highest, v);
        }
        lowest = std::min(lowest, lowest2);
        highest = std::max(highest, highest2);
        integers_ = false;
        Index c = n;
        if (has_nan) c = gather_with_nan(n, get, lowest, highest);
        count_ = c;
        bits_ = position_bits(std::max<Index>(c, 2));
        narrow_ = c >= kMinRadix && bits_ <= 14 && sort_narrow(lowest, highest);
        if (!narrow_) sort_general();
        return c;
    }

    // Sorts 64-bit integers get(0) .. get(n - 1) exactly (no NaN): values past 2^53,
    // which float64 would round into false ties, keep their order and distinctness.
    // A plain comparison sort: only columns with such values come here.
    template <class Get>
    Index sort_integers(Index n, Get&& get) {
        integers_ = true;
        dense_ = true;
        count_ = n;
        ints_.resize(static_cast<std::size_t>(n));
        perm_.resize(static_cast<std::size_t>(n));
        for (Index i = 0; i < n; ++i) {
            ints_[static_cast<std::size_t>(i)] = get(i);
            perm_[static_cast<std::size_t>(i)] = static_cast<std::uint32_t>(i);
        }
        std::stable_sort(perm_.begin(), perm_.end(),
                         [&](std::uint32_t a, std::uint32_t b) { return ints_[a] < ints_[b]; });
        return n;
    }

    Index count() const { return count_; }

    // Era position of the i-th smallest value.
    std::uint32_t position(Index i) const {
        if (integers_) return perm_[static_cast<std::size_t>(i)];
        const std::uint32_t k = narrow_ ? entry(narrow_words_, i) : entry(wide_words_, i);
        return dense_ ? k : pos_[k];
    }

    // Calls f(i, position(i), code) for each sorted entry, code = 2 rank - 1 (ties: the
    // average rank, or the order of the rows for RankMethod::First).
    template <class F>
    void for_each_code(RankMethod method, F&& f) const {
        if (integers_)
            integer_codes(method, f);
        else if (narrow_)
            codes(narrow_words_, method, f);
        else
            codes(wide_words_, method, f);
    }

private:
    static constexpr Index kMinRadix = 128;   // shorter columns: std::sort of the words
    static constexpr Index kMaxCollide = 64;  // narrow path: longest run it orders itself

    // Gathers again, leaving NaN out and keeping the era position of each value.
    template <class Get>
    Index gather_with_nan(Index n, Get&& get, double& lowest, double& highest) {
        dense_ = false;
        pos_.resize(static_cast<std::size_t>(n));
        lowest = std::numeric_limits<double>::infinity();
        highest = -lowest;
        Index c = 0;
        for (Index i = 0; i < n; ++i) {
            const double v = get(i);
            if (std::isnan(v)) continue;
            values_[static_cast<std::size_t>(c)] = v;
            pos_[static_cast<std::size_t>(c)] = static_cast<std::uint32_t>(i);
            lowest = std::min(lowest, v);
            highest = std::max(highest, v);
            ++c;
        }
        return c;
    }

    template <class W>
    std::uint32_t entry(const std::vector<W>& words, Index i) const {
        return static_cast<std::uint32_t>(words[static_cast<std::size_t>(i)] &
                                          ((W{1} << bits_) - 1));
    }
    template <class W>
    bool same_hi(const std::vector<W>& words, Index i, Index j) const {
        return ((words[static_cast<std::size_t>(i)] ^ words[static_cast<std::size_t>(j)]) >>
                bits_) == 0;
    }
    template <class W>
    double value(const std::vector<W>& words, Index i) const {
        return values_[entry(words, i)];
    }

    template <class F>
    void integer_codes(RankMethod method, F&& f) const {
        const Index c = count_;
        if (method == RankMethod::First) {
            for (Index i = 0; i < c; ++i) f(i, perm_[static_cast<std::size_t>(i)], 2 * i + 1);
            return;
        }
        Index a = 0;
        while (a < c) {
            Index b = a + 1;
            const std::int64_t v = ints_[perm_[static_cast<std::size_t>(a)]];
            while (b < c && ints_[perm_[static_cast<std::size_t>(b)]] == v) ++b;
            for (Index i = a; i < b; ++i) f(i, perm_[static_cast<std::size_t>(i)], a + b);
            a = b;
        }
    }

    template <class W, class F>
    void codes(const std::vector<W>& words, RankMethod method, F&& f) const {
        const Index c = count_;
        const std::uint32_t* pos = dense_ ? nullptr : pos_.data();
        auto at = [&](Index i) {
            const std::uint32_t k = entry(words, i);
            return pos ? pos[k] : k;
        };
        if (method == RankMethod::First) {
            for (Index i = 0; i < c; ++i) f(i, at(i), 2 * i + 1);
            return;
        }
        Index a = 0;
        while (a < c) {
            Index b = a + 1;
            while (b < c && same_hi(words, b - 1, b) && value(words, b) == value(words, a)) ++b;
            for (Index i = a; i < b; ++i) f(i, at(i), a + b);
            a = b;
        }
    }

    // Stable LSD radix sort of words on the bits [bits_, bits_ + hi_bits) in `Digits`
    // passes (a pass whose digit is the same for every word is skipped).
    template <int Digits, class W>
    void radix_sort(std::vector<W>& words, std::vector<W>& tmp, int hi_bits) {
        const std::size_t n = words.size();
        if (n < static_cast<std::size_t>(kMinRadix)) {
            std::sort(words.begin(), words.end());
            return;
        }
        constexpr int digits = Digits;
        const int width = (hi_bits + digits - 1) / digits;
        const W digit_mask = (W{1} << width) - 1;
        const std::size_t radix = std::size_t{1} << width;
        hist_.assign(static_cast<std::size_t>(digits) * radix, 0);
        for (const W w : words)
            for (int d = 0; d < digits; ++d)
                ++hist_[static_cast<std::size_t>(d) * radix +
                        static_cast<std::size_t>((w >> (bits_ + width * d)) & digit_mask)];
        tmp.resize(n);
        W* src = words.data();
        W* dst = tmp.data();
        for (int d = 0; d < digits; ++d) {
            std::uint32_t* h = hist_.data() + static_cast<std::size_t>(d) * radix;
            const int shift = bits_ + width * d;
            if (h[(src[0] >> shift) & digit_mask] == n) continue;
            std::uint32_t offset = 0;
            for (std::size_t v = 0; v < radix; ++v) {
                const std::uint32_t count = h[v];
                h[v] = offset;
                offset += count;
            }
            for (std::size_t i = 0; i < n; ++i) dst[h[(src[i] >> shift) & digit_mask]++] = src[i];
            std::swap(src, dst);
        }
        if (src != words.data()) std::copy(src, src + n, words.data());
    }

    // Orders each run of words with equal hi by (value, entry). Returns false, leaving
    // the words unfinished, when a run longer than max_run is out of order.
    template <class W>
    bool order_collisions(std::vector<W>& words, Index max_run) {
        const Index c = count_;
        const W mask = (W{1} << bits_) - 1;
        Index a = 0;
        while (a < c) {
            Index b = a + 1;
            while (b < c && same_hi(words, b - 1, b)) ++b;
            if (b - a > 1) {
                bool ordered = true;
                for (Index i = a + 1; i < b && ordered; ++i)
                    ordered = value(words, i - 1) <= value(words, i);
                if (!ordered) {
                    if (b - a > max_run) return false;
                    const auto& v = values_;
                    std::sort(words.begin() + a, words.begin() + b, [&](W l, W r) {
                        const double vl = v[l & mask], vr = v[r & mask];
                        return vl < vr || (!(vr < vl) && (l & mask) < (r & mask));
                    });
                }
            }
            a = b;
        }
        return true;
    }

    bool sort_narrow(double lowest, double highest) {
        const int hi_bits = 32 - bits_;
        const double scale = std::ldexp(1.0, hi_bits) / (highest - lowest);
        if (!(scale > 0.0 && scale < std::numeric_limits<double>::infinity())) return false;
        const double top = std::ldexp(1.0, hi_bits) - 1.0;
        const std::size_t c = static_cast<std::size_t>(count_);
        narrow_words_.resize(c);
        for (std::size_t i = 0; i < c; ++i) {
            const double hi = std::min(top, std::floor((values_[i] - lowest) * scale));
            narrow_words_[i] =
                (static_cast<std::uint32_t>(hi) << bits_) | static_cast<std::uint32_t>(i);
        }
        radix_sort<2>(narrow_words_, narrow_tmp_, hi_bits);
        return order_collisions(narrow_words_, kMaxCollide);
    }

    void sort_general() {
        const std::size_t c = static_cast<std::size_t>(count_);
        std::uint64_t all_and = ~std::uint64_t{0}, all_or = 0;
        for (std::size_t i = 0; i < c; ++i) {
            const std::uint64_t key = order_key(values_[i]);
            all_and &= key;
            all_or |= key;
        }
        const std::uint64_t differ = all_and ^ all_or;
        int shared = 0;  // leading bits common to every key
        while (shared < 63 && !(differ & (std::uint64_t{1} << (63 - shared)))) ++shared;
        const int hi_bits = std::min(33, 64 - bits_);
        wide_words_.resize(c);
        for (std::size_t i = 0; i < c; ++i) {
            const std::uint64_t hi =
                differ ? (order_key(values_[i]) << shared) >> (64 - hi_bits) : 0;
            wide_words_[i] = (hi << bits_) | static_cast<std::uint64_t>(i);
        }
        radix_sort<3>(wide_words_, wide_tmp_, hi_bits);
        order_collisions(wide_words_, count_);
    }

    std::vector<double> values_;      // non-NaN values, by entry index
    std::vector<std::uint32_t> pos_;  // era position by entry index (when NaN were left out)
    std::vector<std::uint32_t> narrow_words_, narrow_tmp_;
    std::vector<std::uint64_t> wide_words_, wide_tmp_;
    std::vector<std::uint32_t> hist_;
    std::vector<std::int64_t> ints_;   // sort_integers: the values
    std::vector<std::uint32_t> perm_;  // sort_integers: positions in sorted order
    bool integers_ = false;
    Index count_ = 0;
    int bits_ = 1;
    bool narrow_ = false;
    bool dense_ = true;  // no NaN: entry index == era position
};

// Sorts one era column, get(i) giving its values as T: exactly, as integers, when T is
// a 64-bit integer type and some |value| passes 2^53 (where float64 rounds); as float64
// otherwise (exact for every other supported type).
template <class T, class Get>
Index sort_column(ColumnSort& sort, Index n, Get&& get) {
    if constexpr (std::is_integral<T>::value && sizeof(T) == 8) {
        constexpr T limit = T{1} << 53;
        bool wide = false;
        for (Index i = 0; i < n && !wide; ++i) {
            const T v = get(i);
            if constexpr (std::is_signed<T>::value)
                wide = v > limit || v < -limit;
            else
                wide = v > limit;
        }
        if (wide)
            return sort.sort_integers(n, [&](Index i) {
                // uint64: flipping the top bit maps it onto int64 in the same order
                if constexpr (std::is_signed<T>::value)
                    return static_cast<std::int64_t>(get(i));
                else
                    return static_cast<std::int64_t>(get(i) ^ (std::uint64_t{1} << 63));
            });
    }
    return sort.sort(n, [&](Index i) { return static_cast<double>(get(i)); });
}

// Average-rank codes (2 r - 1, as above) of one column of up to 2^14 finite values,
// in fewer passes than the general ColumnSort, which stays the fallback: a
// 32-bit word per value, (bucket << bits) | index with 2^(32 - bits) equal-width buckets
// between the column's min and max (a monotone map); two LSD radix passes on the bucket
// bits (one histogram pass for both); then one pass that gives each word its code.
// Values in different buckets differ, so only runs of one bucket are compared (ordered
// by value, ties averaged). rank() returns false, writing nothing, when the column is
// too long or a bucket holds more than kMaxRun values (heavy tails, clusters). dot()
// takes the same path but sums table[code] * w in sorted order instead of emitting codes.
class NarrowRank {
public:
    // code_of[i] = the code of x[i]; lo and hi are the column's min and max.
    bool rank(const double* x, Index n, double lo, double hi, std::uint32_t* code_of) {
        return rank_with(x, n, lo, hi,
                         [code_of](std::uint32_t i, std::uint32_t code) { code_of[i] = code; });
    }

    // As rank(), calling emit(i, code of x[i]) for every i instead (a code may be emitted
    // more than once for the same i: the last one stands).
    template <class Emit>
    bool rank_with(const double* x, Index n, double lo, double hi, Emit&& emit) {
        const int bits = position_bits(std::max<Index>(n, 1));
        if (n < 2 || bits > 14) return false;
        if (lo == hi) {
            for (Index i = 0; i < n; ++i)
                emit(static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(n));
            return true;
        }
        const auto un = static_cast<std::size_t>(n);
        if (!sort_buckets(x, un, lo, hi, bits)) return false;
        const std::uint32_t index_mask = (std::uint32_t{1} << bits) - 1;
        // Every word first gets its place's code (right unless it shares its bucket);
        // the runs of one bucket are then ordered and their codes emitted again.
        const std::uint32_t* sorted_words = words_.data();
        for (std::size_t i = 0; i < un; ++i)
            emit(sorted_words[i] & index_mask, static_cast<std::uint32_t>(2 * i + 1));
        return order_runs(x, un, bits, [&](std::size_t g, std::size_t t) {
            for (std::size_t i = g; i < t; ++i)
                emit(words_[i] & index_mask, static_cast<std::uint32_t>(g + t));
        });
    }

    // result = sum over i of table[code of x[i]] * w[i] (codes as in rank(), table[k]
    // defined for k in [1, 2n), odd[i] == table[2 i + 1]). The codes are visited in sorted
    // order, so no code is scattered back to its row. Same conditions as rank().
    bool dot(const double* x, Index n, double lo, double hi, const double* table, const double* odd,
             const double* w, double& result) {
        const int bits = position_bits(std::max<Index>(n, 1));
        if (n < 2 || bits > 14) return false;
        const auto un = static_cast<std::size_t>(n);
        constexpr std::size_t kLanes = 8;
        double acc[kLanes] = {};
        if (lo == hi) {  // one value: every code is n
            std::size_t i = 0;
            for (; i + kLanes <= un; i += kLanes)
                for (std::size_t l = 0; l < kLanes; ++l) acc[l] += w[i + l];
            for (; i < un; ++i) acc[0] += w[i];
            result = table[n] * pairwise(acc);
            return true;
        }
        if (!sort_buckets(x, un, lo, hi, bits)) return false;
        const std::uint32_t index_mask = (std::uint32_t{1} << bits) - 1;
        // Runs of one bucket first (ordered by value in place); the codes of tied values
        // differ from their places' 2 i + 1 by a correction summed here.
        double fix = 0.0;
        const bool ok = order_runs(x, un, bits, [&](std::size_t g, std::size_t t) {
            if (t - g < 2) return;
            const double c = table[g + t];
            for (std::size_t i = g; i < t; ++i) fix += (c - odd[i]) * w[words_[i] & index_mask];
        });
        if (!ok) return false;
        const std::uint32_t* sorted_words = words_.data();
        std::size_t i = 0;
        for (; i + kLanes <= un; i += kLanes)
            for (std::size_t l = 0; l < kLanes; ++l)
                acc[l] += odd[i + l] * w[sorted_words[i + l] & index_mask];
        for (; i < un; ++i) acc[0] += odd[i] * w[sorted_words[i] & index_mask];
        result = pairwise(acc) + fix;
        return true;
    }

private:
    static constexpr std::size_t kMaxRun = 64;

    template <std::size_t L>
    static double pairwise(double (&acc)[L]) {
        for (std::size_t w = L / 2; w > 0; w /= 2)
            for (std::size_t l = 0; l < w; ++l) acc[l] += acc[l + w];
        return acc[0];
    }

    // words_[0..un) = (bucket << bits) | index, sorted by bucket (stably: by index within
    // a bucket), 2^(32 - bits) buckets over [lo, hi] (lo < hi). False when the range
    // cannot be scaled.
    bool sort_buckets(const double* x, std::size_t un, double lo, double hi, int bits) {
        const int hi_bits = 32 - bits;
        const double scale = std::ldexp(1.0, hi_bits) / (hi - lo);
        if (!(scale > 0.0 && scale < std::numeric_limits<double>::infinity())) return false;
        const double top = std::ldexp(1.0, hi_bits) - 1.0;
        const int width = (hi_bits + 1) / 2;
        const std::uint32_t digit_mask = (std::uint32_t{1} << width) - 1;
        const std::size_t radix = std::size_t{1} << width;
        words_.resize(un);
        tmp_.resize(un);
        hist_.assign(2 * radix, 0);
        std::uint32_t* h0 = hist_.data();
        std::uint32_t* h1 = hist_.data() + radix;
        // key = min(top, floor((x - lo) scale)), computed as 2^52 + key so that its low
        // bits are the key: GCC vectorizes neither std::floor nor the conversion to an
        // integer here (they may raise floating-point flags). y lies in [0, 2^52): y +
        // 2^52 rounds y to the nearest integer, one less when that passed y = floor.
        constexpr double kMagic = 0x1p52;
        const double top_magic = top + kMagic;
        std::uint32_t* words = words_.data();
        for (std::size_t i = 0; i < un; ++i) {  // vectorized
            const double y = (x[i] - lo) * scale;
            double r = y + kMagic;
            r -= r - kMagic > y ? 1.0 : 0.0;
            r = std::min(top_magic, r);
            std::uint64_t r_bits;
            std::memcpy(&r_bits, &r, sizeof r_bits);
            words[i] = (static_cast<std::uint32_t>(r_bits) << bits) | static_cast<std::uint32_t>(i);
        }
        for (std::size_t i = 0; i < un; ++i) {
            const std::uint32_t w = words[i];
            ++h0[(w >> bits) & digit_mask];
            ++h1[(w >> (bits + width)) & digit_mask];
        }
        std::uint32_t sum0 = 0, sum1 = 0;
        for (std::size_t v = 0; v < radix; ++v) {
            const std::uint32_t c0 = h0[v], c1 = h1[v];
            h0[v] = sum0;
            h1[v] = sum1;
            sum0 += c0;
            sum1 += c1;
        }
        for (std::size_t i = 0; i < un; ++i) {
            const std::uint32_t w = words_[i];
            tmp_[h0[(w >> bits) & digit_mask]++] = w;
        }
        for (std::size_t i = 0; i < un; ++i) {
            const std::uint32_t w = tmp_[i];
            words_[h1[(w >> (bits + width)) & digit_mask]++] = w;
        }
        return true;
    }

    // Orders each run of words sharing a bucket by value (found block by block: a
    // branch-free test per block of pairs), then calls on_group(g, t) for each group
    // [g, t) of equal values in such a run (single values included). False when a run
    // is longer than kMaxRun.
    template <class OnGroup>
    bool order_runs(const double* x, std::size_t un, int bits, OnGroup&& on_group) {
        const std::uint32_t index_mask = (std::uint32_t{1} << bits) - 1;
        constexpr std::size_t kPairs = 64;
        std::size_t a = 0;
        while (a + 1 < un) {
            const std::size_t end = std::min(a + kPairs, un - 1);  // pairs (i, i + 1), i < end
            std::uint32_t any = 0;
            for (std::size_t i = a; i < end; ++i)
                any |= static_cast<std::uint32_t>((words_[i] >> bits) == (words_[i + 1] >> bits));
            if (!any) {
                a = end;
                continue;
            }
            while ((words_[a] >> bits) != (words_[a + 1] >> bits)) ++a;
            std::size_t b = a + 2;
            while (b < un && (words_[b] >> bits) == (words_[a] >> bits)) ++b;
            if (b - a > kMaxRun) return false;
            for (std::size_t i = a + 1; i < b; ++i) {  // insertion by value
                const std::uint32_t w = words_[i];
                const double v = x[w & index_mask];
                std::size_t j = i;
                while (j > a && x[words_[j - 1] & index_mask] > v) {
                    words_[j] = words_[j - 1];
                    --j;
                }
                words_[j] = w;
            }
            std::size_t g = a;  // ties within the run share the average code
            while (g < b) {
                std::size_t t = g + 1;
                const double v = x[words_[g] & index_mask];
                while (t < b && x[words_[t] & index_mask] == v) ++t;
                on_group(g, t);
                g = t;
            }
            a = b;
        }
        return true;
    }

    std::vector<std::uint32_t> words_, tmp_, hist_;
};

// Per-thread buffers, reused across tasks.
struct SortScratch {
    ColumnSort sort;
    std::vector<double> values;
    std::vector<double> other;
    NarrowRank narrow;
    std::vector<std::uint32_t> codes;
};

inline SortScratch& scratch() {
    thread_local SortScratch s;
    return s;
}

}  // namespace detail

// transform(code) for code in [0, 2 n) of every era (a per-era lookup table; entry 0 is
// unused). Empty tables when the transform is cheap enough to evaluate directly.
inline std::vector<std::vector<double>> rank_tables(const EraIndex& eras, const RankTransform& tr,
                                                    int n_threads) {
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
        auto& sorted = detail::scratch().sort;
        const Index count =
            detail::sort_column<T>(sorted, n, [&](Index i) { return x(eras.row(e, i), j); });
        const auto& table = tables[static_cast<std::size_t>(e)];
        if (count < n) {
            for (Index i = 0; i < n; ++i)
                out[eras.row(e, i) * m + j] = std::numeric_limits<double>::quiet_NaN();
        }
        sorted.for_each_code(tr.method, [&](Index, std::uint32_t pos, std::int64_t code) {
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
