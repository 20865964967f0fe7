// Parallel loops: on the OpenMP team of the runtime torch loaded into the process, where
// there is one (found at run time, not linked), otherwise on a small persistent pool of
// std::thread workers.
#pragma once

#include <cstdint>
#include <utility>

namespace aihw {

/// std::thread::hardware_concurrency(), at least 1.
int hardware_threads() noexcept;

/// `requested <= 0` -> hardware_threads(); otherwise `requested`, at most
/// 4 * hardware_threads() (the pool's workers are kept for the life of the process).
int resolve_threads(int requested) noexcept;

/// "openmp" when parallel loops run on the OpenMP team of a runtime already loaded into
/// the process (torch's), "own" when they run on our own workers (no such runtime, a
/// forked child, or AIHW_ENGINE_POOL=own in the environment).
const char* engine_pool() noexcept;

/// Whether the cores are busy: a recent parallel loop on the OpenMP team waited for a
/// thread that the scheduler had descheduled, so loops run on the calling thread alone
/// for a while (see thread_pool.cpp). Callers may then shrink their own parallel work.
bool cores_busy() noexcept;

namespace detail {
using TaskFn = void (*)(void* context, std::int64_t task);
void parallel_for_impl(int n_threads, std::int64_t n_tasks, TaskFn fn, void* context);
}  // namespace detail

/// Calls `fn(task)` once for every task in [0, n_tasks), on up to `n_threads` threads (the
/// calling thread takes part). Tasks are handed out dynamically, so `fn` must not depend on
/// which thread runs a task. Returns when every task is done; the first exception thrown
/// by a task is rethrown here. Runs serially when `n_threads <= 1`, when there is a single
/// task, or when another call is using the pool at the same time.
template <class Fn>
void parallel_for(int n_threads, std::int64_t n_tasks, Fn&& fn) {
  if (n_tasks <= 0) return;
  if (n_threads <= 1 || n_tasks == 1) {
    for (std::int64_t t = 0; t < n_tasks; ++t) fn(t);
    return;
  }
  using F = std::remove_reference_t<Fn>;
  detail::parallel_for_impl(
      n_threads, n_tasks,
      [](void* context, std::int64_t task) { (*static_cast<F*>(context))(task); },
      const_cast<void*>(static_cast<const void*>(&fn)));
}

}  // namespace aihw
