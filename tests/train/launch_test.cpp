// The data-parallel launcher of the training library (launch_local,
// free_loopback_port), driven with /bin/sh scripts instead of kura-train: the
// script sees the arguments the launcher appends and plays a failing process.
#include <catch2/catch.hpp>

#include <chrono>

#include "kura/train.hpp"
#include "support.hpp"

using namespace kura::test;

namespace {

// sh -c SCRIPT sh ... --rendezvous URL --world W --rank R: $6 is the rank, $4 the world.
std::vector<std::string> shell(const std::string& script) { return {"/bin/sh", "-c", script, "sh"}; }

}  // namespace

TEST_CASE("launch_local starts one process per rank with the rendezvous arguments", "[train][launch]") {
  TempDir dir;
  const std::string out = (dir / "ranks").string();
  int code = kura::launch_local("/bin/sh", shell("echo \"$1 $3=$4 $5=$6\" >> '" + out + "'"), 3);
  CHECK(code == 0);
  const std::string text = read_file(out);
  CHECK(text.find("--rendezvous --world=3 --rank=0\n") != std::string::npos);
  CHECK(text.find("--rendezvous --world=3 --rank=1\n") != std::string::npos);
  CHECK(text.find("--rendezvous --world=3 --rank=2\n") != std::string::npos);
  CHECK(text.find("--rank=3") == std::string::npos);
}

TEST_CASE("launch_local stops the other processes when one fails and returns its code", "[train][launch]") {
  unsigned failed_rank = 99;
  int failed_code = 0;
  const auto start = std::chrono::steady_clock::now();
  // Rank 1 fails at once; rank 0 would sleep for a minute unless stopped.
  int code = kura::launch_local("/bin/sh", shell("if [ \"$6\" = 1 ]; then exit 3; fi; exec sleep 60"), 2,
                                [&](unsigned rank, int c) {
                                  failed_rank = rank;
                                  failed_code = c;
                                });
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(code == 3);
  CHECK(failed_rank == 1);
  CHECK(failed_code == 3);
  CHECK(seconds < 30);
}

TEST_CASE("launch_local returns process 0's code when none fails", "[train][launch]") {
  // 130 (a clean stop after Ctrl-C) is not a failure of the others.
  CHECK(kura::launch_local("/bin/sh", shell("if [ \"$6\" = 0 ]; then exit 130; fi; exit 0"), 2) == 130);
  CHECK_THROWS_WITH(kura::launch_local("/bin/sh", shell("exit 0"), 0), Catch::Contains("--nproc must be between 1 and 1024"));
}

TEST_CASE("free_loopback_port gives a port nothing listens on", "[train][launch]") {
  const uint16_t a = kura::free_loopback_port();
  CHECK(a > 0);
  CHECK(kura::parse_rendezvous("tcp://127.0.0.1:" + std::to_string(a), 0, 2).port == a);
}
