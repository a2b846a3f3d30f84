// The `files` format: the commit's files exactly as committed, like git archive.
#include "export/derive.hpp"
#include "util/fs.hpp"

namespace kura::exporter {

void write_files(Repo& repo, const std::string& commit, Output& out, ExportResult& result, Ticker& ticker) {
  const std::vector<FileEntry> files = repo.ls_files(commit);
  ticker.p.total = files.size();
  for (const FileEntry& f : files) {
    check_tree_path(f.path);
    if (f.pointer.kind == FileKind::kLink) {
      std::string target;
      repo.read_file(f, [&](std::string_view part) { target.append(part); });
      out.write_link(f.path, target);
    } else {
      auto file = out.open(f.path, f.mode == 0100755 ? 0755 : 0644);
      repo.read_file(f, [&](std::string_view part) { file->write(part); });
      file->close();
    }
    ++ticker.p.done;
    ticker.tick(out);
  }
  result.manifest["counts"] = {{"files", files.size()}};
}

}  // namespace kura::exporter
