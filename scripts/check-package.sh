#!/usr/bin/env bash
# Builds the .deb the way a packager would and proves what it installs works
# (docs/deployment.md, "Debian package"):
#   1. configures a Release build without tests on a machine that "has no" Check or avro-c
#      (a pkg-config that refuses them), so the package build cannot depend on them;
#   2. builds, `cpack -G DEB`;
#   3. checks the package's control data (name, version, Depends from dpkg-shlibdeps) and
#      contents, that apt can resolve its Depends here, then unpacks it into a scratch root
#      and runs all six programs' --version from there.
#   scripts/check-package.sh [BUILD_DIR]     default build/package; prints the .deb's path
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
build=$(realpath -m "${1:-$root/build/package}") # absolute: apt takes a relative path for a package name
programs=(reconciler-producer reconciler-checker reconciler-actuator reconciler-audit
  reconciler-topics fleet-sim)
fail() {
  echo "check-package: $*" >&2
  exit 1
}

scratch=$(mktemp -d /tmp/reconciler-package.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
# A pkg-config to which the test-only libraries do not exist.
cat >"$scratch/pkg-config" <<'WRAPPER'
#!/bin/sh
for argument in "$@"; do
  case "$argument" in check | check[\ \<\>=]* | avro-c | avro-c[\ \<\>=]*) exit 1 ;; esac
done
exec pkg-config "$@"
WRAPPER
chmod +x "$scratch/pkg-config"

rm -rf "$build"
# No -Werror here, as in a distribution's build: Release's -O3 makes GCC warn about paths
# it cannot prove unreachable; the warnings gate is the RelWithDebInfo and sanitizer builds.
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DRECONCILER_BUILD_TESTS=OFF \
  -DPKG_CONFIG_EXECUTABLE="$scratch/pkg-config" >"$scratch/configure.log" ||
  {
    cat "$scratch/configure.log" >&2
    fail "configuring without Check and avro-c failed"
  }
cmake --build "$build" -j "$(nproc)" >"$scratch/build.log" 2>&1 || {
  cat "$scratch/build.log" >&2
  fail "the Release build failed"
}
(cd "$build" && cpack -G DEB >/dev/null)
version=$(sed -n 's/^project(instance_reconciler VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
deb=$(find "$build" -maxdepth 1 -name "instance-reconciler_${version}_*.deb" | head -n 1)
[ -n "$deb" ] || fail "cpack made no instance-reconciler_${version}_*.deb in $build"

# Control data: the name, the version, and Depends naming the runtime libraries.
info=$(dpkg-deb --info "$deb")
grep -q "^ Package: instance-reconciler$" <<<"$info" || fail "package name wrong: $info"
grep -q "^ Version: $version$" <<<"$info" || fail "version is not $version: $info"
depends=$(dpkg-deb --field "$deb" Depends)
for library in librdkafka libpq libcurl libjansson libmicrohttpd libuuid libjemalloc; do
  grep -q "$library" <<<"$depends" || fail "Depends lacks $library: $depends"
done
for absent in check libavro; do
  if grep -q "$absent" <<<"$depends"; then fail "Depends names the test-only $absent"; fi
done
contents=$(dpkg-deb --contents "$deb")
for path in "${programs[@]/#/./usr/bin/}" ./usr/share/instance-reconciler/scripts/migrate.sh \
  ./usr/share/instance-reconciler/migrations/001_core.sql \
  ./usr/share/instance-reconciler/ops/prometheus/alerts.yml \
  ./usr/share/doc/instance-reconciler/README.md ./usr/share/doc/instance-reconciler/deployment.md; do
  grep -q " $path$" <<<"$contents" || fail "$path is not in the package"
done
if grep -q "fixtures" <<<"$contents"; then fail "the test fixtures are in the package"; fi
# apt resolves Depends against this machine's archive (no change made: --simulate).
apt-get install --simulate "$deb" >"$scratch/apt.log" 2>&1 ||
  {
    cat "$scratch/apt.log" >&2
    fail "apt cannot resolve the package's Depends"
  }

# Installed where the package puts them, every program runs.
dpkg -x "$deb" "$scratch/root"
for program in "${programs[@]}"; do
  line=$("$scratch/root/usr/bin/$program" --version) || fail "$program --version failed"
    [[ "$line" =~ ^$program\ $version\ \(revision\ (unknown|[0-9a-f]{12})\)$ ]] ||
    fail "$program --version printed '$line'"
  echo "check-package: $line"
done
# And really installed, as a user would (dpkg through apt, which resolves Depends), then
# removed again: only as root, and only where no instance-reconciler package is installed
# already (an operator's machine is not ours to change).
if [ "$(id -u)" -eq 0 ] && ! dpkg-query -W instance-reconciler >/dev/null 2>&1; then
  apt-get install -y -q "$deb" >"$scratch/install.log" 2>&1 || {
    cat "$scratch/install.log" >&2
    fail "apt-get install $deb failed"
  }
  installed_ok=true
  for program in "${programs[@]}"; do
    line=$("/usr/bin/$program" --version) || installed_ok=false
    echo "check-package: installed /usr/bin/$program: $line"
  done
  apt-get purge -y -q instance-reconciler >"$scratch/purge.log" 2>&1 || fail "apt-get purge failed"
  $installed_ok || fail "an installed program's --version failed"
else
  echo "check-package: not root or a package already installed: real install skipped (scratch root only)"
fi
# Stripped: no symbol table left (readelf comes with binutils, like the compiler).
if readelf -S "$scratch/root/usr/bin/reconciler-checker" | grep -q "\.symtab"; then
  fail "the programs are not stripped"
fi
echo "check-package: $(basename "$deb") ok ($(du -k "$deb" | cut -f1) KiB)"
