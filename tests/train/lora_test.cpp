// Fine-tuning a pinned base: a small network pretrained on the digits 0-4 of
// opencv-doc's digits image, exported as TorchScript, then adapted to the
// digits 5-9 with LoRA (kura's defaults), as a linear probe and fully, and
// trained from scratch, all for the same epochs; the adapter run reproduces
// bit for bit and its merged export predicts what it predicts.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "support.hpp"
#include "train/digits.hpp"

using namespace kura::test;
using nlohmann::json;

namespace {

json train_json(const fs::path& dir, std::vector<std::string> extra) {
  std::vector<std::string> args = {"train", "--json", "--threads", "2", "--set", "epochs=3"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto r = run_kura(dir, args);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return json::parse(r.out);
}

double accuracy(const json& run) { return run["summary"]["validation_accuracy"]; }

}  // namespace

TEST_CASE("a LoRA fine-tune of a pretrained base trains few parameters and reproduces and merges", "[train][lora]") {
  TempDir dir;
  // 60 training and 100 validation digits per class: a small training set,
  // and a validation set large enough that two points are ten digits.
  cut_digits(dir.path(), 60, 100);
  keep_labels(dir.path(), 0, 5);
  init_repo(dir.path());
  commit_all(dir.path());
  const json base_run = train_json(dir.path(), {"--set", "epochs=4"});
  const fs::path base = dir / "base.pt";
  REQUIRE(run_kura(dir.path(), {"export-model", base_run["id"], base.string()}).exit_code == 0);
  const std::string base_id = sha256_hex(read_file(base));

  cut_digits(dir.path(), 60, 100);
  keep_labels(dir.path(), 5, 10);
  commit_all(dir.path());
  const json lora = train_json(dir.path(), {"--init", base.string(), "--adapter", "lora"});
  const json probe = train_json(dir.path(), {"--init", base.string(), "--freeze-base"});
  const json full = train_json(dir.path(), {"--init", base.string()});
  const json scratch = train_json(dir.path(), {});
  INFO("validation accuracy: lora " << accuracy(lora) << ", linear probe " << accuracy(probe) << ", full "
                                    << accuracy(full) << ", from scratch " << accuracy(scratch));

  CHECK(lora["spec"]["base_model"] == base_id);
  CHECK(lora["spec"]["settings"]["adapter"] == "lora");
  // The defaults: rank 4 on the last stage's convolutions with their batch
  // norm trained too, and the higher learning rate of adapter runs (the
  // head is new).
  CHECK(lora["spec"]["settings"]["lora_rank"] == 4);
  CHECK(lora["spec"]["settings"]["lora_norms"] == true);
  CHECK(lora["spec"]["settings"]["lora_targets"] == "last,linear");
  CHECK(lora["spec"]["settings"]["lr"] == 0.01);
  CHECK(probe["spec"]["settings"]["lr"] == 0.01);
  CHECK(full["spec"]["settings"]["lr"] == 0.001);
  CHECK(lora["summary"]["labels"] == json({"5", "6", "7", "8", "9"}));
  CHECK(full["spec"]["settings"].contains("adapter") == false);  // full fine-tuning is a run as before
  const double base_parameters = full["summary"]["parameters"];
  CHECK(lora["summary"]["trainable_parameters"].get<double>() < 0.05 * base_parameters);
  CHECK(probe["summary"]["trainable_parameters"] == 128 * 5 + 5);  // the head alone
  // Measured here (deterministic: the same bits every run): lora 0.706,
  // linear probe 0.558, full fine-tuning 0.646, from scratch 0.328; chance
  // is 0.2 (without lora_norms LoRA was 0.494). LoRA is within two points of full fine-tuning (or above it), and
  // well above training from scratch on this small set.
  CHECK(accuracy(lora) >= accuracy(full) - 0.02);
  CHECK(accuracy(lora) > accuracy(scratch) + 0.2);
  CHECK(accuracy(probe) > 0.3);
  // Adapters on conv3 alone (A: 4 x 64 x 3 x 3, B: 128 x 4), bn3's scale
  // and shift, and the head.
  CHECK(lora["summary"]["trainable_parameters"] == 4 * (64 * 9 + 128) + 2 * 128 + 128 * 5 + 5);

  // The run's output is the adapter: small, and it reproduces bit for bit.
  auto r = run_kura(dir.path(), {"reproduce", lora["id"]});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("identical " + lora["weights_sha256"].get<std::string>()) != std::string::npos);
  REQUIRE(run_kura(dir.path(), {"export-model", lora["id"], (dir / "adapter.kw").string()}).exit_code == 0);
  CHECK(fs::file_size(dir / "adapter.kw") * 5 < fs::file_size(base));

  // Merged into the base it is one plain model that predicts the same labels.
  auto merged = run_kura(dir.path(), {"export-model", lora["id"], (dir / "merged.pt").string(), "--merged"});
  INFO(merged.err);
  REQUIRE(merged.exit_code == 0);
  auto by_run = run_kura(dir.path(), {"eval", lora["id"], "--json", "--threads", "2"});
  INFO(by_run.err);
  REQUIRE(by_run.exit_code == 0);
  auto by_file = run_kura(dir.path(), {"eval", "--model", (dir / "merged.pt").string(), "--json", "--threads", "2"});
  INFO(by_file.err);
  REQUIRE(by_file.exit_code == 0);
  const json a = json::parse(by_run.out), b = json::parse(by_file.out);
  CHECK(a["confusion"] == b["confusion"]);
  CHECK(a["accuracy"].get<double>() == Approx(accuracy(lora)));
  auto p = run_kura(dir.path(), {"predict", lora["id"], "--json", (dir / "digits/7/65.png").string()});
  INFO(p.err);
  CHECK(p.exit_code == 0);
}

TEST_CASE("a base that is not TorchScript or does not fit the network is refused with the reason", "[train][lora]") {
  TempDir dir;
  cut_digits(dir.path(), 4, 1);
  init_repo(dir.path());
  commit_all(dir.path());
  const json small = train_json(dir.path(), {"--set", "epochs=1"});
  REQUIRE(run_kura(dir.path(), {"export-model", small["id"], (dir / "small.pt").string()}).exit_code == 0);
  write_file(dir / "text.pt", "hello");

  auto r = run_kura(dir.path(), {"train", "--threads", "1", "--init", (dir / "text.pt").string(), "--adapter", "lora"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("the base model is not a TorchScript file") != std::string::npos);
  r = run_kura(dir.path(), {"train", "--threads", "1", "--set", "model=resnet18", "--set", "image_size=16", "--init",
                            (dir / "small.pt").string(), "--adapter", "lora"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("the base model does not fit the resnet18 network: tensor conv1.weight is [32, 3, 3, 3], the "
                   "network's [64, 3, 7, 7]") != std::string::npos);
  r = run_kura(dir.path(), {"train", "--threads", "1", "--adapter", "lora"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--adapter lora fine-tunes a base model: give it with --init BASE.pt") != std::string::npos);
  r = run_kura(dir.path(), {"train", "--threads", "1", "--init", (dir / "small.pt").string(), "--adapter", "lora",
                            "--lora-targets", "conv2,conv9"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("setting lora_targets names 'conv9', which is no convolution of the small network (conv for all, "
                   "last for the last stage's, or one of: conv1, conv2, conv3)") != std::string::npos);
  // "conv" adapts every convolution, a layer name just that one.
  const json all = train_json(dir.path(), {"--set", "epochs=1", "--init", (dir / "small.pt").string(), "--adapter",
                                           "lora", "--lora-targets", "conv"});
  CHECK(all["summary"]["trainable_parameters"] ==
        4 * (3 * 9 + 32) + 4 * (32 * 9 + 64) + 4 * (64 * 9 + 128) + 2 * (32 + 64 + 128) + 128 * 10 + 10);
  const json one = train_json(dir.path(), {"--set", "epochs=1", "--init", (dir / "small.pt").string(), "--adapter",
                                           "lora", "--lora-targets", "conv2", "--lora-rank", "2"});
  CHECK(one["summary"]["trainable_parameters"] == 2 * (32 * 9 + 64) + 2 * 64 + 128 * 10 + 10);
  // lora_norms=false: the adapters and the head alone.
  const json bare = train_json(dir.path(), {"--set", "epochs=1", "--init", (dir / "small.pt").string(), "--adapter",
                                            "lora", "--lora-targets", "conv2", "--lora-rank", "2", "--set",
                                            "lora_norms=false"});
  CHECK(bare["summary"]["trainable_parameters"] == 2 * (32 * 9 + 64) + 128 * 10 + 10);
  r = run_kura(dir.path(), {"train", "--threads", "1", "--lora-rank", "4"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--lora-rank, --lora-alpha and --lora-targets need --adapter lora") != std::string::npos);
  r = run_kura(dir.path(), {"export-model", small["id"], (dir / "x.pt").string(), "--merged"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("has no adapter to merge") != std::string::npos);
}

TEST_CASE("an adapter run computes its frozen prefix once and gives the same bits as recomputing it", "[train][lora]") {
  TempDir dir;
  cut_digits(dir.path(), 20, 10);
  init_repo(dir.path());
  commit_all(dir.path());
  const json base_run = train_json(dir.path(), {"--set", "epochs=1"});
  REQUIRE(run_kura(dir.path(), {"export-model", base_run["id"], (dir / "base.pt").string()}).exit_code == 0);
  const std::vector<std::string> lora = {"train", "--json", "--threads", "2", "--set", "epochs=2",
                                         "--init", (dir / "base.pt").string(), "--adapter", "lora"};
  // The same spec (the cache is no setting), so the same run id: each
  // run's log is read before the next one replaces it.
  auto cached = run_kura(dir.path(), lora);
  INFO(cached.err);
  REQUIRE(cached.exit_code == 0);
  const json a = json::parse(cached.out);
  auto log_a = run_kura(dir.path(), {"run", "show", a["id"], "--log"});
  auto recomputed = run_kura(dir.path(), lora, {{"KURA_TRAIN_CACHE_BYTES", "0"}});
  INFO(recomputed.err);
  REQUIRE(recomputed.exit_code == 0);
  const json b = json::parse(recomputed.out);
  auto log_b = run_kura(dir.path(), {"run", "show", b["id"], "--log"});
  CHECK(a["weights_sha256"] == b["weights_sha256"]);
  CHECK(a["summary"]["validation_accuracy"] == b["summary"]["validation_accuracy"]);
  // The logs say which: conv1 and conv2 below the adapted conv3, 200
  // training and 100 validation digits of 64 x 8 x 8 floats.
  CHECK(log_a.out.find("frozen prefix: 2 of 3 stages, 300 x 64 x 8 x 8 floats (4.9 MB), computed once") !=
        std::string::npos);
  CHECK(log_b.out.find("frozen prefix: 2 of 3 stages, 300 x 64 x 8 x 8 floats (4.9 MB): over the cache budget of 0.0 MB "
                       "(KURA_TRAIN_CACHE_BYTES), recomputed every epoch") != std::string::npos);
  // Full fine-tuning has no frozen prefix.
  const json full = train_json(dir.path(), {"--set", "epochs=1", "--init", (dir / "base.pt").string()});
  auto log_full = run_kura(dir.path(), {"run", "show", full["id"], "--log"});
  CHECK(log_full.out.find("frozen prefix") == std::string::npos);
}
