#include "arrays.hpp"

#include <neutralkit/rank.hpp>
#include <neutralkit/stats.hpp>

#include <atomic>
#include <cstdint>

namespace py = pybind11;
namespace nk = neutralkit;

namespace {

using nk_bind::era_index;
using nk_bind::Int64Array;
using Float64Vector = py::array_t<double, py::array::c_style>;

nk::RankTransform rank_transform(int method, bool gaussian, double power) {
    nk::RankTransform tr;
    tr.method = static_cast<nk::RankMethod>(method);
    tr.gaussian = gaussian;
    tr.power = power;
    return tr;
}

py::array_t<double> matrix(py::ssize_t rows, py::ssize_t cols) {
    return py::array_t<double>({rows, cols});
}

void check_vector(const Float64Vector& v, const py::array& x, const char* name) {
    if (v.ndim() != 1 || v.shape(0) != x.shape(0))
        throw py::value_error(std::string("internal: ") + name +
                              " must be 1-D with one value per row");
}

// contribution_columns (rank_method >= 0: p holds raw predictions, ranked and
// gaussianized first); with nonfinite given, it is set when p holds NaN or inf.
py::array_t<double> contribution(const py::array& p, const Float64Vector& mm,
                                 const Float64Vector& t, const Int64Array& order,
                                 const Int64Array& offsets, std::int64_t top_bottom, int n_threads,
                                 int rank_method, std::atomic<bool>* nonfinite) {
    nk_bind::check_shape(p, 2, -1, "p");
    check_vector(mm, p, "metamodel");
    const auto tr = rank_transform(rank_method < 0 ? 0 : rank_method, true, 1.0);
    const nk::RankTransform* tr_ptr = rank_method < 0 ? nullptr : &tr;
    check_vector(t, p, "target");
    const auto idx = era_index(order, offsets, p.shape(0));
    auto out = matrix(static_cast<py::ssize_t>(idx.n_eras), p.shape(1));
    double* out_ptr = out.mutable_data();
    const double* mm_ptr = mm.data();
    const double* t_ptr = t.data();
    nk_bind::dispatch_matrix(p, [&](auto pv) {
        nk_bind::run_interruptible(static_cast<double>(p.size()), [&] {
            nk::contribution_columns(pv, mm_ptr, t_ptr, idx, top_bottom, n_threads, out_ptr, tr_ptr,
                                     nonfinite);
        });
    });
    return out;
}

}  // namespace

void register_scoring(py::module_& m) {
    m.def(
        "ndtri",
        [](const Float64Vector& p) {
            Float64Vector out(p.shape(0));
            for (py::ssize_t i = 0; i < p.shape(0); ++i)
                out.mutable_data()[i] = nk::ndtri(p.data()[i]);
            return out;
        },
        py::arg("p").noconvert(), "Inverse standard normal CDF, element-wise (for tests).");

    m.def(
        "rank_columns",
        [](const py::array& x, const Int64Array& order, const Int64Array& offsets, int method,
           bool gaussian, double power, int n_threads) {
            nk_bind::check_shape(x, 2, -1, "x");
            const auto idx = era_index(order, offsets, x.shape(0));
            auto out = matrix(x.shape(0), x.shape(1));
            double* out_ptr = out.mutable_data();
            const auto tr = rank_transform(method, gaussian, power);
            nk_bind::dispatch_matrix(x, [&](auto xv) {
                nk_bind::run_interruptible(static_cast<double>(x.size()), [&] {
                    nk::rank_columns(xv, idx, tr, n_threads, out_ptr);
                });
            });
            return out;
        },
        py::arg("x").noconvert(), py::arg("order").noconvert(), py::arg("offsets").noconvert(),
        py::arg("method"), py::arg("gaussian"), py::arg("power"), py::arg("n_threads"),
        "Per-era uniform rank of each column, optionally gaussianized and powered.");

    m.def(
        "signed_power",
        [](const py::array& x, double p, int n_threads) {
            nk_bind::check_shape(x, 2, -1, "x");
            auto out = matrix(x.shape(0), x.shape(1));
            double* out_ptr = out.mutable_data();
            nk_bind::dispatch_matrix(x, [&](auto xv) {
                nk_bind::run_interruptible(static_cast<double>(x.size()), [&] {
                    nk::signed_power_columns(xv, p, n_threads, out_ptr);
                });
            });
            return out;
        },
        py::arg("x").noconvert(), py::arg("p"), py::arg("n_threads"),
        "sign(x) * |x| ** p, element-wise.");

    m.def(
        "prepare_target",
        [](const Float64Vector& t, const Int64Array& order, const Int64Array& offsets, int mode,
           double power) {
            nk_bind::check_shape(t, 1, -1, "t");
            const auto idx = era_index(order, offsets, t.shape(0));
            Float64Vector out(t.shape(0));
            double* out_ptr = out.mutable_data();
            const double* t_ptr = t.data();
            {
                // Safe: read-only input, private output.
                py::gil_scoped_release release;
                nk::prepare_target(t_ptr, idx, static_cast<nk::TargetMode>(mode), power, out_ptr);
            }
            return out;
        },
        py::arg("t").noconvert(), py::arg("order").noconvert(), py::arg("offsets").noconvert(),
        py::arg("mode"), py::arg("power"), "Per-era target preparation (raw/centre/power/x4).");

    m.def(
        "pearson_columns",
        [](const py::array& x, const Float64Vector& y, const Int64Array& order,
           const Int64Array& offsets, bool covariance, int n_threads) {
            nk_bind::check_shape(x, 2, -1, "x");
            check_vector(y, x, "y");
            const auto idx = era_index(order, offsets, x.shape(0));
            auto out = matrix(static_cast<py::ssize_t>(idx.n_eras), x.shape(1));
            double* out_ptr = out.mutable_data();
            const double* y_ptr = y.data();
            nk_bind::dispatch_matrix(x, [&](auto xv) {
                nk_bind::run_interruptible(static_cast<double>(x.size()), [&] {
                    nk::pearson_columns(xv, y_ptr, idx, covariance, n_threads, out_ptr);
                });
            });
            return out;
        },
        py::arg("x").noconvert(), py::arg("y").noconvert(), py::arg("order").noconvert(),
        py::arg("offsets").noconvert(), py::arg("covariance"), py::arg("n_threads"),
        "Per-era Pearson correlation (or covariance, ddof=1) of each column with y.");

    m.def(
        "rank_correlation_columns",
        [](const py::array& x, const Float64Vector& y, const Int64Array& order,
           const Int64Array& offsets, int method, bool gaussian, double power,
           std::int64_t top_bottom, int n_threads) {
            nk_bind::check_shape(x, 2, -1, "x");
            check_vector(y, x, "y");
            const auto idx = era_index(order, offsets, x.shape(0));
            auto out = matrix(static_cast<py::ssize_t>(idx.n_eras), x.shape(1));
            double* out_ptr = out.mutable_data();
            const double* y_ptr = y.data();
            const auto tr = rank_transform(method, gaussian, power);
            nk_bind::dispatch_matrix(x, [&](auto xv) {
                nk_bind::run_interruptible(static_cast<double>(x.size()), [&] {
                    nk::rank_correlation_columns(xv, y_ptr, idx, tr, top_bottom, n_threads,
                                                 out_ptr);
                });
            });
            return out;
        },
        py::arg("x").noconvert(), py::arg("y").noconvert(), py::arg("order").noconvert(),
        py::arg("offsets").noconvert(), py::arg("method"), py::arg("gaussian"), py::arg("power"),
        py::arg("top_bottom"), py::arg("n_threads"),
        "Per-era Pearson of the transformed rank of each column with y.");

    m.def(
        "contribution_columns",
        [](const py::array& p, const Float64Vector& mm, const Float64Vector& t,
           const Int64Array& order, const Int64Array& offsets, std::int64_t top_bottom,
           int n_threads, int rank_method) {
            return contribution(p, mm, t, order, offsets, top_bottom, n_threads, rank_method,
                                nullptr);
        },
        py::arg("p").noconvert(), py::arg("mm").noconvert(), py::arg("t").noconvert(),
        py::arg("order").noconvert(), py::arg("offsets").noconvert(), py::arg("top_bottom"),
        py::arg("n_threads"), py::arg("rank_method") = -1,
        "Per-era contribution of each column beyond the metamodel (rank_method >= 0: rank "
        "and gaussianize the columns first).");

    m.def(
        "contribution_columns_checked",
        [](const py::array& p, const Float64Vector& mm, const Float64Vector& t,
           const Int64Array& order, const Int64Array& offsets, std::int64_t top_bottom,
           int n_threads, int rank_method) {
            std::atomic<bool> nonfinite{false};
            auto out = contribution(p, mm, t, order, offsets, top_bottom, n_threads, rank_method,
                                    &nonfinite);
            return py::make_tuple(out, nonfinite.load());
        },
        py::arg("p").noconvert(), py::arg("mm").noconvert(), py::arg("t").noconvert(),
        py::arg("order").noconvert(), py::arg("offsets").noconvert(), py::arg("top_bottom"),
        py::arg("n_threads"), py::arg("rank_method") = -1,
        "As contribution_columns, also checking p: (scores, whether p holds NaN or inf; the "
        "scores are then not to be used).");
}
