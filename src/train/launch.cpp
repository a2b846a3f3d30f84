// The processes of a data-parallel run on one machine (--nproc N): a free
// loopback port for their rendezvous, and a launcher that starts them, passes
// Ctrl-C on and stops the others when one fails. Torch-free, part of the kura
// library, so tests call it without libtorch.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <iostream>

#include "kura/error.hpp"
#include "kura/train.hpp"

namespace kura {

namespace {

constexpr unsigned kMaxProcesses = 1024;
pid_t g_children[kMaxProcesses];
std::atomic<int> g_child_count{0};

// The launcher passes Ctrl-C (and a TERM) on to its processes, which are in
// their own process group so that a terminal's Ctrl-C reaches each once.
void forward_signal(int sig) {
  const int n = g_child_count.load();
  for (int i = 0; i < n; ++i)
    if (g_children[i] > 0) ::kill(g_children[i], sig);
}

}  // namespace

Rendezvous parse_rendezvous(const std::string& url, unsigned rank, unsigned world) {
  const std::string scheme = "tcp://";
  auto bad = [&](const std::string& why) {
    fail(ErrorCode::kInvalidInput, "--rendezvous '" + url + "': " + why + " (give tcp://HOST:PORT)");
  };
  if (url.rfind(scheme, 0) != 0) bad("not a tcp:// address");
  const std::string rest = url.substr(scheme.size());
  const size_t colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0) bad("no host and port");
  Rendezvous r;
  r.host = rest.substr(0, colon);
  if (r.host.size() > 2 && r.host.front() == '[' && r.host.back() == ']') r.host = r.host.substr(1, r.host.size() - 2);
  const std::string port = rest.substr(colon + 1);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(port) == 0 || std::stoul(port) > 65535)
    bad("the port must be a number from 1 to 65535");
  r.port = static_cast<uint16_t>(std::stoul(port));
  if (world < 1 || world > 1024) fail(ErrorCode::kInvalidInput, "--world must be between 1 and 1024");
  if (rank >= world)
    fail(ErrorCode::kInvalidInput, "--rank " + std::to_string(rank) + " is not below --world " + std::to_string(world));
  r.rank = rank;
  r.world = world;
  return r;
}

uint16_t free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) fail_errno("open a socket for the rendezvous", "127.0.0.1");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    fail_errno("find a free port for the rendezvous", "127.0.0.1");
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

int launch_local(const std::string& program, const std::vector<std::string>& args, unsigned world,
                 const std::function<void(unsigned rank, int code)>& on_failure) {
  if (world < 1 || world > kMaxProcesses) fail(ErrorCode::kInvalidInput, "--nproc must be between 1 and 1024");
  const std::string url = "tcp://127.0.0.1:" + std::to_string(free_loopback_port());
  std::vector<std::vector<std::string>> argvs;
  for (unsigned r = 0; r < world; ++r) {
    auto a = args;
    a.insert(a.end(), {"--rendezvous", url, "--world", std::to_string(world), "--rank", std::to_string(r)});
    argvs.push_back(std::move(a));
  }
  std::vector<std::vector<char*>> ptrs;
  for (auto& a : argvs) {
    ptrs.emplace_back();
    for (auto& s : a) ptrs.back().push_back(s.data());
    ptrs.back().push_back(nullptr);
  }
  auto old_int = std::signal(SIGINT, forward_signal);
  auto old_term = std::signal(SIGTERM, forward_signal);
  const pid_t parent = ::getpid();
  std::cout.flush();
  std::vector<pid_t> pids;
  for (unsigned r = 0; r < world; ++r) {
    pid_t pid = ::fork();
    if (pid < 0) {
      forward_signal(SIGTERM);
      std::signal(SIGINT, old_int);
      std::signal(SIGTERM, old_term);
      fail_errno("start a training process", "fork");
    }
    if (pid == 0) {
      ::setpgid(0, 0);
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // the launcher gone: stop
      if (::getppid() != parent) ::_exit(143);
      std::signal(SIGINT, SIG_DFL);
      std::signal(SIGTERM, SIG_DFL);
      ::execv(program.c_str(), ptrs[r].data());
      ::_exit(127);
    }
    pids.push_back(pid);
    g_children[r] = pid;
    g_child_count.store(static_cast<int>(r + 1));
  }
  std::vector<int> codes(world, -1);
  int first_failure = 0;
  for (unsigned left = world; left > 0;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      break;
    }
    auto it = std::find(pids.begin(), pids.end(), pid);
    if (it == pids.end()) continue;
    const size_t rank = static_cast<size_t>(it - pids.begin());
    --left;
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    codes[rank] = code;
    g_children[rank] = 0;
    // 130 is a clean stop after Ctrl-C (all processes stop at the same batch);
    // a process killed, or failing, leaves the others waiting for it.
    if ((WIFSIGNALED(status) || (code != 0 && code != 130)) && first_failure == 0) {
      first_failure = code;
      if (left > 0 && on_failure) on_failure(static_cast<unsigned>(rank), code);
      forward_signal(SIGTERM);
    }
  }
  g_child_count.store(0);
  std::signal(SIGINT, old_int);
  std::signal(SIGTERM, old_term);
  return first_failure ? first_failure : codes[0];
}

}  // namespace kura
