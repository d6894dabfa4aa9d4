#include "node/config.h"

#include <cerrno>
#include <cstdlib>

namespace cairn::node {
namespace {

bool parseInt(const std::string& s, std::int64_t lo, std::int64_t hi, std::int64_t* out) {
  if (s.empty()) return false;
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || v < lo || v > hi) return false;
  *out = v;
  return true;
}

}  // namespace

const char* usageText() {
  return "usage: cairnd --data DIR [options]\n"
         "\n"
         "Runs one Cairn node: a consistent, durable coordination store served over ZeroMQ.\n"
         "\n"
         "  --data DIR           where the node keeps its WAL and snapshots (required)\n"
         "  --client ENDPOINT    ROUTER for client requests   (default tcp://127.0.0.1:7101)\n"
         "  --events ENDPOINT    PUB for the change feed      (default tcp://127.0.0.1:7102)\n"
         "                       a port of * picks a free one; the ready line says which\n"
         "  --advertise HOST     host to tell clients when an endpoint binds a wildcard host\n"
         "  --id N               this node's id, 1..65535    (default 1)\n"
         "  --cluster LIST       every member as ID=ENDPOINT, comma-separated, the same on\n"
         "                       every node: 1=tcp://10.0.0.1:7100,2=tcp://10.0.0.2:7100,...\n"
         "                       (default: this node alone)\n"
         "  --peer ENDPOINT      where to bind for peers (default: this node's --cluster entry)\n"
         "  --peer-via LIST      ID=ENDPOINT,...: reach those members through these endpoints\n"
         "                       instead of their --cluster entries (a proxy, a NAT); the\n"
         "                       member list itself stays the same on every node\n"
         "  --history N          past revisions kept readable (default 10000)\n"
         "  --max-value BYTES    largest value accepted       (default 1048576)\n"
         "  --snapshot-every N   log records between snapshots (default 10000)\n"
         "  --feed-hwm N         feed messages queued per subscriber before the node\n"
         "                       drops that subscriber's messages (default 10000)\n"
         "  --verbose            log one line per request\n"
         "  --debug-stale-reads  BREAKS linearizability on purpose (reads skip the read\n"
         "                       index): for proving the fault harness catches it\n"
         "  --help               print this text\n"
         "  --version            print the version\n";
}

ParseOutcome parseArgs(const std::vector<std::string>& args) {
  ParseOutcome out;
  Config& c = out.config;
  auto fail = [&](const std::string& msg) {
    out.run = false;
    out.exitCode = 2;
    out.message = "cairnd: " + msg + "\n(run cairnd --help for the flags)\n";
    return out;
  };
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i];
    std::string value;
    bool hasValue = false;
    if (auto eq = flag.find('='); flag.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
      hasValue = true;
    }
    if (flag == "--help" || flag == "-h") {
      out.exitCode = 0;
      out.message = usageText();
      return out;
    }
    if (flag == "--version") {
      out.exitCode = 0;
      out.message = std::string("cairnd ") + CAIRN_VERSION + "\n";
      return out;
    }
    if (flag == "--verbose" || flag == "-v") {
      c.verbose = true;
      continue;
    }
    if (flag == "--debug-stale-reads") {
      c.debugStaleReads = true;
      continue;
    }
    static const char* kWithValue[] = {"--data",    "--client",  "--events",    "--advertise",
                                       "--id",      "--history", "--max-value", "--snapshot-every",
                                       "--cluster", "--peer",    "--feed-hwm",  "--peer-via"};
    bool known = false;
    for (const char* k : kWithValue)
      known = known || flag == k;
    if (!known) return fail("unknown flag \"" + args[i] + "\"");
    if (!hasValue) {
      if (i + 1 >= args.size()) return fail(flag + " needs a value");
      value = args[++i];
    }
    if (flag == "--data") {
      if (value.empty()) return fail("--data needs a directory");
      c.dataDir = value;
    } else if (flag == "--client") {
      c.clientEndpoint = value;
    } else if (flag == "--events") {
      c.eventsEndpoint = value;
    } else if (flag == "--advertise") {
      c.advertiseHost = value;
    } else if (flag == "--id") {
      if (!parseInt(value, 1, 65535, &c.id)) return fail("--id must be an integer in 1..65535");
    } else if (flag == "--history") {
      if (!parseInt(value, 1, 100000000, &c.historyRevs)) {
        return fail("--history must be an integer in 1..100000000");
      }
    } else if (flag == "--max-value") {
      if (!parseInt(value, 1, 64 << 20, &c.maxValue)) {
        return fail("--max-value must be an integer in 1..67108864");
      }
    } else if (flag == "--cluster" || flag == "--peer-via") {
      auto& list = flag == "--cluster" ? c.cluster : c.peerVia;
      list.clear();
      std::size_t i0 = 0;
      while (i0 <= value.size()) {
        std::size_t j = value.find(',', i0);
        if (j == std::string::npos) j = value.size();
        std::string item = value.substr(i0, j - i0);
        i0 = j + 1;
        if (item.empty()) continue;
        auto eq = item.find('=');
        std::int64_t id = 0;
        if (eq == std::string::npos || !parseInt(item.substr(0, eq), 1, 65535, &id) ||
            eq + 1 == item.size()) {
          return fail(flag + " entries look like 1=tcp://127.0.0.1:7100, not \"" + item + "\"");
        }
        if (!list.emplace(static_cast<std::uint32_t>(id), item.substr(eq + 1)).second) {
          return fail(flag + " names member " + std::to_string(id) + " twice");
        }
      }
    } else if (flag == "--peer") {
      c.peerEndpoint = value;
    } else if (flag == "--feed-hwm") {
      if (!parseInt(value, 1, 10000000, &c.feedHwm)) {
        return fail("--feed-hwm must be an integer in 1..10000000");
      }
    } else if (flag == "--snapshot-every") {
      if (!parseInt(value, 1, 100000000, &c.snapshotEvery)) {
        return fail("--snapshot-every must be an integer in 1..100000000");
      }
    }
  }
  if (c.dataDir.empty()) return fail("--data DIR is required");
  if (!c.cluster.empty()) {
    auto self = c.cluster.find(static_cast<std::uint32_t>(c.id));
    if (self == c.cluster.end()) {
      return fail("--id " + std::to_string(c.id) + " is not a member of --cluster");
    }
    if (c.peerEndpoint.empty()) c.peerEndpoint = self->second;
  } else if (!c.peerEndpoint.empty()) {
    return fail("--peer needs --cluster");
  }
  for (const auto& [id, ep] : c.peerVia) {
    if (!c.cluster.count(id))
      return fail("--peer-via names " + std::to_string(id) + ", not a member");
  }
  out.run = true;
  return out;
}

}  // namespace cairn::node
