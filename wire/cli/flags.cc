#include "wire/cli/flags.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#ifndef CAIRN_COMMIT
#define CAIRN_COMMIT "unknown"
#endif

namespace cairn::cli {
namespace {

std::string show(double v) {
  std::ostringstream o;
  o << v;
  return o.str();
}

}  // namespace

bool parseInt(const std::string& s, std::int64_t lo, std::int64_t hi, std::int64_t* out) {
  if (s.empty() || std::isspace(static_cast<unsigned char>(s[0]))) return false;
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || v < lo || v > hi) return false;
  *out = v;
  return true;
}

bool parseReal(const std::string& s, double lo, double hi, bool loOpen, double* out) {
  if (s.empty() || std::isspace(static_cast<unsigned char>(s[0]))) return false;
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (errno != 0 || *end != '\0' || !std::isfinite(v)) return false;
  if (v < lo || (loOpen && v == lo) || v > hi) return false;
  *out = v;
  return true;
}

CLI::Validator integer(std::int64_t lo, std::int64_t hi) {
  std::string range = "in " + std::to_string(lo) + ".." + std::to_string(hi);
  if (lo == INT64_MIN && hi == INT64_MAX) {
    range.clear();
  } else if (hi >= INT32_MAX) {  // the type's limit, not a chosen bound
    range = ">= " + std::to_string(lo);
  }
  const std::string why = range.empty() ? "must be an integer" : "must be an integer " + range;
  CLI::Validator v(
      [lo, hi, why](std::string& s) {
        std::int64_t n;
        if (!parseInt(s, lo, hi, &n)) return why + ", not \"" + s + "\"";
        s = std::to_string(n);  // canonical: CLI11 would read a leading 0 as octal
        return std::string();
      },
      "");
  return v;
}

CLI::Validator real(double lo, double hi, bool loOpen) {
  std::string why = "must be a number ";
  if (lo == -HUGE_VAL && hi == HUGE_VAL) {
    why = "must be a number";
  } else if (hi == HUGE_VAL) {
    why += (loOpen ? "> " : ">= ") + show(lo);
  } else {
    why += (loOpen ? "in (" : "in [") + show(lo) + ", " + show(hi) + "]";
  }
  return CLI::Validator(
      [lo, hi, loOpen, why](std::string& s) {
        double d;
        if (!parseReal(s, lo, hi, loOpen, &d)) return why + ", not \"" + s + "\"";
        return std::string();
      },
      "");
}

CLI::Validator nonEmpty(const std::string& what) {
  return CLI::Validator(
      [what](std::string& s) { return s.empty() ? "needs " + what : std::string(); }, "");
}

std::string versionLine(const std::string& name) {
  return name + " " + CAIRN_VERSION + " (commit " + CAIRN_COMMIT + ")";
}

void setUp(CLI::App* app, const std::string& name) {
  app->name(name);
  app->set_version_flag("--version", versionLine(name), "print the version and the git commit");
  app->set_help_flag("-h,--help", "print this help");
  app->option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app->get_formatter()->column_width(30);
}

Outcome parse(CLI::App* app, const std::vector<std::string>& args, int usageCode,
              const std::string& hint) {
  Outcome o;
  std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 consumes from the back
  try {
    app->parse(reversed);
    o.run = true;
    return o;
  } catch (const CLI::CallForHelp&) {
    o.out = app->help();  // the selected subcommand's, when there is one
  } catch (const CLI::CallForAllHelp&) {
    o.out = app->help("", CLI::AppFormatMode::All);
  } catch (const CLI::CallForVersion& e) {
    o.out = std::string(e.what()) + "\n";
  } catch (const CLI::ParseError& e) {
    o.code = usageCode;
    o.error = e.what();
    o.err = app->get_name() + ": " + o.error + "\n" + hint + (hint.empty() ? "" : "\n");
  }
  return o;
}

int finish(const Outcome& o) {
  std::fputs(o.out.c_str(), stdout);
  std::fputs(o.err.c_str(), stderr);
  std::fflush(stdout);
  return o.run ? -1 : o.code;
}

}  // namespace cairn::cli
