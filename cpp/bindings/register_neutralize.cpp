#include "arrays.hpp"

#include <neutralkit/neutralize.hpp>

#include <pybind11/stl.h>

#include <cstdint>
#include <memory>
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

// Factorizations of every era of one exposure matrix, for Neutralizer. Immutable once
// made: the solvers are shared read-only, so transforms running on other threads keep
// theirs alive whatever happens to the Python object that handed it out. It remembers
// the shape and dtype of what it was fitted on and refuses anything else.
struct Factorization {
    std::shared_ptr<const std::vector<nk::EraSolver>> solvers;
    bool intercept = true;
    py::ssize_t rows = 0, cols = 0;
    char kind = 0;
    py::ssize_t itemsize = 0;

    std::vector<nk::EraPath> paths() const {
        std::vector<nk::EraPath> p;
        for (const auto& s : *solvers) p.push_back(s.path);
        return p;
    }
};

double work_of(const py::array& x, const py::array& y) {
    return static_cast<double>(x.size()) + static_cast<double>(y.size());
}

}  // namespace

void register_neutralize(py::module_& m) {
    // Caches the main thread's id now, while the import holds the GIL: a first call
    // from two threads at once could otherwise deadlock in the static's initializer.
    (void)nk_bind::on_main_thread();
    m.def(
        "neutralize",
        [](const py::array& x, const py::array_t<double>& y, const Int64Array& order,
           const Int64Array& offsets, const std::vector<double>& proportions, bool intercept,
           bool standardize, int method, double rcond, double min_pivot, int n_threads) {
            nk_bind::check_shape(x, 2, -1, "x");
            nk_bind::check_shape(y, 2, x.shape(0), "y");
            const auto idx = era_index(order, offsets, x.shape(0));
            auto out = output_array(proportions.size(), y);
            double* out_ptr = out.mutable_data();
            const auto yv = nk_bind::strided_view<double>(y);
            const auto opt = options(intercept, standardize, method, rcond, min_pivot, n_threads);
            auto paths = nk_bind::dispatch_matrix(x, [&](auto xv) {
                return nk_bind::run_interruptible(work_of(x, y), [&] {
                    return nk::neutralize(xv, yv, idx, proportions, opt, out_ptr);
                });
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
                // Every dimension the kernel reads is checked against the fitted ones.
                if (x.ndim() != 2 || x.shape(0) != f.rows || x.shape(1) != f.cols ||
                    x.dtype().kind() != f.kind || x.dtype().itemsize() != f.itemsize)
                    throw py::value_error(
                        "internal: exposures differ in shape or dtype from the fitted ones");
                nk_bind::check_shape(y, 2, f.rows, "y");
                const auto idx = era_index(order, offsets, f.rows);
                const auto solvers = f.solvers;  // keeps them alive for this call
                if (static_cast<std::size_t>(idx.n_eras) != solvers->size())
                    throw py::value_error("internal: era count differs from the fitted one");
                for (nk::Index e = 0; e < idx.n_eras; ++e)
                    if (idx.size(e) != (*solvers)[static_cast<std::size_t>(e)].rows)
                        throw py::value_error("internal: era sizes differ from the fitted ones");
                auto out = output_array(proportions.size(), y);
                double* out_ptr = out.mutable_data();
                const auto yv = nk_bind::strided_view<double>(y);
                const auto opt = options(f.intercept, standardize, 0, 0.0, 0.0, n_threads);
                nk_bind::dispatch_matrix(x, [&](auto xv) {
                    nk_bind::run_interruptible(work_of(x, y), [&] {
                        nk::transform(*solvers, xv, yv, idx, proportions, opt, out_ptr);
                    });
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
            nk_bind::check_shape(x, 2, -1, "x");
            const auto idx = era_index(order, offsets, x.shape(0));
            Factorization f;
            f.intercept = intercept;
            f.rows = x.shape(0);
            f.cols = x.shape(1);
            f.kind = x.dtype().kind();
            f.itemsize = x.dtype().itemsize();
            const auto opt = options(intercept, false, method, rcond, min_pivot, n_threads);
            f.solvers = nk_bind::dispatch_matrix(x, [&](auto xv) {
                return nk_bind::run_interruptible(static_cast<double>(x.size()), [&] {
                    return std::make_shared<const std::vector<nk::EraSolver>>(
                        nk::factorize(xv, idx, opt));
                });
            });
            return f;
        },
        py::arg("x").noconvert(), py::arg("order").noconvert(), py::arg("offsets").noconvert(),
        py::arg("intercept"), py::arg("method"), py::arg("rcond"), py::arg("min_pivot"),
        py::arg("n_threads"), "Factorizes every era of x once, for repeated transforms.");
}
