#pragma once
// What every Cairn binary's command line shares. The parsing itself is CLI11's; this adds strict
// numbers (CLI11 alone reads "010" as octal and saturates on overflow), the --version line with
// the git commit, and one way to turn CLI11's outcome into an exit code and text.
//
// Used by: cairnd (node/config.cc), cairn, cairn-bench, cairn_fault, cairn_sim. No state.

#include <cstdint>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace cairn::cli {

// Reads all of `s` as a base-10 integer in [lo, hi]. The one number parser of every flag.
bool parseInt(const std::string& s, std::int64_t lo, std::int64_t hi, std::int64_t* out);
// Reads all of `s` as a finite decimal number in [lo, hi]; above lo only when `loOpen`.
bool parseReal(const std::string& s, double lo, double hi, bool loOpen, double* out);

// Validators for ->transform() (not ->check(): they rewrite the argument to a canonical form that
// CLI11's own conversion reads the same way). The error names the range: "--id: must be an
// integer in 1..65535".
CLI::Validator integer(std::int64_t lo, std::int64_t hi);
CLI::Validator real(double lo, double hi, bool loOpen = false);
// Rejects an empty argument ("--addr: needs ENDPOINTS").
CLI::Validator nonEmpty(const std::string& what);

// "NAME VERSION (commit C)": the version of the project and the git commit it was built from
// ("unknown" outside a git checkout).
std::string versionLine(const std::string& name);

// Makes `app` behave as every Cairn binary does: --help and -h, --version, the last of a repeated
// option wins, and help text laid out in one width.
void setUp(CLI::App* app, const std::string& name);

// What parsing decided: run, or exit with `code` after printing `out` on stdout and `err` on
// stderr.
struct Outcome {
  bool run = false;
  int code = 0;
  std::string out;
  std::string err;
  std::string error;  // a usage error alone, without the name and the hint
};

// Parses `args` (without the program name) into `app`. --help and --version end with code 0 and
// the text in `out`; a usage error ends with `usageCode` and "NAME: what\n" + `hint` + "\n" in
// `err`.
Outcome parse(CLI::App* app, const std::vector<std::string>& args, int usageCode,
              const std::string& hint);

// For main(): prints the outcome's text; returns its exit code, or -1 when the program should run.
int finish(const Outcome& o);

}  // namespace cairn::cli
