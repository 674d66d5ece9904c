// One operation, one pmemobj transaction: the boundary where libpmemobj-cpp's exceptions
// become Status values.
#ifndef PTDB_PMEM_PMEM_TX_H_
#define PTDB_PMEM_PMEM_TX_H_

#include <libpmemobj.h>

#include <libpmemobj++/pexceptions.hpp>

#include <cerrno>
#include <cstring>
#include <exception>
#include <new>
#include <utility>

#include "common/errors.h"

namespace ptdb {

// Runs fn (returning Status) and turns anything libpmemobj-cpp or the library throws into
// a Status. No exception escapes.
template <class Fn>
Status CatchPmemErrors(Fn&& fn) {
  try {
    return fn();
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

// Runs fn (returning Status) as one pmemobj transaction on pop. If fn fails or anything
// throws, the transaction is aborted, every change fn made is undone, and the error is
// returned. No exception escapes. Only for a thread with no transaction open: nested, a
// transaction cannot undo just its own part (PmemStorage handles that case).
//
// What flat_transaction::run does, with the C API's calls made directly: its stage
// callback, std::function and the extra stage queries cost ~200 instructions per
// operation (a tenth of a small store's own work) and bought nothing here. As there: no
// jmp_buf (errors come back as values), and POBJ_TX_FAILURE_RETURN, so a failing call
// inside returns its error instead of aborting the transaction behind fn's back.
template <class Fn>
Status RunInTransaction(PMEMobjpool* pop, Fn&& fn) {
  if (pmemobj_tx_begin(pop, nullptr, TX_PARAM_NONE) != 0) {
    Status st = Err(Error::kIo, "cannot begin a pmemobj transaction: %s", pmemobj_errormsg());
    // A failed begin leaves the thread in the aborted stage until it is ended.
    if (pmemobj_tx_stage() != TX_STAGE_NONE) (void)pmemobj_tx_end();
    return st;
  }
  pmemobj_tx_set_failure_behavior(POBJ_TX_FAILURE_RETURN);
  Status st = CatchPmemErrors(std::forward<Fn>(fn));
  if (pmemobj_tx_stage() == TX_STAGE_WORK) {
    if (st.ok()) {
      pmemobj_tx_commit();
    } else {
      pmemobj_tx_abort(ECANCELED);
    }
  }
  // Non-zero when libpmemobj aborted the transaction (fn's own abort above included).
  const int err = pmemobj_tx_end();
  if (st.ok() && err != 0) {
    return Err(err == ENOMEM ? Error::kOom : Error::kIo, "pmemobj transaction aborted: %s",
               std::strerror(err));
  }
  return st;
}

}  // namespace ptdb

#endif  // PTDB_PMEM_PMEM_TX_H_
