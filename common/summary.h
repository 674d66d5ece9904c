// A text report on how a database uses its space, for people (tdb2's tdb_summary).
#ifndef PTDB_COMMON_SUMMARY_H_
#define PTDB_COMMON_SUMMARY_H_

#include <string>

#include "common/space_reader.h"
#include "ptdb/status.h"

namespace ptdb {

// Fills *report with a multi-line report: sizes, record, key, data, padding and free-space
// statistics, zones, hash tree shape and the share of the space each kind of byte takes.
// With histograms, also ASCII histograms of key, data and free record sizes.
// kCorrupt if the space cannot be scanned (the checker's scan; it does not rehash keys).
Status SummarizeDatabase(SpaceReader& space, bool histograms, std::string* report);

}  // namespace ptdb

#endif  // PTDB_COMMON_SUMMARY_H_
