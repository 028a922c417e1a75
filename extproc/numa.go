package extproc

import (
	"os"
	"strconv"
)

// applyNUMAPreference honours VENUS_WORKER_NUMA_PREFERRED as far as a Go process can. The
// original sets a preferred memory node with libnuma; Go has no per-process memory policy (the
// policy is per OS thread and the runtime owns the threads), so this only checks the node and
// says so. Pin such children with cgroup.cpuset instead.
func applyNUMAPreference() {
	v, ok := os.LookupEnv(NUMAPreferredEnv)
	if !ok {
		return
	}
	node, err := strconv.Atoi(v)
	if err != nil || node < 0 {
		log.Warnw("ignoring invalid NUMA node", "env", NUMAPreferredEnv, "value", v)
		return
	}
	if _, err := os.Stat("/sys/devices/system/node/node" + strconv.Itoa(node)); err != nil {
		log.Debugw("preferred NUMA node not present on this host, ignored", "node", node)
		return
	}
	log.Debugw("preferred NUMA node noted but not applied: Go cannot set a process-wide memory policy; use cgroup.cpuset to pin", "node", node)
}
