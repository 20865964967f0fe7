// Functions that the CPU engine and the CUDA kernels share (issue 15: the per-element
// arithmetic is written once). Under nvcc they are compiled for both the host and the
// device; under a plain C++ compiler the macros vanish, so the CPU build and its tests run
// exactly the code the GPU runs.
#pragma once

#if defined(__CUDACC__)
#define AIHW_HD __host__ __device__
#define AIHW_DEVICE_CODE 1
#else
#define AIHW_HD
#define AIHW_DEVICE_CODE 0
#endif
