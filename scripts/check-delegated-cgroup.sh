#!/bin/bash
# A manual check for pure cgroup v2 hosts (not run by CI: these machines are hybrid):
# does `sifcri oci run` by an ordinary user apply memory and pids limits in a delegated
# cgroup v2 subtree, and say plainly that it runs without them elsewhere?
# Usage, as root, with DIR holding the `sifcri` and `sifcri-runtime` binaries and a static `busybox`:
#   bash scripts/check-delegated-cgroup.sh DIR
# It makes the user sifcri-test if missing, /sys/fs/cgroup/deleg (chowned to it, with
# the user's shell in deleg/user) and a busybox bundle under /tmp/deleg-test, then
# prints the container cgroup's memory.max and pids.max as the host sees them.
set -u
D=$(cd "${1:?usage: check-delegated-cgroup.sh DIR}" && pwd)
id sifcri-test >/dev/null 2>&1 || useradd -m sifcri-test
W=/tmp/deleg-test; rm -rf $W; mkdir -p $W/bundle/rootfs/{bin,proc,sys,dev,tmp,etc}
cp $D/sifcri $D/sifcri-runtime $W/; cp $D/busybox $W/bundle/rootfs/bin/; for a in sh cat echo sleep; do ln -sf busybox $W/bundle/rootfs/bin/$a; done
cat > $W/bundle/config.json <<'J'
{"ociVersion":"1.0.2","process":{"args":["sh","-c","cat /proc/self/cgroup; ls /sys/fs/cgroup | head -3; sleep 2"],"cwd":"/","env":["PATH=/bin"],"user":{"uid":0,"gid":0}},
 "root":{"path":"rootfs"},"hostname":"d",
 "mounts":[{"destination":"/proc","type":"proc","source":"proc"},{"destination":"/sys","type":"sysfs","source":"sysfs","options":["nosuid","noexec","nodev","ro"]},{"destination":"/sys/fs/cgroup","type":"cgroup","source":"cgroup","options":["nosuid","noexec","nodev","ro"]}],
 "linux":{"namespaces":[{"type":"pid"},{"type":"mount"},{"type":"uts"},{"type":"ipc"},{"type":"cgroup"}],"resources":{"memory":{"limit":67108864},"pids":{"limit":42}}}}
J
chown -R sifcri-test $W; chmod 755 $W
C=/sys/fs/cgroup/deleg; rmdir $C/*/* $C/* $C 2>/dev/null; mkdir -p $C/user
echo "+memory +pids +cpu" > $C/cgroup.subtree_control
chown -R sifcri-test $C
echo "== delegated: $C owned by sifcri-test; the user's shell in $C/user"
(sleep 1; echo "-- host view while it runs:"; for f in $(find $C -path '*sifcri*' -name memory.max -o -path '*sifcri*' -name pids.max); do echo "$f: $(cat $f)"; done) &
sh -c "echo \$\$ > $C/user/cgroup.procs; exec setpriv --reuid=sifcri-test --regid=sifcri-test --init-groups env HOME=/home/sifcri-test XDG_RUNTIME_DIR=/tmp/deleg-test/run $W/sifcri oci --log-level info run --bundle $W/bundle t1" 2>&1
echo "rc=$?"
find $C -maxdepth 3 -type d | head
echo "== not delegated (root's cgroup): the same as the user"
setpriv --reuid=sifcri-test --regid=sifcri-test --init-groups env HOME=/home/sifcri-test XDG_RUNTIME_DIR=/tmp/deleg-test/run $W/sifcri oci --log-level info run --bundle $W/bundle t2 2>&1
echo "rc=$?"
