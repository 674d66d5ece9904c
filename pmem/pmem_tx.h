// One operation, one pmemobj transaction: the boundary where libpmemobj-cpp's exceptions
// become Status values.
#ifndef PTDB_PMEM_PMEM_TX_H_
#define PTDB_PMEM_PMEM_TX_H_

#include <libpmemobj++/pexceptions.hpp>
#include <libpmemobj++/pool.hpp>
#include <libpmemobj++/transaction.hpp>

#include <exception>
#include <new>
#include <utility>

#include "common/errors.h"

namespace ptdb {

// Thrown inside a transaction to abort it with the engine's Status.
class TransactionFailed {
 public:
  explicit TransactionFailed(Status status) : status_(std::move(status)) {}
  const Status& status() const { return status_; }

 private:
  Status status_;
};

// Runs fn (returning Status) and turns anything libpmemobj-cpp or the library throws into
// a Status. No exception escapes.
template <class Fn>
Status CatchPmemErrors(Fn&& fn) {
  try {
    return fn();
  } catch (const TransactionFailed& failed) {
    return failed.status();
  } catch (const pmem::transaction_out_of_memory& e) {
    // Not a std::exception: it derives from both std::runtime_error and std::bad_alloc.
    return Err(Error::kOom, "the pool has no room for the transaction: %s", e.what());
  } catch (const pmem::transaction_error& e) {
    return Err(Error::kIo, "pmemobj transaction failed: %s", e.what());
  } catch (const std::bad_alloc&) {
    return Status(Error::kOom, "out of memory inside a pmemobj transaction");
  } catch (const std::exception& e) {
    return Err(Error::kIo, "pmemobj transaction aborted: %s", e.what());
  }
}

// Runs fn (returning Status) as one flat transaction on pop. If fn fails or anything
// throws, the transaction is aborted, every change fn made is undone, and the error is
// returned. No exception escapes. Only for a thread with no transaction open: nested, a
// flat transaction cannot undo just its own part (PmemStorage handles that case).
template <class Fn>
Status RunInTransaction(PMEMobjpool* pop, Fn&& fn) {
  return CatchPmemErrors([&] {
    pmem::obj::pool_base pool(pop);
    pmem::obj::flat_transaction::run(pool, [&fn] {
      Status st = fn();
      if (!st.ok()) throw TransactionFailed(std::move(st));
    });
    return Status::OK();
  });
}

}  // namespace ptdb

#endif  // PTDB_PMEM_PMEM_TX_H_
