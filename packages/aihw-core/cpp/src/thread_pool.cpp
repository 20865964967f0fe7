#include "aihw/thread_pool.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
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
  std::int64_t grain = 1;  // consecutive tasks handed out at once
  std::atomic<std::int64_t> next{0};
  std::mutex error_mutex;
  std::exception_ptr error;
  // On the OpenMP team: when the loop started, and the latest time a thread arrived.
  std::int64_t start_ns = 0;
  std::atomic<std::int64_t> last_arrival_ns{0};

  void work() noexcept {
    for (;;) {
      const std::int64_t first = next.fetch_add(grain, std::memory_order_relaxed);
      if (first >= n_tasks) return;
      const std::int64_t last = first + grain < n_tasks ? first + grain : n_tasks;
      try {
        for (std::int64_t task = first; task < last; ++task) fn(context, task);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
        next.store(n_tasks, std::memory_order_relaxed);  // stop handing out tasks
      }
    }
  }
};

// A worker or a caller with nothing to do spins this long before it sleeps: back-to-back
// parallel loops (a forward makes several) then start without a system call, while a core
// that is needed elsewhere (a busy machine) is given up soon.
constexpr auto kSpin = std::chrono::microseconds(50);

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Spins until `done()` or kSpin has passed; returns done().
template <class Done>
bool spin_until(Done&& done) {
  const auto deadline = std::chrono::steady_clock::now() + kSpin;
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (done()) return true;
      cpu_relax();
    }
    if (std::chrono::steady_clock::now() >= deadline) return done();
  }
}

// The pool is created on first use and never destroyed (its workers are detached and sleep
// until the process ends), which avoids any ordering problem at interpreter shutdown.
//
// A job is open to late joiners: the caller works through the tasks itself from the
// start, workers join while tasks are left, and when the caller runs out of tasks it
// closes the job and waits only for the workers that joined (each holds at most the one
// task it is running). A worker that was not scheduled in time (busy cores) is not waited
// for: it finds the job closed. `state_` packs the job's generation (high 32 bits), the
// closed flag (bit 31) and the number of workers that joined (low 31 bits).
class Pool {
 public:
  // Serialises callers: a second concurrent caller runs its tasks serially instead.
  std::mutex run_mutex;

  void run(int n_threads, Job& job) {
    const int n_workers = n_threads - 1;
    grow(n_workers);
    job_.store(&job, std::memory_order_relaxed);
    limit_.store(n_workers, std::memory_order_relaxed);
    done_.store(0, std::memory_order_relaxed);
    const std::uint64_t generation = (state_.load(std::memory_order_relaxed) >> 32) + 1;
    state_.store(generation << 32, std::memory_order_seq_cst);  // publishes the job
    if (sleepers_.load(std::memory_order_seq_cst) > 0) {
      std::lock_guard<std::mutex> lock(mutex_);
      work_cv_.notify_all();
    }
    job.work();
    const std::uint64_t closed = state_.fetch_or(kClosed, std::memory_order_seq_cst);
    const int joined = static_cast<int>(closed & kJoinedMask);
    auto all_done = [&] { return done_.load(std::memory_order_acquire) == joined; };
    if (spin_until(all_done)) return;
    caller_waiting_.store(true, std::memory_order_seq_cst);
    {
      std::unique_lock<std::mutex> lock(mutex_);
      done_cv_.wait(lock, all_done);
    }
    caller_waiting_.store(false, std::memory_order_relaxed);
  }

 private:
  static constexpr std::uint64_t kClosed = 1ULL << 31;
  static constexpr std::uint64_t kJoinedMask = kClosed - 1;

  void grow(int n_workers) {
    const std::uint64_t generation = state_.load(std::memory_order_relaxed) >> 32;
    while (n_started_ < n_workers) {  // a new worker waits for a later generation
      std::thread(&Pool::worker_loop, this, generation).detach();
      ++n_started_;
    }
  }

  void worker_loop(std::uint64_t seen) {
    for (;;) {
      auto is_new = [&] { return (state_.load(std::memory_order_seq_cst) >> 32) != seen; };
      if (!spin_until(is_new)) {
        std::unique_lock<std::mutex> lock(mutex_);
        sleepers_.fetch_add(1, std::memory_order_seq_cst);
        work_cv_.wait(lock, is_new);
        sleepers_.fetch_sub(1, std::memory_order_relaxed);
      }
      std::uint64_t s = state_.load(std::memory_order_acquire);
      seen = s >> 32;
      join(s);
    }
  }

  // Joins the job of state `s` if it is still open and has room, and works on it.
  void join(std::uint64_t s) {
    const std::uint64_t generation = s >> 32;
    for (;;) {
      if ((s >> 32) != generation || (s & kClosed) != 0 ||
          static_cast<int>(s & kJoinedMask) >= limit_.load(std::memory_order_relaxed)) {
        return;
      }
      if (state_.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel,
                                       std::memory_order_acquire)) {
        break;
      }
    }
    job_.load(std::memory_order_relaxed)->work();  // the caller waits for us: it stays valid
    done_.fetch_add(1, std::memory_order_seq_cst);
    if (caller_waiting_.load(std::memory_order_seq_cst)) {
      std::lock_guard<std::mutex> lock(mutex_);
      done_cv_.notify_all();
    }
  }

  std::atomic<std::uint64_t> state_{0};
  std::atomic<Job*> job_{nullptr};
  std::atomic<int> limit_{0};  // how many workers may join the current job
  std::atomic<int> done_{0};   // joined workers that have finished it
  std::atomic<int> sleepers_{0};
  std::atomic<bool> caller_waiting_{false};
  std::mutex mutex_;
  std::condition_variable work_cv_;
  std::condition_variable done_cv_;
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

std::int64_t now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void run_job(void* context) {
  Job* job = static_cast<Job*>(context);
  const std::int64_t arrival = now_ns();
  std::int64_t seen = job->last_arrival_ns.load(std::memory_order_relaxed);
  while (arrival > seen && !job->last_arrival_ns.compare_exchange_weak(
                               seen, arrival, std::memory_order_relaxed)) {
  }
  job->work();
}

// Busy cores. An OpenMP parallel region ends only when every thread of the team has
// arrived, and a team thread that the scheduler has descheduled (more runnable threads
// than cores: other processes, data-loader workers) arrives a time slice later, so each
// of the many short loops of a pass waits milliseconds. A thread that arrives more than
// kLateArrival after the start marks the machine as busy: the loops of the next
// `backoff` run on the calling thread alone, after which one loop tries the team again;
// the backoff doubles (up to kMaxBackoff) while those tries find the machine busy, and
// returns to kMinBackoff after one that does not. The results do not depend on it: no
// result depends on the thread count.
constexpr std::int64_t kLateArrival = 500'000;   // ns; waking a team thread takes ~10 us
constexpr std::int64_t kMinBackoff = 20'000'000;  // ns
constexpr std::int64_t kMaxBackoff = 1'000'000'000;
std::atomic<std::int64_t> g_busy_until{0};
std::atomic<std::int64_t> g_backoff{kMinBackoff};

bool busy_now() noexcept {
  return now_ns() < g_busy_until.load(std::memory_order_relaxed);
}

void note_team_arrivals(const Job& job) noexcept {
  const std::int64_t late = job.last_arrival_ns.load(std::memory_order_relaxed) - job.start_ns;
  if (late > kLateArrival) {
    const std::int64_t backoff = g_backoff.load(std::memory_order_relaxed);
    g_busy_until.store(now_ns() + backoff, std::memory_order_relaxed);
    g_backoff.store(backoff < kMaxBackoff / 2 ? 2 * backoff : kMaxBackoff,
                    std::memory_order_relaxed);
  } else {
    g_backoff.store(kMinBackoff, std::memory_order_relaxed);
  }
}

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

bool cores_busy() noexcept { return detail::busy_now(); }

const char* engine_pool() noexcept {
  return detail::loaded_openmp() != nullptr ? "openmp" : "own";
}

namespace detail {

constexpr std::int64_t kRunsPerThread = 8;

void parallel_for_impl(int n_threads, std::int64_t n_tasks, TaskFn fn, void* context) {
  if (n_threads > n_tasks) n_threads = static_cast<int>(n_tasks);
  Job job;
  job.fn = fn;
  job.context = context;
  job.n_tasks = n_tasks;
  // Many small tasks are handed out in runs of consecutive ones: one atomic step per run
  // instead of per task, and neighbouring tasks (which write neighbouring memory) stay on
  // one thread instead of alternating between the cores; about kRunsPerThread runs per
  // thread keep the load balanced.
  job.grain = std::max<std::int64_t>(1, n_tasks / (kRunsPerThread * n_threads));
  if (n_threads > 1) {
    if (const GompParallelFn gomp = loaded_openmp()) {
      if (busy_now()) {
        job.work();
      } else {
        job.start_ns = now_ns();
        gomp(&run_job, &job, static_cast<unsigned>(n_threads), 0);
        note_team_arrivals(job);
      }
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
