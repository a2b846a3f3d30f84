// kura train --cpu native: this CPU's best kernels, the kind of CPU recorded
// in the spec, and reproduce refusing a native run of another kind of CPU.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "kura/object_id.hpp"
#include "kura/repo.hpp"
#include "kura/store.hpp"
#include "kura/train.hpp"
#include "support.hpp"
#include "train/digits.hpp"

using namespace kura::test;
using nlohmann::json;

TEST_CASE("a --cpu native run records the kind of CPU and reproduces on it", "[train][cpu]") {
  TempDir dir;
  cut_digits(dir.path(), 20, 5);
  init_repo(dir.path());
  commit_all(dir.path());
  const std::vector<std::string> train = {"train", "--json", "--threads", "1", "--set", "epochs=1"};
  std::vector<std::string> native = train;
  native.insert(native.end(), {"--cpu", "native"});
  auto r = run_kura(dir.path(), native);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const json run = json::parse(r.out);
  const json& cpu = run["spec"]["cpu"];
  CHECK(cpu["native"] == kura::cpu_kind());
  CHECK(cpu["native"].get<std::string>().find(" family ") != std::string::npos);
  CHECK(cpu["DNNL_MAX_CPU_ISA"] == "ALL");
  CHECK(cpu["ATEN_CPU_CAPABILITY"] == kura::pinned_environment(kura::CpuPin::kNative)[0].second);

  // The default pin is another run.
  auto pinned = run_kura(dir.path(), train);
  REQUIRE(pinned.exit_code == 0);
  const json avx2 = json::parse(pinned.out);
  CHECK(avx2["id"] != run["id"]);
  CHECK(avx2["spec"]["cpu"]["ATEN_CPU_CAPABILITY"] == "avx2");
  CHECK_FALSE(avx2["spec"]["cpu"].contains("native"));

  // kura reproduce starts kura-train with the run's own settings.
  auto again = run_kura(dir.path(), {"reproduce", run["id"]});
  INFO(again.err);
  CHECK(again.exit_code == 0);
  CHECK(again.out.find("identical " + run["weights_sha256"].get<std::string>()) != std::string::npos);
}

TEST_CASE("reproduce refuses a --cpu native run made on another kind of CPU", "[train][cpu]") {
  TempDir dir;
  cut_digits(dir.path(), 10, 2);
  init_repo(dir.path());
  commit_all(dir.path());
  auto r = run_kura(dir.path(), {"train", "--json", "--threads", "1", "--set", "epochs=1", "--cpu", "native"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const json run = json::parse(r.out);
  // The record another machine would have made of this run: its spec names
  // another CPU, so its id (the spec's SHA-256) is another.
  const std::string other = "GenuineIntel family 6 model 85: avx avx2 f16c fma";
  std::string moved_id;
  {
    auto repo = kura::Repo::open(dir.path());
    auto text = repo->store().get(kura::Table::kRuns, "run/" + run["id"].get<std::string>());
    REQUIRE(text);
    json record = json::parse(*text);
    record["spec"]["cpu"]["native"] = other;
    moved_id = kura::sha256(record["spec"].dump()).hex();
    record["id"] = moved_id;
    repo->store().put(kura::Table::kRuns, "run/" + moved_id, record.dump(), kura::Sync::kYes);
  }
  auto refused = run_kura(dir.path(), {"reproduce", moved_id});
  CHECK(refused.exit_code == 2);
  CHECK(refused.err.find("trained with --cpu native on a CPU of another kind (" + other + "; this one is " +
                         kura::cpu_kind() + ")") != std::string::npos);
  CHECK(refused.out.find("re-training") == std::string::npos);
}
