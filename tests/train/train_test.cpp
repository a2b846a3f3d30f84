// kura train on real data: opencv-doc's 5,000 handwritten digits, cut into
// PNG files and a JSONL by the fixture, committed, trained on, reproduced.
// Driven through the kura binary, which pins libtorch's CPU settings itself.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <thread>

#include "support.hpp"
#include "train/digits.hpp"

using namespace kura::test;
using nlohmann::json;

namespace {

const std::vector<std::string> kTrain = {"train", "--json", "--threads", "2", "--set", "epochs=4"};

// One repository with 600 training and 100 validation digits and one run,
// shared by the tests that only read it (training is the slow part).
struct Digits {
  TempDir dir;
  json run;
  Digits() {
    cut_digits(dir.path(), 60, 10);
    init_repo(dir.path());
    commit_all(dir.path());
    auto r = run_kura(dir.path(), kTrain);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    run = json::parse(r.out);
  }
};

Digits& digits() {
  static Digits d;
  return d;
}

}  // namespace

TEST_CASE("train learns the digits well above chance and records the run", "[train]") {
  Digits& d = digits();
  CHECK(d.run["status"] == "complete");
  CHECK(d.run["summary"]["counts"]["train"] == 600);
  CHECK(d.run["summary"]["counts"]["validation"] == 100);
  CHECK(d.run["summary"]["labels"].size() == 10);
  CHECK(d.run["summary"]["validation_accuracy"].get<double>() > 0.6);  // chance is 0.1
  CHECK(d.run["spec"]["cpu"]["ATEN_CPU_CAPABILITY"] == "avx2");
  CHECK(d.run["spec"]["threads"] == 2);
  CHECK(d.run["spec"]["settings"]["lr"] == 0.001);

  auto runs = run_kura(d.dir.path(), {"runs", "--json"});
  REQUIRE(runs.exit_code == 0);
  CHECK(json::parse(runs.out)[0]["id"] == d.run["id"]);
  auto show = run_kura(d.dir.path(), {"run", "show", d.run["id"].get<std::string>().substr(0, 8), "--json"});
  REQUIRE(show.exit_code == 0);
  json shown = json::parse(show.out);
  CHECK(shown["metrics_data"]["epochs"].size() == 4);
  uint64_t total = 0;
  for (const auto& r : shown["metrics_data"]["confusion"])
    for (const auto& n : r) total += n.get<uint64_t>();
  CHECK(total == 100);
}

TEST_CASE("training the same spec twice gives identical weights, and reproduce needs only the run id", "[train]") {
  Digits& d = digits();
  auto again = run_kura(d.dir.path(), kTrain);
  REQUIRE(again.exit_code == 0);
  json second = json::parse(again.out);
  CHECK(second["id"] == d.run["id"]);
  CHECK(second["weights_sha256"] == d.run["weights_sha256"]);

  auto r = run_kura(d.dir.path(), {"reproduce", d.run["id"]});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("identical " + d.run["weights_sha256"].get<std::string>()) != std::string::npos);

  // Another seed is another run with other weights.
  auto other = run_kura(d.dir.path(), {"train", "--json", "--threads", "2", "--set", "epochs=1", "--seed", "7"});
  REQUIRE(other.exit_code == 0);
  CHECK(json::parse(other.out)["id"] != d.run["id"]);
  CHECK(json::parse(other.out)["weights_sha256"] != d.run["weights_sha256"]);
}

TEST_CASE("a run's outputs survive gc and serve export-model and predict", "[train]") {
  Digits& d = digits();
  REQUIRE(run_kura(d.dir.path(), {"gc", "--prune", "now"}).exit_code == 0);
  CHECK(run_kura(d.dir.path(), {"fsck"}).exit_code == 0);
  const std::string id = d.run["id"];
  auto exported = run_kura(d.dir.path(), {"export-model", id, (d.dir / "model.pt").string()});
  INFO(exported.err);
  REQUIRE(exported.exit_code == 0);
  CHECK(fs::file_size(d.dir / "model.pt") > 100000);  // ~100k float weights
  auto p = run_kura(d.dir.path(), {"predict", id, "--json", (d.dir / "digits/7/65.png").string()});
  INFO(p.err);
  REQUIRE(p.exit_code == 0);
  json preds = json::parse(p.out);
  REQUIRE(preds.size() == 1);
  CHECK(preds[0]["confidence"].get<double>() > 0.1);
}

TEST_CASE("a commit whose checks found errors is refused unless --allow-check-errors", "[train]") {
  TempDir dir;
  cut_digits(dir.path(), 5, 1);
  REQUIRE(run_kura(dir.path(), {"init"}).exit_code == 0);  // the default profile: grayscale is an error
  commit_all(dir.path(), {"--no-verify"});
  auto r = run_kura(dir.path(), {"train", "--threads", "1", "--set", "epochs=1"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("check errors") != std::string::npos);
  CHECK(r.err.find("image.bad_color_mode") != std::string::npos);
  auto allowed = run_kura(dir.path(), {"train", "--json", "--threads", "1", "--set", "epochs=1", "--allow-check-errors"});
  INFO(allowed.err);
  REQUIRE(allowed.exit_code == 0);
  CHECK(json::parse(allowed.out)["spec"]["allow_check_errors"] == true);
}

TEST_CASE("examples the checks exclude are skipped and counted", "[train]") {
  TempDir dir;
  cut_digits(dir.path(), 4, 1, true);
  REQUIRE(run_kura(dir.path(), {"init"}).exit_code == 0);
  write_file(dir / ".kura/checks.json", R"({"rules": {"image.bad_color_mode": "exclude"}})");
  commit_all(dir.path());
  auto r = run_kura(dir.path(), {"train", "--json", "--threads", "1", "--set", "epochs=1"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  json j = json::parse(r.out);
  const uint64_t excluded = j["summary"]["counts"]["excluded"];
  CHECK(excluded == 20);  // the grayscale half
  CHECK(j["summary"]["counts"]["train"] == 20);
  CHECK(j["summary"]["counts"]["train"].get<uint64_t>() + j["summary"]["counts"]["validation"].get<uint64_t>() +
            excluded == 50);
}

TEST_CASE("a line left out with kura exclude is not trained on and the run counts it", "[train]") {
  TempDir dir;
  cut_digits(dir.path(), 4, 1);
  init_repo(dir.path());
  commit_all(dir.path());
  // Line 7 of train.jsonl is a 1 (four digits per class): say it is mislabelled.
  auto ex = run_kura(dir.path(), {"exclude", "train.jsonl:7", "--reason", "mislabelled"});
  INFO(ex.err);
  REQUIRE(ex.exit_code == 0);
  commit_all(dir.path());
  auto r = run_kura(dir.path(), {"train", "--json", "--threads", "1", "--set", "epochs=1"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  json j = json::parse(r.out);
  CHECK(j["summary"]["counts"]["excluded"] == 1);
  CHECK(j["summary"]["counts"]["train"] == 39);
  CHECK(j["summary"]["counts"]["validation"] == 10);
  // Taken back, the line is trained on again.
  REQUIRE(run_kura(dir.path(), {"include", "train.jsonl:7"}).exit_code == 0);
  commit_all(dir.path());
  r = run_kura(dir.path(), {"train", "--json", "--threads", "1", "--set", "epochs=1"});
  REQUIRE(r.exit_code == 0);
  j = json::parse(r.out);
  CHECK(j["summary"]["counts"]["excluded"] == 0);
  CHECK(j["summary"]["counts"]["train"] == 40);
}

TEST_CASE("bad training data gives an error naming the file, the line and what is wrong", "[train]") {
  TempDir dir;
  cut_digits(dir.path(), 3, 1);
  init_repo(dir.path());
  SECTION("no training file") {
    fs::rename(dir / "train.jsonl", dir / "other.jsonl");
    commit_all(dir.path());
    auto r = run_kura(dir.path(), {"train"});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("no training data: no train.jsonl and no images in train/<label>/") != std::string::npos);
  }
  SECTION("a missing label") {
    write_file(dir / "train.jsonl",
               read_file(dir / "train.jsonl") +
                   R"({"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"digits/1/0.png"}}]}]})" + "\n");
    commit_all(dir.path(), {"--no-verify"});
    auto r = run_kura(dir.path(), {"train", "--allow-check-errors"});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("train.jsonl:31: no assistant message") != std::string::npos);
  }
  SECTION("an image that does not decode") {
    write_file(dir / "digits/2/1.png", "\x89PNG\r\n\x1a\n this is not an image");
    commit_all(dir.path(), {"--no-verify"});
    auto refused = run_kura(dir.path(), {"train"});
    CHECK(refused.exit_code == 1);  // the checks see it first
    auto r = run_kura(dir.path(), {"train", "--allow-check-errors"});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("train.jsonl:8: the image does not decode") != std::string::npos);
  }
  SECTION("an unknown setting") {
    commit_all(dir.path());
    auto r = run_kura(dir.path(), {"train", "--set", "epoch=3"});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("unknown setting 'epoch'") != std::string::npos);
  }
}

TEST_CASE("two processes train data parallel with the same result each time, and reproduce with two", "[train][parallel]") {
  Digits& d = digits();
  const std::vector<std::string> args = {"train", "--json", "--nproc", "2", "--threads", "1", "--set", "epochs=2"};
  auto first = run_kura(d.dir.path(), args);
  INFO(first.err);
  REQUIRE(first.exit_code == 0);
  json a = json::parse(first.out);  // only process 0 prints
  CHECK(a["status"] == "complete");
  CHECK(a["spec"]["world"] == 2);
  CHECK(a["spec"]["threads"] == 1);
  CHECK(a["id"] != d.run["id"]);  // another world size is another run
  CHECK(a["summary"]["counts"]["train"] == 600);
  CHECK(a["summary"]["epochs_done"] == 2);

  // Both processes ended with the weights process 0 recorded.
  auto log = run_kura(d.dir.path(), {"run", "show", a["id"], "--log"});
  REQUIRE(log.exit_code == 0);
  CHECK(log.out.find("data parallel: 2 processes") != std::string::npos);
  CHECK(log.out.find("all 2 processes hold these weights\nweights " + a["weights_sha256"].get<std::string>()) !=
        std::string::npos);
  // The confusion matrix counts every validation example once, over both processes' shares.
  auto show = run_kura(d.dir.path(), {"run", "show", a["id"], "--json"});
  REQUIRE(show.exit_code == 0);
  const json shown = json::parse(show.out);
  uint64_t total = 0;
  for (const auto& r : shown["metrics_data"]["confusion"])
    for (const auto& n : r) total += n.get<uint64_t>();
  CHECK(total == 100);
  // It learned: the second epoch's training accuracy, over both processes' shares (chance is 0.1).
  CHECK(shown["metrics_data"]["epochs"][1]["train_accuracy"].get<double>() > 0.5);
  CHECK(shown["metrics_data"]["epochs"][1]["train_loss"].get<double>() < 2.0);

  auto second = run_kura(d.dir.path(), args);
  INFO(second.err);
  REQUIRE(second.exit_code == 0);
  json b = json::parse(second.out);
  CHECK(b["id"] == a["id"]);
  CHECK(b["weights_sha256"] == a["weights_sha256"]);

  auto r = run_kura(d.dir.path(), {"reproduce", a["id"]});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("identical " + a["weights_sha256"].get<std::string>()) != std::string::npos);
}

TEST_CASE("data-parallel options are checked", "[train][parallel]") {
  Digits& d = digits();
  auto r = run_kura(d.dir.path(), {"train", "--rendezvous", "tcp://127.0.0.1:1"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--rendezvous needs --rank and --world") != std::string::npos);
  r = run_kura(d.dir.path(), {"train", "--rendezvous", "127.0.0.1:4000", "--rank", "0", "--world", "2"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("not a tcp:// address") != std::string::npos);
  r = run_kura(d.dir.path(), {"train", "--rendezvous", "tcp://127.0.0.1:4000", "--rank", "2", "--world", "2"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--rank 2 is not below --world 2") != std::string::npos);
  r = run_kura(d.dir.path(), {"train", "--nproc", "2", "--world", "2"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--nproc starts the processes itself") != std::string::npos);
}

TEST_CASE("the resnet18 model trains on small inputs", "[train]") {
  Digits& d = digits();
  auto r = run_kura(d.dir.path(), {"train", "--json", "--threads", "2", "--set", "model=resnet18", "--set", "epochs=1",
                                   "--set", "image_size=16", "--set", "batch_size=64"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  json j = json::parse(r.out);
  CHECK(j["status"] == "complete");
  CHECK(j["spec"]["settings"]["model"] == "resnet18");
  CHECK(j["summary"]["train_loss"].get<double>() < 2.5);  // finite, and learning began
  // ResNet-18's 11.2 million float parameters, under torchvision's names.
  auto exported = run_kura(d.dir.path(), {"export-model", j["id"], (d.dir / "resnet.pt").string()});
  INFO(exported.err);
  REQUIRE(exported.exit_code == 0);
  CHECK(fs::file_size(d.dir / "resnet.pt") > 44'000'000);
  const std::string bytes = read_file(d.dir / "resnet.pt");
  CHECK(bytes.find("layer4") != std::string::npos);
  fs::remove(d.dir / "resnet.pt");
}

TEST_CASE("train --init starts from a TorchScript model stored as an object and named in the spec", "[train]") {
  Digits& d = digits();
  // A TorchScript archive: the trained small network, as export-model writes it.
  const fs::path base = d.dir / "base.pt";
  auto exported = run_kura(d.dir.path(), {"export-model", d.run["id"], base.string()});
  REQUIRE(exported.exit_code == 0);
  const std::string base_id = sha256_hex(read_file(base));

  auto init = run_kura(d.dir.path(), {"train", "--json", "--threads", "2", "--set", "epochs=1", "--init", base.string()});
  INFO(init.err);
  REQUIRE(init.exit_code == 0);
  json j = json::parse(init.out);
  CHECK(j["spec"]["base_model"] == base_id);
  CHECK(j["base_model"] == base_id);
  CHECK(j["id"] != d.run["id"]);
  // Started from the trained weights, one epoch beats the four from scratch' first.
  auto show = run_kura(d.dir.path(), {"run", "show", d.run["id"], "--json"});
  REQUIRE(show.exit_code == 0);
  const double scratch_first = json::parse(show.out)["metrics_data"]["epochs"][0]["train_accuracy"];
  CHECK(j["summary"]["validation_accuracy"].get<double>() > 0.6);
  auto init_show = run_kura(d.dir.path(), {"run", "show", j["id"], "--json"});
  REQUIRE(init_show.exit_code == 0);
  CHECK(json::parse(init_show.out)["metrics_data"]["epochs"][0]["train_accuracy"].get<double>() > scratch_first + 0.1);
  auto log = run_kura(d.dir.path(), {"run", "show", j["id"], "--log"});
  CHECK(log.out.find("base model: 20 tensors loaded, 0 kept from initialisation") != std::string::npos);

  // The stored object serves without the file, and is the same run.
  fs::remove(base);
  auto again = run_kura(d.dir.path(), {"train", "--json", "--threads", "2", "--set", "epochs=1", "--init-object", base_id});
  INFO(again.err);
  REQUIRE(again.exit_code == 0);
  CHECK(json::parse(again.out)["id"] == j["id"]);
  CHECK(json::parse(again.out)["weights_sha256"] == j["weights_sha256"]);
  // It survives gc while the run names it, and the run reproduces from it.
  REQUIRE(run_kura(d.dir.path(), {"gc", "--prune", "now"}).exit_code == 0);
  auto r = run_kura(d.dir.path(), {"reproduce", j["id"]});
  INFO(r.err);
  CHECK(r.exit_code == 0);

  write_file(d.dir / "not-a-model.pt", "hello");
  auto bad = run_kura(d.dir.path(), {"train", "--threads", "2", "--set", "epochs=1", "--init", (d.dir / "not-a-model.pt").string()});
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("the base model is not a TorchScript file") != std::string::npos);
  fs::remove(d.dir / "not-a-model.pt");
}

TEST_CASE("Ctrl-C stops training cleanly and records the run as interrupted", "[train]") {
  Digits& d = digits();
  int out[2];
  REQUIRE(::pipe(out) == 0);
  const std::string kura = kura_binary();
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (::chdir(d.dir.path().c_str()) != 0) ::_exit(127);
    ::dup2(out[1], 1);
    int devnull = ::open("/dev/null", O_WRONLY);
    ::dup2(devnull, 2);
    ::close(out[0]);
    ::execl(kura.c_str(), kura.c_str(), "train", "--threads", "2", "--seed", "11", "--set", "epochs=200", nullptr);
    ::_exit(127);
  }
  ::close(out[1]);
  // Wait for the first epoch's line: training is under way.
  std::string seen;
  char buf[4096];
  while (seen.find("epoch 1/200") == std::string::npos) {
    ssize_t n = ::read(out[0], buf, sizeof buf);
    if (n <= 0) break;
    seen.append(buf, static_cast<size_t>(n));
  }
  REQUIRE(seen.find("epoch 1/200") != std::string::npos);
  REQUIRE(::kill(pid, SIGINT) == 0);
  for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) > 0;) seen.append(buf, static_cast<size_t>(n));
  ::close(out[0]);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  INFO(seen);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 130);
  CHECK(seen.find("interrupted") != std::string::npos);

  auto runs = run_kura(d.dir.path(), {"runs", "--json"});
  REQUIRE(runs.exit_code == 0);
  json interrupted;
  for (const auto& r : json::parse(runs.out))
    if (r["spec"]["seed"] == 11) interrupted = r;
  REQUIRE(interrupted.is_object());
  CHECK(interrupted["status"] == "interrupted");
  const int done = interrupted["summary"]["epochs_done"];
  CHECK(done >= 1);
  CHECK(done < 200);
  // Only a complete run can be reproduced.
  auto r = run_kura(d.dir.path(), {"reproduce", interrupted["id"]});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("is interrupted") != std::string::npos);
}
