#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "aihw/thread_pool.hpp"
#include "check.hpp"

using namespace aihw;

TEST_CASE(every_task_runs_once) {
  for (int threads : {1, 2, 3, 8}) {
    for (std::int64_t n : {0, 1, 2, 7, 1000}) {
      std::vector<std::atomic<int>> hits(static_cast<std::size_t>(n));
      parallel_for(threads, n, [&](std::int64_t t) { hits[t].fetch_add(1); });
      for (auto& h : hits) CHECK(h.load() == 1);
    }
  }
}

TEST_CASE(exceptions_propagate) {
  CHECK_THROWS(parallel_for(3, 100,
                            [](std::int64_t t) {
                              if (t == 42) throw std::runtime_error("task 42");
                            }),
               std::runtime_error);
  // The pool still works afterwards.
  std::atomic<std::int64_t> sum{0};
  parallel_for(3, 100, [&](std::int64_t t) { sum += t; });
  CHECK(sum.load() == 4950);
}

TEST_CASE(concurrent_callers) {
  std::atomic<std::int64_t> total{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 4; ++c) {
    callers.emplace_back([&] {
      for (int rep = 0; rep < 50; ++rep) parallel_for(2, 64, [&](std::int64_t) { ++total; });
    });
  }
  for (auto& t : callers) t.join();
  CHECK(total.load() == 4 * 50 * 64);
}

TEST_CASE(back_to_back_loops) {
  // Workers join open loops late and leave closed ones alone: many short loops in a row,
  // with changing thread counts, each run every task exactly once.
  for (int rep = 0; rep < 2000; ++rep) {
    const int threads = 1 + rep % 5;
    const std::int64_t n = 1 + rep % 13;
    std::vector<std::atomic<int>> hits(static_cast<std::size_t>(n));
    parallel_for(threads, n, [&](std::int64_t t) { hits[t].fetch_add(1); });
    for (auto& h : hits) CHECK(h.load() == 1);
  }
}

TEST_CASE(slow_tasks_are_waited_for) {
  // The caller returns only once every task has finished, also those a worker runs.
  std::atomic<int> finished{0};
  parallel_for(3, 6, [&](std::int64_t) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    finished.fetch_add(1);
  });
  CHECK(finished.load() == 6);
  CHECK(!cores_busy());  // no OpenMP team here: never marked busy
}

TEST_CASE(resolve) {
  CHECK(hardware_threads() >= 1);
  CHECK(resolve_threads(0) == hardware_threads());
  CHECK(resolve_threads(-3) == hardware_threads());
  CHECK(resolve_threads(1) == 1);
  CHECK(resolve_threads(4 * hardware_threads()) == 4 * hardware_threads());
  CHECK(resolve_threads(1000000) == 4 * hardware_threads());
}

TEST_MAIN()
