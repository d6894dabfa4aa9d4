#include "tools/txn_json.h"

#include <cctype>
#include <cstdint>
#include <limits>
#include <optional>
#include <set>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/json_text.h"

namespace cairn::tools {
namespace {

using nlohmann::json;
using wire::Compare;
using wire::Err;
using wire::Status;
using wire::TxnOp;

Status bad(const std::string& where, const std::string& what) {
  return Status(Err::kBadRequest, where + ": " + what);
}

// A member's value as the error shows it: its JSON, cut short.
std::string shown(const json& v) {
  std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
  if (s.size() > 40) s = s.substr(0, 37) + "...";
  return s;
}

Status wrongType(const std::string& where, const std::string& want, const json& v) {
  return bad(where, "must be " + want + ", not " + shown(v));
}

// An int64 member; "must be an integer" for anything else (1.0 and "1" included).
Status getInt(const std::string& where, const json& v, std::int64_t* out) {
  if (v.is_number_unsigned()) {
    if (v.get<std::uint64_t>() >
        static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      return bad(where, "must be an integer that fits 64 bits, not " + shown(v));
    *out = static_cast<std::int64_t>(v.get<std::uint64_t>());
    return Status::ok();
  }
  if (!v.is_number_integer()) return wrongType(where, "an integer", v);
  *out = v.get<std::int64_t>();
  return Status::ok();
}

Status getString(const std::string& where, const json& v, std::string* out) {
  if (!v.is_string()) return wrongType(where, "a string", v);
  *out = v.get<std::string>();
  return Status::ok();
}

// "value" (UTF-8 text, which the parser already checked) or "value_b64" into *out.
Status getValue(const std::string& where, const std::string& key, const json& v, std::string* out) {
  std::string s;
  if (Status st = getString(where, v, &s); !st.isOk()) return st;
  if (key == "value") {
    *out = std::move(s);
    return Status::ok();
  }
  if (!unbase64(s, out)) return bad(where, "must be base64 (A-Z a-z 0-9 + /, = padding)");
  return Status::ok();
}

std::string lower(std::string s) {
  for (char& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// One compare of "if".
Status parseCompare(const std::string& at, const json& o, Compare* c) {
  if (!o.is_object()) return wrongType(at, "an object (a compare)", o);
  std::optional<std::string> path, cmp;
  std::vector<std::string> targets;
  for (const auto& [k, v] : o.items()) {
    const std::string where = at + "." + k;
    if (k == "path") {
      if (Status s = getString(where, v, &path.emplace()); !s.isOk()) return s;
    } else if (k == "cmp") {
      if (Status s = getString(where, v, &cmp.emplace()); !s.isOk()) return s;
    } else if (k == "rev") {
      if (Status s = getInt(where, v, &c->rev); !s.isOk()) return s;
      c->target = Compare::Target::kRev;
      targets.push_back(k);
    } else if (k == "value" || k == "value_b64") {
      if (Status s = getValue(where, k, v, &c->value); !s.isOk()) return s;
      c->target = Compare::Target::kValue;
      targets.push_back(k);
    } else if (k == "exists") {
      if (!v.is_boolean()) return wrongType(where, "true or false", v);
      c->exists = v.get<bool>();
      c->target = Compare::Target::kExists;
      targets.push_back(k);
    } else {
      return bad(where,
                 "unknown key (a compare has \"path\", one of \"rev\", \"value\", \"value_b64\" "
                 "and \"exists\", and \"cmp\")");
    }
  }
  if (!path) return bad(at + ".path", "missing (the path compared)");
  c->path = std::move(*path);
  if (targets.empty()) {
    return bad(at,
               "compares nothing: give one of \"rev\", \"value\", \"value_b64\" and \"exists\"");
  }
  if (targets.size() > 1) {
    return bad(at, "has both \"" + targets[0] + "\" and \"" + targets[1] +
                       "\": a compare names one of \"rev\", \"value\", \"value_b64\" and "
                       "\"exists\"");
  }
  if (cmp) {
    bool known = false;
    for (Compare::Cmp k :
         {Compare::Cmp::kEq, Compare::Cmp::kNe, Compare::Cmp::kLt, Compare::Cmp::kGt}) {
      if (*cmp == wire::compareCmpName(k) || (*cmp == "==" && k == Compare::Cmp::kEq)) {
        c->cmp = k;
        known = true;
      }
    }
    if (!known) {
      return bad(at + ".cmp", "must be \"=\", \"!=\", \"<\" or \">\", not " + shown(json(*cmp)));
    }
  }
  if (c->target == Compare::Target::kExists && c->cmp != Compare::Cmp::kEq) {
    return bad(at + ".cmp", "\"exists\" compares only with \"=\"");
  }
  return Status::ok();
}

// One operation of "then" or "else".
Status parseOp(const std::string& at, const json& o, TxnOp* op) {
  if (!o.is_object()) return wrongType(at, "an object (an operation)", o);
  std::optional<std::string> name, path, value, valueKey;
  std::optional<std::int64_t> rev, lease;
  for (const auto& [k, v] : o.items()) {
    const std::string where = at + "." + k;
    if (k == "op") {
      if (Status s = getString(where, v, &name.emplace()); !s.isOk()) return s;
    } else if (k == "path") {
      if (Status s = getString(where, v, &path.emplace()); !s.isOk()) return s;
    } else if (k == "rev") {
      if (Status s = getInt(where, v, &rev.emplace()); !s.isOk()) return s;
    } else if (k == "lease") {
      if (Status s = getInt(where, v, &lease.emplace()); !s.isOk()) return s;
    } else if (k == "value" || k == "value_b64") {
      if (valueKey) return bad(at, "has both \"value\" and \"value_b64\": give one");
      valueKey = k;
      if (Status s = getValue(where, k, v, &value.emplace()); !s.isOk()) return s;
    } else {
      return bad(where,
                 "unknown key (an operation has \"op\", \"path\", \"rev\", \"value\" or "
                 "\"value_b64\", and \"lease\")");
    }
  }
  if (!name) return bad(at + ".op", "missing (get, set, del or deltree)");
  bool known = false;
  for (TxnOp::Kind k :
       {TxnOp::Kind::kGet, TxnOp::Kind::kSet, TxnOp::Kind::kDel, TxnOp::Kind::kDelTree}) {
    if (lower(*name) == wire::txnOpName(k)) {
      op->kind = k;
      known = true;
    }
  }
  if (!known) {
    return bad(at + ".op",
               "must be \"get\", \"set\", \"del\" or \"deltree\", not " + shown(json(*name)));
  }
  const std::string kind = wire::txnOpName(op->kind);
  if (!path) return bad(at + ".path", "missing");
  op->path = std::move(*path);
  const bool set = op->kind == TxnOp::Kind::kSet;
  if (op->kind == TxnOp::Kind::kGet && rev) {
    return bad(at + ".rev", "a get reads the head; it takes no \"rev\"");
  }
  if ((set || op->kind == TxnOp::Kind::kDel) && !rev) {
    return bad(at + ".rev", "missing: a " + kind + " needs one (-1 " +
                                (set ? "writes" : "deletes") + " whatever is there, " +
                                (set ? "0 only creates, " : "") +
                                "R: only if the file is at rev <= R)");
  }
  if (rev) {
    if (*rev < -1)
      return bad(at + ".rev", "must be -1, 0 or a revision, not " + std::to_string(*rev));
    op->rev = *rev;
  }
  if (!set && valueKey) return bad(at + "." + *valueKey, "only a set has a value");
  if (!set && lease) return bad(at + ".lease", "only a set has a lease");
  if (set && !value) return bad(at + ".value", "missing: a set needs \"value\" or \"value_b64\"");
  if (set) op->value = std::move(*value);
  if (lease) {
    if (*lease < 1)
      return bad(at + ".lease", "must be a lease id (>= 1), not " + std::to_string(*lease));
    op->lease = static_cast<std::uint64_t>(*lease);
  }
  return Status::ok();
}

// Where the parser is, as a path of keys and indexes ("then[1]"), to name a duplicated key's
// object; the last frame is the object the key is in.
struct Frame {
  bool array = false;
  std::size_t index = 0;  // an array: the element being read
  std::string key;        // an object: the member being read
  std::set<std::string> keys;
};

std::string pathOf(const std::vector<Frame>& frames) {
  std::string p;
  for (std::size_t i = 0; i + 1 < frames.size(); ++i) {
    const Frame& f = frames[i];
    p += f.array ? "[" + std::to_string(f.index) + "]" : (p.empty() ? "" : ".") + f.key;
  }
  return p.empty() ? "the transaction" : p;
}

}  // namespace

wire::Result<wire::Txn> parseTxnJson(std::string_view text) {
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return Status(Err::kBadRequest, "no transaction: the input is empty");
  }
  // The parser keeps the last of a key given twice; a callback sees every key and says so.
  std::vector<Frame> frames;
  std::string duplicate;
  auto seen = [&](int, json::parse_event_t ev, json& parsed) {
    switch (ev) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        frames.emplace_back();
        frames.back().array = ev == json::parse_event_t::array_start;
        break;
      case json::parse_event_t::key:
        frames.back().key = parsed.get<std::string>();
        if (!frames.back().keys.insert(frames.back().key).second && duplicate.empty()) {
          duplicate = pathOf(frames) + ": the key \"" + frames.back().key + "\" appears twice";
        }
        break;
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        frames.pop_back();
        if (!frames.empty() && frames.back().array) ++frames.back().index;
        break;
      case json::parse_event_t::value:
        if (!frames.empty() && frames.back().array) ++frames.back().index;
        break;
    }
    return true;
  };
  json doc;
  try {
    doc = json::parse(text.begin(), text.end(), seen);
  } catch (const json::exception& e) {
    std::string why = e.what();  // "[json.exception.parse_error.101] parse error at line 1, ..."
    if (auto p = why.find("] "); p != std::string::npos) why = why.substr(p + 2);
    if (auto p = why.find("; last read:"); p != std::string::npos && !validUtf8(why)) {
      why = why.substr(0, p);  // what it read is not text: do not print it
    }
    return Status(Err::kBadRequest, "not valid JSON: " + why);
  }
  if (!duplicate.empty()) return Status(Err::kBadRequest, duplicate);
  if (!doc.is_object()) {
    return wrongType("the transaction", "an object with \"if\", \"then\" and \"else\"", doc);
  }
  wire::Txn t;
  bool any = false;
  for (const auto& [k, v] : doc.items()) {
    if (k == "verb") {
      if (!v.is_string() || lower(v.get<std::string>()) != "txn")
        return bad("verb", "must be \"TXN\" when given, not " + shown(v));
      continue;
    }
    if (k != "if" && k != "then" && k != "else") {
      return bad(k, "unknown key (a transaction has \"if\", \"then\" and \"else\")");
    }
    any = true;
    if (!v.is_array()) {
      return wrongType(k, k == "if" ? "an array of compares" : "an array of operations", v);
    }
    for (std::size_t i = 0; i < v.size(); ++i) {
      const std::string at = k + "[" + std::to_string(i) + "]";
      Status s = k == "if"
                     ? parseCompare(at, v[i], &t.compares.emplace_back())
                     : parseOp(at, v[i], &(k == "then" ? t.then : t.otherwise).emplace_back());
      if (!s.isOk()) return s;
    }
  }
  if (!any) return bad("the transaction", "has none of \"if\", \"then\" and \"else\"");
  return t;
}

std::string txnReplyJson(const client::TxnReply& r) {
  std::string o = std::string("{\"succeeded\":") + (r.succeeded ? "true" : "false") +
                  ",\"rev\":" + std::to_string(r.rev) + ",\"results\":[";
  for (std::size_t i = 0; i < r.results.size(); ++i) {
    const wire::Entry& e = r.results[i];
    const std::string op = e.op.value_or("");
    o += (i ? ",{" : "{") + std::string("\"op\":") + jsonStr(op) + ",\"path\":" + jsonStr(e.path) +
         ",\"rev\":" + std::to_string(e.rev);
    // A get of a missing file: rev 0 and no value (the node sends an empty one).
    if (e.value && !(op == "get" && e.rev == 0)) o += "," + jsonValue(*e.value);
    if (e.len) o += ",\"len\":" + std::to_string(*e.len);
    if (e.lease) o += ",\"lease\":" + std::to_string(*e.lease);
    o += "}";
  }
  return o + "]}";
}

}  // namespace cairn::tools
