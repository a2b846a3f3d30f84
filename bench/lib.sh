# Shared by bench/check_images.sh and bench/face_recall.sh; source it after
# setting ROOT (the repository).

# install_missing PKG...: apt-get installs the Debian packages not installed.
install_missing() {
  local need=() p
  for p in "$@"; do
    dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
  done
  [ ${#need[@]} -eq 0 ] || apt-get install -y -q "${need[@]}" >/dev/null
}

# build_image_driver SOURCE.cpp BINARY: links a driver program with the image
# inspection code of src/check (kura::inspect_image and the face scan, built
# twice as CMakeLists.txt does: generic, and -mavx2 -mfma), unless BINARY is
# newer than those sources and the calling script (which writes SOURCE.cpp).
build_image_driver() {
  local main=$1 out=$2 dir
  dir=$(dirname "$out")
  local srcs=("$ROOT/src/check/image_facts.cpp" "$ROOT/src/check/image_format.cpp" "$ROOT/src/check/faces.cpp"
              "$ROOT/src/check/faces_avx2.cpp" "$ROOT/src/check/faces_scan.hpp" "$ROOT/src/check/faces_resize.hpp" "$ROOT/src/check/faces_detect.hpp" "$ROOT/src/check/faces_hog.hpp" "$ROOT/src/check/faces.hpp"
              "$ROOT/src/check/likeness.cpp" "$ROOT/src/check/pixels.cpp" "$ROOT/src/check/resample.cpp"
              "$ROOT/src/util/error.cpp" "$ROOT/src/util/object_id.cpp" "$ROOT/include/kura/image_facts.hpp")
  if [ -x "$out" ] && [ -z "$(find "${srcs[@]}" "$0" -newer "$out")" ]; then return 0; fi
  local flags
  # shellcheck disable=SC2207
  flags=(-std=c++20 -O2 -g -I"$ROOT/include" -I"$ROOT/src" $(pkg-config --cflags vips-cpp dlib-1 libpng))
  g++ "${flags[@]}" -mavx2 -mfma -c "$ROOT/src/check/faces_avx2.cpp" -o "$dir/faces_avx2.o"
  g++ "${flags[@]}" -DKURA_FACES_AVX2 -c "$ROOT/src/check/faces.cpp" -o "$dir/faces.o"
  # shellcheck disable=SC2046
  g++ "${flags[@]}" "$main" "$ROOT/src/check/image_facts.cpp" "$ROOT/src/check/image_format.cpp" \
    "$ROOT/src/check/likeness.cpp" "$ROOT/src/check/pixels.cpp" "$ROOT/src/check/resample.cpp" \
    "$ROOT/src/util/error.cpp" "$ROOT/src/util/object_id.cpp" \
    "$dir/faces.o" "$dir/faces_avx2.o" -o "$out" $(pkg-config --libs vips-cpp dlib-1 libpng) -lcrypto -pthread
}
