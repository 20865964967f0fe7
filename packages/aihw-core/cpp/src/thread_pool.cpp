#include "aihw/thread_pool.hpp"

#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <new>
#include <thread>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>
#define AIHW_HAVE_PTHREAD_ATFORK 1
#endif
#if defined(__linux__)
#include <dlfcn.h>
#include <link.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#define AIHW_FIND_OPENMP 1
#endif

namespace aihw {

int hardware_threads() noexcept {
  // Asked once: std::thread::hardware_concurrency() reads /sys on Linux (~10 us).
  static const int n = [] {
    const unsigned hc = std::thread::hardware_concurrency();
    return hc == 0 ? 1 : static_cast<int>(hc);
  }();
  return n;
}

int resolve_threads(int requested) noexcept {
  if (requested <= 0) return hardware_threads();
  // Workers live as long as the process: more than a few per core only wastes them.
  const int cap = 4 * hardware_threads();
  return requested < cap ? requested : cap;
}

namespace detail {
namespace {

struct Job {
  TaskFn fn;
  void* context;
  std::int64_t n_tasks;
  std::atomic<std::int64_t> next{0};
  std::mutex error_mutex;
  std::exception_ptr error;

  void work() noexcept {
    for (;;) {
      const std::int64_t task = next.fetch_add(1, std::memory_order_relaxed);
      if (task >= n_tasks) return;
      try {
        fn(context, task);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
        next.store(n_tasks, std::memory_order_relaxed);  // stop handing out tasks
      }
    }
  }
};

// The pool is created on first use and never destroyed (its workers are detached and sleep
// until the process ends), which avoids any ordering problem at interpreter shutdown.
class Pool {
 public:
  // Serialises callers: a second concurrent caller runs its tasks serially instead.
  std::mutex run_mutex;

  void run(int n_threads, Job& job) {
    const int n_workers = n_threads - 1;
    grow(n_workers);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job_ = &job;
      job_workers_ = n_workers;
      pending_ = n_workers;
      ++generation_;
    }
    work_cv_.notify_all();
    job.work();
    std::unique_lock<std::mutex> lock(mutex_);
    done_cv_.wait(lock, [this] { return pending_ == 0; });
    job_ = nullptr;
  }

 private:
  void grow(int n_workers) {
    if (n_started_ >= n_workers) return;
    std::uint64_t generation = 0;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      generation = generation_;  // the next job has a later generation: no worker misses it
    }
    while (n_started_ < n_workers) {
      std::thread(&Pool::worker_loop, this, n_started_, generation).detach();
      ++n_started_;
    }
  }

  void worker_loop(int index, std::uint64_t seen) {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      work_cv_.wait(lock, [&] { return generation_ != seen; });
      seen = generation_;
      if (index >= job_workers_) continue;
      Job* job = job_;
      lock.unlock();
      job->work();
      lock.lock();
      if (--pending_ == 0) done_cv_.notify_all();
    }
  }

  std::mutex mutex_;
  std::condition_variable work_cv_;
  std::condition_variable done_cv_;
  Job* job_ = nullptr;
  int job_workers_ = 0;
  int pending_ = 0;
  std::uint64_t generation_ = 0;
  int n_started_ = 0;  // only touched under run_mutex
};

std::atomic<Pool*> g_pool{nullptr};
std::mutex g_create_mutex;
std::atomic<bool> g_forked{false};

#ifdef AIHW_HAVE_PTHREAD_ATFORK
// A forked child has none of the parent's workers: forget the pool (leaking it on purpose)
// and let the child create its own on first use. It does not use the OpenMP team either
// (an OpenMP runtime is not safe to use after a fork).
void forget_pool_in_child() {
  g_pool.store(nullptr);
  g_forked.store(true);
  new (&g_create_mutex) std::mutex();
}
#endif

// Registers forget_pool_in_child once, before the first parallel loop that uses either
// kind of threads.
void watch_forks() {
#ifdef AIHW_HAVE_PTHREAD_ATFORK
  static const bool registered = [] {
    pthread_atfork(nullptr, nullptr, &forget_pool_in_child);
    return true;
  }();
  (void)registered;
#endif
}

// The OpenMP runtime that torch loaded into this process, if any. Its threads keep
// spinning for a while after each of torch's parallel regions (a matrix product); tasks
// run on our own workers then compete with them for the cores, while tasks run on that
// team use them. The runtime is looked up at run time (it is not a link dependency, so
// one wheel serves every torch release): any loaded library exporting GOMP_parallel, the
// entry point that libgomp, LLVM's libomp and Intel's libiomp5 all provide.
// AIHW_ENGINE_POOL=own keeps every task on our own workers.
using GompParallelFn = void (*)(void (*)(void*), void*, unsigned, unsigned);

#ifdef AIHW_FIND_OPENMP
struct OpenmpSearch {
  const char* path_part;  // only libraries whose path contains this
  GompParallelFn found = nullptr;
};

int find_gomp_parallel(dl_phdr_info* info, std::size_t, void* data) {
  auto* search = static_cast<OpenmpSearch*>(data);
  const char* name = info->dlpi_name;
  if (name == nullptr || std::strstr(name, "omp") == nullptr ||
      std::strstr(name, search->path_part) == nullptr) {
    return 0;
  }
  void* handle = dlopen(name, RTLD_LAZY | RTLD_NOLOAD);  // already loaded, or nothing
  if (handle == nullptr) return 0;
  void* symbol = dlsym(handle, "GOMP_parallel");
  if (symbol == nullptr) {
    dlclose(handle);
    return 0;
  }
  // The handle stays open, so that the runtime cannot be unloaded under us.
  search->found = reinterpret_cast<GompParallelFn>(symbol);
  return 1;
}

// The number of libraries the process has loaded so far (glibc's dlpi_adds; 0 where the
// field is missing, which makes a failed search final).
int count_loads(dl_phdr_info* info, std::size_t size, void* loads) {
  if (size >= offsetof(dl_phdr_info, dlpi_adds) + sizeof(info->dlpi_adds)) {
    *static_cast<unsigned long long*>(loads) = info->dlpi_adds;
  }
  return 1;  // the first object carries the count
}
#endif

GompParallelFn loaded_openmp() {
#ifdef AIHW_FIND_OPENMP
  if (g_forked.load(std::memory_order_relaxed)) return nullptr;
  static const bool disabled = [] {
    const char* pool = std::getenv("AIHW_ENGINE_POOL");
    return pool != nullptr && std::strcmp(pool, "own") == 0;
  }();
  if (disabled) return nullptr;
  // Looked up until found: the first parallel call may come before torch is loaded. A
  // failed search is repeated only once more libraries have been loaded, so that a
  // process without OpenMP does not search on every loop.
  static std::atomic<GompParallelFn> found{nullptr};
  static std::atomic<unsigned long long> loads_at_failed_search{~0ULL};
  GompParallelFn fn = found.load(std::memory_order_acquire);
  if (fn == nullptr) {
    unsigned long long loads = 0;
    dl_iterate_phdr(&count_loads, &loads);
    if (loads == loads_at_failed_search.load(std::memory_order_relaxed)) return nullptr;
    watch_forks();  // before the first use of the team: a forked child must not use it
    // torch's own runtime first (other packages, e.g. scikit-learn, bundle one too).
    for (const char* part : {"torch", ""}) {
      OpenmpSearch search{part};
      dl_iterate_phdr(&find_gomp_parallel, &search);
      fn = search.found;
      if (fn != nullptr) break;
    }
    if (fn != nullptr) {
      found.store(fn, std::memory_order_release);
    } else {
      loads_at_failed_search.store(loads, std::memory_order_relaxed);
    }
  }
  return fn;
#else
  return nullptr;
#endif
}

void run_job(void* job) { static_cast<Job*>(job)->work(); }

Pool& pool() {
  Pool* p = g_pool.load(std::memory_order_acquire);
  if (p != nullptr) return *p;
  std::lock_guard<std::mutex> lock(g_create_mutex);
  p = g_pool.load(std::memory_order_acquire);
  if (p == nullptr) {
    watch_forks();
    p = new Pool();
    g_pool.store(p, std::memory_order_release);
  }
  return *p;
}

}  // namespace

}  // namespace detail

const char* engine_pool() noexcept {
  return detail::loaded_openmp() != nullptr ? "openmp" : "own";
}

namespace detail {

void parallel_for_impl(int n_threads, std::int64_t n_tasks, TaskFn fn, void* context) {
  if (n_threads > n_tasks) n_threads = static_cast<int>(n_tasks);
  Job job;
  job.fn = fn;
  job.context = context;
  job.n_tasks = n_tasks;
  if (n_threads > 1) {
    if (const GompParallelFn gomp = loaded_openmp()) {
      gomp(&run_job, &job, static_cast<unsigned>(n_threads), 0);
      if (job.error) std::rethrow_exception(job.error);
      return;
    }
  }
  Pool& p = pool();
  std::unique_lock<std::mutex> run_lock(p.run_mutex, std::try_to_lock);
  if (!run_lock.owns_lock() || n_threads <= 1) {
    job.work();
  } else {
    p.run(n_threads, job);
  }
  if (job.error) std::rethrow_exception(job.error);
}

}  // namespace detail
}  // namespace aihw
