#pragma once
// Error codes and the Status/Result types that carry them across layers.
// The names and numbers are part of the wire protocol (see PROTOCOL.md, "Errors"): a code is never
// renumbered or reused.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace cairn::wire {

enum class Err : int {
  kOk = 0,
  kTagInUse = 1,
  kUnknownVerb = 2,
  kReadonly = 3,
  kTooLate = 4,
  kRevMismatch = 5,
  kBadPath = 6,
  kMissingArg = 7,
  kRange = 8,
  kNotDir = 20,
  kIsDir = 21,
  kNoEnt = 22,
  kBadRequest = 40,
  kTooLarge = 41,
  kUnavailable = 42,
  kPermission = 43,
  kTimeout = 44,
  kNotLeader = 45,
  kIo = 46,
  kCorrupt = 47,
  kOther = 127,
};

// The protocol name of a code, e.g. "REV_MISMATCH". Never null.
const char* errName(Err e);
// The code for a protocol name; nullopt for names this build does not know.
std::optional<Err> errFromName(std::string_view name);

// The result of an operation that can fail: a code and a human-readable detail.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Err code, std::string detail) : code_(code), detail_(std::move(detail)) {}
  static Status ok() { return Status(); }

  bool isOk() const { return code_ == Err::kOk; }
  Err code() const { return code_; }
  const std::string& detail() const { return detail_; }
  // "REV_MISMATCH: detail" (or "OK").
  std::string toString() const;

 private:
  Err code_ = Err::kOk;
  std::string detail_;
};

// A value or the Status that explains why there is none.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit on purpose
  Result(Status s) : v_(std::move(s)) {}     // NOLINT: implicit on purpose
  Result(Err code, std::string detail) : v_(Status(code, std::move(detail))) {}

  bool isOk() const { return v_.index() == 0; }
  explicit operator bool() const { return isOk(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  Status status() const { return isOk() ? Status::ok() : std::get<1>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace cairn::wire
