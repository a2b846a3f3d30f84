#include "repo/reach.hpp"

#include "kura/error.hpp"

namespace kura {

std::vector<git_oid> reachable_commits(const Repo::Impl& repo, GitOidSet* tags, const std::vector<std::string>* run_commits) {
  git_revwalk* raw = nullptr;
  git::check(git_revwalk_new(&raw, repo.git.get()), "cannot walk history");
  git::Revwalk walk(raw);
  git_revwalk_sorting(raw, GIT_SORT_TOPOLOGICAL);
  bool any = false;
  git_reference_iterator* it = nullptr;
  git::check(git_reference_iterator_new(&it, repo.git.get()), "cannot list refs");
  git::Owned<git_reference_iterator, git_reference_iterator_free> it_owner(it);
  git_reference* ref = nullptr;
  while (git_reference_next(&ref, it) == 0) {
    git::Reference owner(ref);
    const git_oid* target = git_reference_target(ref);
    if (!target) continue;
    git_object* obj = nullptr;
    git::check(git_object_lookup(&obj, repo.git.get(), target, GIT_OBJECT_ANY),
               std::string("ref ") + git_reference_name(ref) + " names a missing object " + git::hex(*target));
    git::Object obj_owner(obj);
    while (git_object_type(obj) == GIT_OBJECT_TAG) {
      if (tags) tags->insert(*git_object_id(obj));
      git_object* next = nullptr;
      git::check(git_tag_target(&next, reinterpret_cast<git_tag*>(obj)), "cannot read a tag's target");
      obj_owner.reset(next);
      obj = next;
    }
    if (git_object_type(obj) != GIT_OBJECT_COMMIT) continue;
    git::check(git_revwalk_push(raw, git_object_id(obj)), "cannot walk history");
    any = true;
  }
  if (auto head = repo.head_oid()) {
    git::check(git_revwalk_push(raw, &*head), "cannot walk history");
    any = true;
  }
  const auto runs = run_commits ? *run_commits : run_roots(*repo.store).commits;
  for (const std::string& hex : runs) {
    git_oid oid = git::oid_from_hex(hex);
    if (git_revwalk_push(raw, &oid) == 0) any = true;  // a run's commit already gone is not a walk error
  }
  std::vector<git_oid> out;
  if (!any) return out;
  git_oid oid;
  int rc;
  while ((rc = git_revwalk_next(&oid, raw)) == 0) out.push_back(oid);
  if (rc != GIT_ITEROVER) git::check(rc, "cannot walk history (a commit may be missing; run 'kura fsck')");
  return out;
}

void file_objects(const Store& store, const FileEntry& file, const std::function<bool(const ObjectId&, uint64_t line)>& visit,
                  const std::function<void(const ObjectId&, const char*, const std::string&, uint64_t)>& problem) {
  auto present = [&](const ObjectId& id, uint64_t line) {
    if (store.has_object(id)) return true;
    problem(id, "missing", "object " + id.hex() + " is missing from the store", line);
    return false;
  };
  const ObjectId& top = file.pointer.object;
  if (!visit(top, 0) || !present(top, 0)) return;
  if (file.pointer.kind != FileKind::kTable) return;
  std::vector<RowRef> rows;
  try {
    for (const auto& chunk : manifest_chunks(store, top))
      if (visit(chunk, 0) && !present(chunk, 0)) return;
    rows = read_manifest(store, top);
  } catch (const Error& e) {
    problem(top, "undecodable", e.what(), 0);
    return;
  }
  for (size_t i = 0; i < rows.size(); ++i) {
    const ObjectId& row_id = rows[i].row;
    if (!visit(row_id, i + 1) || !present(row_id, i + 1)) continue;
    try {
      Row row = decode_row(store.read_object(row_id), row_id);
      for (const auto& image : row.images)
        if (visit(image.media, i + 1)) present(image.media, i + 1);
    } catch (const Error& e) {
      problem(row_id, "undecodable", e.what(), i + 1);
    }
  }
}

}  // namespace kura
