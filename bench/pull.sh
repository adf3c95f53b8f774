#!/usr/bin/env bash
# Times `sifcri pull` against a local docker-registry: an OCI image of N MiB in L
# layers (random file contents, so compression does not hide the work) converted to
# SIF cold, the same pull again (names only), a second store (conversion again, and a
# byte comparison of the two SIFs), and a SIF artifact push + pull.
# Usage: bench/pull.sh [MiB=200] [layers=4]   (needs docker-registry, python3)
set -euo pipefail
mib=${1:-200}; layers=${2:-4}
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${SIFCRI:-$here/target/release/sifcri}
[ -x "$bin" ] || (cd "$here" && cargo build --release -p sifcri)
work=$(mktemp -d); trap 'kill $reg 2>/dev/null || true; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$work/config.yml" <<YML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $work/registry}}
http: {addr: 127.0.0.1:$port}
YML
docker-registry serve "$work/config.yml" >"$work/registry.log" 2>&1 & reg=$!
until curl -fs -o /dev/null "http://127.0.0.1:$port/v2/"; do sleep 0.1; done

python3 - "$port" "$mib" "$layers" <<'PY'
import gzip, hashlib, io, json, os, sys, tarfile, urllib.error, urllib.request
port, mib, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
base = f"http://127.0.0.1:{port}/v2/bench/img"
def push(data):
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    r = urllib.request.urlopen(urllib.request.Request(base + "/blobs/uploads/", method="POST"))
    loc = r.headers["Location"]; loc = loc if loc.startswith("http") else f"http://127.0.0.1:{port}{loc}"
    sep = "&" if "?" in loc else "?"
    # Content-Type matters: Go would parse a form-encoded body for the digest.
    urllib.request.urlopen(urllib.request.Request(f"{loc}{sep}digest={d}", data=data, method="PUT",
        headers={"Content-Type": "application/octet-stream"}))
    return {"digest": d, "size": len(data)}
descs = []
for i in range(n):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for j in range(64):
            data = os.urandom(mib * 1024 * 1024 // n // 64)
            info = tarfile.TarInfo(f"layer{i}/file{j}"); info.size = len(data); info.mtime = 1
            t.addfile(info, io.BytesIO(data))
    d = push(gzip.compress(buf.getvalue(), 1)); d["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip"; descs.append(d)
cfg = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}).encode()
c = push(cfg); c["mediaType"] = "application/vnd.oci.image.config.v1+json"
m = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": c, "layers": descs}).encode()
try:
    urllib.request.urlopen(urllib.request.Request(base + "/manifests/v1", data=m, method="PUT",
        headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"}))
except urllib.error.HTTPError as e:
    sys.exit(f"manifest PUT: {e}: {e.read()[:300]!r}")
PY

ref=127.0.0.1:$port/bench/img:v1
t() { local s=$EPOCHREALTIME; "$@" >/dev/null; python3 -c "print(f'{$EPOCHREALTIME - $s:.2f} s')"; }
echo "image: $mib MiB in $layers layers"
echo "cold pull + convert:  $(t "$bin" pull -q --root "$work/s1" "$ref")"
echo "warm pull (names):    $(t "$bin" pull -q --root "$work/s1" "$ref")"
echo "second store:         $(t "$bin" pull -q --root "$work/s2" "$ref")"
cmp "$work"/s1/sifs/*.sif "$work"/s2/sifs/*.sif && echo "SIFs identical: yes"
sif=$(ls "$work"/s1/sifs/*.sif)
echo "push SIF artifact:    $(t "$bin" push "$sif" "127.0.0.1:$port/bench/sif:v1")"
echo "pull SIF artifact:    $(t "$bin" pull -q --root "$work/s3" "127.0.0.1:$port/bench/sif:v1")"
