// The state parent and children share, so that the parent can account for what a child
// it killed may have done, tell a child to die or stop, and see what a stalled one is
// doing.
#ifndef PTDB_TOOLS_TORTURE_SHARED_STATE_H_
#define PTDB_TOOLS_TORTURE_SHARED_STATE_H_

#include <atomic>
#include <cstdint>

#include "tools/torture/config.h"

namespace ptdb::torture {

// ---------------------------------------------------------------------------------------
// What parent and children share: an anonymous MAP_SHARED block made before the forks.

enum Op : int {
  kIdle,
  kStoreReplace,
  kStoreInsert,
  kStoreModify,
  kAppend,
  kDelete,
  kFetch,
  kParse,
  kExists,
  kChainRmw,
  kCounterRmw,
  kChainRead,
  kTraverse,
  kWalk,
  kLockAllWrite,
  kLockAllRead,
  kNumOps
};

inline constexpr const char* kOpNames[kNumOps] = {
    "idle",     "store",    "insert",  "modify",        "append",      "delete",
    "fetch",    "parse",    "exists",  "chainlock-rmw", "counter-rmw", "chainlock-read",
    "traverse", "key-walk", "lockall", "lockall-read"};

struct WorkerState {
  std::atomic<int> op{kIdle};
  // The counter whose increment is being stored (-1: none): if the process dies now, the
  // database may or may not have the increment.
  std::atomic<int> pending_counter{-1};
  // With -t: the increments the open transaction made, and whether its commit has begun
  // (from then until they are counted as stored, a death leaves them uncertain; before,
  // they are certainly lost).
  std::atomic<uint64_t> tx_increments[kCounters] = {};
  std::atomic<bool> committing{false};
  // With --kill-in-transactions: set from before the transaction's start until after its
  // commit or cancel, when the parent may kill the process at once. The worker clears it
  // before it looks at kill_requested, and the parent sets kill_requested before it looks
  // here (both sequentially consistent): so either the parent kills inside the
  // transaction, or the worker sees the request and dies before its next plain write.
  std::atomic<bool> in_transaction{false};
};

struct SlotState {
  std::atomic<uint64_t> claimed{0};  // loops taken by this slot's processes, dead or alive
  // The parent chose this slot's process to die. With --kill-between-calls the process
  // kills itself at its next point between two API calls.
  std::atomic<bool> kill_requested{false};
  WorkerState workers[kMaxThreads];
};

struct Shared {
  // Set when a child failed: the others finish their current operation and exit, so the
  // final check sees what the failure left, not what killing them mid-write would.
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> kills_holding_locks{0};
  std::atomic<uint64_t> counter_stored[kCounters];
  std::atomic<uint64_t> counter_maybe[kCounters];  // increments a killed process may have made
  SlotState slots[kMaxProcs];
};

}  // namespace ptdb::torture

#endif  // PTDB_TOOLS_TORTURE_SHARED_STATE_H_
