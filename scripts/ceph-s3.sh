#!/usr/bin/env bash
# A throw-away S3 store on loopback for kura's tests and benchmarks: a
# single-node Ceph cluster (1 monitor, 1 OSD on memstore: data in RAM) and the
# RADOS Gateway (radosgw), without systemd. Up in about 3 seconds.
#
#   scripts/ceph-s3.sh up     start (stops a previous instance in the same folder first)
#   scripts/ceph-s3.sh down   stop (SIGKILL; the data is throw-away) and delete the folder
#   scripts/ceph-s3.sh env    print the variables a client needs (export lines)
#
# Callers tear it down with a trap:  trap 'scripts/ceph-s3.sh down' EXIT
# Needs the Debian packages ceph-mon ceph-osd radosgw curl
# (scripts/setup.sh ceph-mon ceph-osd radosgw).
#
# Environment: KURA_S3_DIR (/tmp/kura-s3; keep it short: socket paths),
# KURA_S3_PORT (27480, the S3 endpoint), KURA_S3_MONPORT (26300),
# KURA_S3_MSPORT (26800..26899, OSD), KURA_S3_ACCESS_KEY / KURA_S3_SECRET_KEY.
#
# Settings that matter (each one cost someone an afternoon):
# - `ms mon client mode = crc` with auth none, or radosgw hangs at start;
# - the RGW pools are created up front, or the first requests take seconds;
# - `tcp_nodelay=1` on the beast frontend, or each small GET on a kept-alive
#   connection waits ~45 ms for Nagle.
set -euo pipefail
D=${KURA_S3_DIR:-/tmp/kura-s3}
case "$D" in /tmp/?*) ;; *) echo "ceph-s3.sh: KURA_S3_DIR must be under /tmp (it is deleted by 'down')" >&2; exit 2 ;; esac
PORT=${KURA_S3_PORT:-27480}
MONPORT=${KURA_S3_MONPORT:-26300}
MSPORT=${KURA_S3_MSPORT:-26800}
AK=${KURA_S3_ACCESS_KEY:-kuratestaccess}
SK=${KURA_S3_SECRET_KEY:-kuratestsecret}
C=(-c "$D/ceph.conf")

down() {
  local pids=() p alive
  for p in "$D"/run/*.pid; do [ -f "$p" ] && pids+=("$(cat "$p")"); done
  if [ ${#pids[@]} -gt 0 ]; then
    kill -9 "${pids[@]}" 2>/dev/null || true
    for _ in $(seq 50); do
      alive=0
      for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
      [ $alive = 0 ] && break
      sleep 0.1
    done
  fi
  rm -rf "$D"
}

env_lines() {
  echo "export AWS_ENDPOINT_URL=http://127.0.0.1:$PORT"
  echo "export AWS_REGION=us-east-1"
  echo "export AWS_ACCESS_KEY_ID=$AK"
  echo "export AWS_SECRET_ACCESS_KEY=$SK"
}

up() {
  for tool in ceph-mon ceph-osd radosgw radosgw-admin monmaptool curl; do
    command -v "$tool" >/dev/null || { echo "ceph-s3.sh: $tool not found; run scripts/setup.sh ceph-mon ceph-osd radosgw" >&2; exit 2; }
  done
  down
  for p in $MONPORT $PORT; do
    if (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then echo "ceph-s3.sh: port $p is in use" >&2; return 1; fi
  done
  mkdir -p "$D"/{run,log,mon,osd0,rgw,crash}
  local fsid osd_uuid
  fsid=$(cat /proc/sys/kernel/random/uuid)
  cat >"$D/ceph.conf" <<CONF
[global]
fsid = $fsid
mon host = [v2:127.0.0.1:$MONPORT]
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind port min = $MSPORT
ms bind port max = $((MSPORT + 99))
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
ms client mode = crc
client mount timeout = 30
rados mon op timeout = 60
rados osd op timeout = 60
run dir = $D/run
pid file = $D/run/\$name.pid
admin socket = $D/run/\$name.asok
log file = $D/log/\$name.log
crash dir = $D/crash
mon data = $D/mon
osd data = $D/osd\$id
rgw data = $D/rgw
mon data avail warn = 1
paxos propose interval = 0.1
mon allow pool size one = true
mon max pg per osd = 1000
mon warn on pool no redundancy = false
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
osd objectstore = memstore
osd memory target = 1073741824
memstore device bytes = 8589934592
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:$PORT tcp_nodelay=1
rgw thread pool size = 64
rgw enable lc threads = false
CONF
  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$MONPORT]" "$D/monmap" >/dev/null
  ceph-mon "${C[@]}" --mkfs -i a --monmap "$D/monmap"
  ceph-mon "${C[@]}" -i a
  osd_uuid=$(cat /proc/sys/kernel/random/uuid)
  {
    echo "osd new $osd_uuid"
    for p in .rgw.root default.rgw.log default.rgw.control default.rgw.meta \
      default.rgw.buckets.index default.rgw.buckets.data default.rgw.buckets.non-ec; do
      echo "osd pool create $p"
      echo "osd pool application enable $p rgw"
    done
  } | ceph "${C[@]}" >/dev/null 2>&1
  ceph-osd "${C[@]}" -i 0 --mkfs --osd-uuid "$osd_uuid" >"$D/log/osd-mkfs.out" 2>&1
  ceph-osd "${C[@]}" -i 0 2>>"$D/log/osd-start.out"
  radosgw "${C[@]}" -n client.rgw
  radosgw-admin "${C[@]}" user create --uid=kura --display-name=kura \
    --access-key="$AK" --secret-key="$SK" >/dev/null
  # Ready when radosgw answers an authenticated ListBuckets.
  for _ in $(seq 150); do
    if curl -sf --aws-sigv4 "aws:amz:us-east-1:s3" --user "$AK:$SK" \
      -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "http://127.0.0.1:$PORT/" 2>/dev/null |
      grep -q ListAllMyBucketsResult; then
      return 0
    fi
    sleep 0.2
  done
  echo "ceph-s3.sh: radosgw did not come up; logs in $D/log" >&2
  return 1
}

case "${1:-up}" in
  up) up ;;
  down) down ;;
  env) env_lines ;;
  *) echo "usage: ceph-s3.sh up|down|env" >&2; exit 2 ;;
esac
