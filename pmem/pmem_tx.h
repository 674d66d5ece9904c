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

// Runs fn (returning Status) as one flat transaction on pop. If fn fails or anything
// throws, the transaction is aborted, every change fn made is undone, and the error is
// returned. No exception escapes.
//
// Nested inside another transaction (a future user transaction), a flat transaction
// cannot undo just its own part: the caller must then abort the outer one on failure.
template <class Fn>
Status RunInTransaction(PMEMobjpool* pop, Fn&& fn) {
  try {
    pmem::obj::pool_base pool(pop);
    pmem::obj::flat_transaction::run(pool, [&fn] {
      Status st = fn();
      if (!st.ok()) throw TransactionFailed(std::move(st));
    });
    return Status::OK();
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

}  // namespace ptdb

#endif  // PTDB_PMEM_PMEM_TX_H_
