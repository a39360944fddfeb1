// The extension module: one register_<area>() call per kernel family.
#include <pybind11/pybind11.h>

namespace py = pybind11;

void register_checks(py::module_& m);
void register_neutralize(py::module_& m);
void register_diagnostics(py::module_& m);
void register_scoring(py::module_& m);
void register_metamodel(py::module_& m);
void register_contribution(py::module_& m);

PYBIND11_MODULE(_core, m, py::mod_gil_not_used()) {
    m.doc() = "neutralkit's compiled kernels (internal; use the neutralkit package)";
    register_checks(m);
    register_neutralize(m);
    register_diagnostics(m);
    register_scoring(m);
    register_metamodel(m);
    register_contribution(m);
}
