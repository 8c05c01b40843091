// spectre-micro: Google Benchmark main (see micro_decode.cc, micro_flow.cc).
#include <benchmark/benchmark.h>

BENCHMARK_MAIN();
