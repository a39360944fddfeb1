// Three binding files compiled as one translation unit (CMakeLists.txt, NEUTRALKIT_UNITY):
// pybind11 and Eigen are parsed once instead of three times, and the Eigen kernels that
// neutralization and diagnostics share are compiled once. The files themselves stay
// separate and unchanged; this file only includes them. It is listed last so that it is
// linked last (see CMakeLists.txt for why that matters).
// The order measured in benchmarks/RESULTS.md (not sorted):
// clang-format off
#include "../bindings/register_neutralize.cpp"
#include "../bindings/register_diagnostics.cpp"
#include "../bindings/module.cpp"
// clang-format on
