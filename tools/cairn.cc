// cairn: the command-line client.

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bindings/cpp/client.h"
#include "bindings/cpp/watcher.h"
#include "wire/codec.h"
#include "wire/path.h"

namespace {

using cairn::wire::Err;
using cairn::wire::Status;

constexpr int kExitOk = 0;
constexpr int kExitMismatch = 1;
constexpr int kExitError = 2;
constexpr int kExitUsage = 127;

const char* kUsage =
    "usage: cairn [--addr ENDPOINTS] [--json] [--local] [--rev R] [--timeout MS] COMMAND ARGS\n"
    "\n"
    "  get PATH            print a file's value (--rev: as of revision R)\n"
    "  set PATH [VALUE]    write a file (VALUE or stdin); --rev R: only if the file is at rev <= "
    "R\n"
    "  add PATH [VALUE]    create a file that must not exist yet\n"
    "  del PATH            delete a file; --rev R: only if the file is at rev <= R\n"
    "  ls [PATH]           list a directory (default /)\n"
    "  find GLOB           list files matching a glob (? * within a component, ** across)\n"
    "  tree [PATH]         print the tree below PATH (default /)\n"
    "  stat PATH           print a file's or directory's rev and length\n"
    "  rev                 print the current revision\n"
    "  wait GLOB           wait for the first change matching GLOB at or after --rev (default:\n"
    "                      the next one) and print it\n"
    "  watch GLOB          print every change matching GLOB from --rev (default: the next one)\n"
    "                      in rev order, each once, never skipping one; follows the nodes'\n"
    "                      feeds, fails over between --addr endpoints; ends only with\n"
    "                      TOO_LATE (history compacted past the rev wanted), or at --until\n"
    "  feed GLOB (--push EP | --pub EP) [--bind]\n"
    "                      the same watch, relayed into a ZeroMQ pipeline as [path][event]\n"
    "                      messages: PUSH to a PULL stage, or re-published on a PUB; connects\n"
    "                      to EP, or binds it with --bind\n"
    "  self                print the node's id, endpoints and version\n"
    "\n"
    "  --addr ENDPOINTS    comma-separated client endpoints (default $CAIRN_ADDR, else\n"
    "                      tcp://127.0.0.1:7101)\n"
    "  --json              one JSON object per line\n"
    "  --local             read this node's own state (fast, may trail the cluster); reads are\n"
    "                      linearizable by default\n"
    "  --timeout MS        per-request timeout (default 5000)\n"
    "  --until R           watch/feed: exit 0 once every change up to rev R was delivered\n"
    "  --progress          watch: also print the rev up to which the watch is complete, as it\n"
    "                      moves (\"complete R\", or {\"complete\":R})\n"
    "  --verbose           watch/feed: report node switches and catch-ups on stderr\n"
    "\n"
    "exit codes: 0 ok, 1 rev mismatch, 2 other errors, 127 usage\n";

int usage(const std::string& why) {
  std::fprintf(stderr, "cairn: %s\n%s", why.c_str(), kUsage);
  return kExitUsage;
}

int fail(const Status& s) {
  std::fprintf(stderr, "cairn: %s\n", s.toString().c_str());
  return s.code() == Err::kRevMismatch ? kExitMismatch : kExitError;
}

bool validUtf8(const std::string& s) {
  for (std::size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    std::size_t more;
    if (c < 0x80) {
      more = 0;
    } else if ((c >> 5) == 0x6) {
      more = 1;
    } else if ((c >> 4) == 0xe) {
      more = 2;
    } else if ((c >> 3) == 0x1e) {
      more = 3;
    } else {
      return false;
    }
    if (i + more >= s.size()) return false;
    for (std::size_t k = 1; k <= more; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
    }
    i += more + 1;
  }
  return true;
}

std::string jsonStr(const std::string& s) {
  std::string o = "\"";
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        o += "\\\"";
        break;
      case '\\':
        o += "\\\\";
        break;
      case '\n':
        o += "\\n";
        break;
      case '\r':
        o += "\\r";
        break;
      case '\t':
        o += "\\t";
        break;
      default:
        if (c < 0x20) {
          char b[8];
          std::snprintf(b, sizeof b, "\\u%04x", c);
          o += b;
        } else {
          o += ch;
        }
    }
  }
  return o + "\"";
}

std::string base64(const std::string& s) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string o;
  std::size_t i = 0;
  for (; i + 2 < s.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(s[i]) << 16) |
                 (static_cast<unsigned char>(s[i + 1]) << 8) | static_cast<unsigned char>(s[i + 2]);
    o += k[v >> 18];
    o += k[(v >> 12) & 63];
    o += k[(v >> 6) & 63];
    o += k[v & 63];
  }
  if (i < s.size()) {
    unsigned v = static_cast<unsigned char>(s[i]) << 16;
    if (i + 1 < s.size()) v |= static_cast<unsigned char>(s[i + 1]) << 8;
    o += k[v >> 18];
    o += k[(v >> 12) & 63];
    o += i + 1 < s.size() ? k[(v >> 6) & 63] : '=';
    o += '=';
  }
  return o;
}

// A value as a JSON member: "value":"text" when it is UTF-8, else "value_b64":"...".
std::string jsonValue(const std::string& v) {
  if (validUtf8(v)) return "\"value\":" + jsonStr(v);
  return "\"value_b64\":" + jsonStr(base64(v));
}

std::string num(std::int64_t v) {
  return std::to_string(v);
}

void out(const std::string& line) {
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

bool readStdin(std::string* v) {
  char buf[65536];
  while (true) {
    ssize_t n = ::read(0, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) return true;
    v->append(buf, static_cast<std::size_t>(n));
  }
}

struct Args {
  std::string addr;
  bool json = false;
  bool local = false;
  std::optional<std::int64_t> rev;
  std::int64_t timeoutMs = 5000;
  std::optional<std::int64_t> until;
  bool progress = false;
  bool verbose = false;
  std::string push, pub;
  bool bind = false;
  std::vector<std::string> pos;
};

bool parseInt(const std::string& s, std::int64_t* v) {
  if (s.empty()) return false;
  char* end = nullptr;
  errno = 0;
  long long x = std::strtoll(s.c_str(), &end, 10);
  if (errno != 0 || *end) return false;
  *v = x;
  return true;
}

void printChange(const Args& a, const cairn::client::Change& c) {
  if (a.json) {
    out("{\"rev\":" + num(c.rev) + ",\"path\":" + jsonStr(c.path) + ",\"op\":" + jsonStr(c.op) +
        "," + jsonValue(c.value) + "}");
  } else {
    out(num(c.rev) + " " + c.op + " " + c.path + (c.op == "set" ? " " + c.value : ""));
  }
}

// watch and feed: a Watcher, printed or relayed.
int watch(const Args& a, bool relay) {
  std::unique_ptr<zmq::context_t> ctx;
  std::unique_ptr<zmq::socket_t> sink;
  if (relay) {
    if (a.push.empty() == a.pub.empty()) return usage("feed needs one of --push EP or --pub EP");
    ctx = std::make_unique<zmq::context_t>(1);
    sink = std::make_unique<zmq::socket_t>(
        *ctx, a.push.empty() ? zmq::socket_type::pub : zmq::socket_type::push);
    sink->set(zmq::sockopt::linger, 5000);  // deliver what was relayed before exiting
    const std::string& ep = a.push.empty() ? a.pub : a.push;
    try {
      if (a.bind) {
        sink->bind(ep);
      } else {
        sink->connect(ep);
      }
    } catch (const zmq::error_t& e) {
      std::fprintf(stderr, "cairn: cannot %s %s: %s\n", a.bind ? "bind" : "connect", ep.c_str(),
                   e.what());
      return kExitError;
    }
  }
  cairn::client::WatchOptions wo;
  wo.endpoints = cairn::client::splitEndpoints(a.addr);
  wo.glob = a.pos[1];
  wo.fromRev = a.rev;
  wo.timeout = std::chrono::milliseconds(a.timeoutMs);
  cairn::client::Watcher w(wo);
  std::string node;
  std::int64_t shownSwitches = 0, shownGaps = 0;
  bool live = false;
  bool warnedDown = false;       // said once (verbose or not) that no node answers
  std::int64_t beatsBefore = 0;  // heartbeats counted before the node now followed
  while (true) {
    auto n = w.next(std::chrono::milliseconds(1000));
    if (w.node().empty() && n && !*n && !warnedDown) {
      warnedDown = true;  // as the WAIT-based watch did: a wrong --addr must not look like quiet
      std::fprintf(stderr, "cairn: no node answers at %s; retrying\n",
                   a.addr.empty() ? "tcp://127.0.0.1:7101" : a.addr.c_str());
    } else if (!w.node().empty()) {
      warnedDown = false;
    }
    if (a.verbose) {
      const auto& st = w.stats();
      if (!w.node().empty() && (w.node() != node || st.switches != shownSwitches)) {
        node = w.node();
        shownSwitches = st.switches;
        if (st.switches > 0) std::fprintf(stderr, "cairn: %s\n", w.lastSwitch().c_str());
        std::fprintf(stderr, "cairn: following %s\n", node.c_str());
        live = false;
        beatsBefore = st.heartbeats;
      }
      if (!live && !node.empty() && st.heartbeats > beatsBefore) {
        live = true;
        std::fprintf(stderr, "cairn: feed of %s is live\n", node.c_str());
      }
      if (st.gaps != shownGaps) {
        shownGaps = st.gaps;
        std::fprintf(stderr, "cairn: feed lost events (%lld so far); filled from history\n",
                     static_cast<long long>(st.gaps));
      }
    }
    if (!n) return fail(n.status());
    if (*n) {
      const auto& notice = **n;
      if (notice.kind == cairn::client::Notice::Kind::kChange) {
        if (sink) {
          cairn::wire::Event e{
              notice.change.rev, notice.change.path, notice.change.op, notice.change.value, {}};
          sink->send(zmq::buffer(e.path), zmq::send_flags::sndmore);
          sink->send(zmq::buffer(cairn::wire::encodeEvent(e)), zmq::send_flags::none);
        } else {
          printChange(a, notice.change);
        }
      } else if (a.progress && !sink) {
        out(a.json ? "{\"complete\":" + num(notice.complete) + "}"
                   : "complete " + num(notice.complete));
      }
    }
    if (a.until && w.complete() >= *a.until) {
      if (a.verbose) {
        const auto& st = w.stats();
        std::fprintf(stderr,
                     "cairn: complete to rev %lld: %lld from the feed, %lld from history, %lld "
                     "duplicates dropped, %lld losses detected, %lld node switches\n",
                     static_cast<long long>(w.complete()), static_cast<long long>(st.fromFeed),
                     static_cast<long long>(st.fromHistory), static_cast<long long>(st.duplicates),
                     static_cast<long long>(st.gaps), static_cast<long long>(st.switches));
      }
      return kExitOk;
    }
  }
}

int run(Args& a) {
  cairn::client::Options opts;
  opts.endpoints = cairn::client::splitEndpoints(a.addr);
  opts.timeout = std::chrono::milliseconds(a.timeoutMs);
  opts.localReads = a.local;
  cairn::client::Client c(opts);
  const std::string cmd = a.pos[0];
  auto need = [&](std::size_t lo, std::size_t hi) {
    return a.pos.size() >= lo && a.pos.size() <= hi;
  };

  if (cmd == "get") {
    if (!need(2, 2)) return usage("get takes one PATH");
    auto f = c.get(a.pos[1], a.rev);
    if (!f) return fail(f.status());
    if (a.json) {
      out("{\"path\":" + jsonStr(a.pos[1]) + ",\"rev\":" + num(f->rev) + "," + jsonValue(f->value) +
          ",\"head\":" + num(f->head) + "}");
    } else {
      std::fwrite(f->value.data(), 1, f->value.size(), stdout);
    }
    return kExitOk;
  }
  if (cmd == "set" || cmd == "add") {
    if (!need(2, 3)) return usage(cmd + " takes PATH and an optional VALUE");
    std::string value;
    if (a.pos.size() == 3) {
      value = a.pos[2];
    } else if (!readStdin(&value)) {
      std::fprintf(stderr, "cairn: reading stdin: %s\n", std::strerror(errno));
      return kExitError;
    }
    std::int64_t rev = cmd == "add" ? 0 : a.rev.value_or(-1);
    auto r = c.set(a.pos[1], value, rev);
    if (!r) return fail(r.status());
    out(a.json ? "{\"path\":" + jsonStr(a.pos[1]) + ",\"rev\":" + num(*r) + "}" : num(*r));
    return kExitOk;
  }
  if (cmd == "del") {
    if (!need(2, 2)) return usage("del takes one PATH");
    auto r = c.del(a.pos[1], a.rev.value_or(-1));
    if (!r) return fail(r.status());
    out(a.json ? "{\"path\":" + jsonStr(a.pos[1]) + ",\"rev\":" + num(*r) + "}" : num(*r));
    return kExitOk;
  }
  if (cmd == "ls") {
    if (!need(1, 2)) return usage("ls takes an optional PATH");
    auto es = c.getdir(a.pos.size() == 2 ? a.pos[1] : "/", a.rev);
    if (!es) return fail(es.status());
    for (const auto& e : *es) {
      const bool dir = e.dir.value_or(false);
      out(a.json ? "{\"name\":" + jsonStr(e.name) + ",\"rev\":" + num(e.rev) +
                       ",\"dir\":" + (dir ? "true" : "false") + "}"
                 : e.name + (dir ? "/" : ""));
    }
    return kExitOk;
  }
  if (cmd == "find") {
    if (!need(2, 2)) return usage("find takes one GLOB");
    auto es = c.walk(a.pos[1], a.rev);
    if (!es) return fail(es.status());
    for (const auto& e : *es) {
      out(a.json ? "{\"path\":" + jsonStr(e.path) + ",\"rev\":" + num(e.rev) + "," +
                       jsonValue(e.value.value_or("")) + "}"
                 : e.path);
    }
    return kExitOk;
  }
  if (cmd == "tree") {
    if (!need(1, 2)) return usage("tree takes an optional PATH");
    std::string root = a.pos.size() == 2 ? a.pos[1] : "/";
    while (root.size() > 1 && root.back() == '/')  // a trailing / is forgiven here
      root.pop_back();
    auto es = c.walk(cairn::wire::childPath(root, "**"), a.rev);
    if (!es) return fail(es.status());
    auto base = cairn::wire::splitPath(root);  // valid: the node accepted the glob
    if (!base) return fail(base.status());
    out(root);
    std::vector<std::string> prev;  // components of the previous path below root
    for (const auto& e : *es) {
      auto all = cairn::wire::splitPath(e.path);
      if (!all) return fail(all.status());
      if (all->size() <= base->size()) continue;  // not below root: "/a/**" never yields one
      std::vector<std::string> comps(all->begin() + static_cast<std::ptrdiff_t>(base->size()),
                                     all->end());
      std::size_t same = 0;
      while (same < prev.size() && same + 1 < comps.size() && prev[same] == comps[same])
        ++same;
      for (std::size_t d = same; d < comps.size(); ++d) {
        const bool file = d + 1 == comps.size();
        std::string line(2 * (d + 1), ' ');
        line += comps[d];
        if (!file) line += "/";
        if (file && a.json) line += "  (rev " + num(e.rev) + ")";
        if (file && !a.json) line += "  @" + num(e.rev);
        out(line);
      }
      comps.pop_back();
      prev = comps;
    }
    return kExitOk;
  }
  if (cmd == "stat") {
    if (!need(2, 2)) return usage("stat takes one PATH");
    auto s = c.stat(a.pos[1], a.rev);
    if (!s) return fail(s.status());
    if (a.json) {
      out("{\"path\":" + jsonStr(a.pos[1]) + ",\"rev\":" + num(s->rev) + ",\"len\":" + num(s->len) +
          ",\"dir\":" + (s->dir ? "true" : "false") + ",\"head\":" + num(s->head) + "}");
    } else if (s->rev == 0 && !s->dir) {
      std::fprintf(stderr, "cairn: %s does not exist\n", a.pos[1].c_str());
      return kExitError;
    } else {
      out(std::string(s->dir ? "dir" : "file") + " rev=" + num(s->rev) + " len=" + num(s->len));
    }
    return kExitOk;
  }
  if (cmd == "rev") {
    if (!need(1, 1)) return usage("rev takes no arguments");
    auto r = c.rev();
    if (!r) return fail(r.status());
    out(a.json ? "{\"rev\":" + num(*r) + "}" : num(*r));
    return kExitOk;
  }
  if (cmd == "self") {
    if (!need(1, 1)) return usage("self takes no arguments");
    auto r = c.self();
    if (!r) return fail(r.status());
    if (a.json) {
      out("{\"id\":" + num(r->id.value_or(0)) + ",\"leader\":" + num(r->leader.value_or(0)) +
          ",\"client\":" + jsonStr(r->client.value_or("")) + ",\"events\":" +
          jsonStr(r->events.value_or("")) + ",\"version\":" + jsonStr(r->version.value_or("")) +
          ",\"rev\":" + num(r->rev.value_or(0)) + "}");
    } else {
      out("id " + num(r->id.value_or(0)) + "\nleader " + num(r->leader.value_or(0)) + "\nclient " +
          r->client.value_or("") + "\nevents " + r->events.value_or("") + "\nversion " +
          r->version.value_or("") + "\nrev " + num(r->rev.value_or(0)));
    }
    return kExitOk;
  }
  if (cmd == "wait") {
    if (!need(2, 2)) return usage("wait takes one GLOB");
    std::int64_t from;
    if (a.rev) {
      from = *a.rev;
    } else {
      auto r = c.rev();
      if (!r) return fail(r.status());
      from = *r + 1;
    }
    while (true) {
      auto ch = c.wait(a.pos[1], from, std::chrono::milliseconds(2000));
      if (!ch) {
        Err e = ch.status().code();
        if (e == Err::kTimeout || e == Err::kUnavailable) continue;  // ask again, same rev
        return fail(ch.status());
      }
      printChange(a, *ch);
      return kExitOk;
    }
  }
  if (cmd == "watch" || cmd == "feed") {
    if (!need(2, 2)) return usage(cmd + " takes one GLOB");
    return watch(a, cmd == "feed");
  }
  return usage("unknown command \"" + cmd + "\"");
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  if (const char* env = std::getenv("CAIRN_ADDR")) a.addr = env;
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    auto value = [&](std::string* v) {
      if (auto eq = s.find('='); eq != std::string::npos) {
        *v = s.substr(eq + 1);
        return true;
      }
      if (i + 1 >= argc) return false;
      *v = argv[++i];
      return true;
    };
    std::string flag = s.substr(0, s.find('='));
    std::string v;
    if (flag == "-h" || flag == "--help") {
      std::fputs(kUsage, stdout);
      return kExitOk;
    } else if (flag == "--json") {
      a.json = true;
    } else if (flag == "--local") {
      a.local = true;
    } else if (flag == "--progress") {
      a.progress = true;
    } else if (flag == "--verbose" || flag == "-v") {
      a.verbose = true;
    } else if (flag == "--bind") {
      a.bind = true;
    } else if (flag == "--push") {
      if (!value(&a.push) || a.push.empty()) return usage("--push needs an ENDPOINT");
    } else if (flag == "--pub") {
      if (!value(&a.pub) || a.pub.empty()) return usage("--pub needs an ENDPOINT");
    } else if (flag == "--until") {
      std::int64_t r;
      if (!value(&v) || !parseInt(v, &r)) return usage("--until needs an integer");
      a.until = r;
    } else if (flag == "--addr") {
      if (!value(&a.addr) || a.addr.empty()) return usage("--addr needs ENDPOINTS");
    } else if (flag == "--rev" || flag == "-r") {
      std::int64_t r;
      if (!value(&v) || !parseInt(v, &r)) return usage("--rev needs an integer");
      a.rev = r;
    } else if (flag == "--timeout") {
      if (!value(&v) || !parseInt(v, &a.timeoutMs) || a.timeoutMs < 1) {
        return usage("--timeout needs a positive number of milliseconds");
      }
    } else if (s.size() > 1 && s[0] == '-' && s != "-") {
      return usage("unknown flag \"" + s + "\"");
    } else {
      a.pos.push_back(s);
    }
  }
  if (a.pos.empty()) return usage("no command given");
  try {
    return run(a);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cairn: %s\n", e.what());
    return kExitError;
  }
}
