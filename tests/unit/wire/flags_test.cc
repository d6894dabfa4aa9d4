#include <catch2/catch.hpp>

#include "wire/cli/flags.h"

using namespace cairn;

TEST_CASE("flags: integers are base 10, whole and in range", "[unit][cli]") {
  std::int64_t v = -1;
  CHECK((cli::parseInt("010", 0, 100, &v) && v == 10));  // not octal
  CHECK((cli::parseInt("-7", -10, 10, &v) && v == -7));
  for (const char* bad :
       {"", "x", "1x", "0x10", " 5", "5 ", "1e3", "1.0", "11", "99999999999999999999"}) {
    INFO(bad);
    CHECK(!cli::parseInt(bad, 0, 10, &v));
  }
  double d = 0;
  CHECK((cli::parseReal("0.25", 0, 1, false, &d) && d == 0.25));
  CHECK(cli::parseReal("0", 0, 1, false, &d));
  CHECK(!cli::parseReal("0", 0, 1, true, &d));  // open below
  for (const char* bad : {"", "x", "nan", "inf", "2", "0.5x"}) {
    INFO(bad);
    CHECK(!cli::parseReal(bad, 0, 1, false, &d));
  }
}

TEST_CASE("flags: an integer option reads 010 as ten and names its range in errors",
          "[unit][cli]") {
  int n = 0;
  CLI::App app;
  cli::setUp(&app, "t");
  app.add_option("--n", n)->transform(cli::integer(1, 100));
  auto ok = cli::parse(&app, {"--n", "010"}, 127, "");
  CHECK(ok.run);
  CHECK(n == 10);
  auto bad = cli::parse(&app, {"--n", "x"}, 127, "(hint)");
  CHECK(!bad.run);
  CHECK(bad.code == 127);
  CHECK(bad.err == "t: --n: must be an integer in 1..100, not \"x\"\n(hint)\n");
  auto help = cli::parse(&app, {"--help"}, 127, "");
  CHECK((!help.run && help.code == 0 && help.out.find("--n") != std::string::npos));
  auto last = cli::parse(&app, {"--n", "3", "--n", "4"}, 127, "");  // the last one wins
  CHECK((last.run && n == 4));
}
