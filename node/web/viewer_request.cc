#include "node/web/viewer_request.h"

#include <optional>

namespace cairn::node::web {
namespace {

bool refuse(ViewerError* why, const char* err, std::string detail, bool early = false) {
  why->err = err;
  why->detail = std::move(detail);
  why->early = early;
  return false;
}

// Reads an integer field in [lo, hi], `dflt` when absent; false (with *why) otherwise.
bool intField(const json& q, const char* key, std::int64_t lo, std::int64_t hi, std::int64_t dflt,
              std::int64_t* out, ViewerError* why) {
  *out = dflt;
  auto it = q.find(key);
  if (it == q.end()) return true;
  const json& v = *it;
  if (!v.is_number_integer() || v.get<std::int64_t>() < lo || v.get<std::int64_t>() > hi) {
    return refuse(why, "RANGE",
                  std::string(key) + " must be an integer in " + std::to_string(lo) + ".." +
                      std::to_string(hi));
  }
  *out = v.get<std::int64_t>();
  return true;
}

}  // namespace

bool parseViewerRequest(std::string_view text, ViewerRequest* out, ViewerError* why) {
  *out = ViewerRequest();
  json q = json::parse(text, nullptr, false);
  if (q.is_discarded() || !q.is_object()) {
    return refuse(why, "BAD_REQUEST", "a request is one JSON object", true);
  }
  auto id = q.find("id");
  if (id == q.end() || !id->is_number_integer()) {
    return refuse(why, "BAD_REQUEST", "a request needs an integer id", true);
  }
  out->id = *id;
  auto op = q.find("op");
  if (op == q.end() || !op->is_string()) {
    return refuse(why, "BAD_REQUEST", "op (a string) is required", true);
  }
  out->op = op->get<std::string>();
  auto str = [&](const char* key) -> std::optional<std::string> {
    auto it = q.find(key);
    if (it == q.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
  };
  wire::Request& req = out->req;
  req.consistency = "local";
  if (out->op == "getdir" || out->op == "walk") {
    req.verb = out->op == "getdir" ? wire::Verb::kGetdir : wire::Verb::kWalk;
    req.path = str(out->op == "getdir" ? "path" : "glob");
    req.after = str("after");
    std::int64_t limit = 0;
    if (!intField(q, "limit", 1, kMaxPage, kDefaultPage, &limit, why)) return false;
    req.limit = limit;
  } else if (out->op == "get") {
    req.verb = wire::Verb::kGet;
    req.path = str("path");
  } else if (out->op == "history") {
    if (!intField(q, "limit", 1, kMaxHistory, kDefaultHistory, &out->limit, why)) return false;
    req.verb = wire::Verb::kChanges;
    req.path = str("path");
    req.limit = kChangesPage;
  } else {
    return refuse(why, "BAD_REQUEST",
                  "op must be one of getdir, get, history, walk; got \"" + out->op + "\"");
  }
  if (!req.path) {
    return refuse(why, "MISSING_ARG",
                  std::string(out->op == "walk" ? "glob" : "path") + " (a string) is required");
  }
  return true;
}

}  // namespace cairn::node::web
