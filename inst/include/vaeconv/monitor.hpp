// Progress and interruption of the core's long loops (training, the
// diagnostics), implemented by the glue. The core calls progress() between
// units of work, on the thread that called the loop, and stop_requested() at
// the same points and, in loops whose units are long, also between the
// pieces of a unit on any thread that runs it. When stop_requested() returns
// true, the loop stops at that point, waits for the work in flight (its
// parallel tasks return early) and returns normally, saying that it stopped.
#pragma once

#include <cstdint>

namespace vaeconv {

class Monitor {
 public:
  virtual ~Monitor() = default;
  // `done` of `total` units of work are finished; `objective` is the latest
  // value of the objective where the loop has one (NaN otherwise).
  virtual void progress(std::uint64_t done, std::uint64_t total, double objective) {}
  // Whether the loop should stop. May be called from any thread of the
  // loop's work, concurrently.
  virtual bool stop_requested() { return false; }
};

// A Monitor that never stops and shows nothing.
inline Monitor& no_monitor() {
  static Monitor none;
  return none;
}

}  // namespace vaeconv
