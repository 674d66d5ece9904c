// The child side of the fork: the parent only needs to start a child in a slot, and to
// derive its own random stream from the seed the same way the children do.
#ifndef PTDB_TOOLS_TORTURE_WORKER_H_
#define PTDB_TOOLS_TORTURE_WORKER_H_

#include <cstdint>

#include "tools/torture/config.h"
#include "tools/torture/shared_state.h"

namespace ptdb::torture {

uint64_t Mix(uint64_t x);  // splitmix64's finaliser

// A child process: opens the database and runs the slot's workers on one handle.
int ChildMain(const Config& cfg, Shared* shared, unsigned slot, unsigned generation);

}  // namespace ptdb::torture

#endif  // PTDB_TOOLS_TORTURE_WORKER_H_
