// The path from the top of the hash tree down to a table, as a walk over every entry keeps
// it: the checker and the rescue hold each record's key to the groups and buckets that led
// there.
#ifndef PTDB_COMMON_TREE_PATH_H_
#define PTDB_COMMON_TREE_PATH_H_

#include <cstdint>

#include "common/format.h"
#include "common/hash_bits.h"

namespace ptdb {

// One level of the path: where an entry was found.
struct TreeStep {
  unsigned level;
  unsigned group;   // physical group within the table
  unsigned groups;  // groups in the table
  unsigned bucket;  // home bucket
};

struct TreePath {
  TreeStep steps[format::kMaxSubLevels + 1];
  unsigned n = 0;

  TreePath With(const TreeStep& s) const {
    TreePath p = *this;
    p.steps[p.n++] = s;
    return p;
  }

  // The first step whose group or bucket the hash h does not give, or null.
  const TreeStep* Mismatch(uint64_t h) const {
    for (unsigned i = 0; i < n; i++) {
      const TreeStep& st = steps[i];
      if ((LevelGroup(h, st.level) & (st.groups - 1)) != st.group ||
          LevelBucket(h, st.level) != st.bucket) {
        return &st;
      }
    }
    return nullptr;
  }
};

}  // namespace ptdb

#endif  // PTDB_COMMON_TREE_PATH_H_
