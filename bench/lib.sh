# Shared by bench/cri.sh and bench/stream.sh (sourced, not run): the harness registry
# with its test images, containerd with the harness config moved under this run's
# directories, a sifcri daemon's registry config, waiting for sockets, and stopping and
# sweeping up what a run started. The caller sets HARNESS, REG, W (its temp dir), RUN
# (its /run dir) and S (its copy of the sifcri binary) before calling these.

ACCEPT=application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json
ACCEPT=$ACCEPT,application/vnd.oci.image.index.v1+json,application/vnd.docker.distribution.manifest.list.v2+json
started_registry=0 cpid=

stop() { # stop PID: SIGTERM, wait up to 10 s, SIGKILL
  [ -n "$1" ] || return 0
  kill "$1" 2>/dev/null || return 0
  for _ in $(seq 1 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$1" 2>/dev/null || true
}

leftovers() { # processes running this run's copy of the binary or naming its directories
  local p
  for p in /proc/[0-9]*; do
    [ "${p#/proc/}" != $$ ] || continue
    if [ "$(readlink "$p/exe" 2>/dev/null)" = "$S" ] ||
      tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -qF -e "$W/" -e "$RUN/"; then echo "${p#/proc/}"; fi
  done
}

sweep() { # sweep BRIDGE...: once the daemons are stopped, ends and removes what is left
  local left p
  left=$(leftovers)
  if [ -n "$left" ]; then
    echo "bench: processes of this run left after the daemons stopped, killed:" >&2
    for p in $left; do tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" | cut -c1-100 >&2; echo >&2; kill "$p"; done
    sleep 1; for p in $(leftovers); do kill -9 "$p"; done
  fi
  findmnt -rn -o TARGET | grep -E "^($W|$RUN)/" | sort -r | xargs -r -n1 umount -l
  for p in "$@"; do ip link del "$p" 2>/dev/null; done
  [ "$started_registry" = 1 ] && kill "$(cat /run/harness-registry.pid)" 2>/dev/null
  rm -rf "$W" "$RUN"
}

ensure_registry() { # the harness registry on $REG, with busybox and pause in it
  local repo
  if ! curl -fsS -o /dev/null "http://$REG/v2/" 2>/dev/null; then
    "$HARNESS/start-registry.sh" >/dev/null; started_registry=1
  fi
  for repo in library/busybox:latest pause:3.6; do
    curl -fsS -o /dev/null -H "Accept: $ACCEPT" \
      "http://$REG/v2/${repo%:*}/manifests/${repo##*:}" ||
      { "$HARNESS/build-test-images.sh" --no-debian >/dev/null; break; }
  done
}

conflist() { # conflist NAME BRIDGE SUBNET IPAMDIR
  cat <<EOF
{"cniVersion": "1.0.0", "name": "$1", "plugins": [
  {"type": "bridge", "bridge": "$2", "isGateway": true, "ipMasq": false, "hairpinMode": true,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "$3"}]], "routes": [{"dst": "0.0.0.0/0"}],
            "dataDir": "$4"}},
  {"type": "portmap", "capabilities": {"portMappings": true}},
  {"type": "loopback"}]}
EOF
}

wait_socket() { # wait_socket SOCKET PID LOG
  for _ in $(seq 1 150); do
    [ -S "$1" ] && return 0
    kill -0 "$2" 2>/dev/null || break
    sleep 0.2
  done
  echo "bench: no socket $1; last log lines:" >&2; tail -5 "$3" >&2; return 1
}

start_containerd() { # start_containerd NAME BRIDGE SUBNET: sets cpid; socket $RUN/containerd/containerd.sock
  # The harness config (start-containerd.sh's), its paths moved here so that a harness
  # containerd another user runs is left alone.
  mkdir -p "$W/containerd/cni" "$RUN/containerd"
  conflist "$1-containerd" "$2" "$3" "$W/containerd/ipam" >"$W/containerd/cni/10-$1.conflist"
  sed -e "s#/var/lib/harness-containerd/root#$W/containerd/root#" \
    -e "s#/run/harness-containerd/cni#$W/containerd/cni#" \
    -e "s#/run/harness-containerd#$RUN/containerd#g" \
    "$HARNESS/containerd/config.toml" >"$W/containerd.toml"
  containerd --config "$W/containerd.toml" >"$W/containerd.log" 2>&1 & cpid=$!
  wait_socket "$RUN/containerd/containerd.sock" "$cpid" "$W/containerd.log"
}

registry_config() { # the [registry] tables of a sifcri config: mirrors to the harness registry
  cat <<EOF
[registry.mirrors]
"docker.io" = ["http://$REG"]
"registry.k8s.io" = ["http://$REG"]
[registry.hosts."$REG"]
plain_http = true
EOF
}
