// A tiny assertion helper for the engine's unit tests (no test framework needed).
#pragma once

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

namespace aihw_test {

inline int& failures() {
  static int n = 0;
  return n;
}

inline void fail(const char* file, int line, const std::string& what) {
  std::fprintf(stderr, "%s:%d: FAILED: %s\n", file, line, what.c_str());
  ++failures();
}

struct Case {
  const char* name;
  std::function<void()> fn;
};

inline std::vector<Case>& cases() {
  static std::vector<Case> all;
  return all;
}

struct Register {
  Register(const char* name, std::function<void()> fn) { cases().push_back({name, std::move(fn)}); }
};

inline int run_all() {
  for (const Case& c : cases()) {
    const int before = failures();
    const auto start = std::chrono::steady_clock::now();
    try {
      c.fn();
    } catch (const std::exception& e) {
      fail(__FILE__, __LINE__, std::string("unexpected exception in ") + c.name + ": " + e.what());
    }
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    std::printf("%s %s (%.0f ms)\n", failures() == before ? "[ ok ]" : "[FAIL]", c.name, ms);
  }
  std::printf("%zu cases, %d failed checks\n", cases().size(), failures());
  return failures() == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

}  // namespace aihw_test

#define AIHW_CONCAT2(a, b) a##b
#define AIHW_CONCAT(a, b) AIHW_CONCAT2(a, b)
#define TEST_CASE(name)                                                              \
  static void name();                                                                \
  static ::aihw_test::Register AIHW_CONCAT(register_, name)(#name, &name);           \
  static void name()

#define CHECK(cond)                                                                  \
  do {                                                                               \
    if (!(cond)) ::aihw_test::fail(__FILE__, __LINE__, #cond);                       \
  } while (0)

#define CHECK_MSG(cond, msg)                                                         \
  do {                                                                               \
    if (!(cond)) ::aihw_test::fail(__FILE__, __LINE__, std::string(#cond) + ": " + (msg)); \
  } while (0)

#define CHECK_NEAR(a, b, tol)                                                        \
  do {                                                                               \
    const double aihw_a_ = (a), aihw_b_ = (b), aihw_t_ = (tol);                      \
    if (!(std::fabs(aihw_a_ - aihw_b_) <= aihw_t_))                                  \
      ::aihw_test::fail(__FILE__, __LINE__,                                          \
                        std::string(#a " ~ " #b ": ") + std::to_string(aihw_a_) +    \
                            " vs " + std::to_string(aihw_b_) + " (tol " +            \
                            std::to_string(aihw_t_) + ")");                          \
  } while (0)

#define CHECK_THROWS(expr, type)                                                     \
  do {                                                                               \
    bool aihw_thrown_ = false;                                                       \
    try {                                                                            \
      (void)(expr);                                                                  \
    } catch (const type&) {                                                          \
      aihw_thrown_ = true;                                                           \
    }                                                                                \
    if (!aihw_thrown_) ::aihw_test::fail(__FILE__, __LINE__, #expr " did not throw " #type); \
  } while (0)

#define TEST_MAIN() \
  int main() { return ::aihw_test::run_all(); }
