#include "common/group_edit.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace ptdb {
namespace {

using Group = std::vector<uint64_t>;  // 8 slots

uint64_t Plain(uint64_t id, unsigned home) { return format::MakeEntry(id * 16, home, 0, false); }
uint64_t Link(uint64_t id, unsigned home) { return format::MakeEntry(id * 16, home, 1, true); }

// Empty if the group is one a lookup can use: every plain entry found by probing from its
// home before an empty slot, every sub-hash entry at home, no plain entry of a bucket that
// has moved to a child, no entry twice. Otherwise what is wrong.
std::string Invalid(const Group& g) {
  std::set<uint64_t> seen;
  for (unsigned p = 0; p < 8; p++) {
    const uint64_t e = g[p];
    if (e == 0) continue;
    if (!seen.insert(e).second) return "entry twice at " + std::to_string(p);
    const unsigned home = format::EntryBucket(e);
    if (format::EntryIsSubHash(e)) {
      if (home != p) return "sub-hash entry away from home at " + std::to_string(p);
      continue;
    }
    if (format::EntryIsSubHash(g[home])) return "plain entry of a linked bucket";
    for (unsigned q = home; q != p; q = (q + 1) % 8) {
      if (g[q] == 0) return "slot " + std::to_string(p) + " unreachable from its home";
    }
  }
  return "";
}

bool Holds(const Group& g, uint64_t e) { return std::find(g.begin(), g.end(), e) != g.end(); }

std::set<uint64_t> Entries(const Group& g) {
  std::set<uint64_t> s;
  for (uint64_t e : g) {
    if (e != 0) s.insert(e);
  }
  return s;
}

bool Full(const Group& g) { return std::count(g.begin(), g.end(), 0u) == 0; }

// Random groups made as the tree makes them: adds placed by probing, removals, and
// push-downs of full groups.
class GroupMaker {
 public:
  explicit GroupMaker(uint32_t seed) : rng_(seed) {}

  Group Make() {
    Group g(8, 0);
    const int ops = int(rng_() % 40);
    for (int i = 0; i < ops; i++) {
      const unsigned home = unsigned(rng_() % 8);
      if (rng_() % 3 == 0 && !Entries(g).empty()) {
        const unsigned at = unsigned(rng_() % 8);
        if (IsPlainEntry(g[at])) {
          EXPECT_TRUE(RemoveFromGroup(g.data(), at, Ignore).ok());
        }
      } else if (format::EntryIsSubHash(g[home])) {
        continue;  // the key would go to the child
      } else if (!PlaceInGroup(g.data(), Plain(next_++, home))) {
        const unsigned victim = ChooseVictim(g.data(), home);
        EXPECT_TRUE(LinkChild(g.data(), victim, Link(next_++, victim), Ignore).ok());
      }
    }
    return g;
  }

  // A full group: Make's, topped up with adds.
  Group MakeFull() {
    Group g = Make();
    while (!Full(g)) {
      const unsigned home = unsigned(rng_() % 8);
      if (!format::EntryIsSubHash(g[home])) PlaceInGroup(g.data(), Plain(next_++, home));
    }
    return g;
  }

  uint64_t NextId() { return next_++; }

 private:
  static Status Ignore(unsigned, uint64_t) { return Status::OK(); }
  std::mt19937 rng_;
  uint64_t next_ = 1;
};

// Records each write on a copy of the group, as a process killed after it would leave it.
struct Recorder {
  Group mem;
  std::vector<Group> after;  // the group after each write
  Status operator()(unsigned slot, uint64_t entry) {
    EXPECT_LT(slot, 8u);
    mem[slot] = entry;
    after.push_back(mem);
    return Status::OK();
  }
};

TEST(GroupEditTest, RemoveLeavesEveryOtherEntryInTheGroupAfterEachWrite) {
  GroupMaker maker(1);
  int removals = 0, moves = 0, full = 0;
  for (int round = 0; round < 20000; round++) {
    const Group g = round % 2 ? maker.Make() : maker.MakeFull();
    ASSERT_EQ(Invalid(g), "");
    full += Full(g);
    for (unsigned gone = 0; gone < 8; gone++) {
      if (!IsPlainEntry(g[gone])) continue;
      Group result = g;
      Recorder rec{g, {}};
      ASSERT_TRUE(RemoveFromGroup(result.data(), gone, std::ref(rec)).ok());
      removals++;
      moves += int(rec.after.size()) - 1;
      for (const Group& step : rec.after) {
        for (uint64_t e : g) {
          if (e != 0 && e != g[gone]) {
            ASSERT_TRUE(Holds(step, e)) << "an entry was out";
          }
        }
      }
      ASSERT_EQ(rec.mem, result) << "the writes made another group than the result";
      ASSERT_EQ(Invalid(result), "");
      std::set<uint64_t> want = Entries(g);
      want.erase(g[gone]);
      ASSERT_EQ(Entries(result), want);
    }
  }
  // The cases that matter were met: removals that move entries, in full groups too.
  EXPECT_GT(moves, removals / 4);
  EXPECT_GT(full, 5000);
}

// The push-down of a full group: each write leaves every entry in the group, or (one of
// the victim bucket's) in the child once the link is in.
void CheckPushDown(const Group& g, unsigned new_bucket, uint64_t link_id, int* windows) {
  ASSERT_TRUE(Full(g));
  ASSERT_EQ(Invalid(g), "");
  const unsigned victim = ChooseVictim(g.data(), new_bucket);
  const uint64_t link = Link(link_id, victim);
  Group result = g;
  Recorder rec{g, {}};
  ASSERT_TRUE(LinkChild(result.data(), victim, link, std::ref(rec)).ok());
  int missing_steps = 0;
  for (const Group& step : rec.after) {
    bool missing = false;
    for (uint64_t e : g) {
      if (e == 0 || Holds(step, e)) continue;
      const bool in_child = IsPlainEntry(e) && format::EntryBucket(e) == victim;
      if (in_child && Holds(step, link)) continue;
      ASSERT_TRUE(in_child) << "an entry that stays in the group was out";
      missing = true;
    }
    missing_steps += missing;
  }
  const bool self_homed = IsPlainEntry(g[victim]) && format::EntryBucket(g[victim]) == victim;
  // Only the last resort (no bucket holds its own slot) has the one-store window.
  ASSERT_EQ(missing_steps, self_homed ? 0 : 1);
  *windows += missing_steps;
  ASSERT_EQ(rec.mem, result);
  ASSERT_EQ(Invalid(result), "");
  ASSERT_EQ(result[victim], link);
  std::set<uint64_t> want;
  for (uint64_t e : g) {
    if (!(IsPlainEntry(e) && format::EntryBucket(e) == victim)) want.insert(e);
  }
  want.insert(link);
  ASSERT_EQ(Entries(result), want);
}

TEST(GroupEditTest, PushDownLeavesEveryEntryReachableAfterEachWrite) {
  GroupMaker maker(2);
  int windows = 0;
  for (int round = 0; round < 20000; round++) {
    const Group g = maker.MakeFull();
    for (unsigned b = 0; b < 8; b++) {
      if (!format::EntryIsSubHash(g[b])) CheckPushDown(g, b, maker.NextId(), &windows);
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
  EXPECT_EQ(windows, 0) << "groups made this way always have a bucket in its own slot";
}

TEST(GroupEditTest, PushDownPrefersABucketThatHoldsItsOwnSlot) {
  // Bucket 1 has the most entries (4), but slot 1 holds bucket 0's second entry.
  const Group g = {Plain(1, 0), Plain(2, 0), Plain(3, 1), Plain(4, 1),
                   Plain(5, 1), Plain(6, 1), Plain(7, 6), Plain(8, 6)};
  ASSERT_EQ(Invalid(g), "");
  EXPECT_EQ(ChooseVictim(g.data(), 1), 0u);
  EXPECT_EQ(ChooseVictim(g.data(), 6), 6u) << "ties go to the new key's bucket";
  int windows = 0;
  CheckPushDown(g, 1, 100, &windows);
  EXPECT_EQ(windows, 0);
}

TEST(GroupEditTest, PushDownOfAGroupWithEveryEntryPastItsHome) {
  // Slot p holds an entry of bucket p - 1: no bucket holds its own slot, so the most
  // crowded one is taken and the entry in its slot first moves over one of its entries.
  Group g(8);
  for (unsigned p = 0; p < 8; p++) g[p] = Plain(p + 1, (p + 7) % 8);
  ASSERT_EQ(Invalid(g), "");
  const unsigned victim = ChooseVictim(g.data(), 3);
  EXPECT_EQ(victim, 3u);
  int windows = 0;
  CheckPushDown(g, 3, 100, &windows);
  EXPECT_EQ(windows, 1);
}

TEST(GroupEditTest, LinkChildRefusesAGroupWithoutTheVictimsEntries) {
  Group g(8, 0);
  g[2] = Plain(1, 2);
  Recorder rec{g, {}};
  EXPECT_EQ(LinkChild(g.data(), 5, Link(9, 5), std::ref(rec)).code(), Error::kCorrupt);
  EXPECT_TRUE(rec.after.empty());
}

}  // namespace
}  // namespace ptdb
