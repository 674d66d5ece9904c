// Built against an installed ptdb through find_package(ptdb): stores a key, fetches it.
#include <fcntl.h>

#include <cstdio>
#include <memory>
#include <string>

#include "ptdb/db.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DBFILE\n", argv[0]);
    return 2;
  }
  ptdb::Options options;
  options.open_flags = O_RDWR | O_CREAT;
  std::unique_ptr<ptdb::Db> db;
  ptdb::Status st = ptdb::Db::Open(argv[1], options, &db);
  if (st.ok()) st = db->Store("hello", "world");
  std::string value;
  if (st.ok()) st = db->Fetch("hello", &value);
  if (!st.ok() || value != "world") {
    std::fprintf(stderr, "store/fetch failed: %s\n", st.ToString().c_str());
    return 1;
  }
  return 0;
}
