// Random operations checked against std::map, in every storage mode, on their own and
// inside transactions that commit or cancel (where replaces are held back and applied
// in batches: frontend/deferred_stores.h).
//
// Keys come from a 4-letter alphabet (NUL included) and are mostly short, so inserts,
// overwrites and deletes of the same keys are common. Reproduce a failure with
// PTDB_TEST_SEED=<seed printed in the failure>.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "ptdb/db.h"
#include "tests/conformance/fixture.h"
#include "tests/conformance/test_util.h"

namespace ptdb::test {
namespace {

// Operations per seed: >= 200k per mode even in Debug and sanitizer builds, where
// they take a few seconds; Release goes further.
#ifdef NDEBUG
constexpr int kOpsPerSeed = 250000;
#else
constexpr int kOpsPerSeed = 60000;
#endif
constexpr int kCheckEvery = 5000;
// Appends stop growing a value past this, so the database stays small enough to check often.
constexpr size_t kMaxValue = 20000;

std::vector<uint64_t> Seeds() {
  if (const char* env = std::getenv("PTDB_TEST_SEED")) return {std::strtoull(env, nullptr, 0)};
  const uint64_t clock = uint64_t(std::chrono::steady_clock::now().time_since_epoch().count());
  return {1, 2, 3, clock};
}

class ModelTest : public DbModeTest {
 protected:
  // With `transactions`, runs of operations go inside transactions, most committed and
  // some cancelled (the model then goes back to where the transaction began).
  void Run(uint64_t seed, int ops, bool transactions = false);

 private:
  std::string RandomKey();
  std::string ExistingOrRandomKey();
  std::string RandomValue(size_t max_len);
  void DoOneOp();
  void CompareAll(const char* when);
  // Starts or ends a transaction now and then.
  void MaybeStartOrEndTransaction();
  void EndTransaction(bool commit);

  std::mt19937_64 rng_;
  std::unique_ptr<Db> db_;
  std::map<std::string, std::string> model_;
  std::vector<std::string> keys_used_;
  bool in_transaction_ = false;
  std::map<std::string, std::string> model_at_start_;
};

std::string ModelTest::RandomKey() {
  static constexpr char kAlphabet[] = {'a', 'b', 'c', '\0'};
  const size_t len = rng_() % 5 == 0 ? rng_() % 41 : rng_() % 4;
  std::string key(len, '\0');
  for (char& c : key) c = kAlphabet[rng_() % 4];
  return key;
}

std::string ModelTest::ExistingOrRandomKey() {
  if (keys_used_.empty() || rng_() % 2 == 0) return RandomKey();
  return keys_used_[rng_() % keys_used_.size()];
}

std::string ModelTest::RandomValue(size_t max_len) {
  const size_t len = rng_() % (max_len + 1);
  std::string value(len, '\0');
  const uint64_t pattern = rng_();
  for (size_t i = 0; i < len; i++) value[i] = char((pattern >> (i % 8 * 8)) + i);
  return value;
}

void ModelTest::CompareAll(const char* when) {
  uint64_t count = 0;
  std::map<std::string, std::string> seen;
  const Status s = db_->Traverse(
      [&](std::string_view k, std::string_view d) {
        const bool fresh = seen.emplace(std::string(k), std::string(d)).second;
        EXPECT_TRUE(fresh) << "Traverse visited a key twice";
        return true;
      },
      &count);
  ASSERT_TRUE(s.ok()) << when << ": Traverse: " << s.ToString();
  ASSERT_EQ(count, model_.size()) << when;
  ASSERT_TRUE(seen == model_) << when << ": the database differs from the model";
}

void ModelTest::DoOneOp() {
  const std::string key = ExistingOrRandomKey();
  const auto it = model_.find(key);
  const bool present = it != model_.end();
  std::string value;
  const unsigned op = unsigned(rng_() % 100);
  if (op < 20) {
    value = RandomValue(rng_() % 20 == 0 ? 5000 : 300);
    PTDB_ASSERT_OK(db_->Store(key, value, StoreMode::kReplace));
    model_[key] = value;
  } else if (op < 30) {
    value = RandomValue(300);
    const Status s = db_->Store(key, value, StoreMode::kInsert);
    if (present) {
      ASSERT_EQ(s.code(), Error::kExists) << s.ToString();
    } else {
      PTDB_ASSERT_OK(s);
      model_[key] = value;
    }
  } else if (op < 40) {
    value = RandomValue(300);
    const Status s = db_->Store(key, value, StoreMode::kModify);
    if (present) {
      PTDB_ASSERT_OK(s);
      it->second = value;
    } else {
      ASSERT_EQ(s.code(), Error::kNoExist) << s.ToString();
    }
  } else if (op < 50) {
    if (present && it->second.size() > kMaxValue) {
      PTDB_ASSERT_OK(db_->Store(key, ""));
      it->second.clear();
    } else {
      value = RandomValue(rng_() % 10 == 0 ? 2000 : 100);
      PTDB_ASSERT_OK(db_->Append(key, value));
      model_[key] += value;
    }
  } else if (op < 65) {
    const Status s = db_->Delete(key);
    if (present) {
      PTDB_ASSERT_OK(s);
      model_.erase(it);
    } else {
      ASSERT_EQ(s.code(), Error::kNoExist) << s.ToString();
    }
  } else if (op < 85) {
    const Status s = db_->Fetch(key, &value);
    if (present) {
      PTDB_ASSERT_OK(s);
      ASSERT_TRUE(value == it->second) << "Fetch returned a different value";
    } else {
      ASSERT_EQ(s.code(), Error::kNoExist) << s.ToString();
    }
  } else if (op < 95) {
    bool exists = !present;
    PTDB_ASSERT_OK(db_->Exists(key, &exists));
    ASSERT_EQ(exists, present);
  } else {
    size_t seen_size = 0;
    const Status s = db_->ParseRecord(key, [&](std::string_view k, std::string_view d) {
      EXPECT_EQ(k, key);
      seen_size = d.size();
      return Status::OK();
    });
    if (present) {
      PTDB_ASSERT_OK(s);
      ASSERT_EQ(seen_size, it->second.size());
    } else {
      ASSERT_EQ(s.code(), Error::kNoExist) << s.ToString();
    }
  }
  if (!present && model_.count(key)) keys_used_.push_back(key);
}

void ModelTest::EndTransaction(bool commit) {
  if (commit) {
    PTDB_ASSERT_OK(db_->TransactionCommit());
  } else {
    PTDB_ASSERT_OK(db_->TransactionCancel());
    model_ = model_at_start_;
  }
  in_transaction_ = false;
}

void ModelTest::MaybeStartOrEndTransaction() {
  if (!in_transaction_) {
    if (rng_() % 50 != 0) return;
    PTDB_ASSERT_OK(db_->TransactionStart());
    in_transaction_ = true;
    model_at_start_ = model_;
  } else if (rng_() % 40 == 0) {
    EndTransaction(rng_() % 5 != 0);
  }
}

void ModelTest::Run(uint64_t seed, int ops, bool transactions) {
  rng_.seed(seed);
  model_.clear();
  keys_used_.clear();
  in_transaction_ = false;
  PTDB_ASSERT_OK(Create(&db_));
  for (int i = 1; i <= ops; i++) {
    if (transactions) {
      MaybeStartOrEndTransaction();
      ASSERT_FALSE(HasFatalFailure()) << "operation " << i;
    }
    DoOneOp();
    ASSERT_FALSE(HasFatalFailure()) << "operation " << i;
    if (rng_() % 2000 == 0) {
      CompareAll("random compare");
      ASSERT_FALSE(HasFatalFailure()) << "operation " << i;
    }
    if (i % kCheckEvery == 0) {
      const Status s = db_->Check();
      ASSERT_TRUE(s.ok()) << "Check after operation " << i << ": " << s.ToString();
    }
    if (i == ops / 2 && persistent()) {
      if (in_transaction_) EndTransaction(true);
      db_.reset();
      PTDB_ASSERT_OK(Open(ReopenOptions(), &db_));
      PTDB_ASSERT_OK(db_->Check());
      CompareAll("after reopen");
      ASSERT_FALSE(HasFatalFailure());
    }
  }
  if (in_transaction_) EndTransaction(true);
  CompareAll("at the end");
  ASSERT_FALSE(HasFatalFailure());
  PTDB_ASSERT_OK(db_->Check());
  db_.reset();
  std::printf("model seed %llu: %d operations, %zu records at the end\n",
              static_cast<unsigned long long>(seed), ops, model_.size());
}

TEST_P(ModelTest, RandomOperationsMatchMap) {
  for (uint64_t seed : Seeds()) {
    SCOPED_TRACE("PTDB_TEST_SEED=" + std::to_string(seed));
    Run(seed, kOpsPerSeed);
    if (HasFatalFailure()) return;
  }
}

TEST_P(ModelTest, RandomOperationsInTransactionsMatchMap) {
  for (uint64_t seed : Seeds()) {
    SCOPED_TRACE("PTDB_TEST_SEED=" + std::to_string(seed));
    Run(seed, kOpsPerSeed / 2, true);
    if (HasFatalFailure()) return;
  }
}

INSTANTIATE_TEST_SUITE_P(AllModes, ModelTest, ::testing::ValuesIn(AllModes()), ParamName);

}  // namespace
}  // namespace ptdb::test
