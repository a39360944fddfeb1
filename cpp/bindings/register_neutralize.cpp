#include "arrays.hpp"

#include <neutralkit/neutralize.hpp>

#include <pybind11/stl.h>

#include <cstdint>
#include <vector>

namespace py = pybind11;
namespace nk = neutralkit;

namespace {

using nk_bind::era_index;
using nk_bind::Int64Array;

nk::NeutralizeOptions options(bool intercept, bool standardize, int method, double rcond,
                              double min_pivot, int n_threads) {
    nk::NeutralizeOptions o;
    o.intercept = intercept;
    o.standardize = standardize;
    o.method = static_cast<nk::Method>(method);
    o.rcond = rcond;
    o.min_pivot = min_pivot;
    o.n_threads = n_threads;
    return o;
}

py::array_t<double> output_array(std::size_t n_props, const py::array& y) {
    return py::array_t<double>({static_cast<py::ssize_t>(n_props), y.shape(0), y.shape(1)});
}

py::array_t<std::uint8_t> path_array(const std::vector<nk::EraPath>& paths) {
    py::array_t<std::uint8_t> a(static_cast<py::ssize_t>(paths.size()));
    auto* p = a.mutable_data();
    for (std::size_t i = 0; i < paths.size(); ++i) p[i] = static_cast<std::uint8_t>(paths[i]);
    return a;
}

// Factorizations of every era of one exposure matrix, for Neutralizer.
struct Factorization {
    std::vector<nk::EraSolver> solvers;
    bool intercept = true;

    std::vector<nk::EraPath> paths() const {
        std::vector<nk::EraPath> p;
        for (const auto& s : solvers) p.push_back(s.path);
        return p;
    }
};

}  // namespace

void register_neutralize(py::module_& m) {
    m.def(
        "neutralize",
        [](const py::array& x, const py::array_t<double>& y, const Int64Array& order,
           const Int64Array& offsets, const std::vector<double>& proportions, bool intercept,
           bool standardize, int method, double rcond, double min_pivot, int n_threads) {
            auto out = output_array(proportions.size(), y);
            double* out_ptr = out.mutable_data();
            const auto yv = nk_bind::strided_view<double>(y);
            const auto idx = era_index(order, offsets);
            const auto opt = options(intercept, standardize, method, rcond, min_pivot, n_threads);
            auto paths = nk_bind::dispatch_matrix(x, [&](auto xv) {
                // Safe: kernels only read the input buffers (kept alive by the caller)
                // and write `out`, which no other thread can see yet.
                py::gil_scoped_release release;
                return nk::neutralize(xv, yv, idx, proportions, opt, out_ptr);
            });
            return py::make_tuple(out, path_array(paths));
        },
        py::arg("x").noconvert(), py::arg("y").noconvert(), py::arg("order").noconvert(),
        py::arg("offsets").noconvert(), py::arg("proportions"), py::arg("intercept"),
        py::arg("standardize"), py::arg("method"), py::arg("rcond"), py::arg("min_pivot"),
        py::arg("n_threads"),
        "Residuals (P x n x m) of y on [x, 1] per era, and the path each era took.");

    py::class_<Factorization>(m, "Factorization")
        .def_property_readonly("paths",
                               [](const Factorization& f) { return path_array(f.paths()); })
        .def(
            "transform",
            [](const Factorization& f, const py::array& x, const py::array_t<double>& y,
               const Int64Array& order, const Int64Array& offsets,
               const std::vector<double>& proportions, bool standardize, int n_threads) {
                auto out = output_array(proportions.size(), y);
                double* out_ptr = out.mutable_data();
                const auto yv = nk_bind::strided_view<double>(y);
                const auto idx = era_index(order, offsets);
                if (static_cast<std::size_t>(idx.n_eras) != f.solvers.size())
                    throw py::value_error("internal: era count differs from the fitted one");
                const auto opt = options(f.intercept, standardize, 0, 0.0, 0.0, n_threads);
                nk_bind::dispatch_matrix(x, [&](auto xv) {
                    // Safe: read-only inputs, private output (see neutralize).
                    py::gil_scoped_release release;
                    nk::transform(f.solvers, xv, yv, idx, proportions, opt, out_ptr);
                });
                return out;
            },
            py::arg("x").noconvert(), py::arg("y").noconvert(), py::arg("order").noconvert(),
            py::arg("offsets").noconvert(), py::arg("proportions"), py::arg("standardize"),
            py::arg("n_threads"));

    m.def(
        "factorize",
        [](const py::array& x, const Int64Array& order, const Int64Array& offsets, bool intercept,
           int method, double rcond, double min_pivot, int n_threads) {
            Factorization f;
            f.intercept = intercept;
            const auto idx = era_index(order, offsets);
            const auto opt = options(intercept, false, method, rcond, min_pivot, n_threads);
            nk_bind::dispatch_matrix(x, [&](auto xv) {
                // Safe: read-only input; the solvers are private until we return.
                py::gil_scoped_release release;
                f.solvers = nk::factorize(xv, idx, opt);
            });
            return f;
        },
        py::arg("x").noconvert(), py::arg("order").noconvert(), py::arg("offsets").noconvert(),
        py::arg("intercept"), py::arg("method"), py::arg("rcond"), py::arg("min_pivot"),
        py::arg("n_threads"), "Factorizes every era of x once, for repeated transforms.");
}
