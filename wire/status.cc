#include "wire/status.h"

namespace cairn::wire {
namespace {

struct NamedErr {
  Err code;
  const char* name;
};

constexpr NamedErr kNames[] = {
    {Err::kOk, "OK"},
    {Err::kTagInUse, "TAG_IN_USE"},
    {Err::kUnknownVerb, "UNKNOWN_VERB"},
    {Err::kReadonly, "READONLY"},
    {Err::kTooLate, "TOO_LATE"},
    {Err::kRevMismatch, "REV_MISMATCH"},
    {Err::kBadPath, "BAD_PATH"},
    {Err::kMissingArg, "MISSING_ARG"},
    {Err::kRange, "RANGE"},
    {Err::kNotDir, "NOTDIR"},
    {Err::kIsDir, "ISDIR"},
    {Err::kNoEnt, "NOENT"},
    {Err::kBadRequest, "BAD_REQUEST"},
    {Err::kTooLarge, "TOO_LARGE"},
    {Err::kUnavailable, "UNAVAILABLE"},
    {Err::kPermission, "PERMISSION"},
    {Err::kTimeout, "TIMEOUT"},
    {Err::kNotLeader, "NOT_LEADER"},
    {Err::kIo, "IO"},
    {Err::kCorrupt, "CORRUPT"},
    {Err::kOther, "OTHER"},
};

}  // namespace

const char* errName(Err e) {
  for (const auto& n : kNames) {
    if (n.code == e) return n.name;
  }
  return "OTHER";
}

std::optional<Err> errFromName(std::string_view name) {
  for (const auto& n : kNames) {
    if (name == n.name) return n.code;
  }
  return std::nullopt;
}

std::string Status::toString() const {
  std::string s = errName(code_);
  if (!detail_.empty()) {
    s += ": ";
    s += detail_;
  }
  return s;
}

}  // namespace cairn::wire
