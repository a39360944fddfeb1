#include "arrays.hpp"

#include <neutralkit/contribution.hpp>

#include <atomic>
#include <cstdint>
#include <string>

namespace py = pybind11;
namespace nk = neutralkit;

namespace {

using nk_bind::era_index;
using nk_bind::Int64Array;
using Float64Vector = py::array_t<double, py::array::c_style>;
using Float64Matrix = py::array_t<double, py::array::c_style>;

void check_rows(const py::array& a, py::ssize_t ndim, py::ssize_t rows, const char* name) {
    if (a.ndim() != ndim || a.shape(0) != rows)
        throw py::value_error(std::string("internal: ") + name + " has the wrong shape");
}

// The kernel inputs (the column numbers are checked against preds here).
template <class T>
nk::ContributionInputs<T> inputs(nk::StridedMatrix<T> pv, const Int64Array& cols,
                                 const Float64Matrix& neutralizers, const Float64Vector& weights) {
    check_rows(neutralizers, 2, pv.rows, "neutralizers");
    check_rows(weights, 1, pv.rows, "sample_weights");
    if (cols.ndim() != 1) throw py::value_error("internal: cols must be 1-D");
    for (py::ssize_t j = 0; j < cols.size(); ++j)
        if (cols.data()[j] < 0 || cols.data()[j] >= pv.cols)
            throw py::value_error("internal: a column number is outside preds");
    nk::ContributionInputs<T> in;
    in.preds = pv;
    in.cols = cols.data();
    in.n_cols = static_cast<nk::Index>(cols.size());
    in.neutralizers = neutralizers.data();
    in.k = static_cast<nk::Index>(neutralizers.shape(1));
    in.sample_weights = weights.data();
    return in;
}

}  // namespace

void register_contribution(py::module_& m) {
    m.def(
        "contribution_weights",
        [](const py::array& preds, const Int64Array& cols, const Float64Matrix& neutralizers,
           const Float64Vector& weights, const Int64Array& order, const Int64Array& offsets,
           int post, int n_threads) {
            if (preds.ndim() != 2) throw py::value_error("internal: preds must be 2-D");
            const auto idx = era_index(order, offsets);
            py::array_t<double> out({preds.shape(0), static_cast<py::ssize_t>(cols.size())});
            double* out_ptr = out.mutable_data();
            std::atomic<bool> nonfinite{false};
            nk_bind::dispatch_matrix(preds, [&](auto pv) {
                auto in = inputs(pv, cols, neutralizers, weights);
                in.nonfinite = &nonfinite;
                // Safe: the kernel only reads buffers the caller keeps alive and writes
                // `out`, which no other thread can see yet.
                py::gil_scoped_release release;
                nk::neutralized_weights(in, idx, static_cast<nk::WeightPost>(post), n_threads,
                                        out_ptr);
            });
            return py::make_tuple(out, nonfinite.load());
        },
        py::arg("preds").noconvert(), py::arg("cols").noconvert(),
        py::arg("neutralizers").noconvert(), py::arg("weights").noconvert(),
        py::arg("order").noconvert(), py::arg("offsets").noconvert(), py::arg("post"),
        py::arg("n_threads"),
        "Per-era neutralized weights of the chosen columns (post: 0 none, 1 centre, 2 centre "
        "and normalize); returns (weights, whether a prediction read was NaN or infinite).");

    m.def(
        "contribution_alpha",
        [](const py::array& preds, const Int64Array& cols, const Float64Matrix& neutralizers,
           const Float64Vector& weights, const Float64Vector& target, const Int64Array& order,
           const Int64Array& offsets, int n_threads) {
            if (preds.ndim() != 2) throw py::value_error("internal: preds must be 2-D");
            check_rows(target, 1, preds.shape(0), "target");
            const auto idx = era_index(order, offsets);
            py::array_t<double> out(
                {static_cast<py::ssize_t>(idx.n_eras), static_cast<py::ssize_t>(cols.size())});
            double* out_ptr = out.mutable_data();
            std::atomic<bool> nonfinite{false};
            const double* t_ptr = target.data();
            nk_bind::dispatch_matrix(preds, [&](auto pv) {
                auto in = inputs(pv, cols, neutralizers, weights);
                in.nonfinite = &nonfinite;
                // Safe: read-only inputs, private output.
                py::gil_scoped_release release;
                nk::alpha_columns(in, t_ptr, idx, n_threads, out_ptr);
            });
            return py::make_tuple(out, nonfinite.load());
        },
        py::arg("preds").noconvert(), py::arg("cols").noconvert(),
        py::arg("neutralizers").noconvert(), py::arg("weights").noconvert(),
        py::arg("target").noconvert(), py::arg("order").noconvert(), py::arg("offsets").noconvert(),
        py::arg("n_threads"),
        "Per-era alpha (neutralized weights times the centred target, over n); returns "
        "(alpha, whether a prediction read was NaN or infinite).");

    m.def(
        "contribution_mpc",
        [](const py::array& preds, const Int64Array& cols, const Float64Vector& stakes,
           const Float64Matrix& neutralizers, const Float64Vector& weights,
           const Float64Vector& target, const Int64Array& order, const Int64Array& offsets,
           int n_threads) {
            if (preds.ndim() != 2) throw py::value_error("internal: preds must be 2-D");
            check_rows(target, 1, preds.shape(0), "target");
            if (stakes.ndim() != 1 || stakes.size() != cols.size())
                throw py::value_error("internal: one stake per chosen column");
            const auto idx = era_index(order, offsets);
            py::array_t<double> out(
                {static_cast<py::ssize_t>(idx.n_eras), static_cast<py::ssize_t>(cols.size())});
            double* out_ptr = out.mutable_data();
            std::atomic<bool> nonfinite{false};
            const double* t_ptr = target.data();
            const double* s_ptr = stakes.data();
            nk_bind::dispatch_matrix(preds, [&](auto pv) {
                auto in = inputs(pv, cols, neutralizers, weights);
                in.nonfinite = &nonfinite;
                // Safe: read-only inputs, private output.
                py::gil_scoped_release release;
                nk::mpc_columns(in, s_ptr, t_ptr, idx, n_threads, out_ptr);
            });
            return py::make_tuple(out, nonfinite.load());
        },
        py::arg("preds").noconvert(), py::arg("cols").noconvert(), py::arg("stakes").noconvert(),
        py::arg("neutralizers").noconvert(), py::arg("weights").noconvert(),
        py::arg("target").noconvert(), py::arg("order").noconvert(), py::arg("offsets").noconvert(),
        py::arg("n_threads"),
        "Per-era meta-portfolio contribution of the chosen columns (stakes summing to 1); "
        "returns (mpc, whether a prediction read was NaN or infinite).");
}
